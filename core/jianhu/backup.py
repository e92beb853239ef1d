"""Backups of a workspace database, and restoring them, on both backends.

SQLite: the online backup API of the ``sqlite3`` module (a consistent copy while the database is
in use); restoring copies the backup back over the live database with the same API.
PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore --clean --if-exists`` (the client tools
of the server's major version must be installed), which carry the schema, the data, the grants
and the row-level security policies.

A backup holds children's personal data: it is recorded in the audit trail as an export.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from jianhu import audit
from jianhu.db.session import open_session
from jianhu.errors import JianhuError


def _libpq_url(engine: Engine) -> str:
    url = make_url(engine.url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise JianhuError(f"找不到 {name}：请安装 PostgreSQL 客户端工具（Debian 软件包 postgresql-client）")
    return path


def backup(engine: Engine, out: str | Path, *, actor: str) -> Path:
    """Write a backup of the database behind ``engine`` to ``out`` and audit it.

    Raises:
        JianhuError: unsupported backend, missing tool, or the dump failed.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    backend = engine.url.get_backend_name()
    # Audited first, so the backup holds its own record and a restore keeps it.
    with open_session(engine) as session:
        audit.record(session, actor=actor, action="backup", entity_type="database",
                     entity_id=engine.url.database or "", after={"file": out.name})
        session.commit()
    if backend == "sqlite":
        source = sqlite3.connect(engine.url.database)
        target = sqlite3.connect(out)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
    elif backend == "postgresql":
        done = subprocess.run([_tool("pg_dump"), "--format=custom", "--file", str(out),
                               "--dbname", _libpq_url(engine)], capture_output=True, text=True)
        if done.returncode != 0:
            raise JianhuError(f"备份失败：{done.stderr.strip()}")
    else:
        raise JianhuError(f"不支持备份 {backend} 数据库")
    return out


def _check_sqlite_backup(source: Path) -> None:
    """Refuse a file that is not an intact Jianhu SQLite backup, before anything is overwritten.

    Raises:
        JianhuError: not a SQLite database, damaged, or without the Jianhu schema.
    """
    try:
        conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            ok = conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            version = conn.execute("SELECT version_num FROM alembic_version").fetchone() \
                if "alembic_version" in tables else None
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        ok, tables, version = False, set(), None
    if not ok or version is None or not {"children", "cases", "audit_events"} <= tables:
        raise JianhuError(f"{source.name} 不是完好的 Jianhu 备份文件，当前数据库未改动")


def restore(engine: Engine, source: str | Path, *, actor: str) -> None:
    """Replace the database behind ``engine`` with the backup ``source``, after checking that
    the file is an intact Jianhu backup (the live database is untouched otherwise).

    Raises:
        JianhuError: missing or unsuitable file, unsupported backend, missing tool, or the restore
            failed (PostgreSQL restores in one transaction, so a failure changes nothing).
    """
    source = Path(source)
    if not source.is_file():
        raise JianhuError(f"找不到备份文件：{source}")
    backend = engine.url.get_backend_name()
    engine.dispose()
    if backend == "sqlite":
        _check_sqlite_backup(source)
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dst = sqlite3.connect(engine.url.database)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
    elif backend == "postgresql":
        listed = subprocess.run([_tool("pg_restore"), "--list", str(source)], capture_output=True,
                                text=True)
        if listed.returncode != 0 or "TABLE DATA public alembic_version" not in listed.stdout:
            raise JianhuError(f"{source.name} 不是 Jianhu 的 PostgreSQL 备份，当前数据库未改动")
        done = subprocess.run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner",
                               "--single-transaction", "--dbname", _libpq_url(engine),
                               str(source)], capture_output=True, text=True)
        if done.returncode != 0:
            raise JianhuError(f"恢复失败：{done.stderr.strip()}")
    else:
        raise JianhuError(f"不支持恢复 {backend} 数据库")
    with open_session(engine) as session:
        audit.record(session, actor=actor, action="restore", entity_type="database",
                     entity_id=engine.url.database or "", after={"file": source.name})
        session.commit()
