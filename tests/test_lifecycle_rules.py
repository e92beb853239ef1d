"""Every (state × form × role) combination against a table written out here by hand: which forms
a case's state allows and which roles may record each (issue: one lifecycle rule book)."""

import itertools

import pytest

from jianhu.lifecycle import RECORD_FORMS, STATES, may_record
from jianhu.roles import role_labels

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
