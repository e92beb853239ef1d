"""Each hook has a test of its own here or elsewhere in tests/ (checked by the last test)."""

import inspect
import re
import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook

from files import write_xlsx
from jianhu import hookimpl, hookspecs
from jianhu.extensions import FormExtension, FormSpec
from jianhu.forms import load_form
from jianhu.imports.screening import import_screening
from surveys import survey


class LocalForms:
    @hookimpl
    def jianhu_forms(self):
        return [FormSpec(id="visit-note", schema={
            "title": "走访便签", "type": "object", "required": ["note"],
            "properties": {"note": {"type": "object", "title": "便签", "x-column-prefix": "",
                                    "properties": {"text": {"type": "string", "title": "内容"}}}}})]

    @hookimpl
    def jianhu_form_fields(self, form_id):
        if form_id != "screening":
            return []
        return [FormExtension(form_id="screening", group="local", group_title="本地",
                              name="test-local", properties={
                                  "org": {"type": "string", "title": "跟进公益社"}})]


def test_forms_and_form_fields(jianhu_register, session, tmp_path):
    host = jianhu_register(LocalForms())
    assert load_form(host, "visit-note").title == "走访便签"
    screening = load_form(host, "screening")
    assert screening.fields[-1].column == "本地跟进公益社"
    assert screening.extensions == ("test-local",)
    doc = survey()
    doc["local"] = {"org": "东风村公益社"}
    import_screening(session, host, write_xlsx(screening, [doc], tmp_path / "s.xlsx"), actor="t")
    from jianhu.db.models import FormRecord

    assert session.query(FormRecord).one().payload["local"] == {"org": "东风村公益社"}


class OneItemScale:
    @hookimpl
    def jianhu_scales(self):
        from jianhu.extensions import Scale, ScaleResult

        return [Scale(name="one", version="1", title="单题量表", form_id="assessment", items=(),
                      score=lambda a: ScaleResult(scores={}, total=None, level=None),
                      sets_level=False, source="test")]


def test_scales(jianhu_register):
    from jianhu.assessment import level_scale
    from jianhu.errors import JianhuError

    host = jianhu_register(OneItemScale())
    assert set(host.scales) == {"jianhu-default", "one"}
    try:
        level_scale(host, "one")
    except JianhuError as err:
        assert "不能用于确定风险等级" in str(err)
    else:
        raise AssertionError("a needs-profile scale must not set levels")


COUNT_PLUGIN = """
from pathlib import Path

from jianhu import hookimpl
from jianhu.extensions import Column, Report, ReportFormat, Table


@hookimpl
def jianhu_reports():
    return [Report(name="count", title="个案数", build=lambda session, host, on: Table(
        title="个案数", columns=(Column("n", "个案数"),), rows=[{"n": 7}]))]


@hookimpl
def jianhu_report_formats():
    def write(table, path):
        Path(path).write_text("|".join(str(r["n"]) for r in table.rows), "utf-8")

    return [ReportFormat(name="pipe", suffix=".txt", write=write)]
"""


def test_reports_and_report_formats(run, engine, tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "count.py").write_text(COUNT_PLUGIN, "utf-8")
    out = tmp_path / "c.txt"
    result = run("--plugins-dir", str(plugins), "report", "count", "--format", "pipe", "--out",
                 str(out))
    assert result.exit_code == 0, result.output
    assert out.read_text("utf-8") == "7"
    xlsx = tmp_path / "c.xlsx"
    run("--plugins-dir", str(plugins), "report", "count", "--format", "xlsx", "--out", str(xlsx))
    assert load_workbook(xlsx).active["A3"].value == 7


class NeedsProfile:
    """A scale that never grades, and a plugin suggesting plan services from it."""

    @hookimpl
    def jianhu_scales(self):
        from jianhu.extensions import Scale, ScaleResult

        def score(answers):
            care = answers["items"]["care_meals"]
            return ScaleResult(scores={"care": care}, total=None, level=None,
                               bands={"care": "需要帮助" if care >= 2 else "正常"})

        return [Scale(name="needs", version="1", title="需求量表", form_id="assessment",
                      items=(), score=score, sets_level=False, source="test")]

    @hookimpl
    def jianhu_plan_suggestions(self, scale, result):
        return ["temporary_care"] if scale == "needs" and result.scores["care"] >= 2 else []


