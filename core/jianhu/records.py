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

from sqlalchemy import ColumnElement, and_, bindparam, func, select
from sqlalchemy.orm import Session

from jianhu import approvals, audit, guardianship
from jianhu.assessment import grade, level_scale, raise_level, set_level
from jianhu.dates import age_on, local_date, local_today, now_utc
from jianhu.db.models import Case, Child, ConfidentialRecord, FormRecord, Township, payload_hash
from jianhu.errors import JianhuError
from jianhu.extensions import LEVEL_RANK, CaseEvent, FollowupPolicy, level_label
from jianhu.followups import add_months, add_task, finish, pending
from jianhu.forms import load_form
from jianhu.lifecycle import CLOSED, TransitionRefused, check_form, transition
from jianhu.people import require_people
from jianhu.plugins import Host
from jianhu.roles import Actor
from jianhu.scope import assign
from jianhu.tasks import KIND_LABELS, ORDER_MAX_MONTHS, ORDER_REVIEW_DAYS, ORDER_RULING_HOURS

#: Escalation steps by track (新政发〔2016〕8号 四（五）: administrative, then judicial intervention).
ADMINISTRATIVE = ("admonition", "warning_letter", "temporary_guardianship")
JUDICIAL = ("protection_order_application", "protection_order", "revoke_guardianship_application",
            "revoke_guardianship_decision", "entrusted_guardianship", "guardianship_transfer",
            "long_term_guardianship")
TRACK_RANK = {None: 0, "administrative": 1, "judicial": 2}
#: Harm types that make a case red at once (未保法 Art 92 (4)–(6); 高检发〔2020〕9号 Art 4): any
#: other harm makes it at least orange.
RED_HARM = frozenset({"sexual_abuse", "abuse", "abandonment"})
#: Escalation tasks that show an escalation still open (a court or civil affairs has yet to act).
OPEN_ESCALATION_TASKS = ("protection_order_ruling", "guardianship_review", "warning_letter_visit")


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
    #: The people the form names, by code (checked by :func:`check_people`).
    people: dict[str, Any] = field(default_factory=dict)

    def form_label(self, form_id: str, field_name: str, value: Any) -> str:
        """Chinese label of a choice of a form field (an array field's item choices)."""
        try:
            return load_form(self.host, form_id).by_path[form_id, field_name].label(value)
        except (KeyError, AttributeError):
            return str(value)

    def task(self, kind: str, due_on: dt.date, due_at: dt.datetime | None = None,
             ref: str | None = None, owner: str | None = None) -> None:
        add_task(self.session, self.case, kind, due_on, actor=self.actor.code, due_at=due_at,
                 record_id=self.record.id if self.record else None, ref=ref, owner=owner)
        self.result.tasks.append((kind, due_on))

    def approval(self, subject: str, requested_by: str, approver: str | None) -> None:
        approvals.approve_on_record(self.session, self.case, subject, record_id=self.record.id,
                                    requested_by=requested_by, approver=approver,
                                    actor=self.actor.code, on=self.on, now=self.now)
        if not approver:
            self.result.notes.append(f"{approvals.SUBJECTS[subject]}待审批：已生成审批待办")

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
    """Assistance plan: every measure has a named responsible person (责任到人, 四（三）), whose
    task the measure is; the plan is approved by a township approver (:mod:`jianhu.approvals`)."""
    measures = c.payload["measures"]
    for i, m in enumerate(measures, start=1):
        if _date(m["due"]) < _date(m["start"]):
            raise JianhuError(f"第{i}项措施的完成期限早于开始日期")
    finish(c.session, pending(c.session, c.case, ("measure_due",)), status="cancelled",
           on=None, actor=c.actor.code)
    c.move("plan")
    assign(c.session, c.case, [m["responsible"] for m in measures])
    for i, m in enumerate(measures, start=1):
        c.task("measure_due", _date(m["due"]), ref=f"measure:{i}", owner=m["responsible"])
    c.approval("plan", c.actor.code, c.payload["plan"].get("approved_by"))


