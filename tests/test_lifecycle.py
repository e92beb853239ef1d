import datetime as dt

import pytest
from sqlalchemy import select

from casework import one_case_workspace
from conftest import count
from jianhu.db.models import AuditEvent, Case, ConfidentialRecord, FollowUp, FormRecord
from jianhu.errors import JianhuError
from jianhu.lifecycle import TRANSITIONS, TransitionRefused
from jianhu.people import resolve_actor
from jianhu.records import record_form
from tests_helpers import answer_sheet

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def case(session, host, tmp_path):
    case_no = one_case_workspace(session, host, tmp_path)
    session.commit()
    return session.scalars(select(Case).where(Case.case_no == case_no)).one()


def rec(session, host, case, form, payload, who="D01", now=None):
    return record_form(session, host, case, form, payload,
                       actor=resolve_actor(session, who), now=now)


def pending(session, case):
    return sorted((f.kind, f.due_on.isoformat(), f.due_at) for f in session.scalars(
        select(FollowUp).where(FollowUp.case_id == case.id, FollowUp.status == "pending")))


PLAN = {"plan": {"date": "2026-09-13", "goals": ["改善照料"], "approved_by": "S01"},
        "measures": [
            {"service_type": "tutoring", "description": "课业辅导", "responsible": "W01",
             "start": "2026-09-14", "due": "2026-10-13"},
            {"service_type": "parenting_training", "description": "亲职培训", "responsible": "D01",
             "start": "2026-09-14", "due": "2026-11-12"}]}


