"""The upward paperwork (quarterly update, roster, ledger, register), the summary's visit column
and the 一人一档 archive, on a small hand-made workspace whose figures are written out below."""

import datetime as dt
import json
import uuid

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from casework import one_case_workspace
from files import write_xlsx
from jianhu.db.models import AuditEvent, Case, Person
from jianhu.errors import JianhuError
from jianhu.forms import load_form
from jianhu.imports.screening import import_screening
from jianhu.people import resolve_actor
from jianhu.records import record_form
from jianhu.reports import build
from jianhu.scope import scope_for
from surveys import survey
from tests_helpers import answer_sheet

ON = dt.date(2026, 4, 30)
A, B = "320724100-2026-0001", "320724100-2026-0002"


@pytest.fixture
def workspace(session, host, tmp_path):
    """Two children of 测试村, 新安镇, surveyed 2026-03-01 (cases A and B), and in them:

    - A: assessed yellow on 2026-03-05 by 督导甲 (S01); visited by D01 on 2026-03-10 and
      2026-03-20; a service by W01 on 2026-04-02; a harm report (abandoned: a mandatory report
      situation) found 2026-04-05 09:00, reported to the police by X01 at 11:00 the same day;
    - B: assessed 2026-03-06 by 测试评估员 (not on the roster) with an emergency item (低龄无人
      照看), never reported to the police.
    """
    one_case_workspace(session, host, tmp_path, survey__date="2026-03-01")
    import_screening(session, host, write_xlsx(load_form(host, "screening"), [survey(
        child__name="测试丁", child__citizen_id=None, child__birth_date="2012-02-10",
        child__sex="male", survey__date="2026-03-01", residence__village_code="320724100201")],
        tmp_path / "two.xlsx"), actor="t")  # the second survey registers the village's code
    # a county viewer belongs to no township (as deploy apply makes them)
    now = dt.datetime.now(dt.UTC)
    session.add(Person(id=uuid.uuid4(), code="K01", name="县级己", role="county_viewer",
                       active=True, created_at=now, updated_at=now))
    session.commit()
    a, b = (session.scalars(select(Case).where(Case.case_no == n)).one() for n in (A, B))

    def rec(case, form, payload, who="D01"):
        record_form(session, host, case, form, payload, actor=resolve_actor(session, who))

    sheet = answer_sheet("2026-03-05", score=1)
    sheet["assessment"]["assessor"] = "督导甲"
    rec(a, "assessment", sheet, "S01")
    rec(b, "assessment", answer_sheet("2026-03-06", score=1, emergency="unattended"), "S01")
    for day in ("2026-03-10", "2026-03-20"):
        rec(a, "visit", {"visit": {"date": day, "visitor": "D01", "method": "home",
                                   "child_seen": True, "risk_change": "无变化"}})
    rec(a, "service", {"service": {"date": "2026-04-02", "service_type": "tutoring",
                                   "provider": "W01", "content": "数学辅导"}}, "W01")
    rec(a, "incident", {"incident": {"discovered_at": "2026-04-05T09:00:00+08:00",
                                     "harm_types": ["neglect"], "triggers": ["abandoned"],
                                     "description": "长期无人照料", "recorded_by": "D01"},
                        "reporter": {"name": "举报人甲", "relation": "邻居"}})
    rec(a, "police_report", {"police": {"reported_at": "2026-04-05T11:00:00+08:00",
                                        "reported_by": "X01", "station": "新安派出所",
                                        "receipt_no": "R-0001"}}, "X01")
    session.commit()
    return session


def _as(session, host, code, name, on=ON):
    scope_for(session, resolve_actor(session, code))
    try:
        return build(session, host, host.reports[name], on)
    finally:
        session.commit()
        session.info.pop("jianhu_scope", None)
        session.info.pop("jianhu_db_role", None)


