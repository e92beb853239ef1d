import csv
import datetime as dt
import json

from openpyxl import load_workbook
from sqlalchemy import select

from jianhu.db.models import Child, Guardian


def _load(run, sample_dir):
    assert run("import", "screening", str(sample_dir / "screening.xlsx")).exit_code == 0
    assert run("import", "assessment", str(sample_dir / "assessment.xlsx")).exit_code == 0


def test_summary_csv_is_bom_utf8_without_personal_data(run, engine, session, sample_dir,
                                                       tmp_path):
    _load(run, sample_dir)
    out = tmp_path / "s.csv"
    result = run("report", "summary", "--format", "csv", "--out", str(out), "--on", "2027-01-01")
    assert result.exit_code == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    figures, _, notes = raw.decode("utf-8-sig").partition("\r\n\r\n")  # notes below the table
    assert notes.splitlines()[0] == "统计日期：2027-01-01（北京时间）"
    rows = list(csv.DictReader(figures.splitlines()))
    total = rows[-1]
    cases = json.loads(run("cases", "list", "--json").output)
    assert total["乡镇"] == "合计" and int(total["在办个案"]) == len(cases)
    for code, label in (("red", "红色"), ("green", "绿色")):
        assert int(total[label]) == sum(c["level"] == code for c in cases)
    assert int(total["农村留守儿童"]) == sum("left_behind" in c["categories"] for c in cases)
    due = json.loads(run("followups", "due", "--on", "2027-01-01", "--json").output)["items"]
    assert int(total["逾期未办（各类待办）"]) == sum(i["status"] == "overdue" for i in due)
    text = raw.decode("utf-8-sig")
    names = set(session.scalars(select(Child.name))) | set(session.scalars(
        select(Guardian.name).where(Guardian.name.is_not(None))))
    ids = set(session.scalars(select(Child.citizen_id).where(Child.citizen_id.is_not(None))))
    assert not any(n in text for n in names | ids)


def test_summary_xlsx_and_json(run, engine, sample_dir, tmp_path):
    _load(run, sample_dir)
    run("report", "summary", "--format", "xlsx", "--out", str(tmp_path / "s.xlsx"))
    run("report", "summary", "--format", "json", "--out", str(tmp_path / "s.json"))
    ws = load_workbook(tmp_path / "s.xlsx").active
    assert ws["A1"].value == "儿童家庭监护干预汇总表"
    assert [c.value for c in ws[2]][:4] == ["乡镇", "村（社区）", "村（社区）代码", "在办个案"]
    doc = json.loads((tmp_path / "s.json").read_text("utf-8"))
    assert doc["rows"][-1]["township"] == "合计"
    # the total, then an empty row and the four notes
    assert doc["rows"][-1]["open_cases"] == 154 == ws.cell(row=ws.max_row - 5, column=4).value


def test_report_bad_input(run, engine):
    assert run("report", "nosuch", "--out", "x").output.startswith("错误：没有报表「nosuch」")
    assert run("report", "summary", "--format", "pdf", "--out", "x").output.startswith(
        "错误：不支持格式「pdf」")


def test_exported_cells_cannot_start_a_formula(tmp_path):
    import csv

    from openpyxl import load_workbook

    from jianhu.default_plugins.report_formats import write_csv, write_xlsx
    from jianhu.extensions import Column, Table

    evil = ["-2+3+cmd|' /C calc'!A0", "=1+1", "+86 138", "@SUM(A1)", "\tx", "新安镇"]
    table = Table("t", (Column("village", "村"), Column("n", "人数")),
                  [{"village": v, "n": -3} for v in evil])
    write_csv(table, tmp_path / "t.csv")
    cells = list(csv.reader((tmp_path / "t.csv").read_text("utf-8-sig").splitlines()))[1:]
    assert [c[0] for c in cells] == ["'-2+3+cmd|' /C calc'!A0", "'=1+1", "'+86 138", "'@SUM(A1)",
                                     "'\tx", "新安镇"]
    assert {c[1] for c in cells} == {"-3"}  # numbers stay numbers
    write_xlsx(table, tmp_path / "t.xlsx")
    ws = load_workbook(tmp_path / "t.xlsx").active
    assert [(ws.cell(r, 1).value, ws.cell(r, 1).data_type) for r in (3, 4)] == [
        ("'-2+3+cmd|' /C calc'!A0", "s"), ("'=1+1", "s")]
    assert ws.cell(3, 2).value == -3


