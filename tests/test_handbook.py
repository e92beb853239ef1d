"""The operational handbook (issue 5): built from the running system, so it cannot drift.

One site is built for the whole module (defaults only) and read back as HTML; every check compares
it with the running code (forms, scales, policy, CLI, hooks), never with text copied into the test.
"""

from __future__ import annotations

import hashlib
import html
import inspect
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from conftest import TEST_ENV
from jianhu import hookspecs
from jianhu.cli import cli
from jianhu.extensions import LEVEL_LABELS, HandbookPage
from jianhu.forms import load_form
from jianhu.handbook import training
from jianhu.handbook.model import Handbook, HandbookError
from jianhu.handbook.site import build_site, config_file, load_config
from jianhu.plugins import Host

TEST_PLUGIN = '''
"""A township plugin for the handbook tests."""
import click
from jianhu import hookimpl
from jianhu.extensions import (FollowupPolicy, HandbookPage, LevelPolicy, Scale, ScaleItem,
                               ScaleResult)

POLICY = FollowupPolicy(
    name="test-town", source="测试用本地政策", mandatory_report_hours=6,
    levels=(LevelPolicy("red", 3, 21), LevelPolicy("orange", 11, 41),
            LevelPolicy("yellow", 29, 59), LevelPolicy("green", 89, 179)))

@hookimpl
def jianhu_followup_policy(township_code):
    return POLICY if township_code == "320724100000" else None

@hookimpl
def jianhu_scales():
    return [Scale(name="test-scale", version="1", title="测试量表", form_id="assessment",
                  items=(ScaleItem("q1", "测试条目一", "care", ((0, "无"), (1, "有"))),),
                  score=lambda a: ScaleResult(scores={}, total=0, level=None), sets_level=False,
                  source="测试", thresholds=({"level": "red", "min_total": THRESHOLD},))]

@hookimpl
def jianhu_handbook_pages():
    return [HandbookPage(path="guide/local.md", title="本镇做法",
                         markdown="本镇每周一集中随访。见[政策](../../../reference/policy.md)。")]

@hookimpl
def jianhu_register_commands(cli):
    @cli.command(name="hello-town")
    def hello_town():
        """向本镇问好。"""
        click.echo("你好")
'''


def _text(raw: str) -> str:
    """The visible text of a page's article: tags removed, entities decoded, spaces collapsed."""
    body = raw.split('<article class="md-content__inner md-typeset">', 1)[-1]
    body = body.split("</article>", 1)[0]
    body = re.sub(r"<[^>]+>", " ", body)
    return re.sub(r"\s+", " ", html.unescape(body))


