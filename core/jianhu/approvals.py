"""Approvals: one record of a decision asked of an approver, for every kind of decision.

An assistance plan, a closure, an escalation to administrative or judicial intervention, a level
override and a guardianship change are decided by a township-level approver, never by the person
who asked (新政发〔2016〕8号 四（二）—（三）: the township leading group and its assessment team
decide the plan; the child protection supervisor signs off the work; 民发〔2019〕34号 makes the
儿童督导员 the township's supervisor). Who may decide which subject is the ``approve:<subject>``
permission of :mod:`jianhu.roles` — one table, shown on the handbook's roles page.

A form that names its approver (``approved_by``) is approved when it is recorded, after the
approver is checked; one that does not opens a pending approval and an ``approval`` task owned by
the approver role (:data:`jianhu.tasks.TASK_KINDS`), decided later with ``jianhu approvals
decide``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from jianhu import audit
from jianhu.dates import local_date, now_utc
from jianhu.db.models import Approval, Case, FormRecord, Person
from jianhu.errors import JianhuError
from jianhu.roles import LOCAL_ADMIN, PERMISSIONS, Actor, role_labels
from jianhu.scope import Scope

#: Subject code → Chinese name.
SUBJECTS: dict[str, str] = {
    "plan": "救助方案",
    "closure": "结案",
    "escalation": "干预升级",
    "level_override": "等级调整",
    "guardianship_change": "监护变更",
}
#: Days an approver has to decide (the project's default).
DECIDE_DAYS = 3


def approver_roles(subject: str) -> frozenset[str]:
    """Roles that may decide ``subject`` (the ``approve:<subject>`` permission)."""
    return PERMISSIONS[f"approve:{subject}"]


#: :func:`_approver`'s statement, built once.
_PERSON = select(Person).where(Person.code == bindparam("code"))


def _approver(session: Session, code: str) -> tuple[Actor, Any]:
    """The approver of roster code ``code`` and their township id (``None``: county-wide)."""
    if code == LOCAL_ADMIN.code:
        return LOCAL_ADMIN, None
    with session.no_autoflush:  # the roster is not what a form being recorded changes
        person = session.scalar(_PERSON, {"code": code})
    if person is None or not person.active:
        raise JianhuError(f"人员名册中没有在岗人员：{code}")
    return Actor(person.code, person.name, person.role), person.township_id


def check_approver(session: Session, subject: str, approver: str, requested_by: str,
                   case: Case | None = None) -> Actor:
    """The approver named on a form, checked: on the roster, of a role that may decide
    ``subject``, of the case's township (or county-wide), and not the person who asked.

    Raises:
        JianhuError: (Chinese) unknown approver, a role that may not decide, another township's
            approver, or self-approval.
    """
    who, town = _approver(session, approver)
    if case is not None and who.code != LOCAL_ADMIN.code:
        if town is not None and town != case.township_id:
            raise JianhuError(f"{approver} 不是本乡镇的审批人，不能审批{SUBJECTS[subject]}")
    roles = approver_roles(subject)
    if who.role not in roles:
        allowed = "、".join(role_labels().get(r, r) for r in sorted(roles))
        raise JianhuError(f"{role_labels().get(who.role, who.role)}（{approver}）不能审批"
                          f"{SUBJECTS[subject]}；审批人应为{allowed}")
    if who.code == requested_by:
        raise JianhuError(f"{SUBJECTS[subject]}不能由提交人（{approver}）自己审批")
    return who


def approve_on_record(session: Session, case: Case, subject: str, *, record_id: uuid.UUID,
                      requested_by: str, approver: str | None, actor: str, on: dt.date,
                      now: dt.datetime | None = None) -> Approval:
    """Store the approval of a form being recorded: decided by ``approver`` when the form names
    one (checked with :func:`check_approver`) — when someone else than the approver enters it,
    it is marked as a written approval entered by ``actor`` — else pending with an ``approval``
    task due :data:`DECIDE_DAYS` days after it was submitted (not after the record's date: a
    back-dated record is not late the moment it is entered).

    Raises:
        JianhuError: the named approver may not decide it.
    """
    from jianhu.followups import add_task

    now = now or now_utc()
    if approver:
        check_approver(session, subject, approver, requested_by, case)
    row = Approval(id=uuid.uuid4(), case_id=case.id, township_id=case.township_id,
                   subject=subject, record_id=record_id, requested_by=requested_by,
                   requested_at=now, decided_by=approver,
                   decision="approved" if approver else "pending",
                   decided_at=now if approver else None,
                   reason=f"书面审批，由 {actor} 录入" if approver and approver != actor else None)
    session.add(row)
    audit.record(session, actor=actor, action="approval", entity_type="approval",
                 entity_id=row.id, after={"case_no": case.case_no, "subject": subject,
                                          "requested_by": requested_by,
                                          "decision": row.decision, "decided_by": approver})
    if not approver:
        add_task(session, case, "approval", local_date(now) + dt.timedelta(days=DECIDE_DAYS),
                 actor=actor, record_id=record_id, ref=f"approval:{row.id}")
    return row


def pending(session: Session, case: Case, subject: str | None = None) -> list[Approval]:
    """Pending approvals of ``case`` (of ``subject`` when given), oldest first."""
    stmt = select(Approval).where(Approval.case_id == case.id, Approval.decision == "pending")
    if subject:
        stmt = stmt.where(Approval.subject == subject)
    return list(session.scalars(stmt.order_by(Approval.requested_at)))


@dataclass(frozen=True)
class Awaiting:
    """A pending approval as the approvals list shows it (no child's name: the case number)."""

    id: str
    case_no: str
    subject: str
    subject_label: str
    what: str
    requested_by: str
    requested_at: dt.datetime
    decidable: bool


def awaiting(session: Session, scope: Scope, host: Any = None) -> list[Awaiting]:
    """The pending approvals of the cases in ``scope``, oldest first, each with what is to be
    approved (the record's one-line summary, when ``host`` is given) and whether the scope's
    actor may decide it (a role that may decide the subject, and not the one who asked)."""
    rows = session.execute(scope.cases(
        select(Approval, Case.case_no, FormRecord).join(Case, Approval.case_id == Case.id)
        .outerjoin(FormRecord, FormRecord.id == Approval.record_id)
        .where(Approval.decision == "pending").order_by(Approval.requested_at))).all()
    actor = scope.actor
    return [Awaiting(str(a.id), case_no, a.subject, SUBJECTS.get(a.subject, a.subject),
                     _what(host, record), a.requested_by, a.requested_at,
                     actor.role in approver_roles(a.subject) and actor.code != a.requested_by)
            for a, case_no, record in rows]


def _what(host: Any, record: FormRecord | None) -> str:
    if host is None or record is None:
        return ""
    from jianhu.forms import load_form
    from jianhu.timeline import record_summary

    form = load_form(host, record.form_id)
    return f"{form.title}（{record.recorded_on}）：{record_summary(record.form_id, record.payload, form)}"


def decide(session: Session, case: Case, subject: str, *, approve: bool, reason: str | None,
           actor: Actor, now: dt.datetime | None = None,
           approval_id: str | None = None) -> Approval:
    """Decide a pending approval of ``subject`` on ``case`` — the one ``approval_id`` names
    (what the approver was shown), else the oldest — and complete its task.

    A rejection needs a reason. Does not commit.

    Raises:
        JianhuError: unknown subject, nothing pending (or not that one), the actor may not
            decide it (role, township, or the actor asked for it), or a rejection without a
            reason.
    """
    from jianhu.followups import finish
    from jianhu.followups import pending as pending_tasks

    if subject not in SUBJECTS:
        subject = next((k for k, v in SUBJECTS.items() if v == subject), subject)
    if subject not in SUBJECTS:
        raise JianhuError(f"没有「{subject}」这种审批事项；可选：{'、'.join(SUBJECTS.values())}")
    waiting = pending(session, case, subject)
    if approval_id is not None:
        waiting = [a for a in waiting if str(a.id) == approval_id]
    if not waiting:
        raise JianhuError(f"个案 {case.case_no} 没有{'这项' if approval_id else ''}待审批的"
                          f"{SUBJECTS[subject]}")
    if not approve and not (reason or "").strip():
        raise JianhuError("不同意时须填写理由")
    row = waiting[0]
    check_approver(session, subject, actor.code, row.requested_by, case)
    now = now or now_utc()
    row.decision, row.decided_by, row.decided_at, row.reason = (
        "approved" if approve else "rejected", actor.code, now, reason)
    audit.record(session, actor=actor.code, action="decide", entity_type="approval",
                 entity_id=row.id, before={"decision": "pending"},
                 after={"decision": row.decision, "reason": reason, "case_no": case.case_no})
    finish(session, pending_tasks(session, case, ("approval",), ref=f"approval:{row.id}"),
           status="done", on=local_date(now), actor=actor.code)
    return row
