"""新安镇 plugin: local screening fields, local policy, and the monthly report to the county.

The monthly report is checked on the known sample (300 children, seed 7, imported like
``jianhu demo`` does) against figures computed here from the database with plain loops over the
rows, not with the report's queries.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib.metadata
import shutil
import subprocess
import sys
from collections import Counter
from zoneinfo import ZoneInfo

import jianhu_xinan
import pytest
from click.testing import CliRunner
from jianhu_xinan import fields, govform, monthly, policy
from jianhu_xinan.govform import header_grid, write_gov_xlsx
from jianhu_xinan.monthly import MAIN_CATEGORIES, SEP, build_monthly
from jianhu_xinan.policy import TOWNSHIP_CODE, XINAN_POLICY
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from sqlalchemy import select

from jianhu.cli import cli
from jianhu.db.models import Assessment, Case, FollowUp, FormRecord, Township, Village
from jianhu.db.session import make_engine, open_session, upgrade
from jianhu.default_plugins.policy import DEFAULT_POLICY
from jianhu.errors import ImportRejected
from jianhu.forms import load_form
from jianhu.imports.assessment import import_assessments
from jianhu.imports.records import import_records
from jianhu.imports.screening import import_screening
from jianhu.people import import_people, resolve_actor
from jianhu.plugins import Host
from jianhu.sample import generate, write_sample
from jianhu.workbooks import write_rows

TEST_ENV = {"JIANHU_LOAD_PLUGINS": ""}
SHANGHAI = ZoneInfo("Asia/Shanghai")
OCTOBER = dt.date(2026, 10, 31)
LOCAL_COLUMNS = ["本地跟进公益社", "本地爱心妈妈编号", "本地爱心妈妈结对日期", "本地五老志愿者编号",
                 "本地监护人参加家长学校"]
#: Environment for CLI runs: only the installed ``xinan`` entry point, nothing from the machine.
CLI_ENV = {"JIANHU_LOAD_PLUGINS": "xinan", "JIANHU_PLUGINS_DIR": None, "JIANHU_BLOCK_PLUGINS": None,
           "JIANHU_STRICT_PLUGINS": "1", "JIANHU_TRACE_PLUGINS": None, "JIANHU_USER": None}


@pytest.fixture(scope="module")
def host() -> Host:
    return Host.load(extra=[("xinan", jianhu_xinan)], env=TEST_ENV)


def installed() -> None:
    """Skip unless the distribution is installed (the CLI finds plugins by entry point)."""
    try:
        importlib.metadata.distribution("jianhu-xinan")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("jianhu-xinan is not installed (pip install plugins/jianhu-xinan)")


# ------------------------------------------------------------------------- registration
def test_entry_point_and_hooks():
    installed()
    dist = importlib.metadata.distribution("jianhu-xinan")
    assert [(ep.name, ep.value) for ep in dist.entry_points if ep.group == "jianhu"] == [
        ("xinan", "jianhu_xinan")]
    loaded = Host.load(env={"JIANHU_LOAD_PLUGINS": "xinan"})
    info = next(p for p in loaded.plugins() if p.name == "xinan")
    assert (info.version, info.source) == ("0.1.0", "entry point")
    assert info.hooks == ("jianhu_followup_policy", "jianhu_form_fields", "jianhu_report_formats",
                          "jianhu_reports", "jianhu_web_pages")
    assert jianhu_xinan.__version__ == "0.1.0"
    # loading reads no distribution's METADATA (every command loads the plugins; only the
    # listing shows versions), and the listing still shows the version
    probe = ("import sys\nfrom jianhu.plugins import Host\n"
             "host = Host.load(env={'JIANHU_LOAD_PLUGINS': 'xinan'})\n"
             "print('email.parser' in sys.modules)\n"
             "print([p.version for p in host.plugins() if p.name == 'xinan'])")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["False", "['0.1.0']"]


def test_report_and_format_registered(host):
    assert host.reports["xinan-monthly"].build is build_monthly
    assert host.report_formats["xinan-monthly-xlsx"].write is write_gov_xlsx
    assert host.owner("jianhu_reports", "xinan-monthly") == "xinan"
    # the generic formats are still there
    assert {"csv", "xlsx", "json"} <= set(host.report_formats)


# ------------------------------------------------------------------------- local fields
def test_local_fields_in_screening_form(host):
    form = load_form(host, "screening")
    local = [f for f in form.fields if f.group == "local"]
    assert [f.column for f in local] == LOCAL_COLUMNS
    assert [f.key for f in local] == list(fields.PROPERTIES)
    assert not any(f.required for f in local)
    assert [f.kind for f in local] == ["string", "string", "date", "string", "boolean"]
    assert "xinan-local" in form.extensions
    assert form.schema["properties"]["local"]["title"] == "本地"
    for f in local:
        assert f.schema["description"], f.column
    # only the screening form gets them, and only with the plugin
    assert fields.form_fields("assessment") == []
    assert not [f for f in load_form(host, "assessment").fields if f.group == "local"]
    assert not [f for f in load_form(Host.load(env=TEST_ENV), "screening").fields
                if f.group == "local"]


def _surveys(host, n: int) -> list[dict]:
    docs = [doc for doc, _ in generate(host, n, 3)]
    for i, doc in enumerate(docs):
        if i % 3 == 0:
            doc["local"] = {"gongyishe": f"东河村儿童关爱公益社{i}", "caring_mother": "320724100-M01",
                            "caring_mother_since": "2026-09-15", "five_elders": "320724100-V02",
                            "parent_school": i % 2 == 0}
        elif i % 3 == 1:
            doc["local"] = {"gongyishe": "前园村公益社"}
    return docs


def _stored_local(session) -> dict[tuple[str, str], dict | None]:
    records = session.scalars(select(FormRecord).where(FormRecord.form_id == "screening"))
    return {(r.payload["child"]["name"], r.payload["child"]["birth_date"]): r.payload.get("local")
            for r in records}


def test_local_fields_round_trip_through_import(host, tmp_path):
    form = load_form(host, "screening")
    docs = _surveys(host, 12)
    path = tmp_path / "screening.xlsx"
    assert write_rows(form, docs, path) == 12
    engine = make_engine(f"sqlite:///{tmp_path / 'rt.db'}")
    upgrade(engine)
    try:
        with open_session(engine) as session:
            summary = import_screening(session, host, path, actor="test")
            assert summary.created == 12
        with open_session(engine) as session:
            stored = _stored_local(session)
    finally:
        engine.dispose()
    expected = {(d["child"]["name"], d["child"]["birth_date"]): d.get("local") for d in docs}
    assert stored == expected
    assert sum(v is not None for v in stored.values()) == 8


def test_bad_local_values_are_rejected_with_column_titles(host, tmp_path):
    form = load_form(host, "screening")
    docs = _surveys(host, 3)
    docs[0]["local"]["caring_mother"] = "M" * 41
    path = tmp_path / "bad.xlsx"
    write_rows(form, docs, path)
    rows = list(load_workbook(path).active.iter_rows(values_only=True))
    col = rows[0].index("本地监护人参加家长学校")
    wb = load_workbook(path)
    wb.active.cell(row=3, column=col + 1, value="也许")
    wb.save(path)
    engine = make_engine(f"sqlite:///{tmp_path / 'bad.db'}")
    upgrade(engine)
    try:
        with open_session(engine) as session, pytest.raises(ImportRejected) as err:
            import_screening(session, host, path, actor="test")
    finally:
        engine.dispose()
    found = {(e.row, e.column) for e in err.value.errors}
    assert (2, "本地爱心妈妈编号") in found
    assert (3, "本地监护人参加家长学校") in found


def test_cli_template_and_import_have_local_columns(tmp_path):
    installed()
    runner = CliRunner()
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {**CLI_ENV, "JIANHU_DATABASE_URL": url}
    template = tmp_path / "template.xlsx"
    result = runner.invoke(cli, ["template", "screening", "--out", str(template)], env=env,
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    header = [c.value for c in load_workbook(template).active[1]]
    assert header[-len(LOCAL_COLUMNS):] == LOCAL_COLUMNS

    cli_host = Host.load(env={"JIANHU_LOAD_PLUGINS": "xinan"})
    docs = _surveys(cli_host, 6)
    path = tmp_path / "screening.xlsx"
    write_rows(load_form(cli_host, "screening"), docs, path)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    result = runner.invoke(cli, ["import", "screening", str(path)], env=env,
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    engine = make_engine(url)
    try:
        with open_session(engine) as session:
            stored = _stored_local(session)
    finally:
        engine.dispose()
    assert stored == {(d["child"]["name"], d["child"]["birth_date"]): d.get("local") for d in docs}


# ------------------------------------------------------------------------------- policy
def test_policy_for_xinan_only(host):
    assert host.followup_policy(TOWNSHIP_CODE) is XINAN_POLICY
    assert policy.followup_policy(TOWNSHIP_CODE) is XINAN_POLICY
    other_towns = [code for code in host.areas if code != TOWNSHIP_CODE
                   and host.areas[code].level != "county"]
    assert len(other_towns) == 10
    for code in other_towns:
        assert policy.followup_policy(code) is None
        assert host.followup_policy(code) is DEFAULT_POLICY
    # a township of another county with the same last digits is not 新安镇
    assert policy.followup_policy("320723100000") is None
    assert host.followup_policy("320723100000") is DEFAULT_POLICY


def test_policy_is_closer_than_default_and_keeps_legal_floors():
    for level in ("red", "orange", "yellow", "green"):
        assert XINAN_POLICY.for_level(level).visit_days < DEFAULT_POLICY.for_level(level).visit_days
    assert XINAN_POLICY.mandatory_report_hours <= DEFAULT_POLICY.mandatory_report_hours
    # 新政发〔2016〕8号 四（六）: at least two return visits a year after closure
    assert 12 / XINAN_POLICY.return_visit_months >= 2
    assert "非法律规定" in XINAN_POLICY.source
    assert "not law" in (policy.followup_policy.__doc__ or "")


# -------------------------------------------------------------------- sample workspace
@pytest.fixture(scope="module")
def workspace(host, tmp_path_factory):
    """The known sample (300 children, seed 7) imported as ``jianhu demo`` does; yields the URL."""
    out = tmp_path_factory.mktemp("xinan-sample")
    files = write_sample(host, out, 300, 7)
    url = f"sqlite:///{out / 'jianhu.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with open_session(engine) as session:
        import_screening(session, host, files.screening, actor="test")
    with open_session(engine) as session:
        import_assessments(session, host, files.assessment, actor="test")
    with open_session(engine) as session:
        admin = resolve_actor(session, None)
        import_people(session, host, files.people, actor=admin)
    with open_session(engine) as session:
        import_records(session, host, files.records, actor=admin)
    yield url, engine, out
    engine.dispose()


def test_policy_schedules_xinan_cases_only(workspace):
    _, engine, _ = workspace
    with open_session(engine) as session:
        rows = session.execute(
            select(Township.code, Assessment.level, Assessment.assessed_on, FollowUp.due_on)
            .join(Assessment, FollowUp.assessment_id == Assessment.id)
            .join(Case, Assessment.case_id == Case.id)
            .join(Township, Case.township_id == Township.id)
            .where(FollowUp.kind == "visit")).all()
    seen = Counter()
    for code, level, assessed_on, due_on in rows:
        pol = XINAN_POLICY if code == TOWNSHIP_CODE else DEFAULT_POLICY
        assert (due_on - assessed_on).days == pol.for_level(level).visit_days
        seen[code == TOWNSHIP_CODE] += 1
    assert seen[True] > 10 and seen[False] > 10


def _expected(session, on: dt.date) -> tuple[list[str], dict[str, Counter]]:
    """The report's figures per village, computed with plain loops over all rows."""
    start = on.replace(day=1)
    town = next(t for t in session.scalars(select(Township)) if t.code == TOWNSHIP_CODE)
    villages = {v.id: v.name for v in session.scalars(select(Village)) if v.township_id == town.id}
    cases = {c.id: c for c in session.scalars(select(Case)) if c.township_id == town.id}
    fig: dict[str, Counter] = {name: Counter() for name in villages.values()}
    graded: dict = {}
    for a in session.scalars(select(Assessment)):
        if a.case_id in cases and a.level is not None and a.assessed_on <= on:
            key = (a.assessed_on, a.created_at)
            if a.case_id not in graded or graded[a.case_id][0] < key:
                graded[a.case_id] = (key, a.level)
    for c in cases.values():
        f = fig[villages[c.village_id]]
        was_open = c.opened_on <= on and (
            c.status not in ("closed", "return_visits") or (c.closed_on is not None
                                                             and c.closed_on > on))
        if was_open:
            f["open_cases"] += 1
            f["level_" + (graded[c.id][1] if c.id in graded else "none")] += 1
            named = False
            for key, _, codes in MAIN_CATEGORIES:
                if any(code in c.categories for code in codes):
                    f["cat_" + key] += 1
                    named = True
            if not named:
                f["cat_other"] += 1
        if start <= c.opened_on <= on:
            f["new_cases"] += 1
    for r in session.scalars(select(FormRecord)):
        if r.subject_type != "case" or r.subject_id not in cases:
            continue
        f = fig[villages[cases[r.subject_id].village_id]]
        if start <= r.recorded_on <= on:
            key = {"visit": "visits", "return_visit": "return_visits", "closure": "closed",
                   "police_report": "reports_filed"}.get(r.form_id)
            if key:
                f[key] += 1
        if r.form_id == "incident" and "police" in r.payload:
            reported = dt.datetime.fromisoformat(r.payload["police"]["reported_at"])
            if start <= reported.astimezone(SHANGHAI).date() <= on:
                f["reports_filed"] += 1
    next_midnight = dt.datetime.combine(on + dt.timedelta(days=1), dt.time(), SHANGHAI)
    for t in session.scalars(select(FollowUp)):
        if t.case_id not in cases:
            continue
        open_then = t.status == "pending" or (t.status == "done" and t.done_on > on)
        if t.due_at is not None:
            late = t.due_at < next_midnight
        else:
            late = t.due_on < on
        if not (open_then and late):
            continue
        f = fig[villages[cases[t.case_id].village_id]]
        if t.kind == "mandatory_report":
            f["reports_overdue"] += 1
        elif t.kind in ("visit", "reassessment", "return_visit"):
            f["followups_overdue"] += 1
    return sorted(villages.values()), fig