def test_a_needs_profile_is_recorded_without_grading(jianhu_register, session, tmp_path, run):
    import json

    from sqlalchemy import select

    from casework import one_case_workspace
    from jianhu.assessment import grade
    from jianhu.db.models import Assessment, Case
    from tests_helpers import answer_sheet

    host = jianhu_register(NeedsProfile())
    case_no = one_case_workspace(session, host, tmp_path)
    case = session.scalars(select(Case).where(Case.case_no == case_no)).one()
    grade(session, host, case, answer_sheet("2026-03-20", score=1), actor="t")
    sheet = answer_sheet("2026-03-25", score=3)
    g = grade(session, host, case, sheet, actor="t", scale=host.scales["needs"])
    assert (g.level_before, g.level_after, case.level) == ("yellow", "yellow", "yellow")
    assert g.suggestions == ("temporary_care",)
    stored = session.scalars(select(Assessment).where(Assessment.scale == "needs")).one()
    assert (stored.level, stored.bands) == (None, {"care": "需要帮助"})
    assert host.plan_suggestions("jianhu-default", g.result) == []
    session.commit()
    path = tmp_path / "needs.json"
    path.write_text(json.dumps(answer_sheet("2026-03-26", score=0)), "utf-8")
    assert json.loads(run("--as", "D01", "case", "show", case_no, "--json").output)["case"][
        "level"] == "yellow"


def test_plugin_new_skeleton_passes_its_own_tests(run, tmp_path):
    result = run("plugin", "new", "demo-scale", "--out", str(tmp_path))
    assert result.exit_code == 0
    root = tmp_path / "jianhu-demo-scale"
    assert (root / "pyproject.toml").read_text("utf-8").count('demo-scale = "jianhu_demo_scale"')
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(root / "tests")], cwd=root, capture_output=True, text=True,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout
    assert run("plugin", "new", "Bad_Name", "--out", str(tmp_path)).output.startswith(
        "错误：插件名「Bad_Name」只能用小写字母")
    assert "已存在" in run("plugin", "new", "demo-scale", "--out", str(tmp_path)).output


def test_every_hook_has_a_test_of_its_own():
    hooks = {name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
             if name.startswith("jianhu_")}
    tests = Path(__file__).parent
    text = "\n".join(p.read_text("utf-8") for p in tests.glob("test_*.py")
                     if p.name != Path(__file__).name)
    text += Path(__file__).read_text("utf-8").split("def test_every_hook_has_a_test")[0]
    untested = sorted(h for h in hooks if not re.search(rf"def {h}\(", text))
    assert untested == [], f"hooks without a test implementing them: {untested}"


def test_tracing_shows_every_hook_the_host_calls(capsys):
    """With JIANHU_TRACE_PLUGINS the host's every hook call goes through pluggy and is traced:
    the host never calls an implementation behind pluggy's back."""
    import click

    from jianhu import hookspecs
    from jianhu.extensions import CaseEvent, ScaleResult
    from jianhu.plugins import Host

    host = Host.load(env={"JIANHU_LOAD_PLUGINS": "", "JIANHU_TRACE_PLUGINS": "1"})
    host.forms, host.form_extension_owners("screening"), host.form_migrations, host.scales
    host.followup_policy("320724100000"), host.target_categories, host.areas, host.reports
    host.report_formats, host.settings_schemas, host.handbook_pages(), host.web_pages
    host.plan_suggestions("jianhu-default", ScaleResult(scores={}, total=0, level="green"))
    host.emit(None, CaseEvent(kind="case_opened", case_id="x", case_no="320724100-2026-0001",
                              township_code="320724100000", at=__import__("datetime").datetime(
                                  2026, 12, 1), data={}))
    host.register_commands(click.Group())
    traced = capsys.readouterr().err
    hooks = sorted(n for n in dir(hookspecs) if n.startswith("jianhu_"))
    assert len(hooks) == 15
    assert [h for h in hooks if f"{h} " not in traced and f"{h}[" not in traced] == []
