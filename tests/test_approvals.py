"""Approvals: the level override (raising at once, lowering only with a supervisor named) and
the approvals list an approver works from (command line and web)."""

import json

import pytest
from sqlalchemy import select

from casework import one_case_workspace
from jianhu.db.models import Approval, AuditEvent, Case, FollowUp
from jianhu.errors import JianhuError
from jianhu.people import resolve_actor
from jianhu.records import record_form
from tests_helpers import answer_sheet


@pytest.fixture
def case(session, host, tmp_path):
    case_no = one_case_workspace(session, host, tmp_path)
    session.commit()
    c = session.scalars(select(Case).where(Case.case_no == case_no)).one()
    record_form(session, host, c, "assessment", answer_sheet("2026-09-10", score=1),
                actor=resolve_actor(session, "D01"))  # total 14: yellow
    session.commit()
    return c


def override(session, host, case, who="D01", **o):
    """Record an adjustment, entered at noon (Beijing) of its own date."""
    import datetime as dt

    o.setdefault("requested_by", who)
    noon = dt.datetime.fromisoformat(o["date"] + "T12:00:00+08:00")
    return record_form(session, host, case, "level_override", {"override": o},
                       actor=resolve_actor(session, who), now=noon)


def pending(session, case, kind):
    return sorted(t.due_on.isoformat() for t in session.scalars(select(FollowUp).where(
        FollowUp.case_id == case.id, FollowUp.kind == kind, FollowUp.status == "pending")))


def test_raising_applies_at_once_and_brings_the_visit_forward(session, host, case):
    assert (case.level, pending(session, case, "visit")) == ("yellow", ["2026-10-10"])
    r = override(session, host, case, date="2026-09-12", level="red", reason="祖母住院，无人照料")
    assert case.level == "red"
    assert pending(session, case, "visit") == ["2026-09-19"]  # red: a visit every 7 days
    assert pending(session, case, "approval") == ["2026-09-15"]  # 3 days after it was entered
    assert r.notes == ["等级调整待审批：已生成审批待办", "等级 黄色 → 红色"]
    history = session.scalars(select(AuditEvent).where(
        AuditEvent.action == "grade", AuditEvent.entity_id == str(case.id))
        .order_by(AuditEvent.at.desc())).first()
    assert history.after == {"level": "red", "reason": "等级调整（提高）：祖母住院，无人照料"}


def test_lowering_needs_a_supervisor_named_on_the_form(session, host, case):
    with pytest.raises(JianhuError, match="降低等级须由审批的儿童督导员本人登记"):
        override(session, host, case, date="2026-09-12", level="green", reason="父母已返乡")
    session.rollback()
    with pytest.raises(JianhuError, match="不能审批等级调整；审批人应为"):
        override(session, host, case, who="C01", date="2026-09-12", level="green",
                 reason="父母已返乡", approved_by="C01")  # civil affairs: plans, not levels
    session.rollback()
    with pytest.raises(JianhuError, match="等级调整不能由提交人（S01）自己审批"):
        override(session, host, case, who="S01", date="2026-09-12", level="green",
                 reason="父母已返乡", approved_by="S01")
    session.rollback()
    with pytest.raises(JianhuError, match="当前已是「黄色」，无需调整"):
        override(session, host, case, date="2026-09-12", level="yellow", reason="核实")
    session.rollback()
    with pytest.raises(JianhuError, match="降低等级须由审批的儿童督导员本人登记"):
        override(session, host, case, date="2026-09-12", level="green", reason="父母已返乡",
                 approved_by="S01")  # a director cannot enter the supervisor's approval
    session.rollback()
    override(session, host, case, who="S01", requested_by="D01", date="2026-09-12",
             level="green", reason="父母已返乡", approved_by="S01")
    assert case.level == "green"
    assert session.scalars(select(Approval.decision)).all() == ["approved"]


def test_the_approvals_list_shows_who_may_decide(run, session, host, case, tmp_path):
    override(session, host, case, date="2026-09-12", level="orange", reason="家中时有争吵")
    session.commit()
    mine = json.loads(run("--as", "S01", "approvals", "list", "--json").output)
    assert [(a["case_no"], a["subject"], a["requested_by"], a["decidable"]) for a in mine] == [
        (case.case_no, "level_override", "D01", True)]
    asked = json.loads(run("--as", "D01", "approvals", "list", "--json").output)
    assert [a["decidable"] for a in asked] == [False]
    out = run("--as", "D01", "approvals", "decide", case.case_no, "--subject", "等级调整",
              "--approve")
    assert out.exit_code != 0 and "村（居）儿童主任（D01）不能审批等级调整" in out.output
    out = run("--as", "S01", "approvals", "decide", case.case_no, "--subject", "等级调整",
              "--approve")
    assert out.exit_code == 0, out.output
    assert json.loads(run("--as", "S01", "approvals", "list", "--json").output) == []