def _header_paths(ws, top: int, depth: int, width: int) -> list[str]:
    """Rebuild each column's title path from the merged header cells."""
    owner = {}
    for rng in ws.merged_cells.ranges:
        for row in range(rng.min_row, rng.max_row + 1):
            for col in range(rng.min_col, rng.max_col + 1):
                owner[row, col] = (rng.min_row, rng.min_col)
    paths = []
    for col in range(1, width + 1):
        parts: list[str] = []
        last = None
        for row in range(top, top + depth):
            anchor = owner.get((row, col), (row, col))
            if anchor != last and ws.cell(*anchor).value is not None:
                parts.append(ws.cell(*anchor).value)
            last = anchor
        paths.append(SEP.join(parts))
    return paths


@pytest.fixture(scope="module")
def october(workspace, host):
    """The October report built, written as the government form, and the expected figures."""
    _, engine, out = workspace
    with open_session(engine) as session:
        table = host.reports["xinan-monthly"].build(session, host, OCTOBER)
        villages, fig = _expected(session, OCTOBER)
    path = out / "xinan-2026-10.xlsx"
    host.report_formats["xinan-monthly-xlsx"].write(table, path)
    return table, path, villages, fig


def test_monthly_table_title(october):
    table = october[0]
    assert table.title == "新安镇儿童家庭监护干预工作月报表（2026年10月）"
    assert table.period == "2026年10月1日至10月31日"
    assert table.reporting_unit == "灌南县新安镇人民政府"
    assert table.unit == "人"


