"""Casework templates filled in and imported: ``jianhu template visit`` / ``plan`` → a sheet
→ ``jianhu import records`` (the case by its 个案编号, a plan's measures one per row)."""

import csv
import datetime as dt
import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select, text

from casework import one_case_workspace
from conftest import count
from jianhu.db.models import Case, FollowUp, FormRecord
from jianhu.errors import ImportRejected, JianhuError
from jianhu.forms import load_form
from jianhu.imports.casework_sheets import layout, read_casework_sheet
from jianhu.imports.records import import_records
from jianhu.people import resolve_actor
from jianhu.records import HANDLERS, record_form
from tests_helpers import answer_sheet

PLAN_COLUMNS = ["个案编号", "制定日期", "干预目标", "审核人编号", "措施·服务类型", "措施·措施内容",
                "措施·责任人编号", "措施·合作单位", "措施·开始日期", "措施·完成期限"]
VISIT_COLUMNS = ["个案编号", "随访日期", "随访人编号", "方式", "见到儿童本人", "风险变化",
                 "新发现的风险", "情况记录"]


@pytest.fixture
def case_no(session, host, tmp_path):
    """A left-behind child's case, assessed yellow on 2026-09-10 (the roster of casework.py)."""
    number = one_case_workspace(session, host, tmp_path)
    case = session.scalars(select(Case)).one()
    record_form(session, host, case, "assessment", answer_sheet("2026-09-10", score=1),
                actor=resolve_actor(session, "D01"))
    session.commit()
    return number


def _sheet(path, rows):
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    wb.save(path)
    return str(path)


def _template_header(run, form_id, path):
    out = run("template", form_id, "--out", str(path))
    assert out.exit_code == 0, out.output
    return [c.value for c in load_workbook(path).worksheets[0][1]]


def test_the_templates_start_with_the_case_number_and_lay_out_a_plans_measures(run, tmp_path):
    assert _template_header(run, "visit", tmp_path / "v.xlsx") == VISIT_COLUMNS
    assert _template_header(run, "plan", tmp_path / "p.xlsx") == PLAN_COLUMNS
    notes = [r[0].value for r in load_workbook(tmp_path / "p.xlsx")["填表说明"].iter_rows()]
    assert "每项措施占一行" in notes[-1]
    # the survey's template is unchanged: one child per row, no case number
    assert _template_header(run, "screening", tmp_path / "s.xlsx")[0] == "儿童姓名"


def test_a_filled_plan_and_visits_are_recorded_once(run, session, case_no, tmp_path):
    plan = _sheet(tmp_path / "方案.xlsx", [
        PLAN_COLUMNS,
        [case_no, "2026-09-12", "恢复按时上学\n祖母学会照护", "C01", "教育辅导", "每周辅导两次", "T01",
         None, "2026-09-13", "2026-10-31"],
        [case_no, None, None, None, "心理疏导", "每月谈心", "W01", "县心理健康中心", "2026-09-14",
         dt.datetime(2026, 11, 30)],
    ])
    out = run("--as", "S01", "import", "records", plan)
    assert out.output == "个案记录：共2行，已登记1份。\n", out.output
    stored = session.scalars(select(FormRecord).where(FormRecord.form_id == "plan")).one()
    assert stored.payload["plan"]["goals"] == ["恢复按时上学", "祖母学会照护"]
    assert [m["responsible"] for m in stored.payload["measures"]] == ["T01", "W01"]
    dues = session.scalars(select(FollowUp.due_on).where(FollowUp.kind == "measure_due")
                           .order_by(FollowUp.due_on)).all()
    assert dues == [dt.date(2026, 10, 31), dt.date(2026, 11, 30)]

    visits = tmp_path / "随访.csv"
    buf = io.StringIO()
    csv.writer(buf).writerows([
        VISIT_COLUMNS,
        [case_no, "2026/9/20", "D01", "入户", "是", "好转", "", "在家写作业"],
        [case_no, "2026年10月20日", "D01", "电话", "否", "无变化", "夜不归宿；辍学迹象", ""],
    ])
    visits.write_bytes(buf.getvalue().encode("gbk"))
    out = run("--as", "S01", "import", "records", str(visits))
    assert out.output == "个案记录：共2行，已登记2份。\n", out.output
    session.rollback()  # a new snapshot: the import committed in another session
    rows = session.execute(select(FormRecord.recorded_on, FormRecord.payload).where(
        FormRecord.form_id == "visit").order_by(FormRecord.recorded_on)).all()
    assert [r.recorded_on for r in rows] == [dt.date(2026, 9, 20), dt.date(2026, 10, 20)]
    assert rows[1].payload["visit"]["new_risks"] == ["夜不归宿", "辍学迹象"]
    assert rows[1].payload["visit"]["method"] == "phone"
    records = count(session, FormRecord)
    again = run("--as", "S01", "import", "records", str(visits))
    assert again.output == "个案记录：共2行，已登记0份，2份与已登记的记录相同、未重复登记。\n"
    again = run("--as", "S01", "import", "records", plan)
    assert "已登记0份，1份与已登记的记录相同" in again.output
    session.rollback()
    assert count(session, FormRecord) == records


