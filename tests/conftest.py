"""Shared fixtures. Tests never load plugins installed on the machine (JIANHU_LOAD_PLUGINS="")."""

from __future__ import annotations

import os

for _name in ("JIANHU_DATABASE_URL", "JIANHU_PLUGINS_DIR", "JIANHU_USER", "JIANHU_BLOCK_PLUGINS",
              "JIANHU_STRICT_PLUGINS", "JIANHU_TRACE_PLUGINS"):
    os.environ.pop(_name, None)
os.environ["JIANHU_LOAD_PLUGINS"] = ""

import pytest  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from databases import throwaway_database  # noqa: E402
from jianhu.cli import cli  # noqa: E402
from jianhu.db.session import make_engine, open_session, upgrade  # noqa: E402
from jianhu.plugins import Host  # noqa: E402
from jianhu.sample import write_sample  # noqa: E402

TEST_ENV = {"JIANHU_LOAD_PLUGINS": ""}

# Properties are checked for their values, never for speed: on a busy two-core machine generating
# examples can take more than Hypothesis's one second, which is no failure of the code.
settings.register_profile("jianhu", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("jianhu")


@pytest.fixture
def host() -> Host:
    """Plugins as a fresh install has them: the defaults only."""
    return Host.load(env=TEST_ENV)


@pytest.fixture
def db_url(tmp_path):
    """A throwaway database for this test (see :func:`databases.throwaway_database`)."""
    with throwaway_database(tmp_path) as url:
        yield url


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