def on_case(case_id: uuid.UUID, form_id: str) -> ColumnElement[bool]:
    """The records of form ``form_id`` on a case, looked up through the index of subjects
    (``subject_type`` first: without it the whole table is read)."""
    return and_(FormRecord.subject_type == "case", FormRecord.subject_id == case_id,
                FormRecord.form_id == form_id)


#: :func:`_latest_plan`'s statement, built once.
_LATEST_PLAN = select(FormRecord).where(on_case(bindparam("case_id"), "plan")).order_by(
    FormRecord.recorded_on.desc(), FormRecord.created_at.desc()).limit(1)


def _latest_plan(c: _Ctx) -> FormRecord | None:
    return c.session.scalars(_LATEST_PLAN, {"case_id": c.case.id}).first()


def _service(c: _Ctx) -> None:
    """Service record: only on a case under intervention (a closed case takes no new service)."""
    s = c.payload["service"]
    assign(c.session, c.case, [s["provider"]])
    if "measure" in s:
        plan = _latest_plan(c)
        if plan is None or s["measure"] > len(plan.payload["measures"]):
            raise JianhuError(f"救助方案中没有第{s['measure']}项措施")
        if s.get("measure_completed"):
            done = pending(c.session, c.case, ("measure_due",), ref=f"measure:{s['measure']}")
            finish(c.session, done, status="done", on=_date(s["date"]), actor=c.actor.code)


def _reassess_by(c: _Ctx, soon: dt.date) -> None:
    """Make sure a re-assessment is due by ``soon``: a later pending one is brought forward."""
    later = [t for t in pending(c.session, c.case, ("reassessment",)) if t.due_on > soon]
    finish(c.session, later, status="cancelled", on=None, actor=c.actor.code)
    if later or not pending(c.session, c.case, ("reassessment",)):
        c.task("reassessment", soon)


def _visit(c: _Ctx) -> None:
    """Follow-up visit (定期访问, 四（六））: completes the earliest due visit, schedules the next;
    being there also completes an emergency response (未保法 Art 92) and the visit owed after a
    police warning letter (反家庭暴力法 Art 17). A visit entered after a later one is history:
    the schedule counted from the later visit stands."""
    v = c.payload["visit"]
    assign(c.session, c.case, [v["visitor"]])
    on = _date(v["date"])
    latest = c.session.scalar(select(func.max(FormRecord.recorded_on)).where(
        on_case(c.case.id, "visit"), FormRecord.id != c.record.id))
    if latest is not None and latest > on:  # entered late: history, the schedule stands
        finish(c.session, pending(c.session, c.case, ("warning_letter_visit",))[:1]
               + pending(c.session, c.case, ("emergency_response",)), status="done", on=on,
               actor=c.actor.code)
        c.result.notes.append(f"补登的随访（{on}）早于已登记的随访（{latest}），下次随访仍按 "
                              f"{latest} 起算")
        return
    finish(c.session, pending(c.session, c.case, ("visit",))[:1]
           + pending(c.session, c.case, ("warning_letter_visit",))[:1]
           + pending(c.session, c.case, ("emergency_response",)), status="done", on=on,
           actor=c.actor.code)
    lp = c.policy.for_level(c.case.level or "green")
    c.task("visit", on + dt.timedelta(days=lp.visit_days))
    if v["risk_change"] == "worse":
        soon = on + dt.timedelta(days=c.policy.worse_visit_reassess_days)
        _reassess_by(c, soon)
        c.result.notes.append(f"风险恶化：再评估提前到 {soon}")


