"""Throwaway databases for tests: a SQLite file, or a new database on the PostgreSQL server named
by ``JIANHU_TEST_DATABASE_URL``, dropped afterwards."""

from __future__ import annotations

import gc
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError


@contextmanager
def throwaway_database(tmp: Path, prefix: str = "jianhu_test") -> Iterator[str]:
    """Yield the URL of an empty database that exists only inside the ``with`` block."""
    server = os.environ.get("JIANHU_TEST_DATABASE_URL")
    if not server:
        yield f"sqlite:///{tmp / 'test.db'}"
        return
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        gc.collect()  # engines a test left behind close their pooled connections
        # Plain DROP DATABASE (not WITH (FORCE)): the server itself stops an autovacuum worker
        # on the database, which FORCE would need superuser rights to terminate.
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


def psql_as(db_url: str, role: str, sql: str) -> subprocess.CompletedProcess:
    """Run ``sql`` with the ``psql`` client after ``SET ROLE role``, as a hostile connection
    would (unaligned, tuples only); returns the finished process (stdout, stderr, returncode)."""
    url = make_url(db_url)
    return subprocess.run(["psql", "-h", url.host, "-U", url.username, "-d", url.database, "-At",
                           "-c", f"SET ROLE {role}; {sql}"], capture_output=True, text=True,
                          env={"PGPASSWORD": url.password, "PATH": "/usr/bin:/bin"})