def test_a_plugin_report_that_forgets_the_scope_still_reads_only_the_actors(session, host,
                                                                             sample_dir):
    """A report whose queries never ask for the scope (as a township plugin might write it) gives
    a village director their village only, a supervisor their township, the county all."""
    from sqlalchemy import func

    from jianhu.db.models import Case, FollowUp, FormRecord, Township, Village
    from jianhu.extensions import Column, Report, Table
    from jianhu.imports.screening import import_screening
    from jianhu.people import import_people, resolve_actor
    from jianhu.reports import build
    from jianhu.roles import LOCAL_ADMIN
    from jianhu.scope import scope_for

    def naive(s, _host, _on):
        figures = {
            "townships": s.scalar(select(func.count(Township.id))),
            "villages": s.scalar(select(func.count(Village.id))),
            "cases": s.scalar(select(func.count(Case.id))),
            "children": s.scalar(select(func.count(Child.id))),
            "followups": s.scalar(select(func.count(FollowUp.id))),
            "surveys": s.scalar(select(func.count(FormRecord.id)).where(
                FormRecord.form_id == "screening")),
            "joined": s.scalar(select(func.count()).select_from(FollowUp).join(
                Case, FollowUp.case_id == Case.id)),
        }
        return Table("naive", [Column(k, k) for k in figures], [figures])

    import_screening(session, host, sample_dir / "screening.xlsx", actor="t")
    import_people(session, host, sample_dir / "people.xlsx", actor=LOCAL_ADMIN)
    session.commit()
    report = Report("naive", "naive", naive)

    def figures(code):
        scope_for(session, resolve_actor(session, code))
        row = build(session, host, report, dt.date(2026, 12, 1)).rows[0]
        session.rollback()
        session.info.pop("jianhu_scope", None)
        session.info.pop("jianhu_db_role", None)
        return row

    # counted in the sample (seed 7, 300 children) with plain SQL: 新安镇 and D01's village 下港村
    assert figures("320724100-D01") == {"townships": 1, "villages": 1, "cases": 5,
                                        "children": 10, "followups": 5, "surveys": 10, "joined": 5}
    assert figures("320724100-S01") == {"townships": 1, "villages": 8, "cases": 41,
                                        "children": 71, "followups": 41, "surveys": 71,
                                        "joined": 41}
    everything = figures(LOCAL_ADMIN.code)
    assert everything["townships"] == 11 and everything["children"] == 300


def test_a_suppressed_csv_explains_its_marks_below_the_figures(tmp_path):
    from jianhu.default_plugins.report_formats import write_csv
    from jianhu.extensions import Column, Table
    from jianhu.reports import suppress_small_cells

    table = suppress_small_cells(Table("t", (Column("township", "乡镇"), Column("n", "人数")), [
        {"township": "甲镇", "n": 3}, {"township": "乙镇", "n": 9}, {"township": "合计", "n": 12}]))
    write_csv(table, tmp_path / "t.csv")
    lines = (tmp_path / "t.csv").read_text("utf-8-sig").splitlines()
    assert lines[:5] == ["乡镇,人数", "甲镇,<5", "乙镇,*", "合计,12", ""]
    assert lines[5].startswith("「<5」：人数为1至4人，不予显示；「*」：人数可能为5人或以上")


def test_a_report_day_outside_the_bounds_is_refused_the_same_way_everywhere(run, session, host,
                                                                             tmp_path):
    from jianhu.errors import JianhuError
    from jianhu.reports import build

    out = tmp_path / "s.csv"
    for day in ("1999-12-31", "2101-01-01"):
        result = run("report", "summary", "--out", str(out), "--on", day)
        assert result.exit_code != 0
        assert result.output == "错误：统计日期应在 2000-01-01 至 2100-12-31 之间\n"
    assert not out.exists()
    try:
        build(session, host, host.reports["summary"], dt.date(1999, 12, 31))
    except JianhuError as exc:
        assert str(exc) == "统计日期应在 2000-01-01 至 2100-12-31 之间"
    else:
        raise AssertionError("a report of 1999 was built")
