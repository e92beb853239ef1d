"""Forms change without breaking records: a plugin renames a local field between two versions and
declares the migration; ``jianhu db upgrade`` moves the old records' values, audited (issue:
records in scope, item 5)."""

import json
import textwrap

from sqlalchemy import select

from files import write_xlsx
from jianhu import hookimpl
from jianhu.db.models import AuditEvent, FormRecord
from jianhu.extensions import FormMigration
from jianhu.forms import load_form
from jianhu.forms.migrations import migrate_payload
from jianhu.plugins import Host
from surveys import survey

PLUGIN = '''
from jianhu import hookimpl
from jianhu.extensions import FormExtension, FormMigration

@hookimpl
def jianhu_form_fields(form_id):
    if form_id != "screening":
        return []
    return [FormExtension(form_id="screening", group="local", group_title="本地",
                          name="school-fields",
                          properties={{"{field}": {{"type": "string", "title": "{title}"}}}})]
{migration}
'''
MIGRATION = '''
@hookimpl
def jianhu_form_migrations():
    return [FormMigration(form_id="screening", name="school-2",
                          renames={"local.old_school": "local.school"})]
'''


def _plugin(tmp_path, version):
    folder = tmp_path / f"v{version}"
    folder.mkdir()
    field, title, migration = (("old_school", "原学校", "") if version == 1 else
                               ("school", "就读学校", MIGRATION))
    (folder / "school.py").write_text(textwrap.dedent(PLUGIN.format(
        field=field, title=title, migration=migration)), "utf-8")
    return str(folder)


def test_a_renamed_plugin_field_is_migrated_and_old_records_still_show(run, engine, session,
                                                                     tmp_path):
    v1, v2 = _plugin(tmp_path, 1), _plugin(tmp_path, 2)
    host1 = Host.load(plugins_dir=v1, env={"JIANHU_LOAD_PLUGINS": ""})
    old = survey()
    old["local"] = {"old_school": "新安小学"}
    path = write_xlsx(load_form(host1, "screening"), [old], tmp_path / "old.xlsx")
    assert run("--plugins-dir", v1, "import", "screening", str(path)).exit_code == 0
    host2 = Host.load(plugins_dir=v2, env={"JIANHU_LOAD_PLUGINS": ""})
    new = survey(child__name="测试己", child__citizen_id="320724201505050017", child__sex="male",
                 child__birth_date="2015-05-05")
    new["local"] = {"school": "新安中学"}
    path = write_xlsx(load_form(host2, "screening"), [new], tmp_path / "new.xlsx")
    out = run("--plugins-dir", v2, "import", "screening", str(path))
    assert out.exit_code == 0, out.output

    out = run("--plugins-dir", v2, "db", "upgrade")
    assert out.output == ("数据库已是最新结构（0018）。\n"
                          "表单数据迁移「school-2」：已更新1份记录（审计日志记有原值）\n")
    payloads = sorted(r["local"]["school"] for r in session.scalars(
        select(FormRecord.payload).where(FormRecord.form_id == "screening")))
    assert payloads == ["新安中学", "新安小学"]  # both counted under the new field
    (event,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "migrate")).all()
    assert (event.before, event.after) == ({"form_version": 1, "local.old_school": "新安小学"},
                                           {"form_version": 1, "local.school": "新安小学"})
    assert run("--plugins-dir", v2, "db", "upgrade").output == "数据库已是最新结构（0018）。\n"
    for case_no in ("320724100-2026-0001", "320724100-2026-0002"):
        shown = run("--plugins-dir", v2, "case", "show", case_no, "--json")
        assert shown.exit_code == 0, shown.output
        assert json.loads(shown.output)["case"]["case_no"] == case_no


def test_migrate_payload_moves_removes_and_leaves_alone():
    m = FormMigration(form_id="visit", name="m", renames={"visit.risk": "visit.risk_change",
                                                          "a.x": "b.x"}, removes=("visit.gone",))
    assert migrate_payload({"visit": {"risk": "up", "gone": 1}, "a": {"x": 2}}, m) == {
        "visit": {"risk_change": "up"}, "b": {"x": 2}}
    assert migrate_payload({"visit": {"risk_change": "up"}}, m) is None  # already migrated
    assert migrate_payload({"visit": {"risk": "up", "risk_change": "down"}}, m) is None  # no clobber


def test_an_old_record_missing_a_core_field_does_not_break_the_case(run, engine, session,
                                                                   host, tmp_path):
    path = write_xlsx(load_form(host, "screening"), [survey()], tmp_path / "s.xlsx")
    assert run("import", "screening", str(path)).exit_code == 0
    record = session.scalars(select(FormRecord)).one()
    payload = dict(record.payload)
    payload["survey"] = {}  # as if the survey date had been renamed without a migration
    record.payload = payload
    session.commit()
    out = run("case", "show", "320724100-2026-0001")
    assert out.exit_code == 0, out.output
    assert "本记录按旧版表单填写，部分栏目无法显示" in out.output


class _Hooked:
    @hookimpl
    def jianhu_form_migrations(self):
        return [FormMigration(form_id="screening", name="noop")]


def test_the_hook_is_collected():
    host = Host.load(env={"JIANHU_LOAD_PLUGINS": ""}, extra=[("hooked", _Hooked())])
    assert list(host.form_migrations) == ["noop"]