@pytest.mark.parametrize("on", [dt.date(2026, 9, 30), OCTOBER, dt.date(2026, 11, 15),
                                dt.date(2026, 11, 28)])
def test_monthly_table_rows(workspace, host, on):
    _, engine, _ = workspace
    with open_session(engine) as session:
        table = build_monthly(session, host, on)
        villages, fig = _expected(session, on)
    assert [r["village"] for r in table.rows] == villages + ["合计"]
    assert [r["no"] for r in table.rows] == [*range(1, len(villages) + 1), ""]
    keys = [c.key for c in table.columns[2:]]
    for row in table.rows[:-1]:
        assert {k: row[k] for k in keys} == {k: fig[row["village"]][k] for k in keys}
    total = table.rows[-1]
    for k in keys:
        assert total[k] == sum(r[k] for r in table.rows[:-1]), k
    if on.month == 9:
        # surveyed in September, assessed in October: not yet graded at the end of September
        assert total["level_none"] > 0 and total["closed"] == 0


def test_monthly_xlsx_is_a_government_form(october):
    table, path, villages, fig = october
    ws = load_workbook(path).active
    width = len(table.columns)
    assert ws["A1"].value == table.title
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert f"A1:{get_column_letter(width)}1" in merged
    line2 = [ws.cell(row=2, column=c).value for c in range(1, width + 1)]
    assert "填报单位（盖章）：灌南县新安镇人民政府" in line2
    assert "统计时段：2026年10月1日至10月31日" in line2
    assert "单位：人" in line2

    # the header: three levels, merged
    depth, cells = header_grid([c.title for c in table.columns])
    assert depth == 3
    top = govform.HEADER_TOP
    assert "A3:A5" in merged and "B3:B5" in merged          # 序号, 村（社区）
    assert "C3:M3" in merged and ws["C3"].value == "在办个案"   # 合计 + 5 levels + 5 groups
    assert "D4:H4" in merged and ws["D4"].value == "风险等级"
    assert "I4:M4" in merged and ws["I4"].value == "目标类别"
    assert "C4:C5" in merged and ws["C4"].value == "合计"
    assert [ws.cell(row=5, column=c).value for c in range(4, 9)] == ["红色", "橙色", "黄色", "绿色", "未评估"]
    assert ([ws.cell(row=5, column=c).value for c in range(9, 14)]
            == [label for _, label, _ in MAIN_CATEGORIES] + ["其他"])
    assert _header_paths(ws, top, depth, width) == [c.title for c in table.columns]

    # the figures: village rows, then 合计 equal to the totals computed from the database
    first = top + depth
    assert [ws.cell(row=first + i, column=2).value for i in range(len(villages) + 1)] == (
        villages + ["合计"])
    total_row = first + len(villages)
    assert ws.cell(row=total_row, column=1).value is None
    assert ws.cell(row=total_row, column=2).font.b
    expected_total = sum(fig.values(), Counter())
    keys = [c.key for c in table.columns]
    got = {keys[c - 1]: ws.cell(row=total_row, column=c).value for c in range(3, width + 1)}
    assert got == {k: expected_total[k] for k in keys[2:]}
    # the sample exercises the figures that matter (not a table of zeros)
    for k in ("open_cases", "new_cases", "visits", "followups_overdue", "closed", "level_red",
              "cat_left_behind", "cat_difficulty"):
        assert expected_total[k] > 0, k

    # notes, signature and date lines
    texts = [str(ws.cell(row=r, column=c).value) for r in range(total_row + 1, ws.max_row + 1)
             for c in range(1, width + 1) if ws.cell(row=r, column=c).value is not None]
    assert texts[0].startswith("说明：1. 统计时段")
    for label in ("负责人：", "填表人：", "填报日期："):
        assert any(t.startswith(label) for t in texts), label

    # print setup: A4 landscape, one page wide, header repeated
    assert ws.page_setup.orientation == "landscape"
    assert int(ws.page_setup.paperSize) == 9  # A4 (ECMA-376 paper size code)
    assert ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.print_title_rows == "$3:$5"


