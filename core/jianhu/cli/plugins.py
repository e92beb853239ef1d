"""``jianhu plugins``: what is loaded."""

from __future__ import annotations

import json

import click

from jianhu.cli.root import Workspace, cli, console, pass_workspace


@cli.group()
def plugins() -> None:
    """插件：查看已加载的插件。"""


@plugins.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
@pass_workspace
def list_plugins(ws: Workspace, as_json: bool) -> None:
    """列出已加载的插件：名称、版本、来源和实现的钩子。"""
    infos = ws.host.plugins()
    if as_json:
        click.echo(json.dumps([{"name": p.name, "version": p.version, "source": p.source,
                                "hooks": list(p.hooks)} for p in infos], ensure_ascii=False,
                              indent=2))
        return
    from rich.table import Table

    table = Table("名称", "版本", "来源", "钩子")
    for p in infos:
        table.add_row(p.name, p.version, p.source, ", ".join(p.hooks))
    console().print(table)