def implied_triggers(harm_types: list[str], sex: str, age: int) -> list[str]:
    """Mandatory-report situations a harm type is by itself, whether or not a box was ticked.

    Source: 高检发〔2020〕9号 Art 4: (二) a girl under 14 suspected of having been sexually
    abused (``girl_under14_sexual``); (六) abandoned or long left without care (``abandoned``);
    (九) other serious harm — sexual abuse of any other child (``other_serious``).

    Args:
        harm_types: the incident's harm type codes.
        sex: the child's sex code (``"male"``/``"female"``).
        age: the child's age in full years on the day of discovery.
    """
    out = []
    if "sexual_abuse" in harm_types:
        out.append("girl_under14_sexual" if sex == "female" and age < 14 else "other_serious")
    if "abandonment" in harm_types:
        out.append("abandoned")
    return out


def _incident(c: _Ctx) -> None:
    """Harm report (发现-报告-响应, 四（五））.

    - Risk: the case becomes at least orange, red for 性侵害, 虐待, 遗弃 or any mandatory-report
      situation (:data:`RED_HARM`), with the reason in the level history; a re-assessment is
      due within ``policy.incident_reassess_days``; a closed case is reopened.
    - Mandatory report: any trigger of 高检发〔2020〕9号 Art 4, ticked or implied by the harm
      type (:func:`implied_triggers`), makes a police-report task due within the policy's window,
      owned by whoever recorded the incident, unless the report was made already.
    """
    inc = c.payload["incident"]
    police = c.payload.get("police")
    discovered = _instant(inc["discovered_at"])
    if discovered > c.now:
        raise JianhuError("发现时间晚于现在")
    if police and _instant(police["reported_at"]) < discovered:
        raise JianhuError("向公安机关报告的时间早于发现时间")
    child = c.session.get(Child, c.case.child_id)
    ticked = list(inc.get("triggers", []))
    implied = [t for t in implied_triggers(inc["harm_types"], child.sex,
                                           age_on(child.birth_date, local_date(discovered)))
               if t not in ticked]
    triggers = ticked + implied
    day = local_date(discovered)
    soon = day + dt.timedelta(days=c.policy.incident_reassess_days)
    if c.case.status in CLOSED:
        _reopen(c, "侵害事件报告", soon)
    red = bool(triggers) or bool(RED_HARM & set(inc["harm_types"]))
    harm = "、".join(c.form_label("incident", "harm_types", h) for h in inc["harm_types"])
    raise_level(c.session, c.host, c.case, "red" if red else "orange",
                reason=f"侵害事件报告（{harm}）", actor=c.actor.code, now=c.now)
    _reassess_by(c, soon)
    if implied:
        names = "、".join(c.form_label("incident", "triggers", t) for t in implied)
        c.result.notes.append(f"按侵害类型属于强制报告情形（高检发〔2020〕9号第4条）：{names}")
    if triggers:
        if police is None:
            due_at = discovered + dt.timedelta(hours=c.policy.mandatory_report_hours)
            c.task("mandatory_report", local_date(due_at), due_at=due_at,
                   ref=f"incident:{c.record.id}", owner=inc["recorded_by"])
            c.result.notes.append(f"属于强制报告情形：须立即向公安机关报告（最迟 "
                                  f"{due_at.astimezone(dt.timezone(dt.timedelta(hours=8))):%Y-%m-%d %H:%M}）")
        c.emit("mandatory_report_filed", triggers=triggers, implied=implied,
               reported=police is not None)


def _police_report(c: _Ctx) -> None:
    """A report to the police made: completes the case's open mandatory-report tasks."""
    p = c.payload["police"]
    reported = _instant(p["reported_at"])
    if reported > c.now:
        raise JianhuError("报告时间晚于现在")
    open_reports = pending(c.session, c.case, ("mandatory_report",))
    finish(c.session, open_reports, status="done", on=local_date(reported), actor=c.actor.code)
    c.result.notes.append(f"已办结强制报告事项 {len(open_reports)} 项")