def test_the_ledger_has_one_row_per_person_and_month_with_what_each_did(workspace, host):
    table = _as(workspace, host, "S01", "ledger")
    people = ["C01", "D01", "S01", "T01", "V01", "W01", "X01"]  # 新安镇's roster (K01: county)
    assert [(r["code"], r["month"]) for r in table.rows] == [
        (p, m) for p in people for m in ("2026-01", "2026-02", "2026-03", "2026-04")]
    done = [(r["code"], r["month"], r["visits"], r["return_visits"], r["services"], r["reports"],
             r["assessments"], r["total"]) for r in table.rows if r["total"]]
    assert done == [("D01", "2026-03", 2, 0, 0, 0, 0, 2),
                    ("S01", "2026-03", 0, 0, 0, 0, 1, 1),
                    ("W01", "2026-04", 0, 0, 1, 0, 0, 1),
                    ("X01", "2026-04", 0, 0, 0, 1, 0, 1)]
    d01 = next(r for r in table.rows if r["code"] == "D01")
    assert (d01["name"], d01["role"], d01["township"], d01["village"]) == (
        "主任乙", "村（居）儿童主任", "新安镇", "测试村")
    # up to the month of `on` only: in March, April is not there yet
    march = _as(workspace, host, "S01", "ledger", dt.date(2026, 3, 31))
    assert {r["month"] for r in march.rows} == {"2026-01", "2026-02", "2026-03"}
    assert not workspace.scalars(select(AuditEvent).where(AuditEvent.action == "export")).all()


def test_ledger_xlsx_from_the_command_line(workspace, run, tmp_path):
    out = tmp_path / "F.xlsx"
    result = run("--as", "S01", "report", "ledger", "--format", "xlsx", "--out", str(out),
                 "--on", "2026-04-30")
    assert result.exit_code == 0, result.output
    assert result.output == f"已写入儿童关爱保护工作台账：{out}（28行）\n"
    ws = load_workbook(out).active
    assert [c.value for c in ws[2]] == ["月份", "乡镇", "村（社区）", "人员编号", "姓名", "角色", "随访",
                                        "结案回访", "服务", "强制报告", "评估", "合计"]
    body = [[c.value for c in row] for row in ws.iter_rows(min_row=3, max_row=30)]
    assert len(body) == 28 and all(r[0] and r[3] for r in body)
    assert ["2026-03", "新安镇", "测试村", "D01", "主任乙", "村（居）儿童主任", 2, 0, 0, 0, 0, 2] in body
    assert ws.cell(31, 1).value is None  # then the notes, after an empty row


def test_the_roster_lists_the_children_under_care_with_guardian_and_director(workspace, host):
    table = _as(workspace, host, "D01", "roster")
    assert table.rows == [
        {"township": "新安镇", "village": "测试村", "village_code": "320724100201",
         "case_no": A, "name": "测试甲", "sex": "女",
         "birth_date": "2014-06-01", "age": 11, "category": "农村留守儿童", "level": "红色",
         "guardian": "父亲：未填姓名；母亲：未填姓名；受托照护人：测试乙（祖母）", "phone": "",
         "director": "主任乙", "director_phone": ""},
        {"township": "新安镇", "village": "测试村", "village_code": "320724100201",
         "case_no": B, "name": "测试丁", "sex": "男",
         "birth_date": "2012-02-10", "age": 14, "category": "农村留守儿童", "level": "红色",
         "guardian": "父亲：未填姓名；母亲：未填姓名；受托照护人：测试乙（祖母）", "phone": "",
         "director": "主任乙", "director_phone": ""}]
    export = workspace.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert (export.actor, export.entity_type, export.entity_id) == ("D01", "report", "roster")
    assert export.after == {"report": "roster", "identified": True, "on": "2026-04-30",
                            "rows": 2}


def test_the_register_lists_each_mandatory_report_and_its_response(workspace, host):
    table = _as(workspace, host, "S01", "register")
    assert [(r["found"], r["case_no"], r["name"], r["recorded_by"], r["what"], r["deadline"],
             r["reported_at"], r["reported_by"], r["station"], r["receipt_no"], r["status"])
            for r in table.rows] == [
        ("2026-03-06 00:00", B, "测试丁", "", "评估紧急筛查：低龄无人照看或独居", "2026-03-07 00:00",
         "", "", "", "", "逾期未报告"),
        ("2026-04-05 09:00", A, "测试甲", "主任乙",
         "侵害类型：忽视；强制报告情形：被遗弃或长期处于无人照料状态", "2026-04-06 09:00",
         "2026-04-05 11:00", "警员丁", "新安派出所", "R-0001", "已按时报告")]
    assert "共2件，其中逾期1件。" in table.notes[1]
    assert "举报人甲" not in json.dumps(table.rows, ensure_ascii=False)  # kept confidential
    # before the harm was found, only B's emergency is on the register
    early = _as(workspace, host, "S01", "register", dt.date(2026, 4, 1))
    assert [r["case_no"] for r in early.rows] == [B]


