"""Lifecycle commands: ``record``, ``case show``, ``case report``, ``people import|list|set-password``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from jianhu.cli.root import Workspace, command, console, group, pass_workspace
from jianhu.jsonfiles import read_json_object


class RecordForm(click.ParamType):
    """A form recorded on a case (:data:`jianhu.lifecycle.RECORD_FORMS`), checked when given (so
    the command line starts without loading the lifecycle)."""

    name = "表单"

    def convert(self, value, param, ctx):  # noqa: ANN001, ANN201
        from jianhu.lifecycle import RECORD_FORMS

        if value in RECORD_FORMS:
            return value
        self.fail(f"「{value}」不是个案记录表单；可选：{'、'.join(RECORD_FORMS)}", param, ctx)


@command("record")
@click.argument("form_id", metavar="FORM", type=RecordForm())
@click.option("--case", "case_no", required=True, help="个案编号")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_workspace
def record(ws: Workspace, form_id: str, case_no: str, file: Path) -> None:
    from jianhu.lifecycle import state_label
    from jianhu.records import record_form
    from jianhu.tasks import label as task_label

    payload = read_json_object(file)
    with ws.unit() as session:
        actor, scope = ws.scoped(session)
        case = scope.find_case(session, case_no)
        done = record_form(session, ws.host, case, form_id, payload, actor=actor)
    if done.status_before == done.status_after:
        state = f"状态仍为{state_label(done.status_after)}"
    else:
        state = f"状态 {state_label(done.status_before)} → {state_label(done.status_after)}"
    click.echo(f"已登记：个案 {done.case_no}，{state}")
    for kind, due in done.tasks:
        click.echo(f"  待办：{task_label(kind)}，到期 {due.isoformat()}")
    for note in done.notes:
        click.echo(f"  {note}")


@group("case")
def case() -> None:
    ...


@case.command(name="show")
@click.argument("case_no")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
@pass_workspace
def case_show(ws: Workspace, case_no: str, as_json: bool) -> None:
    """显示个案及其完整时间线（按日期）。报告人身份只对有权限的角色显示。"""
    from jianhu.timeline import case_view

    with ws.session() as session:
        actor, scope = ws.scoped(session, "view:cases")
        view = case_view(session, ws.host, scope.find_case(session, case_no), actor)
        session.commit()  # audit of confidential reads
    if as_json:
        click.echo(json.dumps({
            "case": view.case, "child": view.child,
            "timeline": [{"on": e.on.isoformat(), "kind": e.kind, "title": e.title,
                          "summary": e.summary, "detail": e.detail} for e in view.timeline],
            "tasks": view.tasks}, ensure_ascii=False, indent=1, default=str))
        return
    c = view.case
    click.echo(f"个案 {c['case_no']}　{c['township']}{c['village']}　状态：{c['status_label']}　"
               f"等级：{c['level_label']}")
    click.echo(f"类别：{'、'.join(c['category_labels']) or '无'}　开案：{c['opened_on']}"
               + (f"　结案：{c['closed_on']}" if c["closed_on"] else ""))
    if view.child:
        click.echo(f"儿童：{view.child['name']}，{view.child['sex']}，{view.child['birth_date']}")
    click.echo("时间线：")
    for e in view.timeline:
        click.echo(f"  {e.on.isoformat()}  {e.title}：{e.summary}")
        if "reporter" in e.detail:
            r = e.detail["reporter"]
            click.echo(f"      报告人（保密）：{r.get('name', '')} {r.get('relation', '')}")
    pending = [t for t in view.tasks if t["status"] == "pending"]
    if pending:
        from jianhu.dates import local_today

        today = local_today().isoformat()
        click.echo("待办：")
        for t in pending:
            late = "（已逾期）" if t["due_on"] < today else ""
            click.echo(f"  {t['due_on']}  {t['label']}{late}")


@case.command(name="report")
@click.argument("case_no")
@click.option("--kind", type=click.Choice(["assessment", "closure", "archive"]), required=True,
              help="assessment 家庭监护评估报告；closure 结案报告；archive 一人一档（封面和全部记录）")
@click.option("--format", "fmt", type=click.Choice(["html", "pdf"]), default="pdf",
              show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@pass_workspace
def case_report(ws: Workspace, case_no: str, kind: str, fmt: str, out: Path) -> None:
    """生成个案文书（A4，含签字栏）。文书含儿童身份信息，生成记入审计。"""
    from jianhu.documents import KINDS, render_html, write_document

    with ws.session() as session:
        actor, scope = ws.scoped(session, "view:cases")
        html = render_html(session, ws.host, scope.find_case(session, case_no), kind, actor)
        write_document(html, out, fmt)
        session.commit()
    click.echo(f"已生成{KINDS[kind]}：{out}")


@group("people")
def people() -> None:
    ...


@people.command(name="import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="只检查，不写入")
@pass_workspace
def people_import(ws: Workspace, file: Path, dry_run: bool) -> None:
    """导入人员名册 FILE（XLSX 或 CSV），按编号新增或更新。"""
    from jianhu.people import import_people

    with ws.session() as session:
        s = import_people(session, ws.host, file, actor=ws.acting(session), dry_run=dry_run)
    head = "（试导入，未写入）" if dry_run else ""
    click.echo(f"{head}人员名册：共{s.rows}行；新增{s.created}，更新{s.updated}，未变{s.unchanged}。")


@people.command(name="set-password")
@click.argument("code")
@click.password_option("--password", prompt="新密码", confirmation_prompt="再输入一次",
                       help="新密码（不给则提示输入两次，不回显）")
@pass_workspace
def people_set_password(ws: Workspace, code: str, password: str) -> None:
    """设置人员 CODE 的网页登录密码（Argon2id 哈希保存），并解除登录锁定；记入审计。"""
    from jianhu.web.auth import set_password

    with ws.unit() as session:
        set_password(session, code, password, actor=ws.acting(session))
    click.echo(f"已设置 {code} 的登录密码。")


@people.command(name="reset-password")
@click.argument("code")
@pass_workspace
def people_reset_password(ws: Workspace, code: str) -> None:
    """为人员 CODE 生成新的一次性密码并只显示这一次（如部署时的初始密码没有拿到）；解除登录锁定，记入审计。"""
    import secrets

    from jianhu.web.auth import set_password

    password = secrets.token_urlsafe(12)
    with ws.unit() as session:
        set_password(session, code, password, actor=ws.acting(session))
    click.echo(f"{code} 的一次性密码：{password}")
    click.echo("只显示这一次，系统不保存明文：请当面或电话告知本人；旧密码已失效。")


@people.command(name="list")
@click.option("--township", metavar="TOWN", help="只列出该乡镇（12位或9位代码，或乡镇名称）")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
@pass_workspace
def people_list(ws: Workspace, township: str | None, as_json: bool) -> None:
    """列出人员名册（编号、姓名、角色、乡镇、村）。"""
    from sqlalchemy import select

    from jianhu.db.models import Person, Township, Village
    from jianhu.roles import role_labels

    with ws.session() as session:
        _, scope = ws.scoped(session, "people:list")
        stmt = (select(Person.code, Person.name, Person.role, Township.code, Township.name,
                       Village.name, Person.active)
                .outerjoin(Township, Person.township_id == Township.id)
                .outerjoin(Village, Person.village_id == Village.id).order_by(Person.code))
        if township:
            from jianhu.cases import resolve_township

            stmt = stmt.where(Township.code == resolve_township(session, township))
        if scope.township_id is not None:
            stmt = stmt.where(Person.township_id == scope.township_id)
        rows = session.execute(stmt).all()
    labels = role_labels()
    if as_json:
        click.echo(json.dumps([{"code": r[0], "name": r[1], "role": r[2], "township_code": r[3],
                                "township": r[4], "village": r[5], "active": r[6]}
                               for r in rows], ensure_ascii=False, indent=1))
        return
    from rich.table import Table

    table = Table("编号", "姓名", "角色", "乡镇", "村（社区）", "在岗", title=f"人员名册（{len(rows)}）")
    for r in rows:
        table.add_row(r[0], r[1], labels.get(r[2], r[2]), r[4] or "", r[5] or "",
                      "是" if r[6] else "否")
    console().print(table)


@group("approvals")
def approvals() -> None:
    ...


@approvals.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
@pass_workspace
def approvals_list(ws: Workspace, as_json: bool) -> None:
    """列出本人权限范围内待审批的事项（最早的在前），并注明本人能否审批。"""
    from rich.table import Table

    from jianhu.approvals import awaiting
    from jianhu.dates import LOCAL_TZ

    with ws.session() as session:
        _actor, scope = ws.scoped(session, "view:cases")
        rows = awaiting(session, scope, ws.host)
        session.commit()  # nothing is written; ends the read transaction
    if as_json:
        click.echo(json.dumps([{"id": r.id, "case_no": r.case_no, "subject": r.subject,
                                "subject_label": r.subject_label, "what": r.what,
                                "requested_by": r.requested_by,
                                "requested_at": r.requested_at.isoformat(),
                                "decidable": r.decidable} for r in rows], ensure_ascii=False))
        return
    table = Table("编号", "个案", "事项", "内容", "提交人", "提交时间", "本人可审批",
                  title=f"待审批（{len(rows)}）")
    for r in rows:
        table.add_row(r.id[:8], r.case_no, r.subject_label, r.what, r.requested_by,
                      f"{r.requested_at.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M}",
                      "是" if r.decidable else "否")
    console().print(table)


@approvals.command(name="decide")
@click.argument("case_no")
@click.option("--subject", required=True,
              help="审批事项：plan、closure、escalation、level_override、guardianship_change "
                   "或中文名（如 救助方案）")
@click.option("--approve/--reject", "approve", required=True, help="同意或不同意")
@click.option("--reason", default=None, help="理由（不同意时必填）")
@click.option("--id", "approval_id", default=None,
              help="待审批事项的编号（approvals list 所列，前8位即可）；不给则为最早一项")
@pass_workspace
def approvals_decide(ws: Workspace, case_no: str, subject: str, approve: bool,
                     reason: str | None, approval_id: str | None) -> None:
    """对个案 CASE_NO 的一项待审批事项作出决定（--id 指定，否则为最早一项），并办结其审批待办；记入审计。"""
    from jianhu.approvals import SUBJECTS, decide

    with ws.unit() as session:
        actor, scope = ws.scoped(session, "view:cases")
        case = scope.find_case(session, case_no)
        if approval_id:
            from jianhu.approvals import awaiting

            ids = [a.id for a in awaiting(session, scope) if a.case_no == case_no
                   and a.id.startswith(approval_id.lower())]
            approval_id = ids[0] if len(ids) == 1 else approval_id
        row = decide(session, case, subject, approve=approve, reason=reason, actor=actor,
                     approval_id=approval_id)
    verdict = "同意" if approve else "不同意"
    click.echo(f"已审批：个案 {case_no} 的{SUBJECTS[row.subject]}，{verdict}")
