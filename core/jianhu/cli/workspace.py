"""Workspace commands: ``db upgrade``, ``template``, ``sample``, ``demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from jianhu.cli.casework import print_due, print_level_table, print_next_of_each_kind
from jianhu.cli.root import Workspace, command, group, pass_workspace


@group("db")
def db() -> None:
    ...


@db.command(name="upgrade")
@pass_workspace
def db_upgrade(ws: Workspace) -> None:
    """把数据库升级到本版本的结构（新数据库即建表），并按插件声明迁移表单改名的字段。"""
    from jianhu.db.session import open_session, upgrade
    from jianhu.forms.migrations import apply_migrations

    before, after = upgrade(ws.engine)
    if before == after:
        click.echo(f"数据库已是最新结构（{after}）。")
    else:
        click.echo(f"数据库已升级：{before or '空库'} → {after}")
    if ws.host.form_migrations:
        with open_session(ws.engine) as session:
            done = apply_migrations(session, ws.host, actor=ws.actor)
            session.commit()
        for name, n in done.items():
            click.echo(f"表单数据迁移「{name}」：已更新{n}份记录（审计日志记有原值）")


@db.command(name="app-login")
@click.option("--name", default="jianhu_app", show_default=True, help="登录角色名")
@pass_workspace
def db_app_login(ws: Workspace, name: str) -> None:
    """（PostgreSQL，用数据库所有者账号运行）建立或轮换网页服务器的数据库登录角色：它不是表的所有者，
    只能以县级或乡镇角色读写。新密码只显示这一次。"""
    import re
    import secrets

    from jianhu import audit
    from jianhu.db.rls import ensure_app_login
    from jianhu.errors import JianhuError

    if ws.engine.url.get_backend_name() != "postgresql":
        raise JianhuError("只有 PostgreSQL 需要网页服务器的登录角色（SQLite 没有数据库角色）")
    if not re.fullmatch(r"[a-z][a-z0-9_]{2,40}", name) or name.startswith("jianhu_t_") or \
            name == "jianhu_county":
        raise JianhuError(f"「{name}」不能用作登录角色名：小写字母开头，只含小写字母、数字和下划线")
    password = secrets.token_urlsafe(24)
    with ws.session() as session:
        ensure_app_login(session.connection(), password, name)
        audit.record(session, actor=ws.actor, action="app_login", entity_type="database_role",
                     entity_id=name, after={"rotated": True})
        session.commit()
    url = ws.engine.url.set(username=name, password=password)
    click.echo(f"已设置登录角色 {name}。网页服务器的数据库地址（密码只显示这一次，请写入服务器的"
               "环境变量 JIANHU_DATABASE_URL）：")
    click.echo(url.render_as_string(hide_password=False))


@db.command(name="partition")
@click.option("--through", type=int, default=None, metavar="YEAR",
              help="分区建到这一年（默认：明年）")
@pass_workspace
def db_partition(ws: Workspace, through: int | None) -> None:
    """（PostgreSQL，用数据库所有者账号运行）把审计记录按年分区（每个北京时间年度一个分区），
    并补建到 YEAR 为止缺少的年度分区；可重复运行。首次运行时审计表被锁定，请在无人使用时运行。"""
    from jianhu import audit
    from jianhu.dates import local_today
    from jianhu.db.partitions import partition_audit_trail, partitions

    year = through if through is not None else local_today().year + 1
    with ws.session() as session:
        conn = session.connection()
        done = partition_audit_trail(conn, year)
        audit.record(session, actor=ws.actor, action="partition", entity_type="database_table",
                     entity_id="audit_events",
                     after={"through": year, "created": done.created, "moved": done.moved})
        names = partitions(conn)
        session.commit()
    if done.converted:
        click.echo("审计表已改为按年分区。")
    if done.created:
        click.echo("新建年度分区：" + "、".join(str(y) for y in done.created)
                   + (f"（从默认分区移入 {done.moved} 条）" if done.moved else ""))
    else:
        click.echo(f"审计表已按年分区到 {year} 年，没有需要新建的分区。")
    click.echo("现有分区：" + "、".join(names))


#: The ``--township`` option of the commands that write a form: its plugin fields only.
township_fields = click.option("--township", default=None, metavar="CODE",
                               help="12位乡镇代码：只含为该乡镇启用的插件栏目（默认含全部插件栏目）")


@command("template")
@click.argument("form_id", metavar="FORM")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="要写入的 .xlsx 文件")
@township_fields
@pass_workspace
def template(ws: Workspace, form_id: str, out: Path, township: str | None) -> None:
    from jianhu.imports.casework_sheets import write_casework_template
    from jianhu.records import HANDLERS
    from jianhu.workbooks import write_template

    form = _effective_form(ws, form_id, township)
    if form.id in HANDLERS:
        columns = write_casework_template(form, out)
    else:
        write_template(form, out)
        columns = len(form.fields)
    click.echo(f"已生成「{form.title}」导入模板：{out}（{columns}列，说明见第二个工作表）")


@command("sample")
@click.option("--children", type=click.IntRange(1, 1_000_000), default=500, show_default=True,
              help="儿童人数")
@click.option("--seed", type=int, default=2016, show_default=True, help="随机种子")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="输出目录")
@pass_workspace
def sample(ws: Workspace, children: int, seed: int, out: Path) -> None:
    from jianhu.sample import write_sample

    files = write_sample(ws.host, out, children, seed)
    click.echo(f"已生成 {files.screening}（{files.children}名儿童）、{files.assessment}"
               f"（{files.assessments}份评估）、{files.people}（{files.people_count}人）和 "
               f"{files.records}（{files.records_count}份个案记录）")


@command("demo")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("jianhu-demo"), show_default=True, help="演示工作区目录")
@click.option("--children", type=click.IntRange(1, 100_000), default=2000, show_default=True)
@click.option("--seed", type=int, default=2016, show_default=True)
@pass_workspace
def demo(ws: Workspace, out: Path, children: int, seed: int) -> None:
    from jianhu.db.session import make_engine, open_session
    from jianhu.demo import run_demo
    from jianhu.followups import due_list

    run = run_demo(ws.host, out, children=children, seed=seed, actor=ws.actor)
    s, a = run.screening, run.assessment
    click.echo(f"工作区：{run.out}（数据库 {run.db_url}）")
    click.echo(f"调查表 {s.rows} 行：新增儿童 {s.created}，开立个案 {s.cases_opened}；"
               f"评估表 {a.rows} 行：评估 {a.created} 份；人员名册 {run.people.created} 人；"
               f"个案记录 {run.records.created} 份（救助方案、服务、随访、侵害报告、升级干预、结案）。")
    if run.teams is not None:
        click.echo(f"队伍 {run.teams.teams_created} 支（领导小组、村工作小组、公益社、评估小组、"
                   f"救助服务队），成员 {run.teams.members_added} 人次；培训 {run.trainings} 次"
                   "（jianhu teams list、jianhu training list --untrained）。")
    engine = make_engine(run.db_url)
    try:
        with open_session(engine) as session:
            print_level_table(session, ws.host)
            items = due_list(session, run.on)
            all_pending = due_list(session, run.on, window_days=36500)
    finally:
        engine.dispose()
    print_due(items[:12], run.on, total=len(items))
    print_next_of_each_kind(all_pending)
    click.echo(f"汇总表已写入 {run.report}")
    click.echo(f"网页界面：cd {run.out} && jianhu serve（在该目录及其下级目录运行的命令都用这个工作区），"
               "然后用浏览器打开 http://127.0.0.1:8000")
    for code, role, password in run.accounts:
        click.echo(f"  演示账号 {code}（{role}），密码 {password}"
                   "（只显示这一次；再运行 jianhu demo 会换新密码）")



def _effective_form(ws: Workspace, form_id: str, township: str | None) -> Any:
    """The form with the plugin fields of ``township`` (or of every plugin)."""
    from jianhu.errors import JianhuError
    from jianhu.forms import load_form

    if township is not None:
        from jianhu.settings import load_enablement

        if township not in ws.host.areas:
            raise JianhuError(f"「{township}」不是本县的乡镇代码")
        with ws.session() as session:
            load_enablement(session, ws.host)
    return load_form(ws.host, form_id, township)


@group("forms")
def forms() -> None:
    ...


@forms.command(name="export")
@click.argument("form_id", metavar="FORM")
@click.option("--xlsform", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="要写入的 XLSForm（.xlsx）文件")
@township_fields
@pass_workspace
def forms_export(ws: Workspace, form_id: str, out: Path, township: str | None) -> None:
    """把表单 FORM（screening 调查表，或个案上的 visit、service、incident 等）导出为 XLSForm。"""
    from jianhu import xlsform
    from jianhu.lifecycle import RECORD_FORMS

    form = _effective_form(ws, form_id, township)
    on_case = form.id in RECORD_FORMS
    xlsform.write(form, out, on_case=on_case)
    click.echo(f"已导出「{form.title}」XLSForm：{out}（{len(form.fields)}题"
               f"{'，另加个案编号' if on_case else ''}）")
