"""Guardianship changes are structured: each updates who is in force, with dates and history,
and documents and the case page show the guardian in force on their date."""

import datetime as dt

import pytest
from sqlalchemy import select

from casework import one_case_workspace
from jianhu.db.models import Approval, Case, FollowUp
from jianhu.documents import render_html
from jianhu.errors import JianhuError
from jianhu.guardianship import in_force
from jianhu.people import resolve_actor
from jianhu.records import record_form
from jianhu.timeline import case_view
from tests_helpers import answer_sheet

NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def case(session, host, tmp_path):
    case_no = one_case_workspace(session, host, tmp_path)
    session.commit()
    return session.scalars(select(Case).where(Case.case_no == case_no)).one()


def change(session, host, case, who="S01", **g):
    g.setdefault("recorded_by", who)
    return record_form(session, host, case, "guardianship", {"guardianship": g},
                       actor=resolve_actor(session, who), now=NOW)


def shown(session, host, case, on):
    return [(e.role, e.name, e.status, e.guardian) for e in
            in_force(session, host, case.child_id, dt.date.fromisoformat(on))]


SURVEYED = [("father", None, "外出务工", True), ("mother", None, "外出务工", True),
            ("entrusted", "测试乙", "", True)]


def test_a_revocation_changes_the_guardians_from_its_date_and_keeps_the_history(
        session, host, case):
    change(session, host, case, change="revocation", date="2026-06-01", parents=["father"],
           guardian_name="测试丁", guardian_relation="姑母", authority="灌南县人民法院",
           document_no="（2026）苏0724民特1号", approved_by="C01")
    assert shown(session, host, case, "2026-05-31") == SURVEYED
    assert shown(session, host, case, "2026-06-01") == [
        ("father", None, "监护人资格已撤销（2026-06-01，灌南县人民法院，（2026）苏0724民特1号）",
         False),
        ("mother", None, "外出务工", True), ("entrusted", "测试乙", "", True),
        ("appointed", "测试丁", "法院指定（灌南县人民法院，（2026）苏0724民特1号）", True)]
    with pytest.raises(JianhuError, match="父亲的监护人资格已被撤销，不能再次撤销"):
        change(session, host, case, change="revocation", date="2026-07-01", parents=["father"],
               guardian_name="测试丁", authority="灌南县人民法院", approved_by="C01")
    change(session, host, case, change="restoration", date="2026-09-01", parents=["father"],
           authority="灌南县人民法院", approved_by="C01")
    assert shown(session, host, case, "2026-09-01")[0] == (
        "father", None, "2026-09-01恢复监护人资格（灌南县人民法院）", True)
    assert [e[0] for e in shown(session, host, case, "2026-09-01")] == [
        "father", "mother", "entrusted"]


def test_entrusted_care_has_a_period_and_a_task_at_its_end(session, host, case):
    r = change(session, host, case, who="D01", change="entrusted_care", date="2026-04-01",
               until="2026-10-31", guardian_name="测试戊", guardian_relation="叔父",
               guardian_phone="13800000000")
    assert r.tasks == [("guardianship_period_end", dt.date(2026, 10, 31))]
    # not approved yet: in force, marked, and an approval task for the township
    assert shown(session, host, case, "2026-04-01")[2] == ("entrusted", "测试戊", "委托照护（待审批）",
                                                           True)
    kinds = sorted((t.kind, t.due_on.isoformat()) for t in session.scalars(select(FollowUp).where(
        FollowUp.case_id == case.id, FollowUp.status == "pending")))
    assert kinds == [("approval", "2026-12-04"), ("first_assessment", "2026-03-30"),  # entered 12-01
                     ("guardianship_period_end", "2026-10-31")]
    assert shown(session, host, case, "2026-11-01")[2] == (
        "entrusted", "测试戊", "委托照护（待审批）；期限至 2026-10-31 已过，请核实", True)
    change(session, host, case, who="D01", change="entrusted_care_end", date="2026-11-02",
           approved_by="S01")
    assert [e[0] for e in shown(session, host, case, "2026-11-02")] == ["father", "mother"]
    period = session.scalars(select(FollowUp).where(
        FollowUp.kind == "guardianship_period_end")).one()
    assert (period.status, period.done_on) == ("done", dt.date(2026, 11, 2))


def test_a_rejected_change_is_not_in_force(session, host, case):
    from jianhu.approvals import decide

    change(session, host, case, who="D01", change="state_temporary", date="2026-05-01",
           guardian_name="灌南县民政局")
    assert shown(session, host, case, "2026-05-02")[-1] == ("state", "灌南县民政局",
                                                            "民政部门临时监护（待审批）", True)
    decide(session, case, "guardianship_change", approve=False, reason="登记有误",
           actor=resolve_actor(session, "S01"))
    assert shown(session, host, case, "2026-05-02") == SURVEYED
    assert session.scalars(select(Approval.decision)).all() == ["rejected"]


