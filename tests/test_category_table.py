"""Target-group categories of hand-written surveys, each row with its reason (issue: categories
fixed). Expected codes are in report order; the survey date is 2026-03-15."""

import datetime as dt

import pytest

from jianhu.cases import classify
from jianhu.forms import load_form
from surveys import survey

ON = dt.date(2026, 3, 15)
HOME = {"father__status": "at_home", "mother__status": "at_home"}
JAILED = {"status": "imprisoned", "status_since": "2025-01-01"}
RECENTLY_JAILED = {"status": "imprisoned", "status_since": "2026-01-01"}
MISSING = {"status": "missing", "status_since": "2025-01-01"}
DISABLED = {"status": "severely_disabled", "disability_type": "physical", "disability_grade": 1}
NO_CARER = {"guardianship__type": "none", "entrusted_guardian": None}

ROWS = [
    ("both parents away (国发〔2016〕13号)", {}, ["left_behind"]),
    ("one away, the other at home", {"mother__status": "at_home"}, []),
    ("one away, the other dead: no capacity at home", {"mother__status": "dead"},
     ["left_behind"]),
    ("one away, the other in prison", {"mother": JAILED}, ["left_behind"]),
    ("one away, the other missing", {"mother": MISSING}, ["left_behind"]),
    ("one away, the other severely disabled", {"mother": DISABLED}, ["left_behind"]),
    ("one away, the other in prison, guardianship poor",
     {"mother": JAILED, "guardianship__type": "parent_incapable"},
     ["left_behind", "difficulty_guardianship", "parent_absent"]),
    ("both parents dead, nobody caring (国办发〔2010〕54号)",
     {"father__status": "dead", "mother__status": "dead", **NO_CARER},
     ["difficulty_guardianship", "orphan"]),
    ("both parents dead, grandmother entrusted and caring well",
     {"father__status": "dead", "mother__status": "dead"}, ["orphan"]),
    ("orphan at 17", {"father__status": "dead", "mother__status": "dead",
                      "child__birth_date": "2008-03-16"}, ["orphan"]),
    ("orphan, but 18 on the survey day", {"father__status": "dead", "mother__status": "dead",
                                         "child__birth_date": "2008-03-15"}, []),
    ("one dead, the other lost for 14 months (民发〔2019〕62号)",
     {"father__status": "dead", "mother": MISSING, **NO_CARER},
     ["difficulty_guardianship", "de_facto_unsupported", "parent_absent"]),
    ("one dead, the other deported", {"father__status": "deported", "mother__status": "dead",
                                      **NO_CARER},
     ["difficulty_guardianship", "de_facto_unsupported"]),
    ("both in prison 14 months", {"father": JAILED, "mother": JAILED,
                                  "guardianship__type": "parent_incapable"},
     ["difficulty_guardianship", "de_facto_unsupported", "parent_absent"]),
    ("both in prison 2 months: not yet 6", {"father": RECENTLY_JAILED, "mother": RECENTLY_JAILED,
                                            "guardianship__type": "parent_incapable"},
     ["difficulty_guardianship", "parent_absent"]),
    ("urban hukou: not left behind", {"child__hukou_type": "urban"}, []),
    ("16 on the survey day: not left behind", {"child__birth_date": "2010-03-15"}, []),
    ("migrant, six months here", {**HOME, "child__hukou_in_county": False,
                                  "child__months_resident": 6}, ["migrant"]),
    ("migrant, five months: not yet", {**HOME, "child__hukou_in_county": False,
                                       "child__months_resident": 5}, []),
    ("family in hardship (国发〔2016〕36号)", {**HOME, "family__economic_hardship": True},
     ["difficulty_poverty"]),
    ("single parent on 低保", {"father__status": "dead", "mother__status": "at_home",
                             "family__assistance": ["dibao"], "family__single_parent": True},
     ["difficulty_poverty", "single_parent_poor"]),
    ("the child is disabled", {**HOME, "child__health": "disabled",
                               "child__disability_type": "physical",
                               "child__disability_grade": 2}, ["difficulty_disability"]),
    ("dropped out of school", {**HOME, "child__schooling": "dropped_out"}, ["out_of_school"]),
]


def _doc(changes):
    groups = {k: v for k, v in changes.items() if "__" not in k}
    doc = survey(**{k: v for k, v in changes.items() if "__" in k})
    for group, value in groups.items():
        if value is None:
            del doc[group]
        else:
            doc[group] = value
    return doc


@pytest.mark.parametrize("reason,changes,expected", ROWS, ids=[r[0] for r in ROWS])
def test_categories_of_hand_written_surveys(host, reason, changes, expected):
    doc = _doc(changes)
    assert load_form(host, "screening").problems(doc) == [], reason
    assert classify(host.target_categories, doc, ON) == expected, reason
