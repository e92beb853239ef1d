"""Building and serving the handbook site with MkDocs (``jianhu handbook build|serve``).

The hand-written chapters and ``mkdocs.yml`` live in ``docs/`` of the source tree and are shipped
inside the wheel as ``jianhu/handbook/docs``, so an installed package builds the handbook with no
checkout. MkDocs runs in this process; the hooks of :mod:`jianhu.handbook.mkdocs_hooks` add the
generated pages from the :class:`~jianhu.handbook.model.Handbook` set with
:func:`~jianhu.handbook.mkdocs_hooks.using`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jianhu.handbook.model import Handbook, HandbookError

#: File written into a built site so a later build may clean the directory (and nothing else).
MARKER = ".jianhu-handbook"


def config_file(path: str | os.PathLike[str] | None = None) -> Path:
    """The ``mkdocs.yml`` to build from: ``path`` when given, else the packaged copy, else the
    source tree's ``docs/mkdocs.yml`` (a checkout run without installing).

    Raises:
        HandbookError: the file does not exist.
    """
    if path is not None:
        p = Path(path)
        if p.is_dir():
            p = p / "mkdocs.yml"
        if not p.is_file():
            raise HandbookError(f"找不到手册配置文件 {p}")
        return p.resolve()
    here = Path(__file__).resolve().parent
    for candidate in (here / "docs" / "mkdocs.yml", here.parents[2] / "docs" / "mkdocs.yml"):
        if candidate.is_file():
            return candidate
    raise HandbookError("找不到手册源文件 mkdocs.yml（安装包不完整？请重新安装 jianhu）")


def load_config(path: Path, **overrides: Any) -> Any:
    """Load and validate an MkDocs configuration (``strict`` forced on).

    Raises:
        HandbookError: the configuration is invalid (MkDocs's message).
    """
    from mkdocs.config import load_config as mk_load
    from mkdocs.exceptions import ConfigurationError

    try:
        return mk_load(str(path), strict=True, **overrides)
    except ConfigurationError as exc:
        raise HandbookError(f"手册配置 {path} 有误：{exc}") from None


def _check_out_dir(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise HandbookError(f"{out} 已存在且不是目录")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise HandbookError(f"目录 {out} 不是空的，也不是以前生成的手册；为免误删，请换一个目录")


@dataclass(frozen=True)
class SiteBuild:
    """What :func:`build_site` made.

    Attributes:
        out: the site directory.
        pages: pages in the site (hand-written and generated).
        generated: of those, pages generated from the running system.
        title: the site's title.
    """

    out: Path
    pages: int
    generated: int
    title: str


def build_site(hb: Handbook, out: str | os.PathLike[str],
               config: str | os.PathLike[str] | None = None) -> SiteBuild:
    """Build handbook ``hb`` as a site in directory ``out`` with MkDocs in strict mode.

    Args:
        hb: the handbook (plugins, township, teams and the ``jianhu`` command it documents).
        out: the site directory; created if missing. A non-empty directory that is not an earlier
            handbook build is refused (MkDocs empties the directory it builds into).
        config: another ``mkdocs.yml`` (e.g. a checkout's ``docs/`` while editing chapters).

    Returns:
        a :class:`SiteBuild`.

    Raises:
        HandbookError: a non-empty foreign directory, or the build failed (a
            broken link or any other MkDocs warning fails it, as ``strict: true`` says).
    """
    from mkdocs.commands.build import build
    from mkdocs.exceptions import MkDocsException

    from jianhu.handbook.mkdocs_hooks import using

    out = Path(out).resolve()
    _check_out_dir(out)
    path = config_file(config)
    with using(hb):
        cfg = load_config(path, site_dir=str(out))
        if out == Path(cfg.docs_dir).resolve() or Path(cfg.docs_dir).resolve() in out.parents:
            raise HandbookError("输出目录不能在手册源目录里")
        cfg.plugins.on_startup(command="build", dirty=False)
        try:
            build(cfg)
        except MkDocsException as exc:
            raise HandbookError(f"操作手册生成失败：{exc}") from None
        finally:
            cfg.plugins.on_shutdown()
    (out / MARKER).write_text("jianhu handbook build\n", encoding="utf-8")
    pages = sum(1 for _ in out.rglob("*.html")) - (1 if (out / "404.html").exists() else 0)
    return SiteBuild(out, pages, len(hb.pages), cfg.site_name)


def serve_site(hb: Handbook, port: int = 8000,
               config: str | os.PathLike[str] | None = None) -> None:
    """Serve handbook ``hb`` on ``http://127.0.0.1:PORT/`` with live reload until interrupted.

    Raises:
        HandbookError: the configuration is invalid.
    """
    from mkdocs.commands.serve import serve
    from mkdocs.exceptions import MkDocsException

    from jianhu.handbook.mkdocs_hooks import using

    path = config_file(config)
    with using(hb):
        try:
            serve(config_file=str(path), dev_addr=f"127.0.0.1:{port}", livereload=True,
                  strict=False)  # a preview shows warnings instead of stopping at the first
        except MkDocsException as exc:
            raise HandbookError(f"操作手册预览失败：{exc}") from None
