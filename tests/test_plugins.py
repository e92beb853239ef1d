import importlib.metadata
import json
import logging

import pytest

from conftest import TEST_ENV
from jianhu import hookimpl
from jianhu.errors import PluginError
from jianhu.extensions import FollowupPolicy, LevelPolicy, TargetCategory
from jianhu.plugins import DEFAULT_PLUGINS, Host

GOOD_PLUGIN = '''
__version__ = "2.0"
from jianhu import hookimpl
from jianhu.extensions import Area

@hookimpl
def jianhu_areas():
    return [Area(code="320724999000", name="测试镇", level="town")]
'''


def test_defaults_are_plugins(host):
    infos = host.plugins()
    assert [p.name for p in infos] == list(DEFAULT_PLUGINS)
    assert all(p.source == "default" for p in infos)
    scale = next(p for p in infos if p.name.endswith("default_scale"))
    assert scale.hooks == ("jianhu_scales",)


def test_plugins_dir_single_files(tmp_path):
    (tmp_path / "testtown.py").write_text(GOOD_PLUGIN, "utf-8")
    host = Host.load(plugins_dir=tmp_path, env=TEST_ENV)
    info = next(p for p in host.plugins() if p.name == "testtown")
    assert (info.version, info.source, info.hooks) == ("2.0", "plugins dir", ("jianhu_areas",))
    assert host.areas["320724999000"].name == "测试镇"
    assert len([a for a in host.areas.values() if a.level == "town"]) == 12


def test_broken_plugin_warns_and_the_rest_works(tmp_path, caplog):
    (tmp_path / "broken.py").write_text("import no_such_module_here\n", "utf-8")
    (tmp_path / "testtown.py").write_text(GOOD_PLUGIN, "utf-8")
    with caplog.at_level(logging.WARNING, logger="jianhu.plugins"):
        host = Host.load(plugins_dir=tmp_path, env=TEST_ENV)
    assert "插件「broken」加载失败，已跳过" in caplog.text
    assert "320724999000" in host.areas


def test_strict_mode_makes_a_broken_plugin_fatal(tmp_path):
    (tmp_path / "broken.py").write_text("raise ValueError('boom')\n", "utf-8")
    with pytest.raises(PluginError, match="broken"):
        Host.load(plugins_dir=tmp_path, env={**TEST_ENV, "JIANHU_STRICT_PLUGINS": "1"})


def test_block_list(tmp_path):
    (tmp_path / "testtown.py").write_text(GOOD_PLUGIN, "utf-8")
    host = Host.load(plugins_dir=tmp_path, env={**TEST_ENV, "JIANHU_BLOCK_PLUGINS": "testtown"})
    assert "320724999000" not in host.areas


def test_unknown_hook_name_fails_loudly(tmp_path):
    (tmp_path / "typo.py").write_text(
        "from jianhu import hookimpl\n@hookimpl\ndef jianhu_scale():\n    return []\n", "utf-8")
    with pytest.raises(PluginError, match="jianhu_scale"):
        Host.load(plugins_dir=tmp_path, env=TEST_ENV)


class DuplicateCategory:
    @hookimpl
    def jianhu_target_categories(self):
        return [TargetCategory(code="left_behind", label="x", rule="x", source="x",
                               applies=lambda s, on: False)]


def test_duplicate_names_name_both_plugins():
    host = Host.load(env=TEST_ENV, extra=[("dupe", DuplicateCategory())])
    with pytest.raises(PluginError) as err:
        host.target_categories  # noqa: B018
    assert "jianhu.default_plugins.categories" in str(err.value)
    assert "dupe" in str(err.value) and "left_behind" in str(err.value)


class LocalPolicy:
    @hookimpl
    def jianhu_followup_policy(self, township_code):
        if township_code != "320724100000":
            return None
        return FollowupPolicy(name="xinan", levels=tuple(
            LevelPolicy(level, 3, 10) for level in ("red", "orange", "yellow", "green")),
            mandatory_report_hours=12, source="test")


def test_a_township_policy_overrides_the_default_for_its_township_only():
    host = Host.load(env=TEST_ENV, extra=[("local", LocalPolicy())])
    assert host.followup_policy("320724100000").name == "xinan"
    assert host.followup_policy("320724101000").name == "jianhu-default"


class OtherLocalPolicy(LocalPolicy):
    pass


def test_two_plugins_overriding_one_township_policy_conflict():
    host = Host.load(env=TEST_ENV, extra=[("local", LocalPolicy()),
                                          ("other", OtherLocalPolicy())])
    with pytest.raises(PluginError) as err:
        host.followup_policy("320724100000")
    assert "插件「local」和「other」都设定了乡镇 320724100000 的随访政策" in str(err.value)
    assert host.followup_policy("320724101000").name == "jianhu-default"


