"""The caseload is filtered, counted and paged by the database (web/queries.caseload), on the
small workspace: the category filter reads the JSON list of each case on SQLite and PostgreSQL."""

import pytest
from sqlalchemy import update

from jianhu.db.models import Case
from jianhu.db.session import open_session
from jianhu.roles import Actor
from jianhu.scope import Scope
from jianhu.web.queries import caseload
from small_workspace import CN_YELLOW, DG_NEW, DG_ORANGE, XJ_CLOSED, XJ_RED, workspace

COUNTY = Scope(Actor("x", "某人", "county_viewer"))


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    yield from workspace(tmp_path_factory.mktemp("caseload"))


@pytest.fixture
def session(ws):
    engine, _ = ws
    with open_session(engine) as s:
        # three kinds of category list: two codes, one code that is a prefix of another, none
        s.execute(update(Case).where(Case.case_no.in_([XJ_RED, DG_ORANGE]))
                  .values(categories=["left_behind", "poor_family"]))
        s.execute(update(Case).where(Case.case_no == CN_YELLOW).values(categories=["left"]))
        s.execute(update(Case).where(Case.case_no == DG_NEW).values(categories=[]))
        yield s
        s.rollback()


def test_a_page_of_the_caseload_in_case_number_order_with_its_total(session):
    first = caseload(session, COUNTY, limit=2)
    assert first.total == 5
    assert [r.case_no for r in first.rows] == [XJ_RED, XJ_CLOSED]
    last = caseload(session, COUNTY, limit=2, offset=4)
    assert (last.total, [r.case_no for r in last.rows]) == (5, [DG_ORANGE])
    beyond = caseload(session, COUNTY, limit=2, offset=6)
    assert (beyond.total, beyond.rows) == (5, [])


@pytest.mark.parametrize(("category", "expected"), [
    ("left_behind", [XJ_RED, XJ_CLOSED, DG_ORANGE]),
    ("poor_family", [XJ_RED, DG_ORANGE]),
    ("left", [CN_YELLOW]),  # not every list holding a code that starts with it
    ("orphan", []),
])
def test_the_category_filter_matches_a_whole_code_in_the_list(session, category, expected):
    found = caseload(session, COUNTY, category=category)
    assert (found.total, [r.case_no for r in found.rows]) == (len(expected), expected)


def test_filters_combine_before_the_page_is_cut(session):
    found = caseload(session, COUNTY, category="left_behind", status="open", limit=1, offset=1)
    assert found.total == 2  # XJ_RED (assessed) and DG_ORANGE (intervention); XJ_CLOSED is closed
    assert [r.case_no for r in found.rows] == [DG_ORANGE]
    assert found.rows[0].categories == ["left_behind", "poor_family"]
