"""Pytest fixtures for plugin authors, installed with Jianhu (``pytest11`` entry point ``jianhu``).

Fixtures:

- ``jianhu_host``: the plugin host with the core defaults only (installed plugins are not
  loaded, so a test never depends on what the machine has);
- ``jianhu_register``: ``jianhu_register(plugin, ...)`` returns a host with the given plugin
  objects (modules or instances) registered for this test only;
- ``jianhu_workspace``: a throwaway SQLite workspace upgraded to the current schema, with
  ``.url``, ``.engine`` and ``.session()``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from jianhu.db.session import make_engine, open_session, upgrade
from jianhu.plugins import Host

NO_INSTALLED_PLUGINS = {"JIANHU_LOAD_PLUGINS": ""}


class Workspace:
    """A throwaway workspace database (see the ``jianhu_workspace`` fixture)."""

    def __init__(self, path: Path):
        self.url = f"sqlite:///{path}"
        self.engine: Engine = make_engine(self.url)
        upgrade(self.engine)

    def session(self) -> Session:
        """A new session on the workspace."""
        return open_session(self.engine)


@pytest.fixture
def jianhu_host() -> Host:
    """The core defaults only, no installed plugins."""
    return Host.load(env=NO_INSTALLED_PLUGINS)


@pytest.fixture
def jianhu_register() -> Callable[..., Host]:
    """Return ``register(*plugins) -> Host``: the defaults plus these plugin objects."""

    def register(*plugins: object) -> Host:
        extra = [(getattr(p, "__name__", type(p).__name__), p) for p in plugins]
        return Host.load(env=NO_INSTALLED_PLUGINS, extra=extra)

    return register


@pytest.fixture
def jianhu_workspace(tmp_path: Path) -> Iterator[Workspace]:
    """A fresh SQLite workspace in ``tmp_path`` at the current schema."""
    ws = Workspace(tmp_path / "jianhu-test.db")
    yield ws
    ws.engine.dispose()
