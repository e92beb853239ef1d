"""Finding the workspace as git finds a repository, and the due list in pages."""

import json

from click.testing import CliRunner

from jianhu.cli import cli
from jianhu.db.session import locate

NO_ENV = {"JIANHU_DATABASE_URL": None, "JIANHU_HOME": None}


def test_locate_order(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "jianhu.db").write_bytes(b"")
    deep = tmp_path / "a" / "b"
    assert locate(None, {}, deep).how == "above"
    assert locate(None, {}, deep).url == f"sqlite:///{tmp_path / 'jianhu.db'}"
    assert (locate(None, {}, tmp_path).url, locate(None, {}, tmp_path).how) == (
        "sqlite:///jianhu.db", "here")
    assert locate(None, {"JIANHU_HOME": str(deep)}, tmp_path).url == f"sqlite:///{deep / 'jianhu.db'}"
    assert locate(None, {"JIANHU_DATABASE_URL": "sqlite:///x.db", "JIANHU_HOME": str(deep)},
                  tmp_path).how == "env"
    assert locate("sqlite:///y.db", {"JIANHU_DATABASE_URL": "sqlite:///x.db"}, deep).url == (
        "sqlite:///y.db")
    empty = tmp_path.parent / f"{tmp_path.name}-empty"
    empty.mkdir()
    assert locate(None, {}, empty).how == "missing"


def test_commands_find_the_workspace_above(tmp_path, monkeypatch):
    runner = CliRunner()
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(cli, ["db", "upgrade"], env=NO_ENV).exit_code == 0
    deep = tmp_path / "村" / "记录"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    out = runner.invoke(cli, ["followups", "due", "--json"], env=NO_ENV)
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout) == {"total": 0, "offset": 0, "limit": None, "items": []}
    assert out.stderr == f"使用上级目录的数据库：{tmp_path / 'jianhu.db'}\n"
    assert not (deep / "jianhu.db").exists()
    table = runner.invoke(cli, ["followups", "due"], env=NO_ENV)
    assert "辖区内还没有个案：入户调查表导入后才有待办" in table.stdout


def test_a_missed_workspace_is_not_answered_with_db_upgrade(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = CliRunner().invoke(cli, ["cases", "list"], env=NO_ENV)
    assert out.exit_code == 1
    assert out.stderr.startswith("错误：当前目录及其上级目录都没有数据库 jianhu.db。请进入工作区目录")
    assert "只有新建空的工作区时才运行 jianhu db upgrade" in out.stderr
    assert list(tmp_path.iterdir()) == []
    home = CliRunner().invoke(cli, ["cases", "list"], env={**NO_ENV, "JIANHU_HOME": "不存在"})
    assert home.stderr.startswith(f"错误：数据库文件不存在：{tmp_path / '不存在' / 'jianhu.db'}（请检查路径")


def test_due_list_pages_and_says_the_total(run, engine, sample_dir):
    assert run("import", "screening", str(sample_dir / "screening.xlsx")).exit_code == 0
    whole = json.loads(run("followups", "due", "--on", "2027-01-01", "--json").output)
    assert whole["total"] == len(whole["items"]) == 159
    page = json.loads(run("followups", "due", "--on", "2027-01-01", "--json", "--limit", "50",
                          "--offset", "150").output)
    assert (page["total"], page["offset"], page["limit"], len(page["items"])) == (159, 150, 50, 9)
    assert page["items"] == whole["items"][150:]
    table = run("followups", "due", "--on", "2027-01-01", "--limit", "10").output
    assert "待办（共159项，显示第1–10项，逾期与7日内到期）" in table
    bad = run("followups", "due", "--limit", "0")
    assert bad.exit_code == 2 and "--limit" in bad.output