def test_bad_rows_are_named_by_row_and_column_and_nothing_is_written(session, host, case_no,
                                                                     tmp_path):
    actor = resolve_actor(session, "S01")
    records, tasks = count(session, FormRecord), count(session, FollowUp)
    visits = _sheet(tmp_path / "v.xlsx", [
        VISIT_COLUMNS,
        ["XA-2026-9999", "2026-09-20", "D01", "入户", "是", "好转", None, None],
        [case_no, "2026-13-01", "D01", "入户", "是", "好转", None, None],
        [case_no, "2026-09-21", "D01", "飞鸽", "是", "好转", None, None],
        [None, "2026-09-22", "D01", "入户", "是", "好转", None, None],
        [case_no, "2026-09-23", "D01", "入户", "是", "好转", None, None],  # good, but not written
        [case_no, "2026-09-24", "D01", "入户", "是", "好转", None, "=1+1"],  # saved without result
        [case_no, "2026-09-23", "D01", "入户", "是", "好转", None, None],
    ])
    with pytest.raises(ImportRejected) as err:
        import_records(session, host, visits, actor=actor)
    assert [str(e) for e in err.value.errors] == [
        "第2行「个案编号」：没有个案 XA-2026-9999",
        "第3行「随访日期」：「2026-13-01」不是有效日期",
        "第4行「方式」：「飞鸽」不是可选项，可选：入户、电话、到校、视频",
        "第5行「个案编号」：必填：记录所属个案的编号",
        "第7行「情况记录」：「=1+1」像是 Excel 公式，请填写文字本身",
        "第8行：与第6行完全相同：请删去重复的一行",
    ]
    plan = _sheet(tmp_path / "p.xlsx", [
        PLAN_COLUMNS,
        [case_no, "2026-09-12", "恢复按时上学", "C01", "教育辅导", "每周辅导两次", "T01", None,
         "2026-09-13", "2026-10-31"],
        [case_no, "2026-09-12", "另一个目标", None, "心理疏导", "每月谈心", "W01", None, "2026-09-14",
         "2026-11-30"],
        [case_no, "2026-09-12", None, None, "转介", "转介医院", "W01", None, "2026-09-14", None],
        [case_no, None, None, None, "教育辅导", "每周辅导两次", "T01", None, "2026-09-13", "2026-10-31"],
    ])
    with pytest.raises(ImportRejected) as err:
        import_records(session, host, plan, actor=actor)
    assert [str(e) for e in err.value.errors] == [
        "第3行「干预目标」：与第2行不同：同一救助方案的各行，这一栏应相同或留空",
        "第4行「措施·完成期限」：必填，不能为空",
        "第5行：与第2行是同一项措施：请删去重复的一行",
    ]
    closure = _sheet(tmp_path / "c.xlsx", [
        ["个案编号", "结案日期", "结案原因", "干预情况小结", "个案负责人编号", "取消的方案措施·措施序号",
         "取消的方案措施·取消理由"],
        [case_no, "2026-11-30", "困境解除", "已好转", "D01", 1, "已由县医院跟进"],
        [case_no, None, None, None, None, 2, None],
    ])
    with pytest.raises(ImportRejected) as err:
        import_records(session, host, closure, actor=actor)
    assert [str(e) for e in err.value.errors] == ["第3行「取消的方案措施·取消理由」：必填，不能为空"]
    assert (count(session, FormRecord), count(session, FollowUp)) == (records, tasks)


