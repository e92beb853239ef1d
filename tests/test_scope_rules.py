"""The scoping rules of :mod:`jianhu.scope` on a small hand-made workspace (tests/small_workspace.py):
which cases and children each scope sees, by case number and name, what :func:`confined` adds to
every query, whose records a scope holds, and the scope each role gets. Fast: the database is
upgraded once for the module, each test's writes are rolled back."""

import datetime as dt

import pytest
from sqlalchemy import select

from jianhu import scope as scoping
from jianhu.db.models import Assessment, Case, CaseAssignment, Child, FollowUp, FormRecord, Township, Village
from jianhu.db.session import open_session
from jianhu.errors import JianhuError
from jianhu.roles import LOCAL_ADMIN, Actor
from jianhu.scope import Scope, confined, current, restrict, scope_for
from small_workspace import (
    CN_YELLOW,
    DG_NEW,
    DG_ORANGE,
    DG_SUPERVISOR,
    DIRECTOR,
    MOTHER,
    NO_VILLAGE,
    SUPERVISOR,
    VIEWER,
    WORKER,
    XJ_CLOSED,
    XJ_RED,
    workspace,
)

ALL = [XJ_RED, XJ_CLOSED, CN_YELLOW, DG_NEW, DG_ORANGE]
XINAN_CASES = [XJ_RED, XJ_CLOSED, CN_YELLOW]
#: The child of each case (tests/small_workspace.py names them in case order).
CHILD = dict(zip(ALL, ["测试0", "测试1", "测试2", "测试3", "测试4"], strict=True))
SOMEONE = Actor("x", "某人", "tutor")


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    yield from workspace(tmp_path_factory.mktemp("scope-rules"))


@pytest.fixture
def session(ws):
    engine, _ = ws
    with open_session(engine) as s:
        yield s
        s.rollback()


@pytest.fixture
def ids(ws):
    return ws[1]


def case_nos(session, scope: Scope | None = None) -> list[str]:
    stmt = select(Case.case_no).order_by(Case.case_no)
    return list(session.scalars(scope.cases(stmt) if scope else stmt))


def child_names(session, scope: Scope | None = None) -> list[str]:
    stmt = select(Child.name).order_by(Child.name)
    return list(session.scalars(scope.children(stmt) if scope else stmt))


def test_cases_and_children_of_each_kind_of_scope(session, ids):
    xinan, xinji = ids.townships["新安镇"], ids.villages["新集村"]
    county = Scope(SOMEONE)
    town = Scope(SOMEONE, xinan)
    village = Scope(SOMEONE, xinan, xinji)
    assigned = Scope(Actor(MOTHER, "妈妈丁", "caring_mother"), xinan, None, True)
    assert case_nos(session, county) == sorted(ALL)
    assert case_nos(session, town) == sorted(XINAN_CASES)
    assert case_nos(session, Scope(SOMEONE, ids.townships["堆沟港镇"])) == [DG_NEW, DG_ORANGE]
    assert case_nos(session, village) == [XJ_RED, XJ_CLOSED]
    assert case_nos(session, assigned) == [CN_YELLOW]
    assert case_nos(session, Scope(SOMEONE, None, xinji)) == [XJ_RED, XJ_CLOSED]
    # another provider's assignments are not the mother's
    assert case_nos(session, Scope(SOMEONE, xinan, None, True)) == []
    assert child_names(session, county) == ["测试0", "测试1", "测试2", "测试3", "测试4"]
    assert child_names(session, town) == ["测试0", "测试1", "测试2"]
    assert child_names(session, village) == ["测试0", "测试1"]
    assert child_names(session, Scope(SOMEONE, None, xinji)) == ["测试0", "测试1"]
    assert child_names(session, assigned) == ["测试2"]
    assert child_names(session, Scope(SOMEONE, xinan, None, True)) == []
    # an assignment in another village of the township: the village scope still rules
    session.add(CaseAssignment(case_id=ids.cases[CN_YELLOW], person_code="x"))
    session.add(CaseAssignment(case_id=ids.cases[XJ_RED], person_code="x"))
    session.flush()
    assert case_nos(session, Scope(SOMEONE, xinan, xinji, True)) == [XJ_RED]
    assert child_names(session, Scope(SOMEONE, xinan, xinji, True)) == ["测试0"]


