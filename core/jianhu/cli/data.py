"""Data in and out: ``import screening|assessment`` and ``report``."""

from __future__ import annotations

import datetime as dt
from contextlib import ExitStack
from pathlib import Path

import click

from jianhu.cli.casework import LocalDate
from jianhu.cli.root import Workspace, command, group, pass_workspace, progress_bar
from jianhu.errors import JianhuError


@group("import")
def import_() -> None:
    ...


def _bar(bars: ExitStack, label: str):  # noqa: ANN202
    """A progress-bar factory for the imports: opened (in ``bars``) once the file's row count
    is known, so the file is read only once."""
    return lambda total: bars.enter_context(progress_bar(label, total))


def _summary_line(s, what: str) -> str:  # noqa: ANN001
    head = "（试导入，未写入）" if s.dry_run else ""
    return f"{head}{what}：共{s.rows}行；新增{s.created}，更新{s.updated}，未变{s.unchanged}"


@import_.command(name="screening")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="只检查，不写入")
@click.option("--sheet", default=None, help="数据所在的工作表名（不给则自动找有表头的工作表）")
@pass_workspace
def import_screening_cmd(ws: Workspace, file: Path, dry_run: bool, sheet: str | None) -> None:
    """导入基本情况调查表 FILE：登记儿童和监护人、分类、开立个案。"""
    from jianhu.imports.screening import import_screening

    with ws.session() as session, ExitStack() as bars:
        start_bar = _bar(bars, "导入调查表")
        ws.scoped(session, "import:screening")
        s = import_screening(session, ws.host, file, actor=ws.actor, dry_run=dry_run,
                             progress=start_bar, sheet=sheet)
    reopened = f"，重新开案{s.cases_reopened}" if s.cases_reopened else ""
    click.echo(_summary_line(s, "调查表") + f"；开立个案{s.cases_opened}{reopened}，"
               f"个案分类变更{s.cases_updated}，新登记村（社区）{s.villages_created}。")
    if s.emergencies:
        click.echo(f"紧急：{s.emergencies}名儿童处于《未成年人保护法》第92条所列情形，已定为红色并生成"
                   "「应急处置」待办，请立即查看 jianhu followups due。")
    if s.warnings:
        done = "试导入，未写入" if s.dry_run else "已导入，请用 jianhu duplicates list 核实"
        click.echo(f"提示：{s.possible_duplicates}名新登记儿童疑似与已登记儿童重复（{done}）：")
        for w in s.warnings[:20]:
            click.echo(f"  {w}")
        if s.possible_duplicates > 20:
            click.echo(f"  ……另有{s.possible_duplicates - 20}处未列出")


@import_.command(name="assessment")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--scale", default=None, help="量表名称（默认为 jianhu-default）")
@click.option("--dry-run", is_flag=True, help="只检查，不写入")
@pass_workspace
def import_assessment_cmd(ws: Workspace, file: Path, scale: str | None, dry_run: bool) -> None:
    """导入评估表 FILE：为每名儿童的在办个案计分、定级并排期随访。"""
    from jianhu.imports.assessment import import_assessments

    with ws.session() as session, ExitStack() as bars:
        start_bar = _bar(bars, "导入评估表")
        ws.scoped(session, "import:assessment")
        s = import_assessments(session, ws.host, file, actor=ws.actor, scale_name=scale,
                               dry_run=dry_run, progress=start_bar)
    click.echo(_summary_line(s, "评估表") + f"；等级变化的个案{s.cases_updated}。")


@import_.command(name="records")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--form", "form_id", default=None, metavar="FORM",
              help="表格中的表单（如 visit、plan）；不给则按表头判断")
@click.option("--dry-run", is_flag=True, help="只检查，不写入")
@pass_workspace
def import_records_cmd(ws: Workspace, file: Path, form_id: str | None, dry_run: bool) -> None:
    """导入个案记录 FILE：填好的个案记录模板（jianhu template visit 等生成的 .xlsx 或 .csv，
    按个案编号登记），或 JSON Lines 文件（.jsonl，救助方案、服务、随访、侵害报告、升级干预、结案、
    回访）。全部无误才写入；同一份记录再次导入不会重复登记。"""
    from jianhu.imports.records import import_records

    with ws.session() as session:
        actor, _ = ws.scoped(session)
        s = import_records(session, ws.host, file, actor=actor, form_id=form_id, dry_run=dry_run)
    head = "（试导入，未写入）" if dry_run else ""
    same = f"，{s.unchanged}份与已登记的记录相同、未重复登记" if s.unchanged else ""
    click.echo(f"{head}个案记录：共{s.rows}行，已登记{s.created}份{same}。")


@command("report")
@click.argument("name", default="summary")
@click.option("--format", "fmt", default=None,
              help="xlsx、csv 或 json（不给则按 --out 的扩展名，其他为 xlsx）")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--on", "on", type=LocalDate(), default=None, help="统计日期（默认今天，北京时间）")
@pass_workspace
def report(ws: Workspace, name: str, fmt: str | None, out: Path, on: dt.date | None) -> None:
    from jianhu.dates import local_today
    from jianhu.reports import build

    reports, formats = ws.host.reports, ws.host.report_formats
    if name not in reports:
        raise JianhuError(f"没有报表「{name}」；可用：{'、'.join(sorted(reports))}")
    by_suffix = {f.suffix: n for n, f in formats.items() if f.suffix == f".{n}"}  # csv, xlsx, json
    suffix = out.suffix.lower()
    fmt = fmt or by_suffix.get(suffix, "xlsx")
    if fmt not in formats:
        raise JianhuError(f"不支持格式「{fmt}」；可用：{'、'.join(sorted(formats))}")
    if suffix in by_suffix and formats[fmt].suffix != suffix:
        raise JianhuError(f"文件名 {out.name} 的扩展名与格式「{fmt}」（{formats[fmt].suffix}）不符")
    with ws.session() as session:
        ws.scoped(session, "report:aggregate")
        table = build(session, ws.host, reports[name], on or local_today())
        formats[fmt].write(table, out)
        session.commit()  # the audit of an identified report
    click.echo(f"已写入{reports[name].title}：{out}（{len(table.rows)}行）")


@import_.command(name="outbox")
@click.argument("file", type=click.Path(path_type=Path))
@pass_workspace
def import_outbox_cmd(ws: Workspace, file: Path) -> None:
    """导入离线采集导出的待上传记录 FILE（手机要清空或更换时）：每条记录按其编号只登记一次。"""
    from jianhu.capture import import_outbox

    with ws.session() as session:
        _, scope = ws.scoped(session)
        result = import_outbox(session, ws.host, scope, file)
    click.echo(f"待上传记录：已登记{result.recorded}条，此前已上传{result.replayed}条，"
               f"交督导员处理（修改冲突）{result.conflicts}条，未登记{len(result.refused or [])}条。")
    for line in result.refused or []:
        click.echo(f"  {line}")
    if result.refused:
        raise SystemExit(1)