def _rows(raw: str) -> list[list[str]]:
    """Every table row of a page as a list of cell texts."""
    rows = []
    for tr in re.findall(r"<tr>(.*?)</tr>", raw, re.S):
        cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", tr, re.S)
        rows.append([re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", c))).strip()
                     for c in cells])
    return rows


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The handbook of a fresh install (defaults only), built once."""
    out = tmp_path_factory.mktemp("handbook") / "site"
    build_site(Handbook(Host.load(env=TEST_ENV), commands=cli), out)
    return out


def page(site: Path, rel: str) -> str:
    """The HTML of a built page (``use_directory_urls: false`` so ``x.md`` → ``x.html``)."""
    return (site / rel).with_suffix(".html").read_text("utf-8")


def _plugin_dir(tmp_path: Path, threshold: int) -> Path:
    d = tmp_path / f"plugins-{threshold}"
    d.mkdir()
    (d / "testtown.py").write_text(TEST_PLUGIN.replace("THRESHOLD", str(threshold)), "utf-8")
    return d


def _docs_digest() -> str:
    root = config_file().parent
    h = hashlib.sha256()
    for f in sorted(root.rglob("*")):
        if f.is_file() and "__pycache__" not in f.parts:
            h.update(str(f.relative_to(root)).encode() + f.read_bytes())
    return h.hexdigest()


# ------------------------------------------------------------------------------------- site
def test_build_is_strict_and_has_the_generated_pages(site, host):
    assert load_config(config_file()).strict is True
    assert (site / ".jianhu-handbook").exists()
    expected = ["index", "targets", "sop/screening", "sop/harm", "privacy", "supervision",
                "reference/policy", "reference/lifecycle", "reference/deadlines", "reference/roles",
                "developer/cli", "developer/hooks", "developer/records", "plugins/index",
                "aids/checklists/index", "aids/examples/survey", "aids/examples/assessment",
                "aids/examples/plan", "aids/examples/closure"]
    expected += [f"reference/forms/{f}" for f in host.forms]
    expected += [f"reference/scales/{s}" for s in host.scales]
    for rel in expected:
        assert (site / f"{rel}.html").is_file(), rel


def test_search_finds_a_chinese_word_on_the_target_group_page(site):
    index = json.loads((site / "search" / "search_index.json").read_text("utf-8"))
    hits = {d["location"].split("#")[0] for d in index["docs"]
            if "留守" in d["title"] + d["text"]}
    assert "targets.html" in hits
    # jieba segmented the Chinese text, so the word is a token of its own
    text = next(d["text"] for d in index["docs"] if d["location"].startswith("targets.html#"))
    assert "\u200b" in text


def test_every_form_field_is_in_the_handbook(site, host):
    for form_id in host.forms:
        form = load_form(host, form_id)
        raw = page(site, f"reference/forms/{form_id}")
        text = _text(raw)
        assert form.title in text
        columns = {row[0]: row for row in _rows(raw)}
        for f in form.fields:
            assert f.column in columns, (form_id, f.column)
            row = columns[f.column]
            assert f"{f.group}.{f.key}" in row[1]
            assert row[3] == ("是" if f.required else "—"), (form_id, f.column)
            for _, label in f.choices:
                assert label in row[4], (form_id, f.column, label)
            if f.schema.get("description"):
                assert _norm(f.schema["description"]).rstrip("。") in row[5]


def test_array_sub_fields_are_documented(site, host):
    plan = load_form(host, "plan")
    text = _text(page(site, "reference/forms/plan"))
    for key, sub in plan.schema["properties"]["measures"]["items"]["properties"].items():
        assert f"measures[].{key}" in text and sub["title"] in text


def test_every_scale_item_and_threshold_is_in_the_handbook(site, host):
    for name, scale in host.scales.items():
        raw = page(site, f"reference/scales/{name}")
        text = _text(raw)
        assert scale.title in text and scale.source in text
        for item in scale.items:
            assert item.id in text and item.title in text
        rows = _rows(raw)
        for t in scale.thresholds:
            if "min_total" in t:
                assert [f"{LEVEL_LABELS[t['level']]}（{t['level']}）", str(t["min_total"])] in rows
            if "rule" in t:
                assert t["rule"] in text


def test_every_policy_value_is_in_the_handbook(site, host):
    rows = _rows(page(site, "reference/policy"))
    policy = host.followup_policy("320724100000")
    for lp in policy.levels:
        assert [f"{LEVEL_LABELS[lp.level]}（{lp.level}）", str(lp.visit_days),
                str(lp.reassess_days)] in rows
    values = {row[3]: row[1] for row in rows if len(row) == 4}
    assert values["mandatory_report_hours"] == str(policy.mandatory_report_hours)
    assert values["return_visit_months"] == str(policy.return_visit_months)
    assert values["warning_letter_visit_days"] == "、".join(map(str, policy.warning_letter_visit_days))
    # the hand-written chapters quote the same figures through directives
    assert f"超过 {policy.mandatory_report_hours} 小时" in _text(page(site, "sop/assessment"))
    assert f"每 {policy.return_visit_months} 个月一次" in _text(page(site, "sop/closure"))


def _commands(group: click.Group, prefix: tuple[str, ...]) -> list[tuple[tuple[str, ...], click.Command]]:
    out = [(prefix, group)]
    for name, cmd in (group.core_commands() if group is cli else group.commands).items():
        if isinstance(cmd, click.Group):
            out += _commands(cmd, prefix + (name,))
        else:
            out.append((prefix + (name,), cmd))
    return out


def test_every_cli_command_and_option_is_in_the_handbook(site):
    text = _text(page(site, "developer/cli"))
    for path, cmd in _commands(cli, ("jianhu",)):
        assert " ".join(path) in text, path
        if cmd.help:
            assert _norm(inspect.cleandoc(cmd.help)).split("\n")[0] in text
        for p in cmd.params:
            names = p.opts if isinstance(p, click.Option) else [p.human_readable_name]
            for name in names:
                assert name in text, (path, name)


def test_every_hookspec_has_a_handbook_entry_with_its_exact_signature(site):
    raw = page(site, "developer/hooks")
    # code blocks are highlighted token by token: read them with the tags simply removed
    code = html.unescape(re.sub(r"<[^>]+>", "", raw))
    specs = [(n, f) for n, f in vars(hookspecs).items()
             if n.startswith("jianhu_") and hasattr(f, "jianhu_spec")]
    assert len(specs) >= 11
    for name, fn in specs:
        signature = str(inspect.signature(fn)).replace("'", "")
        assert f"def {name}{signature}" in code, name
        example = inspect.cleandoc(inspect.cleandoc(fn.__doc__).split("Example::", 1)[1])
        assert example in code, name


def test_lifecycle_diagram_and_deadlines_come_from_the_code(site, host):
    from jianhu.followups import KIND_LABELS
    from jianhu.lifecycle import EVENTS, STATES, TRANSITIONS

    raw = page(site, "reference/lifecycle")
    diagram = html.unescape(re.search(r'<pre class="mermaid"><code>(.*?)</code>', raw, re.S)[1])
    for (state, event), to in TRANSITIONS.items():
        assert f"{state} --> {to} : {EVENTS[event]}" in diagram
    for code, label in STATES.items():
        assert f'state "{label}" as {code}' in diagram
    rows = _rows(page(site, "reference/deadlines"))
    kinds = {row[1]: row for row in rows if len(row) == 7}
    for kind, label in KIND_LABELS.items():
        assert kinds[kind][0] == label
        assert "尚无说明" not in kinds[kind][3], kind


def test_every_role_has_a_checklist(site):
    from jianhu.roles import PERMISSIONS, role_labels

    for role, label in role_labels().items():
        text = _text(page(site, f"aids/checklists/{role}"))
        assert label in text
        if role in PERMISSIONS["record:visit"]:
            assert "jianhu record visit" in text and "随访" in text


def test_worked_examples_follow_the_sample_and_the_scale(site, host):
    ex = training.make_examples(Handbook(host))
    result = host.scales["jianhu-default"].score(ex.sheet)
    text = _text(page(site, "aids/examples/assessment"))
    assert f"{LEVEL_LABELS[result.level]}（{result.level}）" in text
    assert f"总分 {result.total:g}" in text
    survey = _text(page(site, "aids/examples/survey"))
    labels = {c.code: c.label for c in host.target_categories}
    assert all(labels[c] in survey for c in ex.codes)
    assert ex.survey["child"]["name"] in survey
    plan = _text(page(site, "aids/examples/plan"))
    assert all(m["description"] in plan for m in ex.plan["measures"])
    assert ex.closure is not None
    assert ex.closure["closure"]["summary"] in _text(page(site, "aids/examples/closure"))
    load_form(host, "plan").validate(ex.plan)
    load_form(host, "closure").validate(ex.closure)


# -------------------------------------------------------------------- per-township builds
def test_a_plugin_changes_the_handbook_without_touching_docs(site, tmp_path):
    before = _docs_digest()
    out = tmp_path / "site"
    result = CliRunner().invoke(cli, ["--plugins-dir", str(_plugin_dir(tmp_path, 31)), "handbook",
                                      "build", "--township", "320724100000", "--out", str(out)],
                                env=TEST_ENV, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "新安镇" in result.output
    rows = _rows((out / "reference" / "policy.html").read_text("utf-8"))
    assert ["红色（red）", "3", "21"] in rows
    assert ["红色（red）", "7", "30"] not in rows  # the default is no longer in force there
    assert ["红色（red）", "7", "30"] in _rows(page(site, "reference/policy"))
    assert "超过 6 小时" in _text((out / "sop" / "assessment.html").read_text("utf-8"))
    assert ["红色（red）", "31"] in _rows((out / "reference/scales/test-scale.html").read_text("utf-8"))
    local = _text((out / "plugins" / "testtown" / "guide" / "local.html").read_text("utf-8"))
    assert "本镇做法" in local and "本镇每周一集中随访" in local
    assert "jianhu hello-town" in _text((out / "developer" / "cli.html").read_text("utf-8"))
    # change the threshold in the plugin's code: rebuilding over the same site shows the new one
    result = CliRunner().invoke(cli, ["--plugins-dir", str(_plugin_dir(tmp_path, 33)), "handbook",
                                      "build", "--township", "新安镇", "--out", str(out)],
                                env=TEST_ENV, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = _rows((out / "reference/scales/test-scale.html").read_text("utf-8"))
    assert ["红色（red）", "33"] in rows and ["红色（red）", "31"] not in rows
    assert _docs_digest() == before


def test_policies_per_township_without_township(tmp_path):
    host = Host.load(plugins_dir=_plugin_dir(tmp_path, 31), env=TEST_ENV)
    hb = Handbook(host)
    names = [(p.name, [t.name for t in towns]) for p, towns in hb.policies]
    assert names[0][0] == "jianhu-default" and len(names[0][1]) == 10
    assert names[1] == ("test-town", ["新安镇"])
    assert host.handbook_pages() == {"testtown": (HandbookPage(
        path="guide/local.md", title="本镇做法",
        markdown="本镇每周一集中随访。见[政策](../../../reference/policy.md)。"),)}


def test_refuses_a_foreign_directory_and_an_unknown_township(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "keep.txt").write_text("x", "utf-8")
    runner = CliRunner()
    result = runner.invoke(cli, ["handbook", "build", "--out", str(out)], env=TEST_ENV)
    assert result.exit_code == 1 and "错误：" in result.output
    assert (out / "keep.txt").exists()
    result = runner.invoke(cli, ["handbook", "build", "--township", "999", "--out",
                                 str(tmp_path / "x")], env=TEST_ENV)
    assert result.exit_code == 1 and "错误：没有乡镇「999」" in result.output


def test_bad_directive_and_bad_plugin_page_are_errors(host, tmp_path):
    hb = Handbook(host, commands=cli)
    with pytest.raises(HandbookError, match="未知的手册指令"):
        hb.expand("<!-- jianhu:nonsense -->", "x.md")
    with pytest.raises(HandbookError, match="jianhu no-such-command"):
        hb.expand("<!-- jianhu:command no-such-command -->", "x.md")
    assert hb.expand("<!-- jianhu:command import screening -->", "x.md").startswith(
        "```text\njianhu import screening [OPTIONS] FILE")
    # the handbook does not import the CLI: made without the command, it says what it needs
    with pytest.raises(HandbookError, match="生成命令行参考需要 jianhu 命令本身"):
        Handbook(host).expand("<!-- jianhu:command import screening -->", "x.md")
    assert hb.expand("<!-- jianhu:value visit_days.red -->", "x.md") == "7"
    (tmp_path / "bad.py").write_text(
        "from jianhu import hookimpl\nfrom jianhu.extensions import HandbookPage\n"
        "@hookimpl\ndef jianhu_handbook_pages():\n"
        "    return [HandbookPage(path='../escape.md', title='x', markdown='x')]\n", "utf-8")
    from jianhu.errors import PluginError

    with pytest.raises(PluginError, match="escape.md"):
        Host.load(plugins_dir=tmp_path, env=TEST_ENV).handbook_pages()


# ---------------------------------------------------------------------------------- PDF
def test_pdf_is_a4_with_chinese_chapter_titles_and_contents(tmp_path):
    from pypdf import PdfReader

    out = tmp_path / "手册.pdf"
    result = CliRunner().invoke(cli, ["handbook", "pdf", "--out", str(out)], env=TEST_ENV,
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    reader = PdfReader(out)
    assert len(reader.pages) > 50
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
    contents = "".join(reader.pages[i].extract_text() for i in range(1, 4))
    for title in ("目录", "目标人群", "入户摸排", "侵害报告与升级干预", "儿童信息保护",
                  "分级与随访政策", "命令行参考", "插件钩子参考"):
        assert title in contents, title
    assert any("儿童信息保护" in (o.title if hasattr(o, "title") else "")
               for o in reader.outline if not isinstance(o, list))
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "30", "-f", "1", "-l", "2", str(out),
                        str(tmp_path / "p")], check=True, capture_output=True)
        assert sorted(p.name for p in tmp_path.glob("p-*.png"))


# -------------------------------------------------------------------------------- serve
def test_serve_previews_on_loopback(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-c", "from jianhu.cli import main; main()",
                             "handbook", "serve", "--port", str(port)],
                            env={**os.environ, **TEST_ENV},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        body = ""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                    body = r.read().decode("utf-8")
                    break
            except OSError:
                time.sleep(0.3)
        assert "儿童家庭监护缺失社会干预操作手册" in body
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_every_rule_the_code_cites_is_written_in_the_repository():
    """Code points to the handbook's developer chapter for the domain rules (领域规则 §N), never to
    documents outside the repository; every section it cites exists."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    chapter = (root / "docs" / "chapters" / "dev" / "domain.md").read_text("utf-8")
    sections = set(re.findall(r"^## (§\d+)", chapter, re.M))
    cited, outside = set(), []
    for path in [*root.glob("core/jianhu/**/*.py"), *root.glob("plugins/*/*/**/*.py")]:
        text = path.read_text("utf-8")
        if re.search(r"\b(DOMAIN|DESIGN|PERFORMANCE)\.md\b", text):
            outside.append(path.name)
        for refs in re.findall(r"领域规则 ((?:§\d+(?:, )?)+)", text):
            cited.update(re.findall(r"§\d+", refs))
    assert outside == []
    assert sections == {"§1", "§2", "§3", "§4", "§5", "§6", "§7"}
    assert cited and cited <= sections