def test_one_case_through_every_state(session, host, case):
    assert case.status == "registered"
    assert case.categories == ["left_behind"]

    rec(session, host, case, "assessment", answer_sheet("2026-09-10", score=1))  # 14: yellow
    assert (case.status, case.level) == ("assessed", "yellow")
    assert pending(session, case) == [("reassessment", "2026-12-09", None),
                                      ("visit", "2026-10-10", None)]

    r = rec(session, host, case, "plan", PLAN)
    assert (r.status_before, r.status_after) == ("assessed", "intervention")
    assert ("measure_due", "2026-10-13", None) in pending(session, case)

    rec(session, host, case, "service", {"service": {
        "date": "2026-09-20", "service_type": "tutoring", "provider": "W01", "measure": 1,
        "measure_completed": True, "content": "数学辅导"}}, who="W01")
    assert ("measure_due", "2026-10-13", None) not in pending(session, case)

    rec(session, host, case, "visit", {"visit": {
        "date": "2026-10-10", "visitor": "D01", "method": "home", "child_seen": True,
        "risk_change": "worse"}})
    kinds = pending(session, case)
    assert ("visit", "2026-11-09", None) in kinds  # yellow: 30 days from the visit
    assert ("reassessment", "2026-10-17", None) in kinds  # brought forward: worse
    assert ("reassessment", "2026-12-09", None) not in kinds

    rec(session, host, case, "incident", {
        "incident": {"discovered_at": "2026-10-15T09:00:00+08:00", "harm_types": ["neglect"],
                     "triggers": ["abandoned"], "description": "长期无人照料",
                     "recorded_by": "D01"},
        "reporter": {"name": "报告人甲", "relation": "邻居"}})
    report = [k for k in pending(session, case) if k[0] == "mandatory_report"]
    assert report == [("mandatory_report", "2026-10-16",
                       dt.datetime(2026, 10, 16, 1, 0, tzinfo=dt.UTC))]
    assert case.level == "red"  # a harm report that is a mandatory-report situation

    rec(session, host, case, "police_report", {"police": {
        "reported_at": "2026-10-15T11:00:00+08:00", "reported_by": "X01"}}, who="X01")
    assert not [k for k in pending(session, case) if k[0] == "mandatory_report"]

    rec(session, host, case, "escalation", {"escalation": {
        "step": "warning_letter", "date": "2026-10-17", "recorded_by": "X01",
        "approved_by": "S01"}}, who="X01")
    assert case.escalation == "administrative"
    assert {("warning_letter_visit", "2026-10-24", None),
            ("warning_letter_visit", "2026-11-16", None)} <= set(pending(session, case))

    rec(session, host, case, "escalation", {"escalation": {
        "step": "protection_order_application", "date": "2026-10-18",
        "applied_at": "2026-10-18T10:00:00+08:00", "urgent": True, "recorded_by": "S01",
        "approved_by": "C01"}}, who="S01")
    assert case.escalation == "judicial"
    ruling = [k for k in pending(session, case) if k[0] == "protection_order_ruling"]
    assert ruling == [("protection_order_ruling", "2026-10-19",
                       dt.datetime(2026, 10, 19, 2, 0, tzinfo=dt.UTC))]  # 24 h when urgent

    rec(session, host, case, "escalation", {"escalation": {
        "step": "protection_order", "date": "2026-10-19", "decided_by": "灌南县人民法院",
        "valid_until": "2026-11-18", "recorded_by": "S01", "approved_by": "C01"}}, who="S01")
    kinds = pending(session, case)
    assert ("protection_order_review", "2026-10-24", None) in kinds
    assert ("protection_order_expiry", "2026-11-18", None) in kinds
    assert not [k for k in kinds if k[0] == "protection_order_ruling"]

    rec(session, host, case, "assessment", answer_sheet("2026-11-20", score=0))
    assert (case.status, case.level) == ("review", "green")

    closure = {"closure": {"date": "2026-11-25", "reason": "resolved", "summary": "困境解除",
                           "closed_by": "S01", "approved_by": "C01"}}
    with pytest.raises(TransitionRefused) as err:  # the warning letter's visits are owed
        rec(session, host, case, "closure", closure, who="S01")
    assert str(err.value) == (f"个案 {case.case_no} 不能结案：干预升级尚未完结：告诫书查访；"
                              "救助方案第2项措施未完成，也未写明取消理由")
    for on in ("2026-10-24", "2026-11-16"):
        rec(session, host, case, "visit", {"visit": {
            "date": on, "visitor": "D01", "method": "home", "child_seen": True,
            "risk_change": "improved"}})
    with pytest.raises(TransitionRefused, match="已进入司法干预，须由本地管理员、乡镇儿童督导员结案"):
        rec(session, host, case, "closure", closure)  # D01, a village child director
    closure["closure"]["measures_cancelled"] = [{"measure": 2, "reason": "监护人已完成培训"}]
    r = rec(session, host, case, "closure", closure, who="S01")
    assert (r.status_after, case.closed_on) == ("closed", dt.date(2026, 11, 25))
    returns = [d for k, d, _ in pending(session, case) if k == "return_visit"]
    assert returns == ["2027-05-25", "2027-11-25", "2028-05-25", "2028-11-25"]
    assert ("protection_order_expiry", "2026-11-18", None) in pending(session, case)
    assert not [k for k in pending(session, case) if k[0] in ("visit", "reassessment")]

    later = dt.datetime(2027, 12, 1, 4, 0, tzinfo=dt.UTC)
    rec(session, host, case, "return_visit", {"return_visit": {
        "date": "2027-05-20", "visitor": "D01", "method": "home", "risk_found": False}},
        now=later)
    assert case.status == "return_visits"
    r = rec(session, host, case, "return_visit", {"return_visit": {
        "date": "2027-11-20", "visitor": "D01", "method": "home", "risk_found": True}},
        now=later)
    assert r.status_after == "reopened"
    kinds = pending(session, case)
    assert not [k for k in kinds if k[0] == "return_visit"]
    assert ("reassessment", "2027-11-27", None) in kinds

    session.commit()
    transitions = [e.after["status"] for e in session.scalars(
        select(AuditEvent).where(AuditEvent.action == "transition").order_by(AuditEvent.id))]
    assert transitions == ["assessed", "intervention", "review", "closed", "return_visits",
                           "return_visits", "reopened"]
    visited = {"registered"} | set(transitions)
    assert visited == {s for s, _ in TRANSITIONS} | {t for t in TRANSITIONS.values()}


