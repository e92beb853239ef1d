"""``jianhu audit list``: who read or changed which child's record."""

from __future__ import annotations

import datetime as dt
import json

import click

from jianhu.cli.casework import LocalDate
from jianhu.cli.root import Workspace, cli, console, pass_workspace


@cli.group()
def audit() -> None:
    """审计日志：谁在何时查看或修改了哪名儿童的记录。"""


@audit.command(name="list")
@click.option("--case", "case_no", default=None, help="只看该个案（含其儿童、待办和记录）")
@click.option("--person", default=None, help="只看该人员编号的操作")
@click.option("--since", type=LocalDate(), default=None, help="只看该日期以后（YYYY-MM-DD）")
@click.option("--limit", type=click.IntRange(1, 10000), default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
@pass_workspace
def audit_list(ws: Workspace, case_no: str | None, person: str | None, since: dt.date | None,
               limit: int, as_json: bool) -> None:
    """列出本乡镇（县级：全县）的审计日志，最新的在前。"""
    from rich.table import Table

    from jianhu import audit_trail

    with ws.session() as session:
        _, scope = ws.scoped(session, "audit:list")
        case = scope.find_case(session, case_no) if case_no else None
        rows = audit_trail.events(session, scope, case=case, person=person, since=since,
                                  limit=limit)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    table = Table("时间（北京时间）", "人员", "操作", "对象", "说明")
    for r in rows:
        ctx = r["context"] or {}
        table.add_row(r["at"][:19].replace("T", " "), r["actor"], r["action_label"],
                      f"{r['entity_type']} {r['entity_id'][:8]}",
                      str(ctx.get("case_no") or ctx.get("file") or ""))
    console().print(table)
