"""``jianhu handbook build|serve|pdf``: the operational handbook (操作手册) of the workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from jianhu.cli.root import Workspace, group, pass_workspace

_township = click.option("--township", metavar="CODE",
                         help="只为该乡镇生成（12位统计用区划代码，也可写乡镇名称）；默认全部乡镇")
_config = click.option("--config", "config", type=click.Path(exists=True, path_type=Path),
                       help="改用另一份 mkdocs.yml（编辑手写章节时指向源代码的 docs/）")


def workspace_handbook(ws: Workspace, township: str | None) -> Any:
    """The workspace's :class:`~jianhu.handbook.model.Handbook` for ``township``: its plugins, its
    teams, and the running ``jianhu`` command for the CLI reference."""
    from jianhu.handbook.model import Handbook

    return Handbook(ws.host, township, workspace_teams(ws, township),
                    commands=click.get_current_context().find_root().command)


def workspace_teams(ws: Workspace, township: str | None) -> list[Any] | None:
    """The workspace's teams for the handbook's 队伍与培训 chapter (:func:`jianhu.teams.listing`,
    in the acting person's scope), or ``None`` when there is no database to read (a handbook
    built away from any workspace, as in the source tree) or the person may not list teams."""
    from jianhu.errors import JianhuError

    try:
        from sqlalchemy.exc import SQLAlchemyError

        from jianhu.cases import resolve_township
        from jianhu.teams import listing

        with ws.session() as session:
            actor = ws.acting(session)
            if not actor.can("teams:list"):
                return None
            _, scope = ws.scoped(session)
            return listing(session, scope, resolve_township(session, township) if township else None)
    except (JianhuError, SQLAlchemyError):
        return None


@group("handbook")
def handbook() -> None:
    ...


@handbook.command(name="build")
@_township
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="网站输出目录（须为空目录或以前生成的手册）")
@_config
@pass_workspace
def handbook_build(ws: Workspace, township: str | None, out: Path, config: Path | None) -> None:
    """生成操作手册网站（MkDocs，严格模式）：手写章节加上从系统生成的参考资料。"""
    from jianhu.handbook.site import build_site

    site = build_site(workspace_handbook(ws, township), out, config=config)
    click.echo(f"已生成操作手册「{site.title}」：{site.out}（{site.pages}页，其中"
               f"{site.generated}页由系统生成）。用浏览器打开 {site.out / 'index.html'}")


@handbook.command(name="serve")
@_township
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True,
              help="本机端口（只在 127.0.0.1 上提供）")
@_config
@pass_workspace
def handbook_serve(ws: Workspace, township: str | None, port: int, config: Path | None) -> None:
    """在本机预览操作手册（培训师用），修改手写章节后自动刷新；按 Ctrl+C 停止。"""
    from jianhu.handbook.site import serve_site

    hb = workspace_handbook(ws, township)
    click.echo(f"预览地址：http://127.0.0.1:{port}/（按 Ctrl+C 停止）")
    serve_site(hb, port=port, config=config)


@handbook.command(name="pdf")
@_township
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="要写入的 PDF 文件")
@_config
@pass_workspace
def handbook_pdf(ws: Workspace, township: str | None, out: Path, config: Path | None) -> None:
    """生成可打印的操作手册 PDF（A4，含封面和目录）。"""
    from jianhu.handbook.pdf import build_pdf

    built = build_pdf(workspace_handbook(ws, township), out, config=config)
    click.echo(f"已生成「{built.title}」PDF：{built.path}（{built.pages}个章节和页面）")
