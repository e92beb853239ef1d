"""County deployment commands: ``deploy check|apply|render``, ``backup``, ``restore``."""

from __future__ import annotations

from pathlib import Path

import click

from jianhu.cli.root import Workspace, command, group, pass_workspace


@group("deploy")
def deploy() -> None:
    ...


@deploy.command(name="check")
@click.argument("manifest", type=click.Path(path_type=Path))
@pass_workspace
def deploy_check(ws: Workspace, manifest: Path) -> None:
    """校验部署清单 MANIFEST（TOML）；有错时逐条指出所在的键。"""
    from jianhu.deploy.manifest import check

    m = check(manifest, ws.host)
    users = len(m.get("users", []))
    click.echo(f"部署清单无误：{m['county']['name']}，{len(m['townships'])}个乡镇，{users}个用户。")


@deploy.command(name="apply")
@click.argument("manifest", type=click.Path(path_type=Path))
@pass_workspace
def deploy_apply(ws: Workspace, manifest: Path) -> None:
    """应用部署清单：建立或升级数据库，登记乡镇、村和用户，启用插件（可重复执行）。"""
    from jianhu.db.session import make_engine
    from jianhu.deploy.apply import apply
    from jianhu.deploy.manifest import check, database_url

    m = check(manifest, ws.host)
    engine = make_engine(ws.db_url or database_url(m))
    try:
        result = apply(engine, ws.host, m)
    finally:
        engine.dispose()
    if not result.changes:
        click.echo("没有变化：数据库已与部署清单一致。")
        return
    click.echo(f"已应用部署清单（{len(result.changes)}项变化）：")
    for line in result.changes:
        click.echo(f"  {line}")
    if result.passwords:
        click.echo("新用户的初始密码（只显示这一次，请当面交给本人并要求首次登录后修改）：")
        for code, password in result.passwords:
            click.echo(f"  {code}\t{password}")


@deploy.command(name="render")
@click.argument("manifest", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@pass_workspace
def deploy_render(ws: Workspace, manifest: Path, out: Path) -> None:
    """生成服务器配置：systemd 服务与定时备份、nginx 站点、各乡镇操作手册生成清单。"""
    from jianhu.deploy.manifest import check
    from jianhu.deploy.render import render

    for path in render(check(manifest, ws.host), out):
        click.echo(f"  {path}")


KEY_FILE = click.option(
    "--key-file", type=click.Path(dir_okay=False, path_type=Path), envvar="JIANHU_BACKUP_KEY_FILE",
    help="密钥文件（也可用 JIANHU_BACKUP_KEY_FILE）：备份可用公钥文件 KEY.pub，恢复须用私钥文件")


@group("backup", invoke_without_command=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="备份文件")
@KEY_FILE
@click.pass_context
def backup(ctx: click.Context, out: Path | None, key_file: Path | None) -> None:
    if ctx.invoked_subcommand is not None:
        return
    from jianhu.backup import backup as do_backup
    from jianhu.errors import JianhuError

    if out is None:
        raise JianhuError("请用 --out 指定备份文件")
    ws = ctx.find_object(Workspace)
    with ws.session() as session:
        ws.acting(session).require("backup")
    do_backup(ws.engine, out, actor=ws.actor, key_file=key_file)
    click.echo(f"已加密备份：{out}")


@backup.command(name="keygen")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="私钥文件（同时生成公钥文件 OUT.pub）")
def backup_keygen(out: Path) -> None:
    """生成备份密钥：私钥 OUT（权限 0600，县级 IT 离线保管，恢复时用）和公钥 OUT.pub（服务器备份用）。"""
    from jianhu.backup import keygen

    secret, public = keygen(out)
    click.echo(f"已生成私钥：{secret}（请离线保管，丢失后备份无法恢复）")
    click.echo(f"已生成公钥：{public}（服务器上设置 JIANHU_BACKUP_KEY_FILE={public}）")


@command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@KEY_FILE
@click.option("--yes", is_flag=True, help="确认用备份覆盖当前数据库")
@pass_workspace
def restore(ws: Workspace, file: Path, key_file: Path | None, yes: bool) -> None:
    from jianhu.backup import restore as do_restore
    from jianhu.errors import JianhuError

    if not yes:
        raise JianhuError("恢复会覆盖当前数据库的全部内容：确认无误请加 --yes")
    with ws.session() as session:
        ws.acting(session).require("backup")
    do_restore(ws.engine, file, actor=ws.actor, key_file=key_file)
    click.echo(f"已从 {file} 恢复数据库。")
