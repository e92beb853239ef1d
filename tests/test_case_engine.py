"""The case engine acts on danger, through the command line (issue: the case engine).

Dates: the surveys are dated 2026-03-15; the roster is that of :mod:`casework`.
"""

import json

import pytest
from sqlalchemy import select

from casework import ROSTER
from conftest import count
from files import write_xlsx
from jianhu.db.models import Approval, Case, FormRecord
from jianhu.forms import load_form
from surveys import survey

# A girl of 11 whose entrusted grandmother cannot cope (guardianship rated poor, 差), and a boy
# of 10 living alone with nobody caring for him (未保法 Art 92 (四), Art 21).
POOR = survey(guardianship__type="entrusted_inadequate")
ALONE = survey(child__name="测试丁", child__sex="male", child__birth_date="2016-05-01",
               child__citizen_id="320724201605010012", child__lives_with="alone",
               guardianship__type="none", father__status="working_away",
               mother__status="dead")
del ALONE["entrusted_guardian"]


@pytest.fixture
def town(run, engine, host, tmp_path):
    """The two surveys imported and the roster loaded; returns ``{child name: case number}``."""
    path = write_xlsx(load_form(host, "screening"), [POOR, ALONE], tmp_path / "s.xlsx")
    out = run("import", "screening", str(path))
    assert out.exit_code == 0, out.output
    assert "紧急：1名儿童" in out.output
    (tmp_path / "people.csv").write_text(ROSTER, "utf-8")
    assert run("people", "import", str(tmp_path / "people.csv")).exit_code == 0
    cases = json.loads(run("cases", "list", "--json").output)
    return {("girl" if c["case_no"].endswith("0001") else "boy"): c["case_no"] for c in cases}


def _due(run, who=None, mine=False, on="2026-03-15"):
    out = run(*(["--as", who] if who else []), "followups", "due", "--on", on, "--json",
              *(["--mine"] if mine else []))
    assert out.exit_code == 0, out.output
    return [(i["case_no"], i["kind"], i["due_on"], i["owner"]) for i in json.loads(out.output)["items"]]


def _file(tmp_path, name, doc):
    path = tmp_path / name
    path.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    return str(path)


def test_screening_raises_first_assessment_and_emergency_tasks(run, town):
    girl, boy = town["girl"], town["boy"]
    assert _due(run) == [
        # back-dated survey: 24 h from the start of 2026-03-15
        (boy, "emergency_response", "2026-03-16", "township_supervisor"),
        (girl, "first_assessment", "2026-03-18", "township_supervisor"),  # poor: 3 days
        (boy, "first_assessment", "2026-03-18", "township_supervisor"),
    ]
    shown = json.loads(run("case", "show", boy, "--json").output)
    assert shown["case"]["level"] == "red"  # red until assessed
    assert json.loads(run("case", "show", girl, "--json").output)["case"]["level"] is None


def test_harm_report_raises_the_level_and_the_police_report_task(run, town, tmp_path):
    girl = town["girl"]
    incident = _file(tmp_path, "i.json", {"incident": {
        "discovered_at": "2026-03-16T09:00:00+08:00", "harm_types": ["sexual_abuse"],
        "description": "学校老师反映", "recorded_by": "D01"}})
    out = run("--as", "D01", "record", "incident", "--case", girl, incident)
    assert out.exit_code == 0, out.output
    assert "不满14周岁女性疑似遭受性侵害" in out.output  # the trigger that applied
    assert json.loads(run("case", "show", girl, "--json").output)["case"]["level"] == "red"
    mine = [t for t in _due(run) if t[0] == girl]
    assert ("mandatory_report" in [t[1] for t in mine]
            and (girl, "mandatory_report", "2026-03-17", "D01") in mine)
    assert (girl, "reassessment", "2026-03-23", "township_supervisor") in _due(
        run, on="2026-03-16")  # 7 days after the discovery

    from tests_helpers import answer_sheet

    sheet = _file(tmp_path, "a.json", answer_sheet("2026-03-17", score=0))
    assert run("--as", "D01", "record", "assessment", "--case", girl, sheet).exit_code == 0
    for who in ("D01", "S01"):
        closure = _file(tmp_path, "c.json", {"closure": {
            "date": "2026-03-20", "reason": "moved", "summary": "迁出", "closed_by": who,
            "override_reason": "家庭迁往外省", "approved_by": "C01"}})
        out = run("--as", who, "record", "closure", "--case", girl, closure)
        assert out.exit_code == 1
        assert "有未办的强制报告（法定义务，不能特批）" in out.output
    shown = json.loads(run("case", "show", girl, "--json").output)
    assert shown["case"]["status"] == "assessed"


def test_nothing_is_written_by_a_refused_closure(run, town, tmp_path, session):
    girl = town["girl"]
    before = count(session, FormRecord)
    closure = _file(tmp_path, "c.json", {"closure": {
        "date": "2026-03-20", "reason": "resolved", "summary": "x", "closed_by": "D01"}})
    out = run("--as", "D01", "record", "closure", "--case", girl, closure)
    assert out.exit_code == 1 and "当前为「已登记」，不能结案" in out.output
    assert count(session, FormRecord) == before


def test_my_tasks(run, town, tmp_path):
    girl, boy = town["girl"], town["boy"]
    incident = _file(tmp_path, "i.json", {"incident": {
        "discovered_at": "2026-03-16T09:00:00+08:00", "harm_types": ["neglect"],
        "triggers": ["abandoned"], "description": "长期无人照料", "recorded_by": "D01"}})
    assert run("--as", "D01", "record", "incident", "--case", boy, incident).exit_code == 0
    assert _due(run, "D01", mine=True) == [(boy, "mandatory_report", "2026-03-17", "D01")]
    assert _due(run, "S01", mine=True, on="2026-03-16") == [
        (boy, "emergency_response", "2026-03-16", "township_supervisor"),
        (girl, "first_assessment", "2026-03-18", "township_supervisor"),
        (boy, "first_assessment", "2026-03-18", "township_supervisor"),
        (boy, "reassessment", "2026-03-23", "township_supervisor"),
    ]
    assert _due(run, "W01", mine=True) == []


