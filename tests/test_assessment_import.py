import json

import pytest
from sqlalchemy import func, select

from conftest import count
from files import write_xlsx
from jianhu.db.models import Assessment, AuditEvent, Case, FollowUp
from jianhu.errors import ImportRejected
from jianhu.forms import load_form
from jianhu.imports.assessment import import_assessments
from jianhu.imports.screening import import_screening
from jianhu.sample import generate
from tests_helpers import answer_sheet


@pytest.fixture
def screened(session, host, sample_dir):
    import_screening(session, host, sample_dir / "screening.xlsx", actor="t")
    return sample_dir


def test_import_grades_every_case(session, host, screened):
    s = import_assessments(session, host, screened / "assessment.xlsx", actor="t")
    # seed 7, 300 children: 154 cases, 142 answer sheets (12 cases still await their first assessment)
    assert s.rows == s.created == count(session, Assessment) == 142
    assert count(session, Case) == 154
    levels = session.execute(select(Case.level, func.count()).where(Case.status == "assessed")
                             .group_by(Case.level)).all()
    assert dict(levels) == {"red": 20, "orange": 34, "yellow": 63, "green": 25}
    # tasks: a first assessment per case (154, 142 done), a visit and a re-assessment per sheet
    # (284), a mandatory report per emergency sheet (1), an emergency response per survey that
    # showed danger (5)
    kinds = dict(session.execute(select(FollowUp.kind, func.count()).group_by(FollowUp.kind)).all())
    assert kinds == {"first_assessment": 154, "visit": 142, "reassessment": 142,
                     "mandatory_report": 1, "emergency_response": 5}


def test_reimport_keeps_one_assessment_per_day(session, host, screened):
    import_assessments(session, host, screened / "assessment.xlsx", actor="t")
    n = count(session, Assessment)
    again = import_assessments(session, host, screened / "assessment.xlsx", actor="t")
    assert again.created == 0 and again.updated == n == count(session, Assessment)


def test_unknown_child_rejects_the_whole_file(session, host, screened, tmp_path):
    form = load_form(host, "assessment")
    sheets = [a for _, a in generate(host, 300, 7) if a][:5]
    stranger = dict(answer_sheet("2026-10-01"), subject={"citizen_id": "11010519491231002X"})
    nameless = dict(answer_sheet("2026-10-01"), subject={"name": "某某"})
    path = write_xlsx(form, sheets + [stranger, nameless], tmp_path / "a.xlsx")
    audits = count(session, AuditEvent)
    with pytest.raises(ImportRejected) as err:
        import_assessments(session, host, path, actor="t")
    messages = [str(e) for e in err.value.errors]
    assert messages == ["第7行：找不到这名儿童：请先导入基本情况调查表",
                        "第8行：没有身份证号时，须填写出生日期、乡镇、村（社区）"]
    assert count(session, Assessment) == 0 and count(session, AuditEvent) == audits


def test_assess_command(run, engine, host, sample_dir, tmp_path):
    run("import", "screening", str(sample_dir / "screening.xlsx"))
    cases = json.loads(run("cases", "list", "--json").output)
    # a case not yet graded (those found in danger at screening are red already)
    case_no = next(c["case_no"] for c in cases if c["level"] is None
                   and c["opened_on"] <= "2026-10-05")
    assert {"case_no", "township", "level", "categories", "status"} <= set(cases[0])
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps(answer_sheet("2026-10-05", score=1), ensure_ascii=False))
    result = run("assess", case_no, "--answers", str(answers))
    assert result.exit_code == 0
    assert result.output == f"个案 {case_no}：总分 14，等级 未评估 → 黄色\n"
    listed = {c["case_no"]: c for c in json.loads(run("cases", "list", "--json").output)}
    assert listed[case_no]["level"] == "yellow" and listed[case_no]["status"] == "assessed"


def test_assess_command_bad_input(run, engine, host, sample_dir, tmp_path):
    run("import", "screening", str(sample_dir / "screening.xlsx"))
    before = json.loads(run("cases", "list", "--json").output)
    case_no = next(c["case_no"] for c in before if c["opened_on"] <= "2026-10-05")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", "utf-8")
    result = run("assess", case_no, "--answers", str(bad))
    assert result.exit_code == 1 and "bad.json 不是有效的 JSON 文件：第1行第2列格式有误" in result.output
    sheet = answer_sheet("2026-10-05", score=1)
    sheet["items"]["care_meals"] = 7
    del sheet["assessment"]["assessor"]
    bad.write_text(json.dumps(sheet), "utf-8")
    result = run("assess", case_no, "--answers", str(bad))
    assert result.exit_code == 1
    assert "「生活照料：饮食起居」不是可选项，可选：0 无问题、1 轻度、2 中度、3 严重" in result.output
    assert "「评估人」必填，不能为空" in result.output
    assert run("assess", "320724100-2026-9999", "--answers", str(bad)).output == (
        "错误：没有个案 320724100-2026-9999\n")
    listed = json.loads(run("cases", "list", "--json").output)
    assert [c["level"] for c in listed] == [c["level"] for c in before]  # nothing graded


def test_name_must_match_the_citizen_id(session, host, screened, tmp_path):
    form = load_form(host, "assessment")
    sheet = [a for _, a in generate(host, 300, 7) if a and "citizen_id" in a["subject"]][0]
    sheet["subject"]["name"] = "张冠李戴"
    with pytest.raises(ImportRejected) as err:
        import_assessments(session, host, write_xlsx(form, [sheet], tmp_path / "n.xlsx"),
                           actor="t")
    assert [str(e) for e in err.value.errors] == [
        "第2行「儿童姓名」：儿童姓名与身份证号对应的儿童不一致，请核对"]