def _escalation(c: _Ctx) -> None:
    """Administrative or judicial intervention, with the deadlines the law sets as tasks; the
    step is approved by a township approver (:mod:`jianhu.approvals`) and completes an open
    emergency response (the child was seen to)."""
    e = c.payload["escalation"]
    recorder = c.people[e["recorded_by"]]
    if not Actor(recorder.code, recorder.name, recorder.role).can("record:escalation"):
        raise JianhuError(f"登记人 {recorder.code} 的角色不能登记干预升级")
    step, on = e["step"], _date(e["date"])
    track = "administrative" if step in ADMINISTRATIVE else "judicial"
    if TRACK_RANK[track] > TRACK_RANK[c.case.escalation]:
        before = c.case.escalation
        c.case.escalation = track
        audit.record(c.session, actor=c.actor.code, action="escalate", entity_type="case",
                     entity_id=c.case.id, before={"escalation": before},
                     after={"escalation": track, "step": step})
    finish(c.session, pending(c.session, c.case, ("emergency_response",)), status="done", on=on,
           actor=c.actor.code)
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
    c.approval("escalation", e["recorded_by"], e.get("approved_by"))
    c.emit("escalated", step=step, track=track)


def _escalation_records(c: _Ctx) -> list[dict[str, Any]]:
    return [r.payload["escalation"] for r in c.session.scalars(
        select(FormRecord).where(on_case(c.case.id, "escalation"), FormRecord.id != c.record.id))]


#: What refuses a closure, for the handbook: (condition, may a supervisor override it, source).
#: :func:`closure_blockers` checks exactly these, in this order.
CLOSURE_CONDITIONS: tuple[tuple[str, bool, str], ...] = (
    ("有未办的强制报告", False, "高检发〔2020〕9号第2—4条（法定义务）"),
    ("有未办的应急处置", False, "《未成年人保护法》第92条"),
    ("干预升级尚未完结：保护令申请尚未裁定、临时监护的儿童尚未评估、告诫书查访未完成、"
     "撤销监护人资格申请尚无判决", False, "新政发〔2016〕8号 四（五）；《未成年人保护法》第93条"),
    ("人身安全保护令仍在有效期内", False, "《反家庭暴力法》第30条"),
    ("救助方案有措施既未完成、也未在结案报告中写明取消理由", False, "新政发〔2016〕8号 四（三）（责任到人）"),
    ("救助方案、干预升级等仍待审批", False, "新政发〔2016〕8号 四（三）"),
    ("当前等级高于绿色", True, "新政发〔2016〕8号 四（六）（困境解除方可结案）"),
)


def closure_blockers(c: _Ctx, on: dt.date) -> tuple[list[str], list[str]]:
    """What stands in the way of closing the case on ``on``: ``(absolute, overridable)``.

    Absolute (no override; the child would be left at risk or a legal duty open):
    an open mandatory report (高检发〔2020〕9号 Art 2–4: a legal duty); an open emergency
    response (未保法 Art 92); an open escalation — a protection order applied for and not yet
    ruled on, a child in temporary guardianship not yet assessed, a warning letter's visits, an
    application to revoke guardianship with no judgment (新政发〔2016〕8号 四（五））; a protection
    order still in force (反家庭暴力法 Art 30); a plan measure neither done nor cancelled with a
    reason (四（三）责任到人); an escalation or plan awaiting its approval.
    Overridable by a supervisor with a reason: a level above green.
    """
    absolute, overridable = [], []
    if pending(c.session, c.case, ("mandatory_report",)):
        absolute.append("有未办的强制报告（法定义务，不能特批）")
    if pending(c.session, c.case, ("emergency_response",)):
        absolute.append("有未办的应急处置")
    open_steps = [KIND_LABELS[t.kind] for t in pending(c.session, c.case, OPEN_ESCALATION_TASKS)]
    steps = _escalation_records(c)
    if (any(e["step"] == "revoke_guardianship_application" for e in steps)
            and not any(e["step"] == "revoke_guardianship_decision" for e in steps)):
        open_steps.append("撤销监护人资格申请尚无判决")
    if open_steps:
        absolute.append("干预升级尚未完结：" + "、".join(dict.fromkeys(open_steps)))
    orders = [e["valid_until"] for e in steps if e["step"] == "protection_order"
              and _date(e["valid_until"]) >= on]
    if orders:
        absolute.append(f"人身安全保护令有效期至 {max(orders)}，尚未到期")
    measures = [t.ref.split(":")[1] for t in pending(c.session, c.case, ("measure_due",))]
    if measures:
        absolute.append(f"救助方案第{'、'.join(measures)}项措施未完成，也未写明取消理由")
    waiting = [approvals.SUBJECTS[a.subject] for a in approvals.pending(c.session, c.case)]
    if waiting:
        absolute.append("待审批：" + "、".join(waiting))
    if c.case.level != "green":
        overridable.append(f"当前等级为「{level_label(c.case.level)}」，高于绿色")
    return absolute, overridable


