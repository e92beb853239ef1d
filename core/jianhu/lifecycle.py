"""The case lifecycle as an explicit state machine.

States follow the plan's steps (新政发〔2016〕8号 四（三）—（六））: a case is registered at screening,
assessed, put under intervention when its assistance plan takes effect, under review when it is
re-assessed, closed with a closure report, then in its return-visit period; a return visit or a
harm report that finds risk reopens it. Escalation (administrative, then judicial intervention) is
a separate track on the case (``Case.escalation``), not a state.

Every transition is checked against :data:`TRANSITIONS`; a refused one raises
:class:`TransitionRefused` with a Chinese message and changes nothing. Accepted ones write an audit
event in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from jianhu import audit
from jianhu.dates import now_utc
from jianhu.db.models import Case
from jianhu.errors import JianhuError

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
#: reports to the police are taken in any state (a closed case is reopened by a harm report).
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
}
RECORD_FORMS: tuple[str, ...] = tuple(FORM_STATES)


class TransitionRefused(JianhuError):
    """A lifecycle step the case's state does not allow (Chinese message; nothing changed)."""


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


def require_active(case: Case, what: str) -> None:
    """Raise :class:`TransitionRefused` unless the case is under intervention.

    Args:
        case: the case.
        what: the Chinese name of what was attempted, e.g. ``"登记服务"``.
    """
    if case.status not in ACTIVE:
        raise TransitionRefused(
            f"个案 {case.case_no} 当前为「{state_label(case.status)}」，不能{what}")


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
    audit.record(session, actor=actor, action="transition", entity_type="case",
                 entity_id=case.id, before={"status": before}, after=after, context=context)
    return to