def test_a_case_of_another_township_reads_as_no_such_case(session, host, case_no, tmp_path):
    """A supervisor of another township cannot write to this case, nor learn that it exists."""
    from jianhu.people import import_people
    from jianhu.roles import LOCAL_ADMIN

    (tmp_path / "other.csv").write_text("编号,姓名,角色,乡镇,村（社区）\n"
                                        "S09,督导辛,乡镇儿童督导员,田楼镇,\n", "utf-8")
    import_people(session, host, tmp_path / "other.csv", actor=LOCAL_ADMIN)
    session.commit()
    records = count(session, FormRecord)  # 1: the assessment
    visits = _sheet(tmp_path / "v.xlsx", [VISIT_COLUMNS,
                                          [case_no, "2026-09-20", "S09", "入户", "是", "好转"]])
    from jianhu.scope import scope_for

    outsider = resolve_actor(session, "S09")
    scope_for(session, outsider)
    with pytest.raises(ImportRejected) as err:
        import_records(session, host, visits, actor=outsider)
    assert [str(e) for e in err.value.errors] == [f"第2行「个案编号」：没有个案 {case_no}"]
    session.rollback()
    session.execute(text("RESET ROLE")) if session.bind.dialect.name == "postgresql" else None
    assert count(session, FormRecord) == records


def test_which_form_a_sheet_holds(host, tmp_path):
    forms = list(HANDLERS)
    half = _sheet(tmp_path / "half.xlsx", [["个案编号", "随访日期", "随访人编号"]])
    assert read_casework_sheet(host, half, forms).form.id == "visit"
    both = _sheet(tmp_path / "both.xlsx", [["个案编号", "方式", "情况记录"]])
    with pytest.raises(JianhuError, match="表头可能是以下表单之一：visit（随访记录）、"
                                          "return_visit（回访记录）；请用 --form 指明表单"):
        read_casework_sheet(host, both, forms)
    missing = read_casework_sheet(host, both, forms, form_id="return_visit").errors
    assert [str(e) for e in missing] == [
        "第1行「回访日期」：缺少必填列", "第1行「回访人编号」：缺少必填列", "第1行「发现风险」：缺少必填列"]
    stranger = _sheet(tmp_path / "x.xlsx", [["个案编号", "随访日期", "体重"]])
    with pytest.raises(JianhuError, match="表头与任何个案记录模板都对不上"):
        read_casework_sheet(host, stranger, forms)
    with pytest.raises(JianhuError, match="「screening」不是可以用表格导入的个案记录表单"):
        read_casework_sheet(host, half, forms, form_id="screening")