def test_whose_records_a_scope_holds(ids):
    xinan, duigou = ids.townships["新安镇"], ids.townships["堆沟港镇"]
    xinji, chengnan = ids.villages["新集村"], ids.villages["城南村"]
    assert Scope(SOMEONE).holds(duigou, None)
    assert Scope(SOMEONE).holds(xinan, xinji)
    assert Scope(SOMEONE, xinan).holds(xinan, chengnan)
    assert Scope(SOMEONE, xinan).holds(xinan)
    assert not Scope(SOMEONE, xinan).holds(duigou, None)
    assert Scope(SOMEONE, xinan, xinji).holds(xinan, xinji)
    assert not Scope(SOMEONE, xinan, xinji).holds(xinan, chengnan)
    assert not Scope(SOMEONE, xinan, xinji).holds(xinan)
    assert not Scope(SOMEONE, xinan, xinji).holds(duigou, xinji)
    assert not Scope(SOMEONE, xinan, None, True).holds(xinan, xinji)  # a provider changes none


def test_a_case_is_found_only_in_scope(session, ids):
    town = Scope(SOMEONE, ids.townships["新安镇"])
    found = town.find_case(session, CN_YELLOW)
    assert (type(found), found.id) == (Case, ids.cases[CN_YELLOW])
    for case_no in (DG_NEW, "320724100-2026-0999"):  # outside, or no such case: the same answer
        with pytest.raises(JianhuError) as err:
            town.find_case(session, case_no)
        assert str(err.value) == f"没有个案 {case_no}"


@pytest.mark.parametrize("code,role,expected", [
    (SUPERVISOR, "township_supervisor", ("新安镇", None, False)),
    (WORKER, "social_worker", ("新安镇", None, False)),
    (DIRECTOR, "village_child_director", ("新安镇", "新集村", False)),
    (MOTHER, "caring_mother", ("新安镇", None, True)),
    (DG_SUPERVISOR, "township_supervisor", ("堆沟港镇", None, False)),
    # the role named is the one that counts: a director acting as a supervisor sees the township
    (DIRECTOR, "township_supervisor", ("新安镇", None, False)),
])
def test_the_scope_of_each_township_role(session, ids, code, role, expected):
    actor = Actor(code, "某人", role)
    assert current(session) is None
    scope = scope_for(session, actor)
    town, village, assigned = expected
    assert scope == Scope(actor, ids.townships[town], village and ids.villages[village], assigned)
    assert current(session) is scope
    assert session.info["jianhu_scope"] is scope


@pytest.mark.parametrize("role", ["county_admin", "county_viewer", "local_admin", "trainer"])
def test_county_wide_roles_see_every_township(session, role):
    actor = Actor(VIEWER, "县级庚", role)
    assert scope_for(session, actor) == Scope(actor)
    assert current(session) == Scope(actor)


def test_the_database_role_each_scope_acts_as(session, monkeypatch):
    asked = []
    monkeypatch.setattr(scoping, "use_role", lambda s, role: asked.append(role))
    for role in ("county_admin", "county_viewer", "local_admin", "trainer"):
        scope_for(session, Actor(VIEWER, "县级庚", role))
    scope_for(session, Actor(SUPERVISOR, "督导甲", "township_supervisor"))
    scope_for(session, Actor(DG_SUPERVISOR, "督导己", "township_supervisor"))
    assert asked == ["jianhu_county", "jianhu_county", None, None, "jianhu_t_320724100000",
                     "jianhu_t_320724101000"]


@pytest.mark.parametrize("code,role,message", [
    ("320724100-X99", "township_supervisor", "人员「320724100-X99」没有所属乡镇，不能查看个案"),
    (VIEWER, "township_supervisor", "人员「320724-V01」没有所属乡镇，不能查看个案"),
    (NO_VILLAGE, "village_child_director", "儿童主任「320724100-D02」在名册中没有负责的村（社区）"),
])
def test_a_scope_is_refused_without_a_place_on_the_roster(session, code, role, message):
    with pytest.raises(JianhuError) as err:
        scope_for(session, Actor(code, "某人", role))
    assert str(err.value) == message
    assert current(session) is None


def test_restrict_applies_the_sessions_scope(session, ids):
    stmt = select(Case.case_no).order_by(Case.case_no)
    assert restrict(session, stmt) is stmt
    session.info["jianhu_scope"] = Scope(SOMEONE, ids.townships["堆沟港镇"])
    assert list(session.scalars(restrict(session, stmt))) == [DG_NEW, DG_ORANGE]


def add_records(session, ids) -> None:
    """A task, an assessment, a record on the case and one on the child, for every case."""
    for n, case_no in enumerate(ALL):
        case = session.get(Case, ids.cases[case_no])
        session.add(FollowUp(case_id=case.id, township_id=case.township_id, kind="visit",
                             due_on=dt.date(2026, 10, 1 + n), ref=case_no))
        session.add(Assessment(case_id=case.id, scale="jianhu-default", scale_version="1",
                               form_version=1, assessed_on=dt.date(2026, 9, 1), assessor=case_no,
                               answers={}, scores={}, total=0.0, level="green"))
        for subject_type, subject in (("case", case.id), ("child", case.child_id)):
            session.add(FormRecord(form_id="visit", form_version=1, subject_type=subject_type,
                                   subject_id=subject, payload={}, payload_hash=f"{case_no}-{subject_type}",
                                   recorded_on=dt.date(2026, 9, 1), created_by="t"))
    session.flush()


