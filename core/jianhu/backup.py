"""Backups of a workspace database, and restoring them, on both backends.

SQLite: the online backup API of the ``sqlite3`` module (a consistent copy while the database is
in use); restoring copies the backup back over the live database with the same API.
PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore --clean --if-exists`` (the client tools
of the server's major version must be installed), which carry the schema, the data, the grants
and the row-level security policies.

A backup holds children's personal data, so it is always encrypted (age, X25519, through pyrage)
to the key made by :func:`keygen`, written with file mode 0600, and recorded in the audit trail.
The server that makes the nightly backup needs only the public key (``KEY.pub``); the secret key,
needed to restore, stays with county IT off the server (handbook: 儿童信息保护, backups). A
restore decrypts into a private temporary directory and checks the file before it touches the
database: a wrong key or a damaged file changes nothing.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
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


def keygen(out: str | Path) -> tuple[Path, Path]:
    """Make a backup key: the secret key in ``out`` (mode 0600, never overwritten) and the public
    key in ``out.pub``. Returns both paths.

    Raises:
        JianhuError: ``out`` exists already.
    """
    from pyrage import x25519

    out = Path(out)
    pub = out.with_name(out.name + ".pub")
    if out.exists():
        raise JianhuError(f"{out} 已存在：密钥文件不会被覆盖，请换一个文件名")
    if pub.exists():  # the server's public key: replacing it would switch backups to a new key
        raise JianhuError(f"{pub} 已存在：密钥文件不会被覆盖，请换一个文件名")
    if not out.parent.is_dir():
        raise JianhuError(f"目录不存在：{out.parent}")
    identity = x25519.Identity.generate()
    public = str(identity.to_public())
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise JianhuError(f"{out} 已存在：密钥文件不会被覆盖，请换一个文件名") from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(f"# created: {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}\n"
                 f"# public key: {public}\n{identity}\n")
    pub.write_text(public + "\n", "ascii")
    return out, pub


def _read_key(path: str | Path | None) -> tuple[object, object | None]:
    """``(recipient, identity or None)`` from a key file: a secret key (``AGE-SECRET-KEY-…``) or
    a public key only (``age1…``, enough to make backups).

    Raises:
        JianhuError: no key file given, unreadable, or holding no key.
    """
    from pyrage import x25519

    if path is None:
        raise JianhuError("备份须加密：请用 --key-file 指定密钥文件（或设置 JIANHU_BACKUP_KEY_FILE；"
                          "用 jianhu backup keygen 生成）")
    try:
        lines = [ln.strip() for ln in Path(path).read_text("ascii").splitlines()]
    except (OSError, UnicodeDecodeError):
        raise JianhuError(f"无法读取密钥文件：{path}") from None
    try:
        for line in lines:
            if line.startswith("AGE-SECRET-KEY-"):
                identity = x25519.Identity.from_str(line)
                return identity.to_public(), identity
        for line in lines:
            if line.startswith("age1"):
                return x25519.Recipient.from_str(line), None
    except Exception:  # pyrage raises its own error types for a malformed key
        pass
    raise JianhuError(f"{Path(path).name} 不是 Jianhu 备份密钥文件")


def backup(engine: Engine, out: str | Path, *, actor: str, key_file: str | Path | None) -> Path:
    """Write an encrypted backup of the database behind ``engine`` to ``out`` (mode 0600) and
    audit it.

    Raises:
        JianhuError: no usable key, unsupported backend, missing tool, or the dump failed.
    """
    from pyrage import encrypt_file

    recipient, _ = _read_key(key_file)
    out = Path(out)
    live = Path(engine.url.database) if engine.url.get_backend_name() == "sqlite" else None
    for precious in (live, Path(key_file) if key_file else None):
        if precious is not None and out.exists() and precious.exists() and \
                os.path.samefile(out, precious):
            raise JianhuError(f"{out} 是数据库或密钥文件本身，不能作为备份文件：请换一个文件名")
    out.parent.mkdir(parents=True, exist_ok=True)
    backend = engine.url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise JianhuError(f"不支持备份 {backend} 数据库")
    # Audited first, so the backup holds its own record and a restore keeps it.
    with open_session(engine) as session:
        audit.record(session, actor=actor, action="backup", entity_type="database",
                     entity_id=engine.url.database or "", after={"file": out.name})
        session.commit()
    with _private_work(), tempfile.TemporaryDirectory(prefix="jianhu-backup-") as tmp:
        plain = Path(tmp) / "plain"
        if backend == "sqlite":
            source = sqlite3.connect(engine.url.database)
            target = sqlite3.connect(plain)
            try:
                source.backup(target)
            finally:
                target.close()
                source.close()
        else:
            done = subprocess.run([_tool("pg_dump"), "--format=custom", "--file", str(plain),
                                   "--dbname", _libpq_url(engine)], capture_output=True, text=True)
            if done.returncode != 0:
                raise JianhuError(f"备份失败：{done.stderr.strip()}")
        partial = out.with_name(f".{out.name}.partial")
        try:
            encrypt_file(str(plain), str(partial), [recipient])
            os.chmod(partial, 0o600)
            os.replace(partial, out)
        finally:
            partial.unlink(missing_ok=True)
    return out


@contextmanager
def _private_work() -> Iterator[None]:
    """Files made inside are readable by their owner only (umask 077), and a termination signal
    (a stopped service, Ctrl-C) unwinds the block, so the temporary plain copy of the database
    is always deleted."""
    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    old_mask = os.umask(0o077)
    old_handler = signal.signal(signal.SIGTERM, stop) \
        if threading.current_thread() is threading.main_thread() else None
    try:
        yield
    finally:
        os.umask(old_mask)
        if old_handler is not None:
            signal.signal(signal.SIGTERM, old_handler)


def _check_sqlite_backup(source: Path, name: str) -> None:
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
        raise JianhuError(f"{name} 不是完好的 Jianhu 备份文件，当前数据库未改动")


def restore(engine: Engine, source: str | Path, *, actor: str,
            key_file: str | Path | None) -> None:
    """Replace the database behind ``engine`` with the encrypted backup ``source``, after
    decrypting it with the secret key and checking that it is an intact Jianhu backup (the live
    database is untouched otherwise).

    Raises:
        JianhuError: missing file or key, a public key only, wrong key or damaged file, an
            unsuitable file, unsupported backend, missing tool, or the restore failed
            (PostgreSQL restores in one transaction, so a failure changes nothing).
    """
    from pyrage import decrypt_file

    source = Path(source)
    if not source.is_file():
        raise JianhuError(f"找不到备份文件：{source}")
    _, identity = _read_key(key_file)
    if identity is None:
        raise JianhuError("恢复须用私钥文件（AGE-SECRET-KEY 开头），公钥文件只能用于备份")
    backend = engine.url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise JianhuError(f"不支持恢复 {backend} 数据库")
    with _private_work(), tempfile.TemporaryDirectory(prefix="jianhu-restore-") as tmp:
        plain = Path(tmp) / "plain"
        try:
            decrypt_file(str(source), str(plain), [identity])
        except Exception as exc:  # DecryptError; a file that is not age raises another pyrage error
            raise JianhuError(f"无法解密 {source.name}：密钥不对，或文件不是 Jianhu 加密备份、"
                              "已损坏；当前数据库未改动") from exc
        _restore_plain(engine, plain, source.name)
    with open_session(engine) as session:
        audit.record(session, actor=actor, action="restore", entity_type="database",
                     entity_id=engine.url.database or "", after={"file": source.name})
        session.commit()


def _restore_plain(engine: Engine, plain: Path, name: str) -> None:
    """Check the decrypted backup ``plain`` and copy it over the live database."""
    engine.dispose()
    if engine.url.get_backend_name() == "sqlite":
        _check_sqlite_backup(plain, name)
        src = sqlite3.connect(f"file:{plain}?mode=ro", uri=True)
        dst = sqlite3.connect(engine.url.database)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        return
    listed = subprocess.run([_tool("pg_restore"), "--list", str(plain)], capture_output=True,
                            text=True)
    if listed.returncode != 0 or "TABLE DATA public alembic_version" not in listed.stdout:
        raise JianhuError(f"{name} 不是 Jianhu 的 PostgreSQL 备份，当前数据库未改动")
    done = subprocess.run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner",
                           "--single-transaction", "--dbname", _libpq_url(engine),
                           str(plain)], capture_output=True, text=True)
    if done.returncode != 0:
        raise JianhuError(f"恢复失败：{done.stderr.strip()}")