def _closure(c: _Ctx) -> None:
    """Closure report (结案, 四（六））: refused while :func:`closure_blockers` finds a risk
    left open; a level above green may be overridden by a supervisor with a reason; measures are
    cancelled only with a reason each; then return visits every ``return_visit_months`` (at
    least two a year, 四（六））. The closure is approved by a township approver."""
    cl = c.payload["closure"]
    on = _date(cl["date"])
    for item in cl.get("measures_cancelled", []):
        tasks = pending(c.session, c.case, ("measure_due",), ref=f"measure:{item['measure']}")
        if not tasks:
            raise JianhuError(f"救助方案中没有未完成的第{item['measure']}项措施")
        finish(c.session, tasks, status="cancelled", on=None, actor=c.actor.code)
        audit.record(c.session, actor=c.actor.code, action="cancel_measure", entity_type="case",
                     entity_id=c.case.id, after={"measure": item["measure"],
                                                 "reason": item["reason"]})
    absolute, overridable = closure_blockers(c, on)
    if absolute:
        raise TransitionRefused(f"个案 {c.case.case_no} 不能结案：{'；'.join(absolute + overridable)}")
    reason = cl.get("override_reason")
    if overridable:
        if not reason:
            raise TransitionRefused(f"个案 {c.case.case_no} 不能结案：{'；'.join(overridable)}。"
                                    "如确需结案，须由督导员填写特批理由")
        if not c.actor.can("close:override"):
            raise TransitionRefused(f"个案 {c.case.case_no} {'；'.join(overridable)}，"
                                    f"只有督导员可以特批结案（当前操作人 {c.actor.code}）")
        c.result.notes.append("特批结案：" + reason)
    finish(c.session, pending(c.session, c.case, ("visit", "reassessment", "first_assessment")),
           status="cancelled", on=None, actor=c.actor.code)
    c.case.closed_on = on
    c.move("close", reason=reason)
    for i in range(1, c.policy.return_visit_count + 1):
        c.task("return_visit", add_months(on, c.policy.return_visit_months * i), ref=f"return:{i}")
    c.approval("closure", cl["closed_by"], cl.get("approved_by"))
    c.emit("case_closed", reason=cl["reason"], override=bool(reason and overridable))


def _return_visit(c: _Ctx) -> None:
    """Return visit after closure (回访, 四（六））; one that finds risk reopens the case."""
    rv = c.payload["return_visit"]
    on = _date(rv["date"])
    finish(c.session, pending(c.session, c.case, ("return_visit",))[:1], status="done", on=on,
           actor=c.actor.code)
    c.move("return_visit")
    if rv["risk_found"]:
        _reopen(c, "回访发现风险", on + dt.timedelta(days=c.policy.worse_visit_reassess_days))


