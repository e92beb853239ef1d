"""Where the database is, how to connect, and schema upgrades.

The URL comes from ``--db URL``, else ``JIANHU_DATABASE_URL``, else the file ``jianhu.db`` of the
workspace, found the way git finds a repository (:func:`locate`). SQLite runs with foreign keys on,
WAL journaling, and application transactions that take the write lock when they begin and wait up
to :data:`BUSY_TIMEOUT_MS` for it (so a dozen people on one township laptop never see "database is
locked"). Requests that only read use :func:`for_reading`: their transactions never take the write
lock, so fifty people reading pages do not queue behind each other (handbook 架构, 并发).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from jianhu.db.types import json_text
from jianhu.errors import JianhuError

#: The database file of a workspace directory.
DB_FILE = "jianhu.db"
DEFAULT_URL = f"sqlite:///{DB_FILE}"
#: How long a SQLite transaction waits for another one's write lock before giving up.
BUSY_TIMEOUT_MS = 30_000
#: Settings of every PostgreSQL connection. No JIT compilation: the subqueries of the row-level
#: security policies (:mod:`jianhu.db.rls`) make the planner's estimates large enough to compile
#: queries that then run in milliseconds, and compiling took 0.4 s of a 0.45 s query
#: (``benchmarks/province.py``; handbook 部署运行手册 §8).
POSTGRESQL_OPTIONS = "-c jit=off"
#: How much of a SQLite file is read through memory mapping.
MMAP_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Location:
    """Where the database is and how it was found.

    Attributes:
        url: the database URL.
        how: ``"explicit"`` (``--db``), ``"env"`` (``JIANHU_DATABASE_URL``), ``"home"``
            (``JIANHU_HOME``), ``"here"`` (``jianhu.db`` in the current directory), ``"above"``
            (in a directory above it) or ``"missing"`` (none found: the current directory's
            ``jianhu.db``, which only ``jianhu db upgrade`` or ``jianhu demo`` creates).
    """

    url: str
    how: str


def locate(explicit: str | None = None, env: Mapping[str, str] | None = None,
           cwd: str | Path | None = None) -> Location:
    """Find the database: ``explicit``, else ``JIANHU_DATABASE_URL``, else ``JIANHU_HOME/jianhu.db``,
    else the first ``jianhu.db`` in the current directory or a directory above it (as git looks
    for a repository), else ``jianhu.db`` here (reported as ``"missing"``)."""
    env = os.environ if env is None else env
    if explicit:
        return Location(explicit, "explicit")
    if env.get("JIANHU_DATABASE_URL"):
        return Location(env["JIANHU_DATABASE_URL"], "env")
    if env.get("JIANHU_HOME"):
        return Location(f"sqlite:///{Path(env['JIANHU_HOME']).expanduser().resolve() / DB_FILE}",
                        "home")
    here = Path(cwd or os.getcwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / DB_FILE).is_file():
            if directory == here:
                return Location(DEFAULT_URL, "here")
            return Location(f"sqlite:///{directory / DB_FILE}", "above")
    return Location(DEFAULT_URL, "missing")


def resolve_url(explicit: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """Return the database URL :func:`locate` finds."""
    return locate(explicit, env).url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin, so that reads and
    # SAVEPOINTs are inside the transaction (SQLAlchemy 2 docs, "Serializable isolation /
    # Savepoints / Transactional DDL" for pysqlite).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    # Read the file through memory mapping (one copy in the OS page cache, shared by every
    # connection, instead of each connection's 2 MB cache re-reading pages) and sort in memory:
    # the due list of a township at a million tasks takes about half the time (benchmarks/due_list.py).
    cursor.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


class Busy(JianhuError):
    """The database stayed busy with other people's saves for :data:`BUSY_TIMEOUT_MS`: nothing
    was written; try again (the web answers 503)."""

    MESSAGE = "系统正忙（其他人正在保存），这次操作没有保存任何内容：请稍等几秒再试一次"

    def __init__(self, message: str = MESSAGE):
        super().__init__(message)


#: One lock per SQLite file in this process: the writers of one server wait on it, blocked,
#: instead of SQLite's busy handler polling for the file lock (where, with dozens waiting, a
#: newcomer can overtake someone who has waited for half a minute). A plain lock, not a
#: re-entrant one: the web server may begin a transaction on one thread and end it on another.
_WRITE_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()
_HOLDS = "jianhu_write_lock"


def _write_lock(database: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(os.path.abspath(database), threading.Lock())


def _sqlite_begin(conn: Any) -> None:
    # The application's sessions (web requests, commands) begin IMMEDIATE: they take the write
    # lock at the start. Almost all of them write (a sign-in, a record); a deferred transaction
    # that has read and then writes fails at once with "database is locked" when another writer
    # got in between (no busy wait can help it), while an immediate one waits its turn, first on
    # this process's lock of the file, then (another process) on busy_timeout. Pages that only
    # read use for_reading and begin deferred; so do other sessions (reports of a test, a
    # migration).
    if not conn.get_execution_options().get("jianhu_immediate", False):
        conn.exec_driver_sql("BEGIN")
        return
    lock = _write_lock(conn.engine.url.database)
    if not lock.acquire(timeout=BUSY_TIMEOUT_MS / 1000):
        raise Busy()
    conn.info[_HOLDS] = lock
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        _release(conn)
        raise


def _release(conn: Any, *_: Any) -> None:
    # on the Connection's commit or rollback (the event runs just before the COMMIT itself: the
    # next writer's BEGIN IMMEDIATE waits that moment out on busy_timeout)
    _unlock(conn.info)


def _release_on_checkin(_dbapi_connection: Any, record: Any) -> None:
    # a connection returned to the pool without commit or rollback through the Connection
    _unlock(record.info)


def _unlock(info: dict[str, Any]) -> None:
    lock = info.pop(_HOLDS, None)  # the same dict as the Connection's .info
    if lock is not None:
        lock.release()


def for_writing(engine: Engine) -> Engine:
    """``engine`` for the application's sessions: on SQLite their transactions take the write
    lock when they begin (see :func:`_sqlite_begin`); elsewhere the same engine."""
    return engine.execution_options(jianhu_immediate=True)


#: A SQLite file's connections are cheap, and a web request may hold two (its reading session
#: and, for a moment, its audit entry's): the pool never makes a request wait (the server's
#: threads bound how many there are).
_SQLITE_POOL = {"pool_size": 10, "max_overflow": -1}


def _sqlite_query_only(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.cursor().execute("PRAGMA query_only=ON")


def for_reading(engine: Engine) -> Engine:
    """An engine for requests that only read (a web page or API ``GET``).

    On a SQLite file: a second engine on the same file whose connections begin deferred (a WAL
    reader never waits for a writer, nor a writer for it) and refuse every write (``PRAGMA
    query_only``), so a page that tried to write would fail loudly in the tests instead of
    taking the write lock in the middle of a read. The audit rows of its identified reads are
    written by :func:`jianhu.audit.defer` in a short transaction of their own. Elsewhere (and
    for an in-memory SQLite database, which a second engine could not see) the engine itself:
    PostgreSQL readers never block writers.
    """
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return engine
    reader = create_engine(engine.url, hide_parameters=True, json_serializer=json_text,
                           **_SQLITE_POOL)
    event.listen(reader, "connect", _sqlite_pragmas)
    event.listen(reader, "connect", _sqlite_query_only)
    event.listen(reader, "begin", _sqlite_begin)
    return reader


def make_engine(url: str) -> Engine:
    """Create an engine for ``url`` (SQLite gets its pragmas on every connection).

    SQL parameters are never shown in errors or logs (``hide_parameters``): they hold children's
    names, citizen IDs and incident narratives (个人信息保护法 Art 51).

    Raises:
        JianhuError: the URL cannot be parsed.
    """
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise JianhuError(f"数据库地址无法识别：{exc}") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise JianhuError(f"不支持数据库「{parsed.get_backend_name()}」：请用 sqlite:///文件路径 或 "
                          "postgresql+psycopg://用户:密码@主机:5432/库名")
    sqlite_file = parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")
    options: dict[str, Any] = dict(_SQLITE_POOL) if sqlite_file else {}
    if parsed.get_backend_name() == "postgresql" and "options" not in parsed.query:
        options["connect_args"] = {"options": POSTGRESQL_OPTIONS}
    try:
        engine = create_engine(parsed, hide_parameters=True, json_serializer=json_text, **options)
    except (ImportError, NoSuchModuleError) as exc:
        raise JianhuError(f"数据库地址的驱动不可用（{parsed.drivername}）：PostgreSQL 请写作 "
                          "postgresql+psycopg://…") from exc
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        event.listen(engine, "commit", _release)
        event.listen(engine, "rollback", _release)
        event.listen(engine, "checkin", _release_on_checkin)
    return engine


def alembic_config(engine: Engine) -> Config:
    """Alembic configuration pointing at the migrations shipped in the package."""
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("jianhu.db") / "migrations"))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision(engine: Engine) -> str | None:
    """Return the newest migration revision shipped with this version."""
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """Return the database's migration revision, or ``None`` for an empty database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str | None]:
    """Upgrade the database to the newest schema; returns ``(revision before, revision after)``."""
    before = current_revision(engine)
    command.upgrade(alembic_config(engine), "head")
    return before, current_revision(engine)


@contextmanager
def unit_of_work(session: Session, *, keep: bool = True) -> Iterator[Session]:
    """One unit of work on ``session``: committed when the block ends (rolled back instead when
    ``keep`` is false, a dry run), rolled back whole if anything in it raises — an error, a
    refused rule, Ctrl-C — so a failure leaves the database as it was."""
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    if keep:
        session.commit()
    else:
        session.rollback()


def open_session(engine: Engine, *, writing: bool = False) -> Session:
    """Return a new session after checking that the schema is current; ``writing``: a session
    of the application (:func:`for_writing`).

    Raises:
        JianhuError: the database is empty or on an older schema (run ``jianhu db upgrade``).
    """
    current, head = current_revision(engine), head_revision(engine)
    if current != head:
        if current is None:
            raise JianhuError(f"数据库尚未初始化：请先运行 jianhu db upgrade（{engine.url!r}）")
        raise JianhuError(f"数据库结构版本为 {current}，需要 {head}：请先运行 jianhu db upgrade")
    return sessionmaker(for_writing(engine) if writing else engine, expire_on_commit=False)()
