"""Shared fixtures. Tests never load plugins installed on the machine (JIANHU_LOAD_PLUGINS="")."""

from __future__ import annotations

import os

for _name in ("JIANHU_DATABASE_URL", "JIANHU_PLUGINS_DIR", "JIANHU_USER", "JIANHU_BLOCK_PLUGINS",
              "JIANHU_STRICT_PLUGINS", "JIANHU_TRACE_PLUGINS"):
    os.environ.pop(_name, None)
os.environ["JIANHU_LOAD_PLUGINS"] = ""

import pytest  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from jianhu.cli import cli  # noqa: E402
from jianhu.db.session import make_engine, open_session, upgrade  # noqa: E402
from jianhu.plugins import Host  # noqa: E402
from jianhu.sample import write_sample  # noqa: E402

TEST_ENV = {"JIANHU_LOAD_PLUGINS": ""}


@pytest.fixture
def host() -> Host:
    """Plugins as a fresh install has them: the defaults only."""
    return Host.load(env=TEST_ENV)


@pytest.fixture
def db_url(tmp_path):
    """A throwaway database: a SQLite file, or, when ``JIANHU_TEST_DATABASE_URL`` names a
    PostgreSQL server, a new database on it created for this test and dropped after it."""
    server = os.environ.get("JIANHU_TEST_DATABASE_URL")
    if not server:
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"jianhu_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(server).set(database=name).render_as_string(hide_password=False)
    import gc

    gc.collect()  # engines a test left behind close their pooled connections
    # Plain DROP DATABASE (not WITH (FORCE)): the server itself stops an autovacuum worker on
    # the database, which FORCE would need superuser rights to terminate.
    import time

    from sqlalchemy.exc import OperationalError

    for attempt in range(10):
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            break
        except OperationalError:
            if attempt == 9:
                raise
            time.sleep(0.5)
    admin.dispose()


@pytest.fixture
def engine(db_url):
    """An engine on a database upgraded to the current schema."""
    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine):
    """A session on the upgraded test database."""
    with open_session(engine) as s:
        yield s


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory):
    """300 sample children (seed 7) written once for the test session."""
    out = tmp_path_factory.mktemp("sample")
    files = write_sample(Host.load(env=TEST_ENV), out, 300, 7)
    assert files.children == 300
    return out


@pytest.fixture
def run(db_url):
    """Invoke the ``jianhu`` CLI against the test database; returns click's Result."""
    runner = CliRunner()

    def invoke(*args: str, env: dict | None = None):
        return runner.invoke(cli, list(args), env={"JIANHU_DATABASE_URL": db_url, **(env or {})},
                             catch_exceptions=False)

    return invoke


def count(session, model) -> int:
    """Rows in a table."""
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def process_zone():
    """Run the test with the process in a time zone far from China (``TZ`` = Honolulu)."""
    import time

    old = os.environ.get("TZ")
    os.environ["TZ"] = "Pacific/Honolulu"
    time.tzset()
    yield
    if old is None:
        os.environ.pop("TZ")
    else:
        os.environ["TZ"] = old
    time.tzset()
