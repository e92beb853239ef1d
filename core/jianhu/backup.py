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

Inside the encryption a backup is a tar archive of two members: ``manifest.json`` (format and its
version, backend, schema revision, every table's row count, the SHA-256 of the database member)
and ``database`` (the SQLite file or the ``pg_dump`` archive). A restore checks all of it before
it touches the live database: the checksum, the backend, the schema revision (an SQLite backup of
an older schema is upgraded in its temporary copy first; PostgreSQL refuses it), and the row
counts. Refusals and restores are both audited (deploy/RUNBOOK.md, 5. 备份与恢复).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import tarfile
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Connection, make_url

from jianhu import audit
from jianhu.db.session import head_revision, make_engine, open_session, upgrade
from jianhu.errors import JianhuError

FORMAT, FORMAT_VERSION = "jianhu-backup", 2
MANIFEST, DATABASE = "manifest.json", "database"


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
        db, archive = Path(tmp) / DATABASE, Path(tmp) / "plain.tar"
        if backend == "sqlite":
            source = sqlite3.connect(engine.url.database)
            target = sqlite3.connect(db)
            try:
                source.backup(target)
            finally:
                target.close()
                source.close()
            counts, revision = _sqlite_contents(db)
        else:
            counts, revision = _pg_dump(engine, db)
        manifest = {"format": FORMAT, "version": FORMAT_VERSION, "backend": backend,
                    "schema_revision": revision, "tables": counts, "sha256": _sha256(db),
                    "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        with tarfile.open(archive, "w") as tar:
            data = json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode = len(data), 0o600
            tar.addfile(info, io.BytesIO(data))
            tar.add(db, arcname=DATABASE)
        partial = out.with_name(f".{out.name}.partial")
        try:
            encrypt_file(str(archive), str(partial), [recipient])
            os.chmod(partial, 0o600)
            os.replace(partial, out)
        finally:
            partial.unlink(missing_ok=True)
    return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sqlite_contents(path: Path) -> tuple[dict[str, int], str | None]:
    """Row count of every table and the schema revision of an SQLite file."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name")]
        counts = {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone() \
            if "alembic_version" in names else None
    finally:
        conn.close()
    return counts, row[0] if row else None


def _pg_contents(conn: Connection) -> tuple[dict[str, int], str | None]:
    """Row count of every table of the ``public`` schema and the schema revision, read in the
    connection's transaction (row-level security off: the owner counts every township)."""
    conn.exec_driver_sql("SET LOCAL row_security = off")
    names = list(conn.exec_driver_sql(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename").scalars())
    counts = {n: conn.exec_driver_sql(f'SELECT count(*) FROM public."{n}"').scalar_one()
              for n in names}
    revision = conn.exec_driver_sql("SELECT version_num FROM public.alembic_version").scalar() \
        if "alembic_version" in names else None
    return counts, revision


def _pg_dump(engine: Engine, out: Path) -> tuple[dict[str, int], str | None]:
    """``pg_dump`` the database to ``out`` in the snapshot the counts were read in (so the
    manifest describes exactly the dump)."""
    with engine.connect().execution_options(isolation_level="REPEATABLE READ",
                                            postgresql_readonly=True) as conn, conn.begin():
        snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
        counts, revision = _pg_contents(conn)
        _run([_tool("pg_dump"), "--format=custom", f"--snapshot={snapshot}", "--file", str(out),
              "--dbname", _libpq_url(engine)], "备份失败")
    return counts, revision


def _run(args: list[str], failure: str) -> None:
    """Run a client tool; a termination of this process (SIGTERM, Ctrl-C) stops it too, so no
    tool goes on working unwatched.

    Raises:
        JianhuError: ``failure`` with the tool's message when it fails.
    """
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _, err = proc.communicate()
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    if proc.returncode != 0:
        raise JianhuError(f"{failure}：{err.strip()}")


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
    decrypting it with the secret key and checking it whole (:func:`verify`); the live database
    is untouched otherwise. The restore, or its refusal with the reason, is audited.

    Raises:
        JianhuError: missing file or key, a public key only, wrong key or damaged file, an
            unsuitable file (another backend, a newer schema, an older one on PostgreSQL,
            counts or checksum that do not match), missing tool, or the restore failed
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
    manifest: dict[str, Any] | None = None
    try:
        with _private_work(), tempfile.TemporaryDirectory(prefix="jianhu-restore-") as tmp:
            plain = Path(tmp) / "plain"
            try:
                decrypt_file(str(source), str(plain), [identity])
            except Exception as exc:  # DecryptError; a file not of age raises another pyrage error
                raise JianhuError(f"无法解密 {source.name}：密钥不对，或文件不是 Jianhu 加密备份、"
                                  "已损坏；当前数据库未改动") from exc
            db, manifest = verify(engine, plain, Path(tmp), source.name)
            _replace(engine, db, manifest, source.name)
    except JianhuError as exc:
        _audit(engine, actor, "restore_refused", {"file": source.name, "reason": str(exc)})
        raise
    _audit(engine, actor, "restore", {"file": source.name, "schema_revision": (
        manifest or {}).get("schema_revision"), "rows": sum((manifest or {}).get(
            "tables", {}).values())})


def _audit(engine: Engine, actor: str, action: str, after: dict[str, Any]) -> None:
    """Record a restore or its refusal in the live database (skipped when that database is not
    on the current schema: nothing would read the event)."""
    try:
        with open_session(engine) as session:
            audit.record(session, actor=actor, action=action, entity_type="database",
                         entity_id=engine.url.database or "", after=after)
            session.commit()
    except JianhuError:
        pass


def verify(engine: Engine, plain: Path, tmp: Path, name: str) -> tuple[Path, dict[str, Any] | None]:
    """Check a decrypted backup against its manifest and the live system; return the database
    file to restore (an SQLite copy upgraded to this version's schema when it was older) and the
    manifest (``None`` for a backup made before manifests, checked as a bare database).

    Raises:
        JianhuError: (Chinese, ending 当前数据库未改动) a damaged archive or member, a checksum or
            row count that does not match, another backend, a newer schema, or an older one on
            PostgreSQL.
    """
    untouched = "，当前数据库未改动"
    if not tarfile.is_tarfile(plain):  # a backup of the first format: the bare database
        if engine.url.get_backend_name() == "sqlite":
            _check_sqlite_backup(plain, name)
            if _sqlite_contents(plain)[1] != head_revision(engine):
                raise JianhuError(f"{name} 是旧格式备份，数据库结构版本与本系统不同{untouched}")
        return plain, None
    with tarfile.open(plain) as tar:
        members = {m.name: m for m in tar.getmembers()}
        if set(members) != {MANIFEST, DATABASE} or not all(m.isfile() for m in members.values()):
            raise JianhuError(f"{name} 的内容不是 Jianhu 备份{untouched}")
        try:
            manifest = json.loads(tar.extractfile(members[MANIFEST]).read())  # type: ignore[union-attr]
        except ValueError:
            raise JianhuError(f"{name} 的备份清单无法读取{untouched}") from None
        db = tmp / DATABASE
        with tar.extractfile(members[DATABASE]) as src, db.open("wb") as dst:  # type: ignore[union-attr]
            shutil.copyfileobj(src, dst)
    if manifest.get("format") != FORMAT or manifest.get("version") != FORMAT_VERSION:
        raise JianhuError(f"{name} 的备份格式（{manifest.get('version')}）本系统不能读取{untouched}")
    if _sha256(db) != manifest.get("sha256"):
        raise JianhuError(f"{name} 的内容校验不符（文件已损坏或被改动）{untouched}")
    backend = engine.url.get_backend_name()
    if manifest.get("backend") != backend:
        raise JianhuError(f"{name} 是 {manifest.get('backend')} 数据库的备份，不能恢复到 {backend}"
                          f"{untouched}")
    revision, head = manifest.get("schema_revision"), head_revision(engine)
    if revision != head:
        if revision not in _revisions(engine):
            raise JianhuError(f"{name} 来自更新版本的系统（数据库结构 {revision}，本系统 {head}）："
                              f"请先升级本系统{untouched}")
        if backend != "sqlite":
            raise JianhuError(f"{name} 的数据库结构版本为 {revision}，本系统为 {head}：请用与备份同版本的"
                              f"系统恢复后再运行 jianhu db upgrade{untouched}")
    if backend == "sqlite":
        _check_sqlite_backup(db, name)
        if _sqlite_contents(db)[0] != manifest.get("tables"):
            raise JianhuError(f"{name} 的表行数与备份清单不符{untouched}")
        if revision != head:  # upgrade the copy, never the live database
            copy = make_engine(f"sqlite:///{db}")
            try:
                upgrade(copy)
            finally:
                copy.dispose()
    else:
        listed = subprocess.run([_tool("pg_restore"), "--list", str(db)], capture_output=True,
                                text=True)
        if listed.returncode != 0 or "TABLE DATA public alembic_version" not in listed.stdout:
            raise JianhuError(f"{name} 不是 Jianhu 的 PostgreSQL 备份{untouched}")
    return db, manifest


def _revisions(engine: Engine) -> set[str]:
    from alembic.script import ScriptDirectory

    from jianhu.db.session import alembic_config

    return {r.revision for r in ScriptDirectory.from_config(alembic_config(engine)).walk_revisions()}


def _replace(engine: Engine, db: Path, manifest: dict[str, Any] | None, name: str) -> None:
    """Copy the checked database ``db`` over the live one; on PostgreSQL, check the row counts
    of the result against the manifest."""
    engine.dispose()
    if engine.url.get_backend_name() == "sqlite":
        if manifest is None:
            _check_sqlite_backup(db, name)
        src = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        dst = sqlite3.connect(engine.url.database)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        return
    if manifest is None:
        listed = subprocess.run([_tool("pg_restore"), "--list", str(db)], capture_output=True,
                                text=True)
        if listed.returncode != 0 or "TABLE DATA public alembic_version" not in listed.stdout:
            raise JianhuError(f"{name} 不是 Jianhu 的 PostgreSQL 备份，当前数据库未改动")
    _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
          "--dbname", _libpq_url(engine), str(db)], "恢复失败")
    if manifest is not None:
        with engine.connect() as conn, conn.begin():
            counts, _ = _pg_contents(conn)
        if counts != manifest["tables"]:
            raise JianhuError(f"恢复后的表行数与备份清单 {name} 不符：请检查数据库后重新恢复")