def _closed(session, host, case):
    rec(session, host, case, "assessment", answer_sheet("2026-09-10", score=0))
    rec(session, host, case, "closure", {"closure": {
        "date": "2026-09-20", "reason": "resolved", "summary": "无风险", "closed_by": "D01",
        "approved_by": "S01"}})
    session.commit()


REFUSALS = [
    ("service", {"service": {"date": "2026-09-21", "service_type": "tutoring", "provider": "W01",
                             "content": "x"}}, "W01", "不能登记服务"),
    ("visit", {"visit": {"date": "2026-09-21", "visitor": "D01", "method": "home",
                         "child_seen": True, "risk_change": "unchanged"}}, "D01", "不能登记随访"),
    ("plan", PLAN | {"plan": PLAN["plan"] | {"date": "2026-09-21"}}, "D01", "不能实施救助方案"),
    ("escalation", {"escalation": {"step": "admonition", "date": "2026-09-21",
                                   "recorded_by": "X01", "approved_by": "S01"}}, "X01",
     "不能升级干预"),
    ("assessment", answer_sheet("2026-09-21", score=0), "D01", "不能评估定级"),
    ("closure", {"closure": {"date": "2026-09-21", "reason": "resolved", "summary": "x",
                             "closed_by": "D01"}}, "D01", "不能结案"),
]