def test_bad_changes_are_refused_in_chinese(session, host, case):
    with pytest.raises(JianhuError, match="期限至 2026-03-01 早于生效日期 2026-04-01"):
        change(session, host, case, change="entrusted_care", date="2026-04-01",
               until="2026-03-01", guardian_name="测试戊", guardian_relation="叔父")
    with pytest.raises(JianhuError, match="新监护人或受托人姓名"):
        change(session, host, case, change="revocation", date="2026-04-01",
               parents=["mother"], authority="灌南县人民法院")
    with pytest.raises(JianhuError, match="儿童不在民政部门临时监护中"):
        change(session, host, case, change="state_temporary_end", date="2026-04-01")
    with pytest.raises(JianhuError, match="大学生志愿者（V01）无权登记监护变更"):
        change(session, host, case, who="V01", change="entrusted_care_end", date="2026-04-01")


def test_documents_and_the_case_page_show_the_guardian_in_force(session, host, case):
    record_form(session, host, case, "assessment", answer_sheet("2026-09-10", score=1),
                actor=resolve_actor(session, "D01"), now=NOW)
    change(session, host, case, change="revocation", date="2026-06-01", parents=["mother"],
           guardian_name="测试丁", guardian_relation="姑母", authority="灌南县人民法院",
           approved_by="C01")
    html = render_html(session, host, case, "assessment", actor=resolve_actor(session, "S01"))
    assert "监护人资格已撤销（2026-06-01，灌南县人民法院）" in html
    assert "测试丁（姑母，指定监护人，法院指定（灌南县人民法院））" in html
    view = case_view(session, host, case, resolve_actor(session, "S01"))
    assert [(g["label"], g["name"]) for g in view.child["guardians"]] == [
        ("父亲", None), ("母亲", None), ("受托照护人", "测试乙"), ("指定监护人", "测试丁")]
    # a volunteer assigned to the case sees who cares for the child, not the court's decision
    volunteer = case_view(session, host, case, resolve_actor(session, "V01"))
    assert volunteer.child["guardians"] == [
        {"label": "受托照护人", "name": "测试乙", "relation": "祖母", "phone": None},
        {"label": "指定监护人", "name": "测试丁", "relation": "姑母", "phone": None}]


def test_an_end_awaiting_approval_leaves_the_carer_in_force(session, host, case):
    change(session, host, case, who="D01", change="entrusted_care", date="2026-04-01",
           until="2026-10-31", guardian_name="测试戊", guardian_relation="叔父", approved_by="S01")
    change(session, host, case, who="D01", change="entrusted_care_end", date="2026-05-01")
    assert shown(session, host, case, "2026-05-02")[2] == (
        "entrusted", "测试戊", "委托照护（终止待审批）", True)


def test_the_case_page_says_what_to_know_before_a_visit(session, host, case):
    from jianhu.web.queries import before_visit

    director = resolve_actor(session, "D01")
    record_form(session, host, case, "assessment", answer_sheet("2026-09-10", score=1),
                actor=director, now=NOW)
    record_form(session, host, case, "plan", {
        "plan": {"date": "2026-09-11", "goals": ["学业跟上"], "approved_by": "S01"},
        "measures": [{"service_type": "tutoring", "description": "每周辅导两次",
                      "responsible": "T01", "start": "2026-09-12", "due": "2026-10-12"},
                     {"service_type": "parenting_training", "description": "亲职培训",
                      "responsible": "D01", "start": "2026-09-12", "due": "2026-11-12"}]},
        actor=director, now=NOW)
    record_form(session, host, case, "service", {"service": {
        "date": "2026-09-20", "service_type": "tutoring", "provider": "T01", "measure": 1,
        "measure_completed": True, "content": "数学"}}, actor=resolve_actor(session, "T01"),
        now=NOW)
    for day, notes in (("2026-09-21", "祖母腿脚不便"), ("2026-10-21", "作业按时完成")):
        record_form(session, host, case, "visit", {"visit": {
            "date": day, "visitor": "D01", "method": "home", "child_seen": True,
            "risk_change": "unchanged", "notes": notes}}, actor=director, now=NOW)
    b = before_visit(session, case_view(session, host, case, resolve_actor(session, "S01")))
    assert b.measures == [
        {"description": "每周辅导两次", "due": "2026-10-12", "owner": "辅导员庚", "open": False},
        {"description": "亲职培训", "due": "2026-11-12", "owner": "主任乙", "open": True}]
    assert [(v["on"], v["notes"]) for v in b.visits] == [("2026-10-21", "作业按时完成"),
                                                         ("2026-09-21", "祖母腿脚不便")]
    assert b.address == "测试村"


def test_the_same_change_twice_is_refused(session, host, case):
    change(session, host, case, who="D01", change="entrusted_care", date="2026-04-01",
           until="2026-10-31", guardian_name="测试戊", guardian_relation="叔父")
    with pytest.raises(JianhuError, match="已登记过同一天的同一项监护变更（委托照护，测试戊）"):
        change(session, host, case, who="D01", change="entrusted_care", date="2026-04-01",
               until="2026-10-31", guardian_name="测试戊", guardian_relation="叔父")
