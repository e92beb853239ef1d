"""``jianhu audit list``: who read or changed which child's record."""

from __future__ import annotations

import datetime as dt
import json

import click

from jianhu.cli.casework import LocalDate
from jianhu.cli.root import Workspace, console, group, pass_workspace


@group("audit")
def audit() -> None:
    ...


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
                      f"{r['entity_label']} {r['case_no'] or r['entity_id'][:8]}",
                      str(ctx.get("file") or ""))
    console().print(table)


@group("retention")
def retention() -> None:
    ...


@retention.command(name="run")
@click.option("--dry-run", is_flag=True, help="只统计将去标识的儿童，不写入")
@click.option("--on", "on", type=LocalDate(), default=None, help="按该日期计算（默认今天，北京时间）")
@click.option("--years", type=click.IntRange(1, 50), default=None,
              help="结案（或调查）后保存的年数（默认 5 年，项目默认值）")
@pass_workspace
def retention_run(ws: Workspace, dry_run: bool, on: dt.date | None, years: int | None) -> None:
    """对已满18周岁、个案均已结案且没有未办事项、结案满保存年数的儿童去标识：姓名、身份证号、电话、
    住址、出生月日和全部文字记录被清除，报告人记录删除；编码、日期、等级和类别保留，记入审计。"""
    from jianhu.dates import local_today
    from jianhu.retention import Policy, run

    policy = Policy(years_after_closure=years) if years else Policy()
    if on is not None and on > local_today():
        from jianhu.errors import JianhuError

        raise JianhuError(f"--on {on} 晚于今天：去标识不可撤销，只能按今天或以前的日期计算")
    with ws.session() as session:
        ws.scoped(session, "retention:run")
        s = run(session, ws.host, on=on or local_today(), actor=ws.actor, policy=policy,
                dry_run=dry_run)
    head = "（试运行，未写入）" if dry_run else ""
    click.echo(f"保存期限已满{head}：儿童 {s.children} 名，表单记录 {s.records} 份，"
               f"审计副本 {s.audit_events} 条，报告人记录 {s.reporters} 份"
               f"（规则：满{policy.adult_age}周岁、结案满{policy.years_after_closure}年）。")
    if s.case_numbers:
        click.echo("涉及个案：" + "、".join(s.case_numbers[:50])
                   + (f" 等 {len(s.case_numbers)} 个" if len(s.case_numbers) > 50 else ""))