def seen(session) -> dict[str, list[str]]:
    """What plain ORM queries of every scoped table return."""
    return {
        "cases": sorted(session.scalars(select(Case.case_no))),
        "children": sorted(session.scalars(select(Child.name))),
        "tasks": sorted(session.scalars(select(FollowUp.ref))),
        "assessments": sorted(session.scalars(select(Assessment.assessor))),
        "records": sorted(session.scalars(select(FormRecord.payload_hash))),
        "townships": sorted(session.scalars(select(Township.name))),
        "villages": sorted(session.scalars(select(Village.name))),
        "loaded": sorted(c.case_no for c in session.scalars(select(Case))),
    }


def everything_of(case_nos: list[str], townships: list[str], villages: list[str]) -> dict:
    return {"cases": sorted(case_nos), "children": sorted(CHILD[c] for c in case_nos),
            "tasks": sorted(case_nos), "assessments": sorted(case_nos),
            "records": sorted(f"{c}-{t}" for c in case_nos for t in ("case", "child")),
            "townships": sorted(townships), "villages": sorted(villages),
            "loaded": sorted(case_nos)}


WHOLE = everything_of(ALL, ["新安镇", "堆沟港镇"], ["新集村", "城南村", "堆沟村"])


@pytest.mark.parametrize("make,expected", [
    (lambda ids: None, WHOLE),
    (lambda ids: Scope(SOMEONE), WHOLE),
    (lambda ids: Scope(SOMEONE, ids.townships["新安镇"]),
     everything_of(XINAN_CASES, ["新安镇"], ["新集村", "城南村"])),
    (lambda ids: Scope(SOMEONE, ids.townships["堆沟港镇"]),
     everything_of([DG_NEW, DG_ORANGE], ["堆沟港镇"], ["堆沟村"])),
    (lambda ids: Scope(SOMEONE, ids.townships["新安镇"], ids.villages["新集村"]),
     everything_of([XJ_RED, XJ_CLOSED], ["新安镇"], ["新集村"])),
    (lambda ids: Scope(Actor(MOTHER, "妈妈丁", "caring_mother"), ids.townships["新安镇"], None, True),
     everything_of([CN_YELLOW], ["新安镇"], ["新集村", "城南村"])),
    # a provider of no township: their cases only, every township and village
    (lambda ids: Scope(Actor(MOTHER, "妈妈丁", "caring_mother"), None, None, True),
     everything_of([CN_YELLOW], ["新安镇", "堆沟港镇"], ["新集村", "城南村", "堆沟村"])),
])
def test_confined_queries_see_only_the_scope(session, ids, make, expected):
    add_records(session, ids)
    scope = make(ids)
    if scope is not None:
        session.info["jianhu_scope"] = scope
    with confined(session):
        assert seen(session) == expected
    session.info.pop("jianhu_scope", None)
    assert seen(session) == WHOLE  # the block over, queries are whole again


def test_confined_ends_even_when_the_block_raises(session, ids):
    session.info["jianhu_scope"] = Scope(SOMEONE, ids.townships["堆沟港镇"])
    with pytest.raises(RuntimeError), confined(session):
        raise RuntimeError("a plugin's report failed")
    del session.info["jianhu_scope"]
    assert case_nos(session) == sorted(ALL)


def test_assign_is_idempotent(session, ids):
    case = session.get(Case, ids.cases[XJ_RED])
    scoping.assign(session, case, [WORKER, SUPERVISOR, WORKER])
    session.flush()
    scoping.assign(session, case, [SUPERVISOR, DIRECTOR])
    session.flush()
    assert sorted(session.scalars(select(CaseAssignment.person_code).where(
        CaseAssignment.case_id == case.id))) == [DIRECTOR, SUPERVISOR, WORKER]
    assert sorted(session.scalars(select(CaseAssignment.person_code).where(
        CaseAssignment.case_id == ids.cases[CN_YELLOW]))) == [MOTHER]


def test_the_local_administrator_sees_everything(session):
    assert scope_for(session, LOCAL_ADMIN) == Scope(LOCAL_ADMIN)
    assert list(session.scalars(restrict(session, select(Case.case_no).order_by(Case.case_no)))) == ALL
