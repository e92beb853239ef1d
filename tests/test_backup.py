"""Backup → change → restore returns every table to its backed-up content (both backends)."""

import pytest
from sqlalchemy import delete, select, update

from jianhu.db.models import AuditEvent, Base, Case, Child
from jianhu.db.session import open_session
from jianhu.imports.screening import import_screening


def snapshot(engine) -> dict[str, list[tuple]]:
    """Every row of every table except the audit trail, in primary-key order."""
    out = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name == "audit_events":
                continue
            out[table.name] = [tuple(r) for r in conn.execute(
                select(table).order_by(*table.primary_key.columns))]
    return out


@pytest.fixture
def key(run, tmp_path):
    """A backup key made with ``jianhu backup keygen``; returns the secret key's path."""
    path = tmp_path / "backup.key"
    out = run("backup", "keygen", "--out", str(path))
    assert out.exit_code == 0, out.output
    assert (path.stat().st_mode & 0o777) == 0o600
    return path


def test_backup_change_restore(engine, host, sample_dir, tmp_path, run, key):
    with open_session(engine) as s:
        import_screening(s, host, sample_dir / "screening.xlsx", actor="t")
        name, number = s.execute(select(Child.name, Child.citizen_id).where(
            Child.citizen_id.is_not(None))).first()
    before = snapshot(engine)
    out = tmp_path / "jianhu.backup"
    assert run("backup", "--out", str(out)).output.startswith("错误：备份须加密")
    assert not out.exists()
    # the server holds only the public key
    result = run("backup", "--out", str(out), "--key-file", str(key) + ".pub")
    assert result.exit_code == 0, result.output
    assert (out.stat().st_mode & 0o777) == 0o600
    content = out.read_bytes()
    assert content.startswith(b"age-encryption.org/v1")
    assert name.encode() not in content and number.encode() not in content
    with open_session(engine) as s:
        s.execute(update(Case).values(level="red"))
        first = s.scalars(select(Child.id)).first()
        from jianhu.db.models import CaseAssignment, FollowUp, FormRecord, Guardian

        for model in (CaseAssignment, FollowUp):
            s.execute(delete(model))
        s.execute(delete(Guardian).where(Guardian.child_id == first))
        s.execute(delete(FormRecord).where(FormRecord.subject_id == first))
        s.execute(delete(Case).where(Case.child_id == first))
        s.execute(delete(Child).where(Child.id == first))
        s.commit()
    changed = snapshot(engine)
    assert changed != before
    assert run("restore", str(out), "--key-file", str(key)).output.startswith(
        "错误：恢复会覆盖当前数据库")
    assert run("restore", str(out), "--yes").output.startswith("错误：备份须加密：请用 --key-file")
    assert run("restore", str(out), "--yes", "--key-file", str(key) + ".pub").output == \
        "错误：恢复须用私钥文件（AGE-SECRET-KEY 开头），公钥文件只能用于备份\n"
    other = tmp_path / "other.key"
    assert run("backup", "keygen", "--out", str(other)).exit_code == 0
    assert run("restore", str(out), "--yes", "--key-file", str(other)).output == (
        "错误：无法解密 jianhu.backup：密钥不对，或文件不是 Jianhu 加密备份、已损坏；当前数据库未改动\n")
    assert snapshot(engine) == changed  # refused restores touched nothing
    result = run("restore", str(out), "--yes", "--key-file", str(key))
    assert result.exit_code == 0, result.output
    assert snapshot(engine) == before
    with open_session(engine) as s:
        actions = [a for a in s.scalars(select(AuditEvent.action).where(
            AuditEvent.action.in_(("backup", "restore"))))]
    assert actions == ["backup", "restore"]


def test_restore_missing_file(run, engine, tmp_path, key):
    result = run("restore", str(tmp_path / "none.backup"), "--yes", "--key-file", str(key))
    assert result.exit_code == 1 and "找不到备份文件" in result.output


@pytest.mark.parametrize("who", ["320724100-D01"])
def test_backup_needs_an_administrator(run, engine, who, host, sample_dir):
    from jianhu.people import import_people
    from jianhu.roles import LOCAL_ADMIN

    with open_session(engine) as s:
        import_screening(s, host, sample_dir / "screening.xlsx", actor="t")
        import_people(s, host, sample_dir / "people.xlsx", actor=LOCAL_ADMIN)
    result = run("--as", who, "backup", "--out", "x")
    assert result.exit_code == 1 and "无权备份与恢复" in result.output


def test_keygen_never_overwrites_a_key(run, key, tmp_path):
    assert run("backup", "keygen", "--out", str(key)).output == \
        f"错误：{key} 已存在：密钥文件不会被覆盖，请换一个文件名\n"
    key.rename(tmp_path / "offline.key")  # the secret key taken off the server, .pub left
    assert run("backup", "keygen", "--out", str(key)).output == \
        f"错误：{key}.pub 已存在：密钥文件不会被覆盖，请换一个文件名\n"
    assert run("backup", "keygen", "--out", str(tmp_path / "no" / "k")).output == \
        f"错误：目录不存在：{tmp_path / 'no'}\n"


