"""Where a child is registered: ``transfer request|list|accept|refuse`` and
``duplicates list|resolve``."""

from __future__ import annotations

import json

import click

from jianhu.cli.root import Workspace, console, group, pass_workspace


@group("transfer")
def transfer() -> None:
    ...


@transfer.command(name="request")
@click.argument("case_no")
@click.option("--to", "to", required=True, metavar="地点",
              help="接收方：乡镇编号或名称，或「乡镇/村」，或本乡镇的村名")
@click.option("--reason", required=True, help="转移原因，如「随父母迁居」")
@pass_workspace
def transfer_request(ws: Workspace, case_no: str, to: str, reason: str) -> None:
    """申请把个案 CASE_NO 转到接收方（由接收方乡镇儿童督导员接收）。"""
    from jianhu import transfers

    with ws.session() as session:
        actor, scope = ws.scoped(session)
        t = transfers.request(session, actor, scope, case_no, to, reason)
        session.commit()
        tid, status = t.id, t.status
    if status == "accepted":
        click.echo(f"已转移：个案 {case_no}（转移编号 {tid}），接收方已可查看和办理")
    else:
        click.echo(f"已申请转移：个案 {case_no}，转移编号 {tid}，待接收方乡镇儿童督导员接收")


@transfer.command(name="list")
@click.option("--status", type=click.Choice(["pending", "accepted", "refused"]), default=None,
              help="只列出该状态（pending 待接收、accepted 已接收、refused 已退回）")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
@pass_workspace
def transfer_list(ws: Workspace, status: str | None, as_json: bool) -> None:
    """列出本乡镇（村）转出和转入的个案转移。"""
    from rich.table import Table

    from jianhu import transfers

    with ws.session() as session:
        _, scope = ws.scoped(session)
        rows = transfers.listing(session, scope, status=status)
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in rows], ensure_ascii=False, indent=1))
        return
    if not rows:
        click.echo("没有个案转移")
        return
    table = Table("编号", "个案", "转出", "转入", "原因", "申请人", "状态")
    for r in rows:
        table.add_row(str(r.id), r.case_no, r.from_place, r.to_place, r.reason, r.requested_by,
                      r.status_label)
    console().print(table)


def _decide(ws: Workspace, transfer_id: int, accept: bool, village: str | None,
            note: str) -> None:
    from jianhu import transfers

    with ws.session() as session:
        actor, scope = ws.scoped(session)
        t = transfers.decide(session, actor, scope, transfer_id, accept=accept, village=village,
                             note=note)
        session.commit()
        case_no, placeholder = t.case_no, transfers.awaits_village(session, t)
    if accept:
        click.echo(f"已接收：个案 {case_no} 及其待办、随访和回访计划已转入本乡镇")
        if placeholder:
            click.echo(f"  申请未写明村（社区），儿童暂登记在「{transfers.UNKNOWN_VILLAGE}」，"
                       "确定后请在本乡镇内再办理一次转移")
    else:
        click.echo(f"已退回：个案 {case_no} 仍由转出方办理")


@transfer.command(name="accept")
@click.argument("transfer_id", type=int)
@click.option("--village", default=None, help="儿童将居住的村（社区）（申请未写明时）")
@click.option("--note", default="", help="备注")
@pass_workspace
def transfer_accept(ws: Workspace, transfer_id: int, village: str | None, note: str) -> None:
    """接收转移申请 TRANSFER_ID（接收方乡镇儿童督导员）。"""
    _decide(ws, transfer_id, True, village, note)


@transfer.command(name="refuse")
@click.argument("transfer_id", type=int)
@click.option("--reason", required=True, help="退回理由")
@pass_workspace
def transfer_refuse(ws: Workspace, transfer_id: int, reason: str) -> None:
    """退回转移申请 TRANSFER_ID（接收方乡镇儿童督导员）。"""
    _decide(ws, transfer_id, False, None, reason)


@group("duplicates")
def duplicates() -> None:
    ...


@duplicates.command(name="list")
@click.option("--all", "show_all", is_flag=True, help="也列出已核实的")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
@pass_workspace
def duplicates_list(ws: Workspace, show_all: bool, as_json: bool) -> None:
    """列出本乡镇（县级管理员：全县）待核实的疑似重复登记。"""
    from rich.table import Table

    from jianhu import duplicates as dup

    with ws.session() as session:
        _, scope = ws.scoped(session, "duplicates:list")
        rows = dup.listing(session, scope, status=None if show_all else "open")
    if as_json:
        click.echo(json.dumps([r.__dict__ for r in rows], ensure_ascii=False, indent=1))
        return
    if not rows:
        click.echo("没有待核实的疑似重复登记")
        return
    table = Table("编号", "类别", "已登记儿童", "新登记儿童", "相似度", "来源乡镇", "来源", "状态")

    def who(p: dict | None) -> str:
        if not p:
            return "（他乡镇，不显示）"
        return f"{p['name']} {p['birth_date']} {p['township']}{p['village']}"

    for r in rows:
        table.add_row(r.id[:8], r.kind_label, who(r.child), who(r.other) if r.kind == "similar"
                      else "", str(r.score or ""), r.from_township or "",
                      f"{r.source} 第{r.row}行" if r.row else r.source,
                      r.status_label)
    console().print(table)


@duplicates.command(name="resolve")
@click.argument("alert_id")
@click.option("--same/--different", required=True, help="是同一名儿童 / 不是同一名儿童")
@click.option("--note", default="", help="核实情况")
@pass_workspace
def duplicates_resolve(ws: Workspace, alert_id: str, same: bool, note: str) -> None:
    """记录对疑似重复登记 ALERT_ID（列表中的编号，至少8位）的核实结果。"""
    from jianhu import duplicates as dup

    with ws.session() as session:
        actor, scope = ws.scoped(session)
        dup.resolve(session, actor, scope, alert_id, same=same, note=note)
        session.commit()
    click.echo("已记录核实结果" + ("：是同一名儿童。系统不会自动合并，请核对两份登记，"
                                  "把需要保留的信息补入一份" if same else "：不是同一名儿童"))