def test_monthly_report_has_no_personal_data(october, workspace):
    _, engine, _ = workspace
    _, path, _, _ = october
    ws = load_workbook(path).active
    text = " ".join(str(v) for row in ws.iter_rows(values_only=True) for v in row if v is not None)
    with open_session(engine) as session:
        records = session.scalars(select(FormRecord).where(FormRecord.form_id == "screening"))
        people = {r.payload["child"]["name"] for r in records}
    assert people and not any(name in text for name in people)


def test_open_cases_agree_with_the_core_summary(workspace, host):
    # At the sample's cut-off nothing is opened or closed later, so the open cases by level of
    # the monthly report equal the core summary's 新安镇 subtotal.
    _, engine, _ = workspace
    on = dt.date(2026, 11, 28)
    with open_session(engine) as session:
        mine = host.reports["xinan-monthly"].build(session, host, on).rows[-1]
        summary = host.reports["summary"].build(session, host, on)
    sub = next(r for r in summary.rows if r["township"] == "新安镇" and r["village"] == "小计")
    assert mine["open_cases"] == sub["open_cases"] > 0
    for code in ("red", "orange", "yellow", "green", "none"):
        assert mine[f"level_{code}"] == sub[f"level_{code}"], code
    assert mine["cat_left_behind"] == sub["cat_left_behind"]
    assert mine["cat_de_facto"] == sub["cat_de_facto_unsupported"]