@pytest.mark.parametrize("form,payload,who,message", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_closed_case_refuses(session, host, case, form, payload, who, message):
    _closed(session, host, case)
    records, audits = count(session, FormRecord), count(session, AuditEvent)
    with pytest.raises(TransitionRefused) as err:
        rec(session, host, case, form, payload, who=who)
    session.rollback()
    assert message in str(err.value) and "已结案" in str(err.value)
    assert (count(session, FormRecord), count(session, AuditEvent)) == (records, audits)
    assert session.get(Case, case.id).status == "closed"


def test_return_visit_refused_on_an_open_case(session, host, case):
    with pytest.raises(TransitionRefused, match="尚未结案，不能登记回访"):
        rec(session, host, case, "return_visit", {"return_visit": {
            "date": "2026-09-21", "visitor": "D01", "method": "home", "risk_found": False}})


def _incident(session, host, case):
    rec(session, host, case, "incident", {"incident": {
        "discovered_at": "2026-09-15T09:00:00+08:00", "harm_types": ["abuse"],
        "triggers": ["private_injury"], "description": "x", "recorded_by": "D01"}})


def test_closure_blockers_and_supervisor_override(session, host, case):
    rec(session, host, case, "assessment", answer_sheet("2026-09-10", score=1))  # yellow
    _incident(session, host, case)
    closure = {"closure": {"date": "2026-09-20", "reason": "moved", "summary": "迁出",
                           "closed_by": "D01"}}
    with pytest.raises(TransitionRefused) as err:
        rec(session, host, case, "closure", closure)
    assert str(err.value) == (f"个案 {case.case_no} 不能结案：有未办的强制报告（法定义务，不能特批）；"
                              "当前等级为「红色」，高于绿色")
    override = {"closure": closure["closure"] | {"override_reason": "迁往外省，已移交当地",
                                                 "approved_by": "C01"}}
    with pytest.raises(TransitionRefused, match="有未办的强制报告（法定义务，不能特批）"):
        rec(session, host, case, "closure", override, who="S01")  # no override of a legal duty
    assert case.status == "assessed"
    rec(session, host, case, "police_report", {"police": {
        "reported_at": "2026-09-15T10:00:00+08:00", "reported_by": "X01"}}, who="X01")
    with pytest.raises(TransitionRefused, match="只有督导员可以特批结案"):
        rec(session, host, case, "closure", override)
    assert case.status == "assessed"
    r = rec(session, host, case, "closure", override, who="S01")
    assert r.status_after == "closed" and "特批结案：迁往外省，已移交当地" in r.notes


def test_roles_decide_what_may_be_done(session, host, case):
    with pytest.raises(JianhuError, match="大学生志愿者（V01）无权登记救助方案"):
        rec(session, host, case, "plan", PLAN, who="V01")
    with pytest.raises(JianhuError, match="人员名册中没有在岗人员「Z99」"):
        resolve_actor(session, "Z99")


def test_plan_needs_real_responsible_people(session, host, case):
    rec(session, host, case, "assessment", answer_sheet("2026-09-10", score=1))
    bad = {"plan": PLAN["plan"], "measures": [PLAN["measures"][0] | {"responsible": "NOBODY"}]}
    with pytest.raises(JianhuError, match="人员名册中没有在岗人员：NOBODY"):
        rec(session, host, case, "plan", bad)
    backwards = {"plan": PLAN["plan"], "measures": [PLAN["measures"][0] | {"due": "2026-09-01"}]}
    with pytest.raises(JianhuError, match="第1项措施的完成期限早于开始日期"):
        rec(session, host, case, "plan", backwards)


def test_protection_order_cannot_exceed_six_months(session, host, case):
    rec(session, host, case, "assessment", answer_sheet("2026-09-10", score=1))
    with pytest.raises(JianhuError, match="不超过6个月.*最晚至 2027-04-19"):
        rec(session, host, case, "escalation", {"escalation": {
            "step": "protection_order", "date": "2026-10-19", "decided_by": "法院",
            "valid_until": "2027-04-20", "recorded_by": "S01"}}, who="S01")


def test_future_dates_and_bad_payloads_are_refused(session, host, case):
    rec(session, host, case, "assessment", answer_sheet("2026-09-10", score=1))
    with pytest.raises(JianhuError, match="晚于今天"):
        rec(session, host, case, "plan", {"plan": PLAN["plan"] | {"date": "2099-01-01"},
                                          "measures": PLAN["measures"]})
    with pytest.raises(JianhuError) as err:
        rec(session, host, case, "visit", {"visit": {"date": "2026-09-21", "visitor": "D01",
                                                     "method": "carrier pigeon"}})
    assert "「方式」不是可选项" in str(err.value) and "「见到儿童本人」必填，不能为空" in str(err.value)


def test_incident_on_a_closed_case_reopens_it(session, host, case):
    _closed(session, host, case)
    _incident(session, host, case)
    assert case.status == "reopened"
    assert [k for k, *_ in pending(session, case) if k == "return_visit"] == []


def test_reporter_is_kept_apart(session, host, case):
    _incident(session, host, case)
    rec(session, host, case, "incident", {
        "incident": {"discovered_at": "2026-09-16T09:00:00+08:00", "harm_types": ["neglect"],
                     "description": "y", "recorded_by": "D01"},
        "reporter": {"name": "保密甲", "phone": "13900000000"}})
    session.commit()
    stored = [r.payload for r in session.scalars(select(FormRecord).where(
        FormRecord.form_id == "incident"))]
    assert all("reporter" not in p for p in stored)
    assert [c.payload["name"] for c in session.scalars(select(ConfidentialRecord))] == ["保密甲"]


@pytest.mark.parametrize("form,payload,who,message", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refused_on_the_command_line(run, session, host, case, tmp_path, form, payload, who,
                                     message):
    import json

    _closed(session, host, case)
    records, audits = count(session, FormRecord), count(session, AuditEvent)
    path = tmp_path / "p.json"
    path.write_text(json.dumps(payload, ensure_ascii=False), "utf-8")
    result = run("--as", who, "record", form, "--case", case.case_no, str(path))
    assert result.exit_code == 1
    assert result.output.startswith(f"错误：个案 {case.case_no} 当前为「已结案」，{message}")
    session.expire_all()
    assert (count(session, FormRecord), count(session, AuditEvent)) == (records, audits)


def test_assessment_and_visit_complete_their_tasks(session, host, case):
    rec(session, host, case, "assessment", answer_sheet("2026-09-10", score=1))
    rec(session, host, case, "escalation", {"escalation": {
        "step": "temporary_guardianship", "date": "2026-09-12", "recorded_by": "S01"}}, who="S01")
    rec(session, host, case, "escalation", {"escalation": {
        "step": "warning_letter", "date": "2026-09-13", "recorded_by": "X01"}}, who="X01")
    assert ("guardianship_review", "2026-10-12", None) in pending(session, case)
    rec(session, host, case, "visit", {"visit": {
        "date": "2026-09-18", "visitor": "D01", "method": "home", "child_seen": True,
        "risk_change": "unchanged"}})
    letters = [k for k in pending(session, case) if k[0] == "warning_letter_visit"]
    assert letters == [("warning_letter_visit", "2026-10-13", None)]
    rec(session, host, case, "assessment", answer_sheet("2026-10-10", score=1))
    done = dict(session.execute(select(FollowUp.kind, FollowUp.done_on).where(
        FollowUp.case_id == case.id, FollowUp.status == "done",
        FollowUp.kind.in_(("reassessment", "guardianship_review")))).all())
    assert done == {"reassessment": dt.date(2026, 10, 10),
                    "guardianship_review": dt.date(2026, 10, 10)}


def test_acknowledging_a_deadline(run, session, host, case):
    rec(session, host, case, "assessment", answer_sheet("2026-09-10", score=1))
    rec(session, host, case, "escalation", {"escalation": {
        "step": "protection_order", "date": "2026-10-19", "decided_by": "法院",
        "valid_until": "2027-04-18", "recorded_by": "S01"}}, who="S01")
    session.commit()
    out = run("--as", "S01", "followups", "done", case.case_no, "--kind",
              "protection_order_review", "--on", "2026-10-24")
    assert out.output == f"已办结：个案 {case.case_no} 的「保护令复议期限」（到期 2026-10-24）\n"
    again = run("--as", "S01", "followups", "done", case.case_no, "--kind",
                "protection_order_review")
    assert again.exit_code == 1 and "没有未办的「保护令复议期限」" in again.output
    wrong = run("--as", "S01", "followups", "done", case.case_no, "--kind", "visit")
    assert wrong.exit_code == 1 and "「随访」由登记随访" in wrong.output


def test_records_cannot_predate_the_case(session, host, case):
    with pytest.raises(JianhuError, match="评估日期 2026-03-01 早于开案日期 2026-03-15"):
        rec(session, host, case, "assessment", answer_sheet("2026-03-01", score=1))
    rec(session, host, case, "assessment", answer_sheet("2026-03-20", score=1))
    with pytest.raises(JianhuError, match="随访记录的日期 2019-01-01 早于开案日期 2026-03-15"):
        rec(session, host, case, "visit", {"visit": {
            "date": "2019-01-01", "visitor": "D01", "method": "home", "child_seen": True,
            "risk_change": "unchanged"}})


def test_unknown_task_kind(run, session, host, case):
    session.commit()
    out = run("--as", "S01", "followups", "done", case.case_no, "--kind", "nosuch")
    assert out.exit_code == 1 and out.output.startswith("错误：没有「nosuch」这种事项")


def test_a_visit_entered_after_a_later_one_leaves_the_schedule(session, host, case):
    rec(session, host, case, "assessment", answer_sheet("2026-09-10", score=1))  # yellow: 30 days
    visit = {"visitor": "D01", "method": "home", "child_seen": True, "risk_change": "unchanged"}
    rec(session, host, case, "visit", {"visit": {"date": "2026-10-02", **visit}})
    assert [d for k, d, _ in pending(session, case) if k == "visit"] == ["2026-11-01"]
    r = rec(session, host, case, "visit", {"visit": {"date": "2026-10-01", **visit}})
    assert [d for k, d, _ in pending(session, case) if k == "visit"] == ["2026-11-01"]
    assert r.notes == ["补登的随访（2026-10-01）早于已登记的随访（2026-10-02），下次随访仍按 2026-10-02 起算"]