def test_a_backup_never_overwrites_the_database_or_the_key(run, engine, key, db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("an SQLite database is a file")
    database = engine.url.database
    for target in (database, str(key)):
        out = run("backup", "--out", target, "--key-file", str(key))
        assert out.output == f"错误：{target} 是数据库或密钥文件本身，不能作为备份文件：请换一个文件名\n"
    assert run("cases", "list").exit_code == 0  # the database is intact


def test_restore_refuses_a_file_that_is_not_a_backup(run, engine, host, sample_dir, tmp_path, key):
    import sqlite3

    from pyrage import encrypt_file, x25519

    with open_session(engine) as s:
        import_screening(s, host, sample_dir / "screening.xlsx", actor="t")
    before = snapshot(engine)
    recipient = x25519.Identity.from_str(key.read_text().splitlines()[-1]).to_public()
    empty = tmp_path / "empty.backup"
    empty.write_bytes(b"")
    other_db = tmp_path / "other.db"
    sqlite3.connect(other_db).execute("create table t(x)").connection.commit()
    other = tmp_path / "other.backup"  # well encrypted, but not a Jianhu database
    encrypt_file(str(other_db), str(other), [recipient])
    truncated = tmp_path / "cut.backup"
    run("backup", "--out", str(tmp_path / "good.backup"), "--key-file", str(key))
    truncated.write_bytes((tmp_path / "good.backup").read_bytes()[:50_000])
    for bad in (empty, truncated):
        result = run("restore", str(bad), "--yes", "--key-file", str(key))
        assert result.exit_code == 1
        assert result.output == (f"错误：无法解密 {bad.name}：密钥不对，或文件不是 Jianhu 加密备份、"
                                 "已损坏；当前数据库未改动\n")
    result = run("restore", str(other), "--yes", "--key-file", str(key))
    assert result.exit_code == 1
    if engine.url.get_backend_name() == "sqlite":
        assert result.output == "错误：other.backup 不是完好的 Jianhu 备份文件，当前数据库未改动\n"
    else:
        assert result.output == "错误：other.backup 不是 Jianhu 的 PostgreSQL 备份，当前数据库未改动\n"
    after = snapshot(engine)
    assert {k: v for k, v in after.items()} == before


def test_a_stopped_backup_leaves_no_plain_copy(tmp_path):
    import subprocess
    import sys

    script = (
        "import os, signal, tempfile, pathlib\n"
        "from jianhu.backup import _private_work\n"
        f"tempfile.tempdir = {str(tmp_path)!r}\n"
        "with _private_work(), tempfile.TemporaryDirectory(prefix='jianhu-backup-') as tmp:\n"
        "    plain = pathlib.Path(tmp) / 'plain'\n"
        "    plain.write_text('儿童姓名')\n"
        "    print(oct(plain.stat().st_mode & 0o777), flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    import time; time.sleep(5)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stdout.strip() == "0o600" and done.returncode == 128 + 15, done.stderr
    assert list(tmp_path.iterdir()) == []  # the temporary directory and its plain file are gone


def _recipient(key):
    from pyrage import x25519

    return x25519.Identity.from_str(key.read_text().splitlines()[-1]).to_public()


def _archive(tmp_path, name, database, manifest, key):
    """An encrypted backup holding ``database`` (a file) and ``manifest`` (a dict), as a forger
    holding the server's public key could make one."""
    import io
    import json
    import tarfile

    from pyrage import encrypt_file

    plain = tmp_path / f"{name}.tar"
    with tarfile.open(plain, "w") as tar:
        data = json.dumps(manifest).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        tar.add(database, arcname="database")
    out = tmp_path / name
    encrypt_file(str(plain), str(out), [_recipient(key)])
    return out


def _members(tmp_path, backup_file, key):
    import json
    import tarfile

    from pyrage import decrypt_file, x25519

    plain = tmp_path / "opened.tar"
    decrypt_file(str(backup_file), str(plain),
                 [x25519.Identity.from_str(key.read_text().splitlines()[-1])])
    with tarfile.open(plain) as tar:
        tar.extract("database", tmp_path / "opened", filter="data")
        manifest = json.loads(tar.extractfile("manifest.json").read())
        return sorted(tar.getnames()), manifest, tmp_path / "opened" / "database"


def test_a_backup_carries_a_manifest_and_a_changed_one_is_refused(run, engine, host, sample_dir,
                                                                  tmp_path, key, db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("the forged archive is an SQLite file")
    with open_session(engine) as s:
        import_screening(s, host, sample_dir / "screening.xlsx", actor="t")
        children = s.query(Child).count()
    good = tmp_path / "good.backup"
    assert run("backup", "--out", str(good), "--key-file", str(key)).exit_code == 0
    names, manifest, database = _members(tmp_path, good, key)
    assert names == ["database", "manifest.json"]
    assert (manifest["format"], manifest["version"], manifest["backend"]) == (
        "jianhu-backup", 2, "sqlite")
    assert manifest["schema_revision"] == "0018"
    assert manifest["tables"]["children"] == children == 300
    assert manifest["tables"]["audit_events"] > 0
    before = snapshot(engine)

    # bytes changed past the age header: the authenticated encryption refuses it
    content = bytearray(good.read_bytes())
    content[len(content) // 2] ^= 0xFF
    flipped = tmp_path / "flipped.backup"
    flipped.write_bytes(bytes(content))
    out = run("restore", str(flipped), "--yes", "--key-file", str(key))
    assert out.exit_code == 1 and "无法解密 flipped.backup" in out.output

    # re-encrypted with the public key, a database changed behind its manifest
    import sqlite3

    conn = sqlite3.connect(database)
    conn.execute("UPDATE cases SET level = 'green'")
    conn.commit()
    conn.close()
    forged = _archive(tmp_path, "forged.backup", database, manifest, key)
    out = run("restore", str(forged), "--yes", "--key-file", str(key))
    assert out.output == "错误：forged.backup 的内容校验不符（文件已损坏或被改动），当前数据库未改动\n"
    # the checksum made to match, but rows deleted: the counts refuse it
    conn = sqlite3.connect(database)
    conn.execute("DELETE FROM guardians")
    conn.commit()
    conn.close()
    from jianhu.backup import _sha256

    forged = _archive(tmp_path, "counts.backup", database, {**manifest, "sha256": _sha256(database)},
                      key)
    out = run("restore", str(forged), "--yes", "--key-file", str(key))
    assert out.output == "错误：counts.backup 的表行数与备份清单不符，当前数据库未改动\n"
    newer = _archive(tmp_path, "newer.backup", database, {
        **manifest, "sha256": _sha256(database), "schema_revision": "9999"}, key)
    out = run("restore", str(newer), "--yes", "--key-file", str(key))
    assert "来自更新版本的系统（数据库结构 9999，本系统 0018）" in out.output
    assert snapshot(engine) == before
    with open_session(engine) as s:
        refused = [(a.after["file"]) for a in s.scalars(select(AuditEvent).where(
            AuditEvent.action == "restore_refused").order_by(AuditEvent.at))]
    assert refused == ["flipped.backup", "forged.backup", "counts.backup", "newer.backup"]


def test_a_backup_of_an_older_schema_is_upgraded_in_its_copy(run, engine, host, sample_dir,
                                                             tmp_path, key, db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL refuses an older schema (tested below)")
    import sqlite3

    from alembic import command

    from jianhu.backup import _sha256, _sqlite_contents
    from jianhu.db.session import alembic_config, make_engine

    old_file = tmp_path / "old.db"
    old = make_engine(f"sqlite:///{old_file}")
    command.upgrade(alembic_config(old), "0010")
    old.dispose()
    conn = sqlite3.connect(old_file)
    conn.execute("INSERT INTO townships (id, code, name, county_code) VALUES "
                 "('00000000000000000000000000000001', '320724100000', '新安镇', '320724')")
    conn.commit()
    conn.close()
    counts, revision = _sqlite_contents(old_file)
    assert revision == "0010"
    backup_file = _archive(tmp_path, "old.backup", old_file, {
        "format": "jianhu-backup", "version": 2, "backend": "sqlite", "schema_revision": "0010",
        "tables": counts, "sha256": _sha256(old_file)}, key)
    out = run("restore", str(backup_file), "--yes", "--key-file", str(key))
    assert out.exit_code == 0, out.output
    assert _sqlite_contents(old_file)[1] == "0010"  # the file given was not changed
    from jianhu.db.session import current_revision

    assert current_revision(engine) == "0018"
    with open_session(engine) as s:
        from jianhu.db.models import Township

        assert s.scalars(select(Township.name)).all() == ["新安镇"]
        assert s.scalars(select(AuditEvent.action).where(
            AuditEvent.action == "restore")).all() == ["restore"]


def test_postgresql_refuses_a_backup_of_an_older_schema(run, engine, host, sample_dir, tmp_path,
                                                        key, db_url):
    if db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL only (SQLite upgrades its copy, tested above)")
    from jianhu.backup import _sha256

    with open_session(engine) as s:
        import_screening(s, host, sample_dir / "screening.xlsx", actor="t")
    good = tmp_path / "good.backup"
    assert run("backup", "--out", str(good), "--key-file", str(key)).exit_code == 0
    names, manifest, database = _members(tmp_path, good, key)
    assert manifest["backend"] == "postgresql" and manifest["tables"]["children"] == 300
    before = snapshot(engine)
    older = _archive(tmp_path, "older.backup", database, {
        **manifest, "sha256": _sha256(database), "schema_revision": "0010"}, key)
    out = run("restore", str(older), "--yes", "--key-file", str(key))
    assert out.output.startswith("错误：older.backup 的数据库结构版本为 0010，本系统为 0018")
    assert snapshot(engine) == before
    out = run("restore", str(good), "--yes", "--key-file", str(key))
    assert out.exit_code == 0, out.output
    assert snapshot(engine) == before