def test_month_period_and_empty_workspace(host, tmp_path):
    assert monthly.month_period(dt.date(2026, 2, 14)) == (dt.date(2026, 2, 1), dt.date(2026, 2, 14))
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    upgrade(engine)
    try:
        with open_session(engine) as session:
            table = build_monthly(session, host, dt.date(2026, 2, 14))
    finally:
        engine.dispose()
    assert table.period == "2026年2月1日至2月14日"
    assert len(table.rows) == 1 and table.rows[0]["village"] == "合计"
    assert all(table.rows[0][k] == 0 for k in monthly.FIGURES)
    write_gov_xlsx(table, tmp_path / "empty.xlsx")
    assert load_workbook(tmp_path / "empty.xlsx").active["A1"].value == table.title


def test_header_grid():
    depth, cells = header_grid(["A", f"B{SEP}x", f"B{SEP}y", f"C{SEP}z"])
    assert depth == 2
    assert [(c.text, c.row, c.col, c.rows, c.cols) for c in cells] == [
        ("A", 0, 0, 2, 1), ("B", 0, 1, 1, 2), ("C", 0, 3, 1, 1), ("x", 1, 1, 1, 1),
        ("y", 1, 2, 1, 1), ("z", 1, 3, 1, 1)]
    depth, cells = header_grid(["乡镇", "村"])
    assert depth == 1 and [(c.rows, c.cols) for c in cells] == [(1, 1), (1, 1)]