def _level_override(c: _Ctx) -> None:
    """Level adjustment by professional judgment (等级调整, 四（四）分级分类 by the assessment
    team). Raising applies at once — danger never waits for paperwork — and brings the next
    visit forward to the new level's interval; the supervisor's approval follows (pending
    unless named). Lowering is recorded by the approving supervisor themselves, for someone
    else's request (a lowered level that awaited approval, or a written approval entered by
    someone else, could leave a child less protected on one person's word). The next
    assessment grades from its scores again."""
    o = c.payload["override"]
    current, level = c.case.level, o["level"]
    if current is None:
        raise JianhuError(f"个案 {c.case.case_no} 尚未评估定级，不能调整等级；请先登记评估")
    if level == current:
        raise JianhuError(f"个案 {c.case.case_no} 当前已是「{level_label(current)}」，无需调整")
    lowering = LEVEL_RANK[level] > LEVEL_RANK[current]
    if lowering and o.get("approved_by") != c.actor.code:
        raise JianhuError("降低等级须由审批的儿童督导员本人登记：在「审批人编号」填自己的编号，"
                          "「申请人编号」填提出调整的人（不能是自己）")
    c.approval("level_override", o["requested_by"], o.get("approved_by"))
    way = "降低" if lowering else "提高"
    set_level(c.session, c.host, c.case, level, reason=f"等级调整（{way}）：{o['reason']}",
              actor=c.actor.code, now=c.now)
    c.result.notes.append(f"等级 {level_label(current)} → {level_label(level)}")
    if not lowering:
        soon = c.on + dt.timedelta(days=c.policy.for_level(level).visit_days)
        later = [t for t in pending(c.session, c.case, ("visit",)) if t.due_on > soon]
        finish(c.session, later, status="cancelled", on=None, actor=c.actor.code)
        if later or not pending(c.session, c.case, ("visit",)):
            c.task("visit", soon)


def _guardianship(c: _Ctx) -> None:
    """Guardianship change (:mod:`jianhu.guardianship`): checked against the guardians in force
    on its date; a period with an end date (委托照护, 临时监护) becomes a task due that day, which
    the next change of the same period completes; approved by a township approver."""
    g = c.payload["guardianship"]
    on = _date(g["date"])
    guardianship.check(c.payload, guardianship.in_force(c.session, c.host, c.case.child_id, on,
                                                        exclude=c.record.id))
    period = guardianship.PERIOD_OF.get(g["change"])
    if period:
        finish(c.session, pending(c.session, c.case, ("guardianship_period_end",), ref=period),
               status="done", on=on, actor=c.actor.code)
        if g.get("until") and g["change"] in ("entrusted_care", "state_temporary"):
            c.task("guardianship_period_end", _date(g["until"]), ref=period)
    c.approval("guardianship_change", g["recorded_by"], g.get("approved_by"))
    c.emit("guardianship_changed", change=g["change"])


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
    "return_visit": _return_visit, "guardianship": _guardianship,
    "level_override": _level_override,
}
#: Forms whose payload part is confidential and stored apart: ``{form: group}``.
CONFIDENTIAL = {"incident": "reporter"}


#: Roster-code fields of the forms: who entered the record (the actor — or, for a role that may
#: record on behalf of others, a person of the case's township) and who did what it records
#: (a person of the case's township), with the Chinese names messages use.
ENTERED_BY = {"recorded_by": "登记人", "closed_by": "个案负责人", "requested_by": "申请人"}
DONE_BY = {"visitor": "随访（回访）人", "provider": "服务人员", "reported_by": "报告人",
           "responsible": "措施责任人", "approved_by": "审批人"}


def _people_named(payload: Any) -> list[tuple[str, str]]:
    """``(field, code)`` of every roster-code field (:data:`ENTERED_BY`, :data:`DONE_BY`) in a
    payload, in groups and in lists of them (plan measures)."""
    out = []
    if isinstance(payload, dict):
        for k, v in payload.items():
            if k in ENTERED_BY or k in DONE_BY:
                if isinstance(v, str):
                    out.append((k, v))
            else:
                out += _people_named(v)
    elif isinstance(payload, list):
        for v in payload:
            out += _people_named(v)
    return out


