"""Casework commands: ``cases list``, ``assess``, ``followups due``."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import click

from jianhu.cli.root import Workspace, command, console, group, pass_workspace
from jianhu.jsonfiles import read_json_object
from jianhu.levels import LEVEL_LABELS, LEVELS, level_label

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class LocalDate(click.ParamType):
    """A ``YYYY-MM-DD`` local date option (also the other ways people write dates)."""

    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):  # noqa: ANN001, ANN201
        if isinstance(value, dt.date):
            return value
        from jianhu.dates import FIRST_YEAR, LAST_YEAR, parse_date

        try:
            day = parse_date(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            self.fail(f"日期 {day} 超出可用范围（{FIRST_YEAR}—{LAST_YEAR}年）", param, ctx)
        return day




class LevelChoice(click.ParamType):
    """A risk level, typed as its code (``red``) or as users say it (``红``, ``红色``)."""

    name = "等级"

    def convert(self, value, param, ctx):  # noqa: ANN001, ANN201
        text = str(value).strip()
        for code, label in LEVELS:
            if text in (code, label, label.removesuffix("色")):
                return code
        allowed = "、".join(f"{label}（{code}）" for code, label in LEVELS)
        self.fail(f"「{text}」不是等级；可选：{allowed}", param, ctx)


@group("cases")
def cases() -> None:
    ...


@cases.command(name="list")
@click.option("--township", metavar="TOWN", help="只列出该乡镇（12位或9位代码，或乡镇名称）")
@click.option("--level", type=LevelChoice(), help="只列出该等级：红、橙、黄、绿（或 red 等代码）")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON 数组")
@pass_workspace
def list_cases(ws: Workspace, township: str | None, level: str | None, as_json: bool) -> None:
    """列出个案（不含儿童姓名和身份证号）。"""
    from sqlalchemy import select

    from jianhu.cases import resolve_township
    from jianhu.db.models import Case, Township, Village
    from jianhu.lifecycle import state_label

    categories = {c.code: c.label for c in ws.host.target_categories}
    with ws.session() as session:
        _, scope = ws.scoped(session, "view:cases")
        stmt = (select(Case.case_no, Township.code, Township.name, Village.name, Case.level,
                       Case.categories, Case.status, Case.guardianship_rating, Case.opened_on)
                .join(Township, Case.township_id == Township.id)
                .join(Village, Case.village_id == Village.id).order_by(Case.case_no))
        if township:
            stmt = stmt.where(Township.code == resolve_township(session, township))
        if level:
            stmt = stmt.where(Case.level == level)
        rows = session.execute(scope.cases(stmt)).all()
    if as_json:
        click.echo(json.dumps([
            {"case_no": r[0], "township_code": r[1], "township": r[2], "village": r[3],
             "level": r[4], "categories": r[5], "status": r[6], "guardianship_rating": r[7],
             "opened_on": r[8].isoformat()} for r in rows], ensure_ascii=False, indent=1))
        return
    from rich.table import Table

    table = Table(title=f"个案（{len(rows)}）")
    for name in ("个案编号", "乡镇", "村（社区）", "等级", "状态"):
        table.add_column(name, no_wrap=True)
    table.add_column("类别")
    for r in rows:
        table.add_row(r[0], r[2], r[3], level_label(r[4]),
                      state_label(r[6]), "、".join(categories.get(c, c) for c in r[5]))
    console().print(table)


@command("assess")
@click.argument("case_no")
@click.option("--answers", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              required=True, help="答题 JSON 文件（评估表格式）")
@click.option("--scale", default=None,
              help="量表名称（默认为 jianhu-default；如 sdq、csi 只登记得分，不改变等级）")
@pass_workspace
def assess(ws: Workspace, case_no: str, answers: Path, scale: str | None) -> None:
    from jianhu.assessment import find_scale, grade, level_scale

    doc = read_json_object(answers)
    doc.pop("subject", None)
    chosen = find_scale(ws.host, scale) if scale else level_scale(ws.host)
    with ws.unit() as session:
        actor, scope = ws.scoped(session, "record:assessment")
        case = scope.find_case(session, case_no)
        g = grade(session, ws.host, case, doc, actor=ws.actor, scale=chosen,
                  context={"file": answers.name})
    r = g.result
    if not chosen.sets_level:
        scores = "，".join(f"{k} {v:g}" for k, v in r.scores.items() if v is not None)
        click.echo(f"个案 {g.case_no}：已登记「{chosen.title}」（{scores}）；该量表不改变风险等级。")
        for name, band in r.bands.items():
            click.echo(f"  {name}：{band}")
        if g.suggestions:
            from jianhu.forms import load_form

            types = load_form(ws.host, "service").by_path["service", "service_type"]
            click.echo("建议在救助方案中考虑：" + "、".join(types.label(c) for c in g.suggestions))
        return
    click.echo(f"个案 {g.case_no}：总分 {r.total:g}，等级 {level_label(g.level_before)} → "
               f"{level_label(g.level_after)}")
    if r.emergency:
        click.echo("紧急筛查有「是」：已定为红色，并生成强制报告任务（须立即向公安机关报告）。")


@group("followups")
def followups() -> None:
    ...


@followups.command(name="due")
@click.option("--on", "on", type=LocalDate(), default=None,
              help="按哪一天计算（默认今天，北京时间）")
@click.option("--township", metavar="TOWN", help="只列出该乡镇（12位或9位代码，或乡镇名称）")
@click.option("--mine", is_flag=True,
              help="只列出我的待办：责任人是我本人的，其后是我的岗位在本辖区的")
@click.option("--limit", type=click.IntRange(1, 100_000), default=None,
              help="最多列出多少项（默认全部）")
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True,
              help="跳过前多少项（与 --limit 一起分页）")
@click.option("--json", "as_json", is_flag=True,
              help="输出 JSON：total（共几项）、offset、limit 和 items（各项）")
@pass_workspace
def followups_due(ws: Workspace, on: dt.date | None, township: str | None, mine: bool,
                  limit: int | None, offset: int, as_json: bool) -> None:
    """列出已逾期和7日内到期的事项；强制报告和应急处置排在最前。"""
    from sqlalchemy import func, select

    from jianhu.cases import resolve_township
    from jianhu.dates import local_today
    from jianhu.db.models import Case
    from jianhu.followups import due_page
    from jianhu.scope import restrict
    from jianhu.tasks import KIND_LABELS

    on = on or local_today()
    with ws.session() as session:
        actor, _ = ws.scoped(session, "view:cases")
        found = due_page(session, on, resolve_township(session, township) if township else None,
                         mine=actor if mine else None, limit=limit, offset=offset)
        no_cases = not found.total and \
            session.scalar(restrict(session, select(func.count(Case.id)))) == 0
    total, items = found.total, found.items
    if as_json:
        click.echo(json.dumps({"total": total, "offset": offset, "limit": limit, "items": [
            {"case_no": i.case_no, "township": i.township, "village": i.village,
             "level": i.level, "kind": i.kind, "label": KIND_LABELS.get(i.kind, i.kind),
             "due_on": i.due_on.isoformat(),
             "due_at": i.due_at.isoformat() if i.due_at else None,
             "status": "overdue" if i.overdue else "due", "days_overdue": i.days_overdue,
             "owner": i.owner, "owner_label": i.owner_label}
            for i in items]}, ensure_ascii=False, indent=1))
        return
    print_due(items, on, total=total, mine=mine, offset=offset)
    if no_cases:
        click.echo("（辖区内还没有个案：入户调查表导入后才有待办，见 jianhu import screening）")


def print_due(items: list, on: dt.date, total: int, mine: bool = False, offset: int = 0) -> None:
    """Print due items as a Chinese table (``total``: how many there are in all; ``items`` are
    those from position ``offset``)."""
    from rich.table import Table

    from jianhu.tasks import KIND_LABELS

    title = "我的待办" if mine else "待办"
    shown = "" if len(items) == total else (
        f"，显示第{offset + 1}–{offset + len(items)}项" if items else "，本页无")
    table = Table(title=f"{on.isoformat()} {title}（共{total}项{shown}，逾期与7日内到期）")
    for name in ("事项", "个案编号", "乡镇", "村（社区）", "等级", "到期日", "状态", "责任人"):
        table.add_column(name, no_wrap=True)
    for i in items:
        state = f"逾期{i.days_overdue}天" if i.overdue and i.days_overdue else (
            "已逾期" if i.overdue else "待办")
        table.add_row(KIND_LABELS.get(i.kind, i.kind), i.case_no, i.township, i.village,
                      level_label(i.level), i.due_on.isoformat(), state,
                      i.owner_label)
    console().print(table)


def print_next_of_each_kind(items: list) -> None:
    """Print the earliest pending task of every kind (from a due list ordered by urgency)."""
    from rich.table import Table

    from jianhu.tasks import KIND_LABELS

    first: dict[str, object] = {}
    for i in sorted(items, key=lambda i: i.due_on):
        first.setdefault(i.kind, i)
    table = Table(title="各类待办（每类最近一项）")
    for name in ("事项", "个案编号", "乡镇", "到期日", "状态"):
        table.add_column(name, no_wrap=True)
    for kind in KIND_LABELS:
        if kind in first:
            i = first[kind]
            table.add_row(KIND_LABELS[kind], i.case_no, i.township, i.due_on.isoformat(),
                          "已逾期" if i.overdue else "待办")
    console().print(table)


def print_level_table(session: Session, host: object) -> None:
    """Print open cases by town × level (the demo's summary)."""
    from rich.table import Table
    from sqlalchemy import select

    from jianhu.cases import OPEN_STATUSES
    from jianhu.db.models import Case, Township

    counts: Counter = Counter()
    towns: dict[str, str] = {}
    for code, name, level in session.execute(
        select(Township.code, Township.name, Case.level)
        .join(Township, Case.township_id == Township.id).where(Case.status.in_(OPEN_STATUSES))
    ):
        counts[code, level] += 1
        towns[code] = name
    levels = [c for c, _ in LEVELS] + [None]
    table = Table("乡镇", *[LEVEL_LABELS[c] if c else "未评估" for c in levels], "合计",
                  title="在办个案：乡镇 × 等级")
    for code in sorted(towns):
        row = [counts[code, lv] for lv in levels]
        table.add_row(towns[code], *map(str, row), str(sum(row)))
    totals = [sum(counts[c, lv] for c in towns) for lv in levels]
    table.add_row("合计", *map(str, totals), str(sum(totals)), style="bold")
    console().print(table)


@followups.command(name="done")
@click.argument("case_no")
@click.option("--kind", required=True, help="事项类型（代码或中文名），如 保护令复议期限")
@click.option("--on", "on", type=LocalDate(), default=None, help="办结日期（默认今天）")
@pass_workspace
def followups_done(ws: Workspace, case_no: str, kind: str, on: dt.date | None) -> None:
    """办结个案 CASE_NO 的一项可直接办结的事项（应急处置、保护令复议期、保护令到期、告诫书查访、
    临时监护评估）。"""
    from jianhu.dates import local_today
    from jianhu.followups import acknowledge
    from jianhu.tasks import KIND_LABELS

    with ws.unit() as session:
        actor, scope = ws.scoped(session, "followups:done")
        task = acknowledge(session, scope.find_case(session, case_no), kind,
                           on or local_today(), actor=actor.code)
    click.echo(f"已办结：个案 {case_no} 的「{KIND_LABELS[task.kind]}」（到期 {task.due_on}）")
