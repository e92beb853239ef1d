"""MkDocs hooks of the handbook (``docs/jianhu_hooks.py`` imports these).

- ``on_config``: adds the generated sections to the navigation, names the township in the site
  title, and gives Material's search plugin the project's jieba user dictionary (domain words such
  as 公益社 and 告诫书, so Chinese search splits them as staff write them).
- ``on_files``: adds every generated page as a virtual file.
- ``on_page_markdown``: expands the ``<!-- jianhu:... -->`` directives of hand-written chapters.

The handbook in use is the one :func:`using` set (``jianhu handbook build`` does); when MkDocs runs
on its own (``mkdocs build -f docs/mkdocs.yml``) the hooks load the plugins the environment names
(``JIANHU_PLUGINS_DIR``, ``JIANHU_LOAD_PLUGINS``…), read ``JIANHU_HANDBOOK_TOWNSHIP``, and
document the command ``docs/jianhu_hooks.py`` gives :func:`document` (the package's handbook
never imports its CLI: the CLI is the layer above it).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

import click
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

from jianhu.handbook.model import Handbook, HandbookError

_active: Handbook | None = None
_commands: click.Group | None = None


def document(commands: click.Group) -> None:
    """The ``jianhu`` root command a handbook built by MkDocs on its own documents."""
    global _commands
    _commands = commands


@contextmanager
def using(handbook: Handbook) -> Iterator[Handbook]:
    """Make ``handbook`` the one the hooks generate from, for the duration of the block."""
    global _active
    before, _active = _active, handbook
    try:
        yield handbook
    finally:
        _active = before


def current() -> Handbook:
    """The handbook in use; loads one from the environment when none was set."""
    global _active
    if _active is None:
        from jianhu.plugins import Host

        _active = Handbook(Host.load(), os.environ.get("JIANHU_HANDBOOK_TOWNSHIP") or None,
                           commands=_commands)
    return _active


def jieba_user_dict() -> str:
    """Absolute path of the packaged jieba user dictionary."""
    return str(resources.files("jianhu.handbook") / "jieba_user.txt")


@event_priority(100)  # before the search plugin loads jieba's dictionaries
def on_config(config: Any) -> Any:
    """Extend the navigation with the generated sections; set up Chinese search segmentation."""
    hb = current()
    try:
        import jieba

        jieba.setLogLevel(logging.WARNING)
    except ImportError:  # pragma: no cover - jieba is a dependency
        pass
    for name, plugin in config.plugins.items():
        if name.endswith("search") and hasattr(plugin.config, "jieba_dict_user"):
            if not plugin.config.jieba_dict_user:
                plugin.config.jieba_dict_user = jieba_user_dict()
    if hb.title:
        config.site_name = f"{config.site_name}（{hb.title}）"
    config.nav = list(config.nav or []) + hb.nav()
    return config


def on_files(files: Files, config: Any) -> Files:
    """Add the generated pages.

    Raises:
        HandbookError: a hand-written file has the path of a generated page.
    """
    hb = current()
    for page in hb.pages:
        if files.get_file_from_path(page.path) is not None:
            raise HandbookError(f"手写文件 {page.path} 与自动生成的页面同名，请改名")
        files.append(File.generated(config, page.path, content=page.markdown))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    """Expand the handbook directives of a page."""
    return current().expand(markdown, page.file.src_uri)
