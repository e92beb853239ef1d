"""Follow-ups: scheduling visits and re-assessments from a grading, and the due list.

The kinds of task, their owners and the rule of lateness are in :mod:`jianhu.tasks`; this module
writes and reads the tasks. A follow-up is due on a local date (Asia/Shanghai); a mandatory report
also has an exact instant (``due_at``), see :func:`jianhu.tasks.is_overdue`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session

from jianhu import audit
from jianhu.dates import LOCAL_TZ, local_date, local_today, now_utc
from jianhu.db.models import Case, FollowUp, Person, Township, Village
from jianhu.errors import JianhuError
from jianhu.extensions import FollowupPolicy
from jianhu.roles import Actor, role_labels
from jianhu.scope import restrict
from jianhu.tasks import ACKNOWLEDGED, KIND_LABELS, KIND_ORDER, KINDS, URGENT, WINDOW_DAYS, is_overdue

__all__ = ["ACKNOWLEDGED", "KIND_LABELS", "WINDOW_DAYS", "DueItem", "DuePage", "due_list", "due_page",
           "is_overdue"]


def schedule_after_grading(
    session: Session,
    case: Case,
    policy: FollowupPolicy,
    *,
    assessed_on: dt.date,
    assessment_id: uuid.UUID,
    emergency: bool,
    actor: str,
    now: dt.datetime | None = None,
    reporter: str | None = None,
) -> list[FollowUp]:
    """Mark the case's pending re-assessment (and temporary-guardianship review) done, and
    replace its pending visit, with new ones counted from ``assessed_on``.

    Visits fall ``visit_days`` and re-assessments ``reassess_days`` after the assessment date, as
    the township's policy sets for the case's level. With an emergency the case also gets a
    mandatory-report task due ``policy.mandatory_report_hours`` after the assessment was recorded
    (after the start of ``assessed_on`` when it is back-dated), unless one is already pending.
    Done follow-ups are kept; a replaced pending visit becomes ``cancelled``. Writes audit events.
    The mandatory report is owned by ``reporter`` (the assessor, who has the duty to report); the
    other tasks by their kind's owner role (:data:`jianhu.tasks.TASK_KINDS`).

    Returns:
        the follow-ups created.

    Raises:
        KeyError: the policy has no entry for the case's level.
    """
    now = now or now_utc()
    lp = policy.for_level(case.level or "green")
    # This assessment is the re-assessment that was due, and the assessment civil affairs must
    # make before a child in temporary guardianship goes home (未保法 Art 93).
    # The first assessment of a case opened at screening is done by it too.
    open_tasks = pending(session, case, ("first_assessment", "reassessment", "guardianship_review",
                                         "visit", "mandatory_report"))
    finish(session, [t for t in open_tasks if t.kind not in ("visit", "mandatory_report")],
           status="done", on=assessed_on, actor=actor)
    replaced = [t.id for t in open_tasks if t.kind == "visit"]
    if replaced:
        session.execute(update(FollowUp).where(FollowUp.id.in_(replaced))
                        .values(status="cancelled"))
    created = [
        FollowUp(id=uuid.uuid4(), case_id=case.id, township_id=case.township_id, kind="visit",
                 due_on=assessed_on + dt.timedelta(days=lp.visit_days), status="pending",
                 assessment_id=assessment_id),
        FollowUp(id=uuid.uuid4(), case_id=case.id, township_id=case.township_id,
                 kind="reassessment", due_on=assessed_on + dt.timedelta(days=lp.reassess_days),
                 status="pending", assessment_id=assessment_id),
    ]
    if emergency and not any(t.kind == "mandatory_report" for t in open_tasks):
        start = now if assessed_on >= local_date(now) else dt.datetime.combine(
            assessed_on, dt.time(), LOCAL_TZ)
        due_at = (start + dt.timedelta(hours=policy.mandatory_report_hours)).astimezone(dt.UTC)
        created.append(FollowUp(id=uuid.uuid4(), case_id=case.id, township_id=case.township_id,
                                kind="mandatory_report", due_on=local_date(due_at), due_at=due_at,
                                status="pending", assessment_id=assessment_id, owner=reporter))
    session.add_all(created)
    audit.record_many(session, [
        audit.event_row(actor=actor, action="schedule", entity_type="followup", entity_id=f.id,
                        after={"case_no": case.case_no, "kind": f.kind, "due_on": f.due_on},
                        at=now)
        for f in created
    ] + [
        audit.event_row(actor=actor, action="cancel", entity_type="followup", entity_id=fid,
                        before={"status": "pending"}, after={"status": "cancelled"}, at=now)
        for fid in replaced
    ])
    return created


@dataclass(frozen=True)
class DueItem:
    """One line of the due list (no personal data: the case number identifies the child).

    Attributes:
        case_no: the case number.
        township: township name.
        village: village name.
        level: the case's level code, or ``None`` before grading.
        kind: a task kind of :data:`jianhu.tasks.TASK_KINDS`.
        due_on: the local due date.
        due_at: the exact due instant (UTC) where one is set.
        overdue: whether it is overdue on the list's date.
        days_overdue: whole days past ``due_on`` (0 when not overdue or overdue by hours).
        owner: whose task it is: a roster code, or a role code when no person is named.
        owner_label: the person's name, or the role's Chinese name.
    """

    case_no: str
    township: str
    village: str
    level: str | None
    kind: str
    due_on: dt.date
    due_at: dt.datetime | None
    overdue: bool
    days_overdue: int
    owner: str = ""
    owner_label: str = ""


@dataclass(frozen=True)
class DuePage:
    """A page of the due list: its ``items`` from position ``offset``, and the ``total``."""

    total: int
    offset: int
    items: list[DueItem]


def due_page(
    session: Session,
    on: dt.date | None = None,
    township_code: str | None = None,
    window_days: int = WINDOW_DAYS,
    now: dt.datetime | None = None,
    mine: Actor | None = None,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> DuePage:
    """Pending follow-ups overdue on ``on`` or due within the next ``window_days`` days, one page
    at a time: the database orders, counts and cuts the page (index ``ix_followups_due``), so a
    township with a million tasks gets its first page as fast as its hundredth.

    Args:
        session: an open session (its scope, :func:`jianhu.scope.restrict`, limits the cases).
        on: the local date of the list (default: today in Asia/Shanghai).
        township_code: 12-digit code to limit the list to one township.
        window_days: days ahead to include (``on`` .. ``on + window_days`` inclusive).
        now: the current instant (default: now), used for tasks due at an hour.
        mine: only the tasks of this actor: those naming the actor as owner, then those with no
            named owner whose kind belongs to the actor's role (in the actor's scope).
        limit: items per page (``None``: all from ``offset``).
        offset: items to skip.

    Returns:
        items ordered: mandatory reports and emergency responses first (with ``mine``: the
        actor's own tasks before the role's), then overdue before upcoming
        (:func:`jianhu.tasks.is_overdue`, written in SQL by :func:`_overdue`), then by due date,
        kind and case number (then the hour, for tasks due at one).
    """
    now = now or now_utc()
    on = on or local_today(now)
    where = [FollowUp.status == "pending", FollowUp.due_on <= on + dt.timedelta(days=window_days)]
    if township_code:
        where.append(FollowUp.township_id == select(Township.id).where(
            Township.code == township_code).scalar_subquery())
    if mine is not None:
        role_kinds = [k.code for k in KINDS.values() if k.owner_role == mine.role]
        where.append((FollowUp.owner == mine.code)
                     | (FollowUp.owner.is_(None) & FollowUp.kind.in_(role_kinds)))
    counted = restrict(session, select(func.count(FollowUp.id)).join(
        Case, FollowUp.case_id == Case.id).where(*where))
    total = session.scalar(counted) or 0
    overdue = _overdue(on, now)
    order = [sql_case((FollowUp.kind.in_(URGENT), 0), else_=1)]
    if mine is not None:
        order.append(sql_case((FollowUp.owner == mine.code, 0), else_=1))
    order += [sql_case((overdue, 0), else_=1), FollowUp.due_on,
              sql_case(KIND_ORDER, value=FollowUp.kind, else_=99), Case.case_no,
              sql_case((FollowUp.due_at.is_(None), 1), else_=0), FollowUp.due_at,
              FollowUp.id]  # a stable order: the same page twice shows the same items
    stmt = (
        select(FollowUp.kind, FollowUp.due_on, FollowUp.due_at, FollowUp.owner, Person.name,
               Case.case_no, Case.level, Township.name.label("township"),
               Village.name.label("village"))
        .join(Case, FollowUp.case_id == Case.id)
        .join(Township, FollowUp.township_id == Township.id)
        .join(Village, Case.village_id == Village.id)
        .outerjoin(Person, FollowUp.owner == Person.code)
        .where(*where).order_by(*order).offset(offset).limit(limit)
    )
    roles = role_labels()
    items = []
    for r in session.execute(restrict(session, stmt)):
        late = is_overdue(r.due_on, r.due_at, on, now)
        owner = r.owner or (KINDS[r.kind].owner_role if r.kind in KINDS else "")
        owner_label = r.name or (roles.get(owner, owner) if not r.owner else r.owner)
        items.append(DueItem(r.case_no, r.township, r.village, r.level, r.kind, r.due_on,
                             r.due_at, late, max((on - r.due_on).days, 0), owner, owner_label))
    return DuePage(total, offset, items)


def _overdue(on: dt.date, now: dt.datetime) -> Any:
    """:func:`jianhu.tasks.is_overdue` as a SQL condition on a pending task, for the list of
    local date ``on`` made at instant ``now`` (so the database can order by it)."""
    late = FollowUp.due_on < on
    today = local_date(now)
    if today > on:  # a list for a past day: its hours are over
        return late | (FollowUp.due_at.is_not(None) & (FollowUp.due_on == on))
    if today == on:
        return late | (FollowUp.due_at.is_not(None) & (FollowUp.due_on == on)
                       & (FollowUp.due_at <= now))
    return late


def due_list(
    session: Session,
    on: dt.date | None = None,
    township_code: str | None = None,
    window_days: int = WINDOW_DAYS,
    now: dt.datetime | None = None,
    mine: Actor | None = None,
) -> list[DueItem]:
    """The whole due list (:func:`due_page` without a limit), in its order."""
    return due_page(session, on, township_code, window_days, now, mine).items


def add_task(session: Session, case: Case, kind: str, due_on: dt.date, *, actor: str,
             due_at: dt.datetime | None = None, record_id: uuid.UUID | None = None,
             ref: str | None = None, owner: str | None = None) -> FollowUp:
    """Schedule one pending task on ``case`` (audited) and return it.

    Args:
        kind: a kind of :data:`jianhu.tasks.TASK_KINDS`.
        owner: the roster code of the person whose task it is (``None``: the kind's owner role).

    Raises:
        KeyError: ``kind`` is not a task kind.
    """
    if kind not in KINDS:
        raise KeyError(f"unknown task kind {kind!r} (see jianhu.tasks.TASK_KINDS)")
    task = FollowUp(id=uuid.uuid4(), case_id=case.id, township_id=case.township_id, kind=kind,
                    due_on=due_on, due_at=due_at, status="pending", record_id=record_id, ref=ref,
                    owner=owner)
    session.add(task)
    audit.record(session, actor=actor, action="schedule", entity_type="followup",
                 entity_id=task.id, after={"case_no": case.case_no, "kind": kind,
                                           "due_on": due_on, "ref": ref, "owner": owner})
    return task


#: :func:`pending`'s statements, built once (building a select costs more than running it).
_PENDING = select(FollowUp).where(
    FollowUp.case_id == bindparam("case_id"), FollowUp.status == "pending",
    FollowUp.kind.in_(bindparam("kinds", expanding=True))).order_by(FollowUp.due_on,
                                                                    FollowUp.created_at)
_PENDING_REF = _PENDING.where(FollowUp.ref == bindparam("ref"))


def pending(session: Session, case: Case, kinds: tuple[str, ...],
            ref: str | None = None) -> list[FollowUp]:
    """Pending tasks of ``case`` of the given kinds (and ``ref`` when given), earliest first."""
    params = {"case_id": case.id, "kinds": list(kinds)}
    if ref is None:
        return list(session.scalars(_PENDING, params))
    return list(session.scalars(_PENDING_REF, {**params, "ref": ref}))


def finish(session: Session, tasks: list[FollowUp], *, status: str, on: dt.date | None,
           actor: str) -> None:
    """Mark tasks ``done`` (on local date ``on``) or ``cancelled``, with audit events."""
    for task in tasks:
        task.status = status
        task.done_on = on if status == "done" else None
        audit.record(session, actor=actor, action=status, entity_type="followup",
                     entity_id=task.id, before={"status": "pending"},
                     after={"status": status, "done_on": task.done_on})


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months (the day clipped to the month's end)."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month + 1, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def acknowledge(session: Session, case: Case, kind: str, on: dt.date, *, actor: str) -> FollowUp:
    """Mark the earliest pending task of ``kind`` on ``case`` done on local date ``on``.

    ``kind`` may be the code or the Chinese label of a kind that may be acknowledged
    (:data:`jianhu.tasks.ACKNOWLEDGED`).

    Raises:
        JianhuError: ``kind`` is unknown or completed only by a form, or the case has no pending
            task of that kind.
    """
    kind = next((k for k, lab in KIND_LABELS.items() if lab == kind), kind)
    allowed = "、".join(f"{k}（{KIND_LABELS[k]}）" for k in ACKNOWLEDGED)
    if kind not in KIND_LABELS:
        raise JianhuError(f"没有「{kind}」这种事项；可直接办结的事项：{allowed}")
    if kind not in ACKNOWLEDGED:
        raise JianhuError(f"「{KIND_LABELS[kind]}」由{KINDS[kind].completed_by}完成；"
                          f"可直接办结的事项：{allowed}")
    tasks = pending(session, case, (kind,))
    if not tasks:
        raise JianhuError(f"个案 {case.case_no} 没有未办的「{KIND_LABELS[kind]}」")
    finish(session, tasks[:1], status="done", on=on, actor=actor)
    return tasks[0]