def check_people(session: Session, case: Case, payload: dict[str, Any], actor: Actor
                 ) -> dict[str, Any]:
    """Refuse, in Chinese, a person named on a form who may not be there: not on the roster;
    of another township than the case's (people without a township — the county's and the
    local administrator — may be named anywhere); or, in a field saying who entered the
    record, someone else than the actor when the actor may not record on behalf of others
    (``records:on_behalf``). The audit trail names the actor either way."""
    named = _people_named(payload)
    people = require_people(session, [code for _, code in named])
    for key, code in named:
        title = ENTERED_BY.get(key) or DONE_BY[key]
        if key in ENTERED_BY and code != actor.code and not actor.can("records:on_behalf"):
            raise JianhuError(f"「{title}」应填登记人本人的编号（{actor.code}）；"
                              "代他人登记须由乡镇督导员进行")
        town = people[code].township_id
        if town is not None and town != case.township_id:
            raise JianhuError(f"{code} 不是本乡镇的人员，不能填在「{title}」")
    return people


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


def _stored(form_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The part of a record kept in ``form_records`` (the confidential reporter goes apart)."""
    return {k: v for k, v in payload.items() if k != CONFIDENTIAL.get(form_id)}


def record_digest(host: Host, form_id: str, payload: dict[str, Any]) -> str | None:
    """The :attr:`~jianhu.db.models.FormRecord.payload_hash` recording ``payload`` would store
    (codes or labels alike), or ``None`` for a form not stored as a record (an assessment)."""
    if form_id not in HANDLERS:
        return None
    return payload_hash(_stored(form_id, load_form(host, form_id).with_codes(payload)))


def is_recorded(session: Session, host: Host, case: Case, form_id: str,
                payload: dict[str, Any]) -> bool:
    """Whether exactly this record (same form, same content, codes or labels alike) is already on
    the case: a file imported twice records nothing the second time (:mod:`jianhu.imports.records`)."""
    digest = record_digest(host, form_id, payload)
    return digest is not None and session.scalar(select(func.count()).select_from(FormRecord).where(
        on_case(case.id, form_id), FormRecord.payload_hash == digest)) > 0


def recorded_digests(session: Session, case_ids: list[uuid.UUID]) -> set[tuple[uuid.UUID, str, str]]:
    """``(case id, form, payload hash)`` of every record on these cases (:func:`record_digest`),
    read in a few statements: what :func:`is_recorded` asks one record at a time."""
    out: set[tuple[uuid.UUID, str, str]] = set()
    ids = list(dict.fromkeys(case_ids))
    for start in range(0, len(ids), 500):
        out.update((r.subject_id, r.form_id, r.payload_hash) for r in session.execute(
            select(FormRecord.subject_id, FormRecord.form_id, FormRecord.payload_hash).where(
                FormRecord.subject_type == "case", FormRecord.subject_id.in_(ids[start:start + 500]))))
    return out


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
    check_form(case, form_id, actor)
    before = case.status
    if form_id == "assessment":
        g = grade(session, host, case, payload, actor=actor.code, scale=level_scale(host))
        return Recorded(g.assessment_id, case.case_no, before, case.status,
                        notes=[f"总分 {g.result.total:g}，等级 {level_label(g.level_before)} → "
                               f"{level_label(g.level_after)}"])
    handler = HANDLERS[form_id]
    form = load_form(host, form_id)
    payload = form.with_codes(payload)  # "方式": "入户" as well as "home"
    form.validate(payload)
    people = check_people(session, case, payload, actor)
    on = _record_date(payload)
    if on > local_today(now):
        raise JianhuError(f"{form.title}的日期 {on} 晚于今天")
    if on < case.opened_on:
        raise JianhuError(f"{form.title}的日期 {on} 早于开案日期 {case.opened_on}")
    township = session.get(Township, case.township_id)
    stored = _stored(form_id, payload)
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
               host.followup_policy(township.code), township, result, record, on, people)
    handler(ctx)
    audit.record(session, actor=actor.code, action="record", entity_type="form_record",
                 entity_id=record.id, after={"case_no": case.case_no, "form": form_id,
                                             "recorded_on": on, "confidential": bool(secret)})
    session.flush()
    result.status_after = case.status
    return result