def test_the_quarterly_update_says_what_changed_since_the_quarter_began(workspace, host):
    april = _as(workspace, host, "S01", "quarterly")
    assert [c.title for c in april.columns] == [
        "儿童姓名", "性别", "民族", "公民身份号码", "出生日期", "户口性质", "乡镇（街道）", "村（社区）",
        "村（社区）代码", "健康状况", "就学状况", "儿童类别", "父亲情况", "母亲情况", "监护类型",
        "监护人情况", "受委托监护人联系电话", "风险等级", "个案状态", "本季度变化"]
    first = april.rows[0]
    assert {k: first[k] for k in ("name", "sex", "citizen_id", "birth_date", "township",
                                  "village", "village_code", "category", "father", "guardianship")} == {
        "name": "测试甲", "sex": "女", "citizen_id": "320724201406010028",
        "birth_date": "2014-06-01", "township": "新安镇", "village": "测试村",
        "village_code": "320724100201", "category": "农村留守儿童", "father": "外出务工",
        "guardianship": "一般"}
    # the quarter from 1 April: A had a harm report in it, B nothing
    assert [(r["name"], r["change"]) for r in april.rows] == [("测试甲", "变更"), ("测试丁", "无变化")]
    assert april.notes[1] == "本季度自 2026-04-01 起；新增0人，变更1人，结案0人，无变化1人。"
    # the quarter from 1 January: both cases were opened in it
    march = _as(workspace, host, "S01", "quarterly", dt.date(2026, 3, 31))
    assert [r["change"] for r in march.rows] == ["新增", "新增"]


def test_a_quarter_in_which_the_case_closed_says_so():
    from jianhu.paperwork import _change, quarter_start

    start = quarter_start(dt.date(2026, 8, 15))
    assert start == dt.date(2026, 7, 1)
    case = Case(opened_on=dt.date(2026, 1, 10), closed_on=dt.date(2026, 7, 20))
    assert _change(case, [], [], "green", "green", start, dt.date(2026, 8, 15)) == "结案"
    case.closed_on = None
    assert _change(case, [], [], "yellow", "green", start, dt.date(2026, 8, 15)) == "变更"
    assert _change(case, [], [], "green", "green", start, dt.date(2026, 8, 15)) == "无变化"


def test_a_province_replaces_the_column_map(workspace, host):
    from jianhu.paperwork import QuarterlyColumn, quarterly_report

    mine = quarterly_report(columns=(QuarterlyColumn("xm", "姓名", ("child", "name")),
                                     QuarterlyColumn("bh", "个案号", lambda r: r.case.case_no)),
                            name="quarterly_js", title="江苏省季度更新表")
    assert mine.identified
    scope_for(workspace, resolve_actor(workspace, "S01"))
    table = build(workspace, host, mine, ON)
    assert table.title == "江苏省季度更新表"
    assert table.rows == [{"xm": "测试甲", "bh": A, "change": "变更"},
                          {"xm": "测试丁", "bh": B, "change": "无变化"}]


def test_identified_reports_are_refused_to_roles_without_identified_access(workspace, host, run,
                                                                           tmp_path):
    for name in ("roster", "quarterly", "register"):
        result = run("--as", "K01", "report", name, "--out", str(tmp_path / "r.xlsx"))
        assert result.exit_code != 0
        title = host.reports[name].title
        assert result.output == f"错误：县级查看（仅汇总）（K01）无权生成含儿童身份信息的报表「{title}」\n"
    assert not (tmp_path / "r.xlsx").exists()
    with pytest.raises(JianhuError, match="须以名册中的人员身份生成"):
        build(workspace, host, host.reports["roster"], ON)  # nobody named
    # the county viewer still gets the counts, and a volunteer not even those
    assert run("--as", "K01", "report", "summary", "--out", str(tmp_path / "s.csv")).exit_code == 0
    assert run("--as", "V01", "report", "roster", "--out", str(tmp_path / "r.csv")).output == (
        "错误：大学生志愿者（V01）无权查看汇总报表\n")
    assert not workspace.scalars(select(AuditEvent).where(AuditEvent.action == "export")).all()


