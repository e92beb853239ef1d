"""The plan's organisation and training: ``teams add|add-member|import|list`` and
``training add|list`` (新政发〔2016〕8号 四（一）、（二）, 六（三）)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from jianhu.cli.casework import LocalDate
from jianhu.cli.root import Workspace, console, group, pass_workspace

_township = click.option("--township", metavar="TOWN",
                         help="乡镇（12位或9位代码，或乡镇名称）；乡镇人员默认本乡镇")


@group("teams")
def teams() -> None:
    ...


@teams.command(name="add")
@_township
@click.option("--kind", required=True, metavar="类别",
              help="领导小组、村工作小组、公益社、评估小组或救助服务队（也可写代码，如 rescue_team）")
@click.option("--name", default=None, help="队伍名称（默认为地名加类别，如「新安镇评估小组」）")
@click.option("--village", default=None, help="村（社区）：村工作小组和公益社必填")
@pass_workspace
def teams_add(ws: Workspace, township: str | None, kind: str, name: str | None,
              village: str | None) -> None:
    """新建一支队伍；记入审计。"""
    from jianhu.teams import TEAM_KINDS, add_team

    with ws.unit() as session:
        actor, scope = ws.scoped(session, "teams:manage")
        team = add_team(session, actor, scope, township=township, kind=kind, name=name,
                        village=village)
        label, team_name = TEAM_KINDS[team.kind], team.name
    click.echo(f"已新建{label}「{team_name}」")


@teams.command(name="add-member")
@click.argument("team")
@click.argument("people", nargs=-1, required=True)
@_township
@click.option("--role", default="成员", show_default=True, help="组内职务：组长、副组长或成员")
@pass_workspace
def teams_add_member(ws: Workspace, team: str, people: tuple[str, ...], township: str | None,
                     role: str) -> None:
    """把人员名册中的 PEOPLE（编号，可写多个）加入队伍 TEAM（名称），或改其组内职务；记入审计。"""
    from jianhu.teams import MEMBER_ROLES, add_member, find_team, member_role
    from jianhu.trainings import split_codes

    with ws.unit() as session:
        actor, scope = ws.scoped(session, "teams:manage")
        found = find_team(session, scope, team, township)
        done = [(code, add_member(session, actor, scope, found, code, role))
                for code in split_codes(people)]
        name = found.name
    words = {"added": "已加入", "updated": "已改职务", "unchanged": "已在队中，未变"}
    for code, what in done:
        click.echo(f"{words[what]}：{code} → 「{name}」{MEMBER_ROLES[member_role(role)]}")


@teams.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="只检查，不写入")
@pass_workspace
def teams_import(ws: Workspace, file: Path, dry_run: bool) -> None:
    """导入队伍及成员 FILE：XLSX 或 CSV（列：乡镇、村（社区）、类别、队伍名称、人员编号、组内职务，
    每名成员一行），或 JSON。全部无误才写入。"""
    from jianhu.teams import import_teams

    with ws.session() as session:
        actor, scope = ws.scoped(session, "teams:manage")
        s = import_teams(session, actor, scope, file, dry_run=dry_run)
    head = "（试导入，未写入）" if dry_run else ""
    click.echo(f"{head}队伍：共{s.rows}行；新建队伍{s.teams_created}，加入成员{s.members_added}，"
               f"改职务{s.members_updated}。")


@teams.command(name="list")
@_township
@click.option("--kind", default=None, metavar="类别", help="只列出该类别")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
@pass_workspace
def teams_list(ws: Workspace, township: str | None, kind: str | None, as_json: bool) -> None:
    """列出本乡镇（县级人员：全县）的队伍及成员。"""
    from jianhu.cases import resolve_township
    from jianhu.teams import listing

    with ws.session() as session:
        _, scope = ws.scoped(session, "teams:list")
        rows = listing(session, scope, resolve_township(session, township) if township else None,
                       kind)
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in rows], ensure_ascii=False, indent=1))
        return
    if not rows:
        click.echo("还没有登记队伍（用 jianhu teams add 或 jianhu teams import）")
        return
    from rich.table import Table

    table = Table("乡镇", "村（社区）", "类别", "队伍", "成员", title=f"队伍（{len(rows)}）")
    for r in rows:
        members = "、".join(f"{m['name']}（{m['code']}，{m['role_label']}）" for m in r.members)
        table.add_row(r.township, r.village or "", r.kind_label, r.name, members or "（无）")
    console().print(table)


@group("training")
def training() -> None:
    ...


@training.command(name="add")
@_township
@click.option("--date", "held_on", type=LocalDate(), required=True, help="培训日期")
@click.option("--topic", required=True, help="培训主题")
@click.option("--trainer", required=True, help="培训人（姓名或单位）")
@click.option("--material", "materials", multiple=True, metavar="章节",
              help="用到的操作手册章节名称（如「综合测评」），可写多次")
@click.option("--attendee", "attendees", multiple=True, required=True, metavar="编号",
              help="参加人员的名册编号，可写多次，或用逗号分隔")
@pass_workspace
def training_add(ws: Workspace, township: str | None, held_on: dt.date, topic: str, trainer: str,
                 materials: tuple[str, ...], attendees: tuple[str, ...]) -> None:
    """登记一次已举办的培训及参加人员；记入审计。"""
    from jianhu.trainings import add_session, split_codes

    with ws.unit() as session:
        actor, scope = ws.scoped(session, "training:manage")
        row = add_session(session, actor, scope, township=township, held_on=held_on, topic=topic,
                          trainer=trainer, materials=list(materials),
                          attendees=split_codes(attendees))
        n = len(split_codes(attendees))
        held, subject = row.held_on, row.topic
    click.echo(f"已登记培训：{held.isoformat()}「{subject}」，参加{n}人")


@training.command(name="list")
@_township
@click.option("--person", default=None, metavar="编号", help="只列出此人参加过的培训（个人培训记录）")
@click.option("--untrained", is_flag=True,
              help="改为列出一年（365天）内没有参加培训的在岗人员")
@click.option("--on", "on", type=LocalDate(), default=None, help="按哪一天计算（默认今天，北京时间）")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
@pass_workspace
def training_list(ws: Workspace, township: str | None, person: str | None, untrained: bool,
                  on: dt.date | None, as_json: bool) -> None:
    """列出本乡镇（县级人员：全县）的培训，或某人的培训记录，或须参加培训的人员。"""
    from jianhu.cases import resolve_township
    from jianhu.dates import local_today
    from jianhu.trainings import listing
    from jianhu.trainings import untrained as due

    with ws.session() as session:
        _, scope = ws.scoped(session, "training:list")
        code = resolve_township(session, township) if township else None
        if untrained:
            people = due(session, scope, on or local_today(), code)
        else:
            rows = listing(session, scope, code, person)
    from rich.table import Table

    if untrained:
        if as_json:
            click.echo(json.dumps(people, ensure_ascii=False, indent=1))
            return
        table = Table("编号", "姓名", "角色", "乡镇", "村（社区）", "上次培训",
                      title=f"{(on or local_today()).isoformat()} 一年内未参加培训（{len(people)}人）")
        for p in people:
            table.add_row(p["code"], p["name"], p["role_label"], p["township"], p["village"] or "",
                          p["last_trained"] or "从未")
        console().print(table)
        return
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in rows], ensure_ascii=False, indent=1))
        return
    if not rows:
        click.echo("没有培训记录")
        return
    table = Table("日期", "乡镇", "主题", "培训人", "教材（手册章节）", "参加人数",
                  title=f"{person + ' 的' if person else ''}培训记录（{len(rows)}次）")
    for r in rows:
        table.add_row(r.held_on.isoformat(), r.township, r.topic, r.trainer,
                      "、".join(r.materials), str(len(r.attendees)))
    console().print(table)
