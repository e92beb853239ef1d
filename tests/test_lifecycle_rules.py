"""Every (state × form × role) combination against a table written out here by hand: which forms
a case's state allows and which roles may record each (issue: one lifecycle rule book)."""

import datetime as dt
import itertools
import uuid
from types import SimpleNamespace

import pytest

from jianhu.errors import JianhuError
from jianhu.lifecycle import (
    EVENTS,
    RECORD_FORMS,
    STATES,
    TransitionRefused,
    _by_event,
    allowed_forms,
    check_form,
    may_record,
    next_state,
    state_label,
    transition,
)
from jianhu.roles import Actor, role_labels

OPEN = {"registered", "assessed", "intervention", "review", "reopened"}
ALL = OPEN | {"closed", "return_visits"}
STATES_BY_FORM = {
    "assessment": {"registered", "assessed", "intervention", "review", "reopened"},
    "plan": {"assessed", "intervention", "review", "reopened"},
    "service": OPEN,
    "visit": OPEN,
    "incident": ALL,
    "police_report": ALL,
    "escalation": OPEN,
    "closure": {"assessed", "intervention", "review"},
    "return_visit": {"closed", "return_visits"},
    "guardianship": ALL,
    "level_override": OPEN - {"registered"},
}
CASEWORK = {"local_admin", "township_supervisor", "village_child_director", "social_worker"}
ASSESSORS = {"assessor_civil_affairs", "assessor_womens_federation", "assessor_police",
             "assessor_education"}
HELPERS = {"psychologist", "tutor", "caring_mother", "elder_volunteer", "student_volunteer",
           "media_volunteer"}
ROLES_BY_FORM = {
    "assessment": CASEWORK | ASSESSORS,
    "plan": CASEWORK,
    "service": CASEWORK | ASSESSORS | HELPERS,
    "visit": CASEWORK | HELPERS,
    "incident": CASEWORK | ASSESSORS | HELPERS,
    "police_report": CASEWORK | ASSESSORS,
    "escalation": {"local_admin", "township_supervisor", "assessor_police",
                   "assessor_civil_affairs"},
    "closure": CASEWORK,
    "return_visit": CASEWORK | HELPERS,
    "guardianship": CASEWORK | {"assessor_civil_affairs"},
    "level_override": CASEWORK | ASSESSORS,
}
#: After a judicial escalation only these close a case.
JUDICIAL_CLOSERS = {"local_admin", "township_supervisor"}


def test_the_table_covers_every_state_form_and_role():
    assert set(STATES) == ALL
    assert set(RECORD_FORMS) == set(STATES_BY_FORM)
    assert len(role_labels()) == 17


@pytest.mark.parametrize("form", sorted(STATES_BY_FORM))
def test_every_state_and_role(form):
    wrong = []
    for state, role, track in itertools.product(STATES, role_labels(), (None, "judicial")):
        expected = state in STATES_BY_FORM[form] and role in ROLES_BY_FORM[form]
        if form == "closure" and track == "judicial":
            expected = expected and role in JUDICIAL_CLOSERS
        if may_record(role, form, state, track) != expected:
            wrong.append((state, role, track, expected))
    assert wrong == []


def test_a_few_combinations_spelled_out():
    assert may_record("village_child_director", "closure", "intervention", "administrative")
    assert not may_record("village_child_director", "closure", "intervention", "judicial")
    assert may_record("township_supervisor", "closure", "review", "judicial")
    assert not may_record("tutor", "plan", "assessed")
    assert not may_record("county_viewer", "incident", "closed")
    assert may_record("caring_mother", "incident", "return_visits")
    assert not may_record("township_supervisor", "return_visit", "intervention")


#: (state, event) → next state, every allowed step (新政发〔2016〕8号 四（三）—（六）); the rest is refused.
STEPS = {
    ("registered", "grade"): "assessed", ("assessed", "grade"): "assessed",
    ("reopened", "grade"): "assessed", ("intervention", "grade"): "review",
    ("review", "grade"): "review",
    ("assessed", "plan"): "intervention", ("intervention", "plan"): "intervention",
    ("review", "plan"): "intervention", ("reopened", "plan"): "intervention",
    ("assessed", "close"): "closed", ("intervention", "close"): "closed",
    ("review", "close"): "closed",
    ("closed", "return_visit"): "return_visits", ("return_visits", "return_visit"): "return_visits",
    ("closed", "reopen"): "reopened", ("return_visits", "reopen"): "reopened",
}
CASE_NO = "320724100-2026-0001"


