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


def test_backup_change_restore(engine, host, sample_dir, tmp_path, run):
    with open_session(engine) as s:
        import_screening(s, host, sample_dir / "screening.xlsx", actor="t")
    before = snapshot(engine)
    out = tmp_path / "jianhu.backup"
    result = run("backup", "--out", str(out))
    assert result.exit_code == 0, result.output
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
    assert snapshot(engine) != before
    assert run("restore", str(out)).output.startswith("错误：恢复会覆盖当前数据库")
    result = run("restore", str(out), "--yes")
    assert result.exit_code == 0, result.output
    assert snapshot(engine) == before
    with open_session(engine) as s:
        actions = [a for a in s.scalars(select(AuditEvent.action).where(
            AuditEvent.action.in_(("backup", "restore"))))]
    assert actions == ["backup", "restore"]


def test_restore_missing_file(run, engine, tmp_path):
    result = run("restore", str(tmp_path / "none.backup"), "--yes")
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


def test_restore_refuses_a_file_that_is_not_a_backup(run, engine, host, sample_dir, tmp_path):
    import sqlite3

    with open_session(engine) as s:
        import_screening(s, host, sample_dir / "screening.xlsx", actor="t")
    before = snapshot(engine)
    empty = tmp_path / "empty.backup"
    empty.write_bytes(b"")
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("create table t(x)").connection.commit()
    truncated = tmp_path / "cut.backup"
    run("backup", "--out", str(tmp_path / "good.backup"))
    truncated.write_bytes((tmp_path / "good.backup").read_bytes()[:50_000])
    if engine.url.get_backend_name() != "sqlite":
        pytest.skip("the SQLite checks; PostgreSQL archives are checked with pg_restore --list")
    for bad in (empty, other, truncated):
        result = run("restore", str(bad), "--yes")
        assert result.exit_code == 1
        assert result.output == f"错误：{bad.name} 不是完好的 Jianhu 备份文件，当前数据库未改动\n"
    after = snapshot(engine)
    assert {k: v for k, v in after.items()} == before