def test_an_identified_report_from_the_command_line_is_audited(workspace, run, tmp_path):
    out = tmp_path / "r.json"
    assert run("--as", "S01", "report", "register", "--out", str(out), "--on",
               "2026-04-30").exit_code == 0
    doc = json.loads(out.read_text("utf-8"))
    assert [r["status"] for r in doc["rows"]] == ["逾期未报告", "已按时报告"]
    export = workspace.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert (export.actor, export.entity_id, export.after["identified"]) == ("S01", "register",
                                                                           True)


def test_a_bad_report_name_or_document_kind_is_refused_in_chinese(workspace, run, tmp_path):
    assert run("report", "rosters", "--out", str(tmp_path / "x.xlsx")).output == (
        "错误：没有报表「rosters」；可用：county、ledger、quarterly、register、roster、summary\n")
    result = run("--as", "S01", "case", "report", A, "--kind", "archives", "--out",
                 str(tmp_path / "x.pdf"))
    assert result.exit_code != 0
    assert result.output.startswith("错误：--kind 的值不对：")
    assert "不是可选值之一" in result.output


def test_the_summary_counts_only_visits_as_visits_due(workspace, host):
    """On 2026-04-12 the pending tasks are A's visit due 2026-04-19 (30 days after the visit of
    2026-03-20) and re-assessment due 2026-04-12 (7 days after the harm report), and B's visit
    due 2026-03-13, re-assessment due 2026-04-05 (red: 7 and 30 days after 2026-03-06) and
    police report due 2026-03-07. Within 7 days: one visit (A's) and one re-assessment (A's,
    not counted as a visit); overdue: B's three."""
    summary = _as(workspace, host, "S01", "summary", dt.date(2026, 4, 12))
    total = summary.rows[-1]
    assert (total["followups_due"], total["followups_overdue"]) == (1, 3)
    assert [c.title for c in summary.columns][-2:] == ["7日内到期随访", "逾期未办（各类待办）"]


def test_the_archive_pdf_has_a_cover_and_every_record(workspace, run, tmp_path):
    pdf = tmp_path / "F.pdf"
    result = run("--as", "S01", "case", "report", A, "--kind", "archive", "--format", "pdf",
                 "--out", str(pdf))
    assert result.exit_code == 0, result.output
    assert result.output == f"已生成儿童个案档案（一人一档）：{pdf}\n"
    pages = [p.extract_text() for p in PdfReader(pdf).pages]
    cover = pages[0]
    for text in ("保密", "儿童个案档案（一人一档）", f"档案编号：DA{A}", "测试甲", "新安镇", "测试村",
                 "开案日期 2026-03-01", "结案日期 未结案", "本档案共收录记录 7 份"):
        assert text in cover, text
    body = "\n".join(pages[1:])
    order = ["1. 2026-03-01　儿童基本情况调查表", "2. 2026-03-05　家庭监护评估（黄色）",
             "3. 2026-03-10　随访记录", "4. 2026-03-20　随访记录", "5. 2026-04-02　服务记录",
             "6. 2026-04-05　侵害事件报告", "7. 2026-04-05　向公安机关报告记录"]
    assert [body.index(t) for t in order] == sorted(body.index(t) for t in order)
    for text in ("随访人编号 主任乙（D01）", "服务类型 教育辅导", "强制报告情形 被遗弃或长期处于无人照料状态",
                 "受案回执号 R-0001", "风险等级 黄色"):
        assert text in body, text
    assert "举报人甲" not in body
    export = workspace.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert export.after == {"document": "archive", "identified": True}
    # a role that may not export identified documents is refused
    assert run("--as", "V01", "case", "report", A, "--kind", "archive", "--out",
               str(tmp_path / "v.pdf")).output.startswith("错误：")