def a_case(status: str, escalation: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(id=uuid.UUID(int=7), case_no=CASE_NO, status=status,
                           escalation=escalation, updated_at=None)


class AuditRows:
    """Stands in for a session: keeps the audit rows :func:`jianhu.audit.record` inserts."""

    def __init__(self):
        self.rows = []
        self.info = {}  # a session's info: no queued audit (jianhu.audit.defer)

    def execute(self, statement, rows):
        self.rows += rows


def test_the_states_each_event_leaves_from():
    assert _by_event("grade") == {"registered", "assessed", "reopened", "intervention", "review"}
    assert _by_event("plan") == {"assessed", "intervention", "review", "reopened"}
    assert _by_event("close") == {"assessed", "intervention", "review"}
    assert _by_event("return_visit") == {"closed", "return_visits"}
    assert _by_event("reopen") == {"closed", "return_visits"}
    assert _by_event("fly") == frozenset()


@pytest.mark.parametrize("state,event", list(itertools.product(STATES, EVENTS)))
def test_every_step_from_every_state(state, event):
    if (state, event) in STEPS:
        assert next_state(a_case(state), event) == STEPS[state, event]
    else:
        with pytest.raises(TransitionRefused) as err:
            next_state(a_case(state), event)
        assert str(err.value) == f"个案 {CASE_NO} 当前为「{STATES[state]}」，不能{EVENTS[event]}"


def test_an_unknown_step_is_named_as_given():
    with pytest.raises(TransitionRefused, match="^个案 320724100-2026-0001 当前为「已登记」，不能fly$"):
        next_state(a_case("registered"), "fly")


def test_state_labels():
    assert [state_label(s) for s in STATES] == ["已登记", "已评估", "干预中", "复评中", "已结案", "回访期",
                                                "重新开案"]
    assert state_label("archived") == "archived"


SUPERVISOR = Actor("320724100-S01", "督导甲", "township_supervisor")
DIRECTOR = Actor("320724100-D01", "主任乙", "village_child_director")
TUTOR = Actor("320724100-T01", "老师丙", "tutor")


def test_the_forms_offered_in_order():
    assert allowed_forms(SUPERVISOR, a_case("intervention")) == [
        "assessment", "plan", "service", "visit", "incident", "police_report", "escalation",
        "closure", "guardianship", "level_override"]
    assert allowed_forms(SUPERVISOR, a_case("registered")) == [
        "assessment", "service", "visit", "incident", "police_report", "escalation", "guardianship"]
    assert allowed_forms(SUPERVISOR, a_case("return_visits")) == [
        "incident", "police_report", "return_visit", "guardianship"]
    assert allowed_forms(DIRECTOR, a_case("review", "judicial")) == [
        "assessment", "plan", "service", "visit", "incident", "police_report", "guardianship",
        "level_override"]
    assert allowed_forms(SUPERVISOR, a_case("review", "judicial"))[-3:] == [
        "closure", "guardianship", "level_override"]
    assert allowed_forms(TUTOR, a_case("intervention")) == ["service", "visit", "incident"]


def test_check_form_allows_what_may_record_allows():
    assert check_form(a_case("intervention"), "visit", DIRECTOR) is None
    assert check_form(a_case("review", "judicial"), "closure", SUPERVISOR) is None
    assert check_form(a_case("closed"), "return_visit", TUTOR) is None


@pytest.mark.parametrize("case,form,actor,error,message", [
    (a_case("intervention"), "sdq", SUPERVISOR, JianhuError,
     "不能在个案上登记表单「sdq」；可登记：assessment、plan、service、visit、incident、police_report、"
     "escalation、closure、return_visit、guardianship、level_override"),
    (a_case("intervention"), "plan", TUTOR, JianhuError, "家教老师（320724100-T01）无权登记救助方案"),
    (a_case("closed"), "plan", TUTOR, JianhuError, "家教老师（320724100-T01）无权登记救助方案"),
    (a_case("intervention"), "return_visit", SUPERVISOR, TransitionRefused,
     f"个案 {CASE_NO} 尚未结案，不能登记回访"),
    (a_case("registered"), "plan", SUPERVISOR, TransitionRefused,
     f"个案 {CASE_NO} 当前为「已登记」，不能实施救助方案"),
    (a_case("closed"), "visit", DIRECTOR, TransitionRefused,
     f"个案 {CASE_NO} 当前为「已结案」，不能登记随访"),
    (a_case("review", "judicial"), "closure", DIRECTOR, TransitionRefused,
     f"个案 {CASE_NO} 已进入司法干预，须由本地管理员、乡镇儿童督导员结案（当前操作人 320724100-D01）"),
])
def test_check_form_refuses_in_chinese(case, form, actor, error, message):
    with pytest.raises(JianhuError) as err:
        check_form(case, form, actor)
    assert type(err.value) is error
    assert str(err.value) == message


def test_a_transition_moves_the_case_and_audits_it():
    case, session = a_case("registered"), AuditRows()
    before = dt.datetime.now(dt.UTC)
    assert transition(session, case, "grade", actor="评估员", reason="首次评估",
                      on=dt.date(2026, 9, 10), context={"file": "assessment.xlsx"}) == "assessed"
    assert case.status == "assessed"
    assert before <= case.updated_at <= dt.datetime.now(dt.UTC)
    [row] = session.rows
    assert {k: v for k, v in row.items() if k != "at"} == {
        "actor": "评估员", "action": "transition", "entity_type": "case",
        "entity_id": "00000000-0000-0000-0000-000000000007", "before": {"status": "registered"},
        "after": {"status": "assessed", "event": "grade", "reason": "首次评估", "on": "2026-09-10"},
        "context": {"file": "assessment.xlsx"}}


def test_a_transition_without_reason_or_day():
    case, session = a_case("closed"), AuditRows()
    assert transition(session, case, "reopen", actor="t") == "reopened"
    assert session.rows[0]["after"] == {"status": "reopened", "event": "reopen"}
    assert session.rows[0]["context"] is None


def test_a_refused_transition_changes_nothing():
    case, session = a_case("closed"), AuditRows()
    with pytest.raises(TransitionRefused):
        transition(session, case, "plan", actor="t")
    assert (case.status, case.updated_at, session.rows) == ("closed", None, [])