def test_format_writes_any_report(workspace, host, tmp_path):
    # the government layout also takes a report of the core (one header level, no 填报单位)
    _, engine, _ = workspace
    with open_session(engine) as session:
        table = host.reports["summary"].build(session, host, OCTOBER)
    write_gov_xlsx(table, tmp_path / "summary.xlsx")
    ws = load_workbook(tmp_path / "summary.xlsx").active
    assert ws["A3"].value == "乡镇" and ws["A4"].value == table.rows[0]["township"]


# -------------------------------------------------------------------------------- CLI
def test_cli_report_formats(workspace, tmp_path):
    installed()
    url, _, _ = workspace
    runner = CliRunner()
    env = {**CLI_ENV, "JIANHU_DATABASE_URL": url}
    gov = tmp_path / "gov.xlsx"
    result = runner.invoke(cli, ["report", "xinan-monthly", "--format", "xinan-monthly-xlsx",
                                 "--on", "2026-10-31", "--out", str(gov)], env=env,
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "新安镇儿童家庭监护干预工作月报表" in result.output
    assert "C3:M3" in {str(r) for r in load_workbook(gov).active.merged_cells.ranges}
    flat = tmp_path / "flat.csv"
    result = runner.invoke(cli, ["report", "xinan-monthly", "--format", "csv", "--on", "2026-10-31",
                                 "--out", str(flat)], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    figures = flat.read_text("utf-8-sig").partition("\n\n")[0]  # the notes follow
    rows = list(csv.DictReader(figures.splitlines()))
    assert rows[-1]["村（社区）"] == "合计"
    assert int(rows[-1][f"在办个案{SEP}合计"]) > 0


def test_libreoffice_converts_to_csv(october, tmp_path):
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice 未安装：PATH 上没有 soffice（Debian: apt-get install libreoffice-calc）")
    table, path, villages, fig = october
    out = tmp_path / "csv"
    out.mkdir()
    proc = subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}", "--headless",
         "--convert-to", 'csv:Text - txt - csv (StarCalc):44,34,76,1', "--outdir", str(out),
         str(path)],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Error" not in proc.stderr and "Error" not in proc.stdout, proc.stderr + proc.stdout
    converted = out / (path.stem + ".csv")
    assert converted.exists(), proc.stdout + proc.stderr
    rows = list(csv.reader(converted.read_text("utf-8").splitlines()))
    assert rows[0][0] == table.title
    total = next(r for r in rows if len(r) > 1 and r[1] == "合计")
    expected_total = sum(fig.values(), Counter())
    assert [int(v) for v in total[2:len(table.columns)]] == [
        expected_total[c.key] for c in table.columns[2:]]
