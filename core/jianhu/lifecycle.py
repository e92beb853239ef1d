"""The case lifecycle as an explicit state machine.

States follow the plan's steps (新政发〔2016〕8号 四（三）—（六））: a case is registered at screening,
assessed, put under intervention when its assistance plan takes effect, under review when it is
re-assessed, closed with a closure report, then in its return-visit period; a return visit or a
harm report that finds risk reopens it. Escalation (administrative, then judicial intervention) is
a separate track on the case (``Case.escalation``), not a state.

Every transition is checked against :data:`TRANSITIONS`; a refused one raises
:class:`TransitionRefused` with a Chinese message and changes nothing. Accepted ones write an audit
event in the caller's transaction.

This module alone decides which form may be recorded on a case in which state and by which role
(:func:`check_form`, :func:`allowed_forms`): the command line, the web pages, the API and
``jianhu import records`` all ask it. The roles allowed per form are the ``record:<form>``
permissions of :mod:`jianhu.roles`; the states are :data:`FORM_STATES`; one rule adds to both:
a case that went to court (judicial escalation) is closed only by a supervisor role
(:data:`JUDICIAL_CLOSERS`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jianhu.dates import now_utc
from jianhu.errors import JianhuError
from jianhu.roles import SUPERVISORS, Actor, role_labels

if TYPE_CHECKING:  # the rules themselves need no database (the command line starts faster)
    from sqlalchemy.orm import Session

    from jianhu.db.models import Case

STATES: dict[str, str] = {
    "registered": "已登记",
    "assessed": "已评估",
    "intervention": "干预中",
    "review": "复评中",
    "closed": "已结案",
    "return_visits": "回访期",
    "reopened": "重新开案",
}
EVENTS: dict[str, str] = {
    "grade": "评估定级",
    "plan": "实施救助方案",
    "close": "结案",
    "return_visit": "登记回访",
    "reopen": "重新开案",
}
#: ``(state, event) → next state``. Anything else is refused.
TRANSITIONS: dict[tuple[str, str], str] = {
    ("registered", "grade"): "assessed",
    ("assessed", "grade"): "assessed",
    ("reopened", "grade"): "assessed",
    ("intervention", "grade"): "review",
    ("review", "grade"): "review",
    ("assessed", "plan"): "intervention",
    ("intervention", "plan"): "intervention",
    ("review", "plan"): "intervention",
    ("reopened", "plan"): "intervention",
    ("assessed", "close"): "closed",
    ("intervention", "close"): "closed",
    ("review", "close"): "closed",
    ("closed", "return_visit"): "return_visits",
    ("return_visits", "return_visit"): "return_visits",
    ("closed", "reopen"): "reopened",
    ("return_visits", "reopen"): "reopened",
}
#: States in which a case is under intervention (services, visits, harm response).
ACTIVE = ("registered", "assessed", "intervention", "review", "reopened")
#: States after closure.
CLOSED = ("closed", "return_visits")


def _by_event(event: str) -> frozenset[str]:
    return frozenset(state for state, ev in TRANSITIONS if ev == event)


#: The forms recorded on a case (in the order they are offered) and the states each may be
#: recorded in: a form that moves the case needs its transition; services, visits and
#: escalations need a case under intervention, return visits a closed one; harm reports and
#: reports to the police are taken in any state (a closed case is reopened by a harm report), and
#: so are guardianship changes (a court's judgment may come after closure); a level is adjusted
#: only on an open case that has one.
#: :mod:`jianhu.records` applies these rules when the form is recorded.
FORM_STATES: dict[str, frozenset[str]] = {
    "assessment": _by_event("grade"),
    "plan": _by_event("plan"),
    "service": frozenset(ACTIVE),
    "visit": frozenset(ACTIVE),
    "incident": frozenset(STATES),
    "police_report": frozenset(STATES),
    "escalation": frozenset(ACTIVE),
    "closure": _by_event("close"),
    "return_visit": frozenset(CLOSED),
    "guardianship": frozenset(STATES),
    "level_override": frozenset(ACTIVE) - {"registered"},
}
RECORD_FORMS: tuple[str, ...] = tuple(FORM_STATES)


#: Roles that may close a case that had a judicial escalation (a court was involved: the
#: closure needs the township's sign-off, not the village's).
JUDICIAL_CLOSERS = SUPERVISORS
#: Chinese name of each form as a step, for messages.
FORM_ACTIONS: dict[str, str] = {
    "assessment": "评估定级", "plan": "实施救助方案", "service": "登记服务", "visit": "登记随访",
    "incident": "登记侵害事件", "police_report": "登记向公安机关报告", "escalation": "升级干预",
    "closure": "结案", "return_visit": "登记回访", "guardianship": "登记监护变更",
    "level_override": "调整等级",
}


class TransitionRefused(JianhuError):
    """A lifecycle step the case's state does not allow (Chinese message; nothing changed)."""