def test_entry_points_respect_the_allow_list(tmp_path, monkeypatch):
    (tmp_path / "jianhu_ep_demo.py").write_text(GOOD_PLUGIN, "utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    ep = importlib.metadata.EntryPoint("demo", "jianhu_ep_demo", "jianhu")
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda group: [ep] if group == "jianhu" else [])
    loaded = Host.load(env={})
    assert "320724999000" in loaded.areas
    assert next(p for p in loaded.plugins() if p.name == "demo").source == "entry point"
    assert "320724999000" not in Host.load(env={"JIANHU_LOAD_PLUGINS": ""}).areas
    assert "320724999000" in Host.load(env={"JIANHU_LOAD_PLUGINS": "demo,other"}).areas


def test_plugin_commands_reach_the_cli(tmp_path, run):
    (tmp_path / "hello.py").write_text(
        "import click\nfrom jianhu import hookimpl\n@hookimpl\n"
        "def jianhu_register_commands(cli):\n"
        "    @cli.command(name='hello')\n    def hello():\n        click.echo('你好，乡镇')\n",
        "utf-8")
    result = run("--plugins-dir", str(tmp_path), "hello")
    assert result.exit_code == 0 and result.output == "你好，乡镇\n"


def test_plugins_list_json(run):
    result = run("plugins", "list", "--json")
    data = json.loads(result.output)
    assert [p["name"] for p in data] == list(DEFAULT_PLUGINS)
    assert data[0] == {"name": "jianhu.default_plugins.areas", "version": data[0]["version"],
                       "source": "default", "hooks": ["jianhu_areas"], "enabled_for": [],
                       "installed": True}


SETTINGS_PLUGIN = '''
from jianhu import hookimpl
from jianhu.extensions import SettingsSchema

@hookimpl
def jianhu_settings_schema():
    return [SettingsSchema(plugin="localsms", schema={
        "type": "object", "required": ["sender"], "additionalProperties": False,
        "properties": {"sender": {"type": "string", "title": "短信签名", "minLength": 2}}})]
'''


def test_enable_a_plugin_per_township_with_validated_settings(run, engine, tmp_path):
    plugins = tmp_path / "p"
    plugins.mkdir()
    (plugins / "localsms.py").write_text(SETTINGS_PLUGIN, "utf-8")
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text('{"sender": "新安镇"}', "utf-8")
    bad.write_text('{"sender": "x", "extra": 1}', "utf-8")
    base = ("--plugins-dir", str(plugins), "plugins")
    out = run(*base, "enable", "localsms", "--township", "320724100000", "--settings", str(bad))
    assert out.exit_code == 1
    assert "「短信签名」至少2个字" in out.output and "表中没有这些字段：extra" in out.output
    out = run(*base, "enable", "localsms", "--township", "320724100000", "--settings", str(good))
    assert out.output == "插件「localsms」已启用：320724100000\n"
    assert run(*base, "enable", "nosuch").output.startswith("错误：没有加载名为「nosuch」的插件")
    assert run(*base, "enable", "localsms", "--township", "999").output.startswith(
        "错误：「999」不是本县的乡镇代码")
    listed = {p["name"]: p for p in json.loads(run(*base, "list", "--json").output)}
    assert listed["localsms"]["enabled_for"] == ["320724100000"]
    run(*base, "disable", "localsms", "--township", "320724100000")
    listed = {p["name"]: p for p in json.loads(run(*base, "list", "--json").output)}
    assert listed["localsms"]["enabled_for"] == []


#: Every hook and the arguments the host passes it, by name.
HOOK_ARGUMENTS = {
    "jianhu_areas": (), "jianhu_case_event": ("session", "event"),
    "jianhu_followup_policy": ("township_code",), "jianhu_form_fields": ("form_id",),
    "jianhu_form_migrations": (), "jianhu_forms": (), "jianhu_handbook_pages": (),
    "jianhu_plan_suggestions": ("scale", "result"), "jianhu_register_commands": ("cli",),
    "jianhu_report_formats": (), "jianhu_reports": (), "jianhu_scales": (),
    "jianhu_settings_schema": (), "jianhu_target_categories": (), "jianhu_web_pages": (),
}


def test_hookspecs_take_keywords_only_and_have_examples(host):
    import inspect

    from jianhu import hookspecs

    assert {n for n in dir(hookspecs) if n.startswith("jianhu_")} == set(HOOK_ARGUMENTS)
    for name, arguments in HOOK_ARGUMENTS.items():
        spec = getattr(hookspecs, name)
        params = list(inspect.signature(spec).parameters.values())
        # plain named arguments: pluggy drops one with a default, and has no *args or **kwargs
        assert [p.name for p in params] == list(arguments), name
        assert all(p.kind is p.POSITIONAL_OR_KEYWORD and p.default is p.empty for p in params), name
        caller = getattr(host.pm.hook, name)
        assert caller.spec.argnames == arguments, name  # what pluggy passes, by keyword
        if arguments:  # a hook is called with keywords only: a positional call is refused
            with pytest.raises(TypeError, match="positional argument"):
                caller(*[None] * len(arguments))
        example = spec.__doc__.split("Example::")[1]
        assert f"def {name}({', '.join(arguments)}):" in example, name