#: One filled-in record of every casework form, as its document (codes, not labels).
EXAMPLES = {
    "plan": {"plan": {"date": "2026-09-12", "goals": ["恢复上学"], "approved_by": "C01"},
             "measures": [{"service_type": "tutoring", "description": "辅导", "responsible": "T01",
                           "start": "2026-09-13", "due": "2026-10-31"},
                          {"service_type": "referral", "description": "转介", "responsible": "W01",
                           "partner": "县医院", "start": "2026-09-14", "due": "2026-11-30"}]},
    "service": {"service": {"date": "2026-09-12", "service_type": "counselling", "provider": "D01",
                            "measure": 1, "measure_completed": False, "content": "谈心", "minutes": 40}},
    "visit": {"visit": {"date": "2026-09-20", "visitor": "D01", "method": "home", "child_seen": True,
                        "risk_change": "improved", "new_risks": ["夜不归宿", "辍学迹象"], "notes": "好"}},
    "incident": {"incident": {"discovered_at": "2026-09-15T09:00:00+08:00", "harm_types": ["abuse"],
                              "description": "疑似受伤", "recorded_by": "D01"},
                 "reporter": {"name": "报告人乙", "relation": "老师"}},
    "police_report": {"police": {"reported_at": "2026-09-15T10:30:00+08:00", "reported_by": "D01",
                                 "station": "新安派出所"}},
    "escalation": {"escalation": {"step": "admonition", "date": "2026-09-16", "urgent": True,
                                  "recorded_by": "S01"}},
    "closure": {"closure": {"date": "2026-11-30", "reason": "resolved", "summary": "已好转",
                            "closed_by": "D01",
                            "measures_cancelled": [{"measure": 2, "reason": "已由县医院跟进"}]}},
    "return_visit": {"return_visit": {"date": "2026-11-30", "visitor": "D01", "method": "phone",
                                      "risk_found": False}},
    "guardianship": {"guardianship": {"change": "entrusted_care", "date": "2026-09-16",
                                      "parents": ["father", "mother"], "guardian_name": "测试乙",
                                      "recorded_by": "S01"}},
    "level_override": {"override": {"date": "2026-09-16", "level": "red", "reason": "夜不归宿",
                                    "requested_by": "S01"}},
}


@pytest.mark.parametrize("form_id", sorted(HANDLERS))
def test_every_casework_template_can_be_filled_and_read_back(host, tmp_path, form_id):
    """Write a record into its template the way a person fills it (labels, 是/否, one item per
    line) and read it back: the same document, on the case named."""
    from jianhu.workbooks import cell_value

    lay = layout(load_form(host, form_id))
    doc = EXAMPLES[form_id]
    items = doc
    for part in lay.items.path if lay.items else ():
        items = items.get(part, {})
    items = items if lay.items else [{}]
    rows = [[f.column for f in lay.columns]]
    for n, item in enumerate(items):
        row = ["XA-2026-0001"]
        for f in lay.record:
            value = doc.get(f.group, {}).get(f.key) if n == 0 else None
            row.append("\n".join(value) if f.kind == "list" and value else cell_value(f, value))
        row += [cell_value(f, item.get(f.key)) for f in (lay.items.fields if lay.items else [])]
        rows.append(row)
    read = read_casework_sheet(host, _sheet(tmp_path / f"{form_id}.xlsx", rows), list(HANDLERS))
    assert read.errors == []
    assert read.form.id == form_id
    assert [(r.case_no, r.payload) for r in read.records] == [("XA-2026-0001", doc)]


def test_the_notes_sheet_is_never_taken_for_the_data(run, host, tmp_path):
    """A template whose 填表说明 sheet was moved in front of the data is still read (the notes list
    column titles, and with every casework form's columns known they look like a header)."""
    path = tmp_path / "v.xlsx"
    assert run("template", "visit", "--out", str(path)).exit_code == 0
    wb = load_workbook(path)
    wb.worksheets[0].append(["320724100-2026-0001", "2026-09-20", "D01", "入户", "是", "好转"])
    wb.move_sheet("填表说明", offset=-1)
    wb.save(path)
    read = read_casework_sheet(host, path, list(HANDLERS))
    assert (read.form.id, read.errors, [r.case_no for r in read.records]) == (
        "visit", [], ["320724100-2026-0001"])
