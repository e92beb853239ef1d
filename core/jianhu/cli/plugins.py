"""``jianhu plugins``: what is loaded, and where it is enabled."""

from __future__ import annotations

import json
from pathlib import Path

import click

from jianhu.cli.root import Workspace, console, group, pass_workspace
from jianhu.errors import JianhuError
from jianhu.jsonfiles import read_json_object


@group("plugins")
def plugins() -> None:
    ...


def _enabled(ws: Workspace) -> dict[str, list[str]]:
    """Plugin → townships it is enabled for; empty when the database is not set up yet."""
    from jianhu.settings import enabled_townships

    try:
        with ws.session() as session:
            return enabled_townships(session)
    except JianhuError:
        return {}


@plugins.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
@pass_workspace
def list_plugins(ws: Workspace, as_json: bool) -> None:
    """列出已加载的插件：名称、版本、来源、实现的钩子和启用的乡镇。"""
    infos = ws.host.plugins()
    enabled = _enabled(ws)
    missing = sorted(set(enabled) - {p.name for p in infos})  # enabled, no longer installed
    if as_json:
        click.echo(json.dumps([{"name": p.name, "version": p.version, "source": p.source,
                                "hooks": list(p.hooks), "enabled_for": enabled.get(p.name, []),
                                "installed": True} for p in infos]
                              + [{"name": name, "version": None, "source": None, "hooks": [],
                                  "enabled_for": enabled[name], "installed": False}
                                 for name in missing], ensure_ascii=False, indent=2))
        return
    from rich.table import Table

    table = Table("名称", "版本", "来源", "钩子", "启用的乡镇")
    for p in infos:
        table.add_row(p.name, p.version, p.source, ", ".join(p.hooks),
                      "、".join(enabled.get(p.name, [])))
    for name in missing:
        table.add_row(name, "未安装", "——", "", "、".join(enabled[name]))
    console().print(table)
    if missing:
        click.echo(f"错误：已启用但没有安装的插件：{'、'.join(missing)}；这些乡镇的操作会被拒绝，"
                   "请安装，或用 jianhu plugins disable 停用", err=True)


@plugins.command(name="enable")
@click.argument("name")
@click.option("--township", default="*", show_default=True,
              help="12位乡镇代码；* 表示全部乡镇")
@click.option("--settings", "settings_file", type=click.Path(exists=True, dir_okay=False,
                                                                path_type=Path),
              help="插件设置（JSON 文件），按插件声明的结构校验")
@pass_workspace
def enable_plugin(ws: Workspace, name: str, township: str, settings_file: Path | None) -> None:
    """为乡镇启用插件 NAME 并保存其设置。"""
    _configure(ws, name, township, settings_file, enabled=True)


@plugins.command(name="disable")
@click.argument("name")
@click.option("--township", default="*", show_default=True, help="12位乡镇代码；* 表示全部乡镇")
@pass_workspace
def disable_plugin(ws: Workspace, name: str, township: str) -> None:
    """为乡镇停用插件 NAME。"""
    _configure(ws, name, township, None, enabled=False)


def _configure(ws: Workspace, name: str, township: str, settings_file: Path | None,
               enabled: bool) -> None:
    from jianhu.settings import enable

    settings = read_json_object(settings_file) if settings_file is not None else {}
    with ws.session() as session:
        actor = ws.acting(session)
        actor.require("plugins:configure")
        enable(session, ws.host, name, township, settings, actor=actor.code, enabled=enabled)
        session.commit()
    where = "全部乡镇" if township == "*" else township
    click.echo(f"插件「{name}」已{'启用' if enabled else '停用'}：{where}")


@group("plugin")
def plugin() -> None:
    ...


@plugin.command(name="new")
@click.argument("name")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="输出目录")
@click.option("--title", help="插件的中文说明")
def new_plugin_cmd(name: str, out: Path, title: str | None) -> None:
    """生成插件 NAME 的骨架（pyproject、一个钩子实现、测试、README）。"""
    from jianhu.plugin_kit import new_plugin

    root = new_plugin(name, out, title)
    click.echo(f"已生成插件骨架：{root}\n  pip install '{root}[test]' && pytest {root}/tests")