def may_record(role: str, form_id: str, status: str, escalation: str | None = None) -> bool:
    """Whether ``role`` may record ``form_id`` on a case in state ``status`` (and with
    escalation track ``escalation``). The single rule behind :func:`check_form`."""
    if form_id not in FORM_STATES or status not in FORM_STATES[form_id]:
        return False
    if not Actor("", "", role).can(f"record:{form_id}"):
        return False
    return not (form_id == "closure" and escalation == "judicial" and role not in JUDICIAL_CLOSERS)


def allowed_forms(actor: Actor, case: Case) -> list[str]:
    """Forms ``actor`` may record on ``case`` now, in :data:`RECORD_FORMS` order."""
    return [f for f in RECORD_FORMS if may_record(actor.role, f, case.status, case.escalation)]


def check_form(case: Case, form_id: str, actor: Actor) -> None:
    """Refuse, in Chinese, a form the actor's role or the case's state does not allow.

    Raises:
        JianhuError: unknown form, or the role may not record it (:mod:`jianhu.roles`).
        TransitionRefused: the case's state does not allow it, or the case went to court and
            the role may not close it.
    """
    if form_id not in FORM_STATES:
        raise JianhuError(f"不能在个案上登记表单「{form_id}」；可登记：{'、'.join(RECORD_FORMS)}")
    actor.require(f"record:{form_id}")
    if form_id == "return_visit" and case.status not in CLOSED:
        raise TransitionRefused(f"个案 {case.case_no} 尚未结案，不能登记回访")
    if case.status not in FORM_STATES[form_id]:
        raise TransitionRefused(f"个案 {case.case_no} 当前为「{state_label(case.status)}」，"
                                f"不能{FORM_ACTIONS.get(form_id, form_id)}")
    if not may_record(actor.role, form_id, case.status, case.escalation):
        allowed = "、".join(role_labels().get(r, r) for r in sorted(JUDICIAL_CLOSERS))
        raise TransitionRefused(f"个案 {case.case_no} 已进入司法干预，须由{allowed}结案"
                                f"（当前操作人 {actor.code}）")


def state_label(state: str) -> str:
    """Chinese label of a state code."""
    return STATES.get(state, state)


def next_state(case: Case, event: str) -> str:
    """Return the state ``event`` would lead to.

    Raises:
        TransitionRefused: the case's state does not allow ``event``.
    """
    to = TRANSITIONS.get((case.status, event))
    if to is None:
        raise TransitionRefused(
            f"个案 {case.case_no} 当前为「{state_label(case.status)}」，不能{EVENTS.get(event, event)}")
    return to


def transition(session: Session, case: Case, event: str, *, actor: str,
               reason: str | None = None, on: dt.date | None = None,
               context: Mapping[str, Any] | None = None) -> str:
    """Move ``case`` by ``event``, audit it, and return the new state.

    ``on`` is the local date the step happened (the record's date), kept in the audit event so
    the case timeline shows the transition on that day rather than on the day it was typed in.

    Raises:
        TransitionRefused: the transition is not in :data:`TRANSITIONS`.
    """
    to = next_state(case, event)
    before = case.status
    case.status = to
    case.updated_at = now_utc()
    after: dict[str, Any] = {"status": to, "event": event}
    if reason:
        after["reason"] = reason
    if on is not None:
        after["on"] = on.isoformat()
    from jianhu import audit

    audit.record(session, actor=actor, action="transition", entity_type="case",
                 entity_id=case.id, before={"status": before}, after=after, context=context)
    return to
