"""Recording lifecycle forms on a case: plan, service, visit, incident, police report, escalation,
closure and return visit (and assessments, through :func:`jianhu.assessment.grade`).

One entry point, :func:`record_form`: it checks the actor's role, validates the payload against the
form's JSON Schema, checks that the case's state allows it (:mod:`jianhu.lifecycle`), stores a
:class:`~jianhu.db.models.FormRecord` (the confidential reporter of an incident goes to its own
table), then applies the form's effects: transitions, deadlines scheduled as tasks, tasks
completed, case events. Everything happens in the caller's transaction; on any error the caller
rolls back and nothing is written.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jianhu import audit
from jianhu.assessment import grade, level_label, level_scale
from jianhu.dates import local_date, local_today, now_utc
from jianhu.db.models import Case, ConfidentialRecord, FormRecord, Township
from jianhu.errors import JianhuError
from jianhu.extensions import CaseEvent, FollowupPolicy
from jianhu.followups import KIND_LABELS, add_months, add_task, finish, pending
from jianhu.forms import load_form
from jianhu.imports.screening import payload_hash
from jianhu.lifecycle import CLOSED, TransitionRefused, next_state, require_active, transition
from jianhu.people import require_people
from jianhu.plugins import Host
from jianhu.roles import Actor
from jianhu.scope import assign

#: Escalation steps by track (新政发〔2016〕8号 四（五）: administrative, then judicial intervention).
ADMINISTRATIVE = ("admonition", "warning_letter", "temporary_guardianship")
JUDICIAL = ("protection_order_application", "protection_order", "revoke_guardianship_application",
            "revoke_guardianship_decision", "entrusted_guardianship", "guardianship_transfer",
            "long_term_guardianship")
TRACK_RANK = {None: 0, "administrative": 1, "judicial": 2}
#: 反家庭暴力法 Art 28: ruling within 72 hours, within 24 hours when urgent.
ORDER_RULING_HOURS = {True: 24, False: 72}
#: 反家庭暴力法 Art 30: a protection order is valid for at most six months.
ORDER_MAX_MONTHS = 6
#: 反家庭暴力法 Art 31: a request for review may be made within five days of receiving the ruling.
ORDER_REVIEW_DAYS = 5


@dataclass
class Recorded:
    """What recording a form did.

    Attributes:
        record_id: the stored form record (or assessment) id.
        case_no: the case.
        status_before / status_after: the case's state before and after.
        tasks: ``(kind, due date)`` of the tasks scheduled.
        notes: Chinese lines telling the user what else happened.
    """

    record_id: uuid.UUID
    case_no: str
    status_before: str
    status_after: str
    tasks: list[tuple[str, dt.date]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class _Ctx:
    session: Session
    host: Host
    case: Case
    payload: dict[str, Any]
    actor: Actor
    now: dt.datetime
    policy: FollowupPolicy
    township: Township
    result: Recorded
    record: FormRecord | None = None
    on: dt.date | None = None

    def task(self, kind: str, due_on: dt.date, due_at: dt.datetime | None = None,
             ref: str | None = None) -> None:
        add_task(self.session, self.case, kind, due_on, actor=self.actor.code, due_at=due_at,
                 record_id=self.record.id if self.record else None, ref=ref)
        self.result.tasks.append((kind, due_on))

    def move(self, event: str, reason: str | None = None) -> None:
        transition(self.session, self.case, event, actor=self.actor.code, reason=reason,
                   on=self.on, context={"record": str(self.record.id) if self.record else None})

    def emit(self, kind: str, **data: Any) -> None:
        self.host.emit(self.session, CaseEvent(kind=kind, case_id=str(self.case.id),
                                                case_no=self.case.case_no,
                                                township_code=self.township.code, at=self.now,
                                                data=data))


def _date(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def _instant(value: str) -> dt.datetime:
    instant = dt.datetime.fromisoformat(value)
    if instant.tzinfo is None:
        raise JianhuError(f"时间「{value}」缺少时区，请写成 2026-10-01T09:30:00+08:00")
    return instant.astimezone(dt.UTC)


# ------------------------------------------------------------------------------ handlers
def _plan(c: _Ctx) -> None:
    """Assistance plan: every measure has a named responsible person (责任到人, 四（三）)."""
    next_state(c.case, "plan")
    measures = c.payload["measures"]
    codes = [m["responsible"] for m in measures] + [
        c.payload["plan"][k] for k in ("approved_by",) if k in c.payload["plan"]]
    require_people(c.session, codes)
    for i, m in enumerate(measures, start=1):
        if _date(m["due"]) < _date(m["start"]):
            raise JianhuError(f"第{i}项措施的完成期限早于开始日期")
    finish(c.session, pending(c.session, c.case, ("measure_due",)), status="cancelled",
           on=None, actor=c.actor.code)
    c.move("plan")
    assign(c.session, c.case, [m["responsible"] for m in measures])
    for i, m in enumerate(measures, start=1):
        c.task("measure_due", _date(m["due"]), ref=f"measure:{i}")


def _latest_plan(c: _Ctx) -> FormRecord | None:
    return c.session.scalars(
        select(FormRecord).where(FormRecord.subject_id == c.case.id, FormRecord.form_id == "plan")
        .order_by(FormRecord.recorded_on.desc(), FormRecord.created_at.desc())).first()


def _service(c: _Ctx) -> None:
    """Service record: only on a case under intervention (a closed case takes no new service)."""
    require_active(c.case, "登记服务")
    s = c.payload["service"]
    require_people(c.session, [s["provider"]])
    assign(c.session, c.case, [s["provider"]])
    if "measure" in s:
        plan = _latest_plan(c)
        if plan is None or s["measure"] > len(plan.payload["measures"]):
            raise JianhuError(f"救助方案中没有第{s['measure']}项措施")
        if s.get("measure_completed"):
            done = pending(c.session, c.case, ("measure_due",), ref=f"measure:{s['measure']}")
            finish(c.session, done, status="done", on=_date(s["date"]), actor=c.actor.code)


def _visit(c: _Ctx) -> None:
    """Follow-up visit (定期访问, 四（六））: completes the earliest due visit, schedules the next."""
    require_active(c.case, "登记随访")
    v = c.payload["visit"]
    require_people(c.session, [v["visitor"]])
    assign(c.session, c.case, [v["visitor"]])
    on = _date(v["date"])
    # The visit is also the follow-up visit the village committee owes after a police warning
    # letter (反家庭暴力法 Art 17), when one is pending.
    finish(c.session, pending(c.session, c.case, ("visit",))[:1]
           + pending(c.session, c.case, ("warning_letter_visit",))[:1], status="done", on=on,
           actor=c.actor.code)
    lp = c.policy.for_level(c.case.level or "green")
    c.task("visit", on + dt.timedelta(days=lp.visit_days))
    if v["risk_change"] == "worse":
        soon = on + dt.timedelta(days=c.policy.worse_visit_reassess_days)
        later = [t for t in pending(c.session, c.case, ("reassessment",)) if t.due_on > soon]
        finish(c.session, later, status="cancelled", on=None, actor=c.actor.code)
        if later or not pending(c.session, c.case, ("reassessment",)):
            c.task("reassessment", soon)
        c.result.notes.append(f"风险恶化：再评估提前到 {soon}")


def _incident(c: _Ctx) -> None:
    """Harm report (发现-报告-响应, 四（五））; any trigger of 高检发〔2020〕9号 Art 4 makes it a
    mandatory report, due to the police within the policy's window unless already made."""
    inc = c.payload["incident"]
    police = c.payload.get("police")
    require_people(c.session, [inc["recorded_by"]] + ([police["reported_by"]] if police else []))
    discovered = _instant(inc["discovered_at"])
    if discovered > c.now:
        raise JianhuError("发现时间晚于现在")
    if police and _instant(police["reported_at"]) < discovered:
        raise JianhuError("向公安机关报告的时间早于发现时间")
    if c.case.status in CLOSED:
        _reopen(c, "侵害事件报告", local_date(discovered))
    triggers = inc.get("triggers", [])
    if triggers:
        if police is None:
            due_at = discovered + dt.timedelta(hours=c.policy.mandatory_report_hours)
            c.task("mandatory_report", local_date(due_at), due_at=due_at,
                   ref=f"incident:{c.record.id}")
            c.result.notes.append(f"属于强制报告情形：须立即向公安机关报告（最迟 "
                                  f"{due_at.astimezone(dt.timezone(dt.timedelta(hours=8))):%Y-%m-%d %H:%M}）")
        c.emit("mandatory_report_filed", triggers=triggers, reported=police is not None)


def _police_report(c: _Ctx) -> None:
    """A report to the police made: completes the case's open mandatory-report tasks."""
    p = c.payload["police"]
    require_people(c.session, [p["reported_by"]])
    reported = _instant(p["reported_at"])
    if reported > c.now:
        raise JianhuError("报告时间晚于现在")
    open_reports = pending(c.session, c.case, ("mandatory_report",))
    finish(c.session, open_reports, status="done", on=local_date(reported), actor=c.actor.code)
    c.result.notes.append(f"已办结强制报告事项 {len(open_reports)} 项")


def _escalation(c: _Ctx) -> None:
    """Administrative or judicial intervention, with the deadlines the law sets as tasks."""
    require_active(c.case, "升级干预")
    e = c.payload["escalation"]
    require_people(c.session, [e["recorded_by"]])
    step, on = e["step"], _date(e["date"])
    track = "administrative" if step in ADMINISTRATIVE else "judicial"
    if TRACK_RANK[track] > TRACK_RANK[c.case.escalation]:
        before = c.case.escalation
        c.case.escalation = track
        audit.record(c.session, actor=c.actor.code, action="escalate", entity_type="case",
                     entity_id=c.case.id, before={"escalation": before},
                     after={"escalation": track, "step": step})
    if step == "warning_letter":
        for days in c.policy.warning_letter_visit_days:
            c.task("warning_letter_visit", on + dt.timedelta(days=days))
    elif step == "temporary_guardianship":
        c.task("guardianship_review", on + dt.timedelta(days=c.policy.guardianship_review_days))
    elif step == "protection_order_application":
        due_at = _instant(e["applied_at"]) + dt.timedelta(hours=ORDER_RULING_HOURS[e["urgent"]])
        c.task("protection_order_ruling", local_date(due_at), due_at=due_at)
    elif step == "protection_order":
        until = _date(e["valid_until"])
        if until > add_months(on, ORDER_MAX_MONTHS):
            raise JianhuError(f"人身安全保护令有效期不超过{ORDER_MAX_MONTHS}个月"
                              f"（《反家庭暴力法》第30条），最晚至 {add_months(on, ORDER_MAX_MONTHS)}")
        finish(c.session, pending(c.session, c.case, ("protection_order_ruling",)), status="done",
               on=on, actor=c.actor.code)
        c.task("protection_order_review", on + dt.timedelta(days=ORDER_REVIEW_DAYS))
        c.task("protection_order_expiry", until)
    c.emit("escalated", step=step, track=track)


def _closure(c: _Ctx) -> None:
    """Closure report (结案, 四（六））: refused while a mandatory report is open or the latest
    assessment is above green, unless a supervisor approves with a reason; then return visits
    every ``return_visit_months`` (at least two a year, 四（六））."""
    next_state(c.case, "close")
    cl = c.payload["closure"]
    require_people(c.session, [cl["closed_by"]] + ([cl["approved_by"]] if "approved_by" in cl
                                                   else []))
    blockers = []
    if pending(c.session, c.case, ("mandatory_report",)):
        blockers.append("有未办的强制报告")
    if c.case.level != "green":
        blockers.append(f"最近一次评估为「{level_label(c.case.level)}」，高于绿色")
    reason = cl.get("override_reason")
    if blockers:
        if not reason:
            raise TransitionRefused(f"个案 {c.case.case_no} 不能结案：{'；'.join(blockers)}。"
                                    "如确需结案，须由督导员填写特批理由")
        if not c.actor.can("close:override"):
            raise TransitionRefused(f"个案 {c.case.case_no} {'；'.join(blockers)}，"
                                    f"只有督导员可以特批结案（当前操作人 {c.actor.code}）")
        c.result.notes.append("特批结案：" + reason)
    on = _date(cl["date"])
    finish(c.session, pending(c.session, c.case, ("visit", "reassessment", "measure_due",
                                                   "warning_letter_visit", "guardianship_review")),
           status="cancelled", on=None, actor=c.actor.code)
    c.case.closed_on = on
    c.move("close", reason=reason)
    for i in range(1, c.policy.return_visit_count + 1):
        c.task("return_visit", add_months(on, c.policy.return_visit_months * i), ref=f"return:{i}")
    c.emit("case_closed", reason=cl["reason"], override=bool(reason and blockers))


def _return_visit(c: _Ctx) -> None:
    """Return visit after closure (回访, 四（六））; one that finds risk reopens the case."""
    rv = c.payload["return_visit"]
    if c.case.status not in CLOSED:
        raise TransitionRefused(f"个案 {c.case.case_no} 尚未结案，不能登记回访")
    require_people(c.session, [rv["visitor"]])
    on = _date(rv["date"])
    finish(c.session, pending(c.session, c.case, ("return_visit",))[:1], status="done", on=on,
           actor=c.actor.code)
    c.move("return_visit")
    if rv["risk_found"]:
        _reopen(c, "回访发现风险", on + dt.timedelta(days=c.policy.worse_visit_reassess_days))


def _reopen(c: _Ctx, reason: str, reassess_on: dt.date) -> None:
    """Reopen a closed case: its remaining return visits are cancelled and a re-assessment is
    due on ``reassess_on``."""
    finish(c.session, pending(c.session, c.case, ("return_visit",)), status="cancelled",
           on=None, actor=c.actor.code)
    c.move("reopen", reason=reason)
    c.task("reassessment", reassess_on)
    c.emit("case_reopened", cause=reason)
    c.result.notes.append(f"{reason}：已重新开案，请尽快再评估")


HANDLERS: dict[str, Callable[[_Ctx], None]] = {
    "plan": _plan, "service": _service, "visit": _visit, "incident": _incident,
    "police_report": _police_report, "escalation": _escalation, "closure": _closure,
    "return_visit": _return_visit,
}
#: Forms whose payload part is confidential and stored apart: ``{form: group}``.
CONFIDENTIAL = {"incident": "reporter"}


def _record_date(payload: dict[str, Any]) -> dt.date:
    """The local date a record is about: its first ``date`` field, else its first instant."""
    for group in payload.values():
        if isinstance(group, dict):
            if "date" in group:
                return _date(group["date"])
            for key in ("discovered_at", "reported_at"):
                if key in group:
                    return local_date(_instant(group[key]))
    raise JianhuError("记录缺少日期")


def record_form(session: Session, host: Host, case: Case, form_id: str, payload: dict[str, Any],
                *, actor: Actor, now: dt.datetime | None = None) -> Recorded:
    """Record one filled-in lifecycle form on ``case``. Does not commit.

    Args:
        session: the session of the change.
        host: loaded plugins (forms, follow-up policy, case events).
        case: the case.
        form_id: ``plan``, ``service``, ``visit``, ``incident``, ``police_report``,
            ``escalation``, ``closure``, ``return_visit`` or ``assessment``.
        payload: the form document (JSON, as validated by ``schemas/<form_id>.schema.json``).
        actor: who records it; the role must allow ``record:<form_id>``.
        now: the current instant (default now, UTC).

    Returns:
        a :class:`Recorded`.

    Raises:
        JianhuError: unknown form, role not allowed, payload fails the form (every problem
            listed in Chinese), a date in the future, an unknown responsible person, or a rule
            of the form (e.g. a protection order valid longer than six months).
        TransitionRefused: the case's state does not allow it.
    """
    now = now or now_utc()
    actor.require(f"record:{form_id}")
    before = case.status
    if form_id == "assessment":
        g = grade(session, host, case, payload, actor=actor.code, scale=level_scale(host))
        return Recorded(g.assessment_id, case.case_no, before, case.status,
                        notes=[f"总分 {g.result.total:g}，等级 {level_label(g.level_before)} → "
                               f"{level_label(g.level_after)}"])
    handler = HANDLERS.get(form_id)
    if handler is None:
        raise JianhuError(f"不能在个案上登记表单「{form_id}」；可登记："
                          f"{'、'.join(['assessment', *HANDLERS])}")
    form = load_form(host, form_id)
    form.validate(payload)
    on = _record_date(payload)
    if on > local_today(now):
        raise JianhuError(f"{form.title}的日期 {on} 晚于今天")
    if on < case.opened_on:
        raise JianhuError(f"{form.title}的日期 {on} 早于开案日期 {case.opened_on}")
    township = session.get(Township, case.township_id)
    stored = {k: v for k, v in payload.items() if k != CONFIDENTIAL.get(form_id)}
    record = FormRecord(id=uuid.uuid4(), form_id=form_id, form_version=form.version,
                        subject_type="case", subject_id=case.id, payload=stored,
                        payload_hash=payload_hash(stored), recorded_on=on, created_at=now,
                        created_by=actor.code)
    session.add(record)
    session.flush()
    secret = payload.get(CONFIDENTIAL.get(form_id, ""))
    if secret:
        session.add(ConfidentialRecord(record_id=record.id, payload=secret))
    result = Recorded(record.id, case.case_no, before, before)
    ctx = _Ctx(session, host, case, payload, actor, now,
               host.followup_policy(township.code), township, result, record, on)
    handler(ctx)
    audit.record(session, actor=actor.code, action="record", entity_type="form_record",
                 entity_id=record.id, after={"case_no": case.case_no, "form": form_id,
                                             "recorded_on": on, "confidential": bool(secret)})
    session.flush()
    result.status_after = case.status
    return result


def task_label(kind: str) -> str:
    """Chinese label of a task kind."""
    return KIND_LABELS.get(kind, kind)