def test_plan_approval_by_a_township_approver_never_the_requester(run, town, tmp_path,
                                                                  session):
    from tests_helpers import answer_sheet

    girl = town["girl"]
    sheet = _file(tmp_path, "a.json", answer_sheet("2026-03-16", score=1))
    assert run("--as", "D01", "record", "assessment", "--case", girl, sheet).exit_code == 0
    plan = {"plan": {"date": "2026-03-17", "goals": ["改善照料"], "approved_by": "T01"},
            "measures": [{"service_type": "tutoring", "description": "课业辅导",
                          "responsible": "T01", "start": "2026-03-18", "due": "2026-04-17"}]}
    out = run("--as", "D01", "record", "plan", "--case", girl, _file(tmp_path, "p.json", plan))
    assert out.exit_code == 1
    assert ("家教老师（T01）不能审批救助方案；审批人应为评估队伍（民政）、本地管理员、乡镇儿童督导员"
            in out.output)
    del plan["plan"]["approved_by"]
    out = run("--as", "S01", "record", "plan", "--case", girl, _file(tmp_path, "p.json", plan))
    assert out.exit_code == 0 and "救助方案待审批" in out.output
    import datetime as dt
    from zoneinfo import ZoneInfo

    entered = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()  # 3 days from entry, not the
    due = (entered + dt.timedelta(days=3)).isoformat()  # plan's date: back-dated is not late
    assert (girl, "approval", due, "township_supervisor") in _due(run, on=entered.isoformat())
    out = run("--as", "S01", "approvals", "decide", girl, "--subject", "救助方案", "--approve")
    assert out.exit_code == 1 and "不能由提交人（S01）自己审批" in out.output
    out = run("--as", "C01", "approvals", "decide", girl, "--subject", "plan", "--reject")
    assert out.exit_code == 1 and "不同意时须填写理由" in out.output
    out = run("--as", "C01", "approvals", "decide", girl, "--subject", "plan", "--approve")
    assert out.exit_code == 0, out.output
    decided = session.scalars(select(Approval)).one()
    assert (decided.subject, decided.requested_by, decided.decided_by, decided.decision) == (
        "plan", "S01", "C01", "approved")
    assert "approval" not in [t[1] for t in _due(run, on=entered.isoformat()) if t[0] == girl]
    case = session.scalars(select(Case).where(Case.case_no == girl)).one()
    assert case.status == "intervention"


def _resurvey(run, host, tmp_path, doc, name="again.xlsx"):
    out = run("import", "screening", str(write_xlsx(load_form(host, "screening"), [doc],
                                                    tmp_path / name)))
    assert out.exit_code == 0, out.output
    return out.output


def test_a_later_survey_finding_danger_raises_it_on_the_open_case(run, town, host, tmp_path):
    from tests_helpers import answer_sheet

    girl = town["girl"]
    sheet = _file(tmp_path, "a.json", answer_sheet("2026-03-16", score=1))
    assert run("--as", "D01", "record", "assessment", "--case", girl, sheet).exit_code == 0
    assert json.loads(run("case", "show", girl, "--json").output)["case"]["level"] == "yellow"
    # the grandmother has left: the girl now lives alone with nobody caring for her
    alone = survey(guardianship__type="none", child__lives_with="alone",
                   survey__date="2026-04-01")
    del alone["entrusted_guardian"]
    out = _resurvey(run, host, tmp_path, alone)
    assert "开立个案0" in out and "紧急：1名儿童" in out
    shown = json.loads(run("case", "show", girl, "--json").output)
    assert shown["case"]["level"] == "red"
    assert (girl, "emergency_response", "2026-04-02", "township_supervisor") in _due(
        run, on="2026-04-01")
    # the same survey again: still one emergency response
    _resurvey(run, host, tmp_path, {**alone, "family": {"economic_hardship": True}}, "b.xlsx")
    assert [t for t in _due(run, on="2026-04-01") if t[1] == "emergency_response"
            and t[0] == girl] == [(girl, "emergency_response", "2026-04-02",
                                   "township_supervisor")]


def test_a_later_survey_of_a_closed_case_reopens_it(run, town, host, tmp_path, session):
    from tests_helpers import answer_sheet

    girl = town["girl"]
    sheet = _file(tmp_path, "a.json", answer_sheet("2026-03-16", score=0))
    assert run("--as", "D01", "record", "assessment", "--case", girl, sheet).exit_code == 0
    closure = _file(tmp_path, "c.json", {"closure": {
        "date": "2026-03-20", "reason": "resolved", "summary": "困境解除", "closed_by": "D01",
        "approved_by": "S01"}})
    assert run("--as", "D01", "record", "closure", "--case", girl, closure).exit_code == 0
    before = count(session, Case)
    out = _resurvey(run, host, tmp_path, survey(guardianship__type="entrusted_inadequate",
                                                survey__date="2026-09-01"))
    assert "开立个案0，重新开案1" in out
    assert count(session, Case) == before  # one file per child
    shown = json.loads(run("case", "show", girl, "--json").output)
    assert shown["case"]["status"] == "reopened"
    pending = sorted((t["kind"], t["due_on"]) for t in shown["tasks"] if t["status"] == "pending")
    assert pending == [("reassessment", "2026-09-04")]  # poor guardianship: 3 days
