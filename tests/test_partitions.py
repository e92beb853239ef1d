"""The audit trail partitioned by year on PostgreSQL (jianhu.db.partitions, ``jianhu db partition``):
every event kept and reachable through ``audit_events`` under the same policies, each in its Beijing
year's partition, the partitions closed to the application roles, and a later year's events moved
out of the default partition when its partition is added."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from test_app_login import attempt, connect
from test_backup import key  # noqa: F401  (a fixture)

XINAN_ROLE = "jianhu_t_320724100000"


def per_partition(engine) -> dict[str, int]:
    with engine.connect() as c:
        return dict(c.execute(text(
            "SELECT tableoid::regclass::text, count(*) FROM audit_events GROUP BY 1")).all())


def test_partitioning_is_for_postgresql_only(db_url, engine, run):
    if db_url.startswith("postgresql"):
        pytest.skip("the SQLite refusal")
    result = run("db", "partition")
    assert result.exit_code == 1
    assert "按年分区只用于 PostgreSQL" in result.output


def test_the_audit_trail_is_split_by_beijing_year_and_closed_but_through_its_policies(
        db_url, engine, run, sample_dir, key, tmp_path):  # noqa: F811
    if not db_url.startswith("postgresql"):
        pytest.skip("partitions are made on PostgreSQL only")
    assert run("import", "screening", str(sample_dir / "screening.xlsx")).exit_code == 0
    with engine.begin() as c:
        events = c.execute(text("SELECT count(*) FROM audit_events")).scalar()
        # 2024-12-31 20:00 UTC is 2025-01-01 04:00 in Beijing: the 2025 partition's.
        for at in ("2024-06-01 00:00+00", "2024-12-31 20:00+00", "2031-03-01 00:00+08"):
            c.execute(text("INSERT INTO audit_events (at, actor, action, entity_type, entity_id) "
                           "VALUES (:at, 'test', 'read', 'case', 'x')"), {"at": at})

    result = run("db", "partition", "--through", "2027")
    assert result.exit_code == 0, result.output
    assert "审计表已改为按年分区" in result.output
    # a partition for each year with events, and the years through 2027
    assert "新建年度分区：2024、2025、2026、2027、2031" in result.output
    counts = per_partition(engine)
    # the import's events and the partition command's own, in 2026
    assert counts == {"audit_events_y2024": 1, "audit_events_y2025": 1,
                      "audit_events_y2026": events + 1, "audit_events_y2031": 1}
    with engine.connect() as c:
        assert c.execute(text("SELECT relkind FROM pg_class WHERE relname = 'audit_events'")
                         ).scalar() == "p"
        assert sorted(c.execute(text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'audit_events'::regclass")).scalars()) == [
            "audit_events_default", "audit_events_y2024", "audit_events_y2025",
            "audit_events_y2026", "audit_events_y2027", "audit_events_y2031"]

    conn = connect(db_url)
    try:
        assert attempt(conn, f"SET ROLE {XINAN_ROLE}") == "SET"
        own = int(attempt(conn, "SELECT count(*) FROM audit_events"))
        assert 0 < own < events  # the policy still applies: 新安镇's events, not the county's
        assert "permission denied" in attempt(conn, "SELECT count(*) FROM audit_events_y2026")
        assert "permission denied" in attempt(conn, "SELECT count(*) FROM audit_events_default")
        assert "permission denied" in attempt(conn, "DELETE FROM audit_events_y2026")
        assert "permission denied" in attempt(conn, "DELETE FROM audit_events")
        assert "permission denied" in attempt(conn, "UPDATE audit_events SET actor = 'x'")
        assert attempt(conn, "INSERT INTO audit_events (at, actor, action, entity_type, entity_id)"
                             " VALUES (now(), '320724100-S01', 'read', 'case', 'y')") == "INSERT 0 1"
        assert attempt(conn, "SET ROLE jianhu_county") == "SET"
        assert "permission denied" in attempt(conn, "SELECT count(*) FROM audit_events_y2024")
        assert int(attempt(conn, "SELECT count(*) FROM audit_events")) == events + 5
    finally:
        conn.close()

    with engine.begin() as c:  # a year with no partition yet: kept in the default partition
        c.execute(text("INSERT INTO audit_events (at, actor, action, entity_type, entity_id) "
                       "VALUES ('2033-01-01 00:00+08', 'test', 'read', 'case', 'x')"))
    assert per_partition(engine)["audit_events_default"] == 1
    result = run("db", "partition", "--through", "2033")
    assert result.exit_code == 0, result.output
    assert "新建年度分区：2028、2029、2030、2032、2033（从默认分区移入 1 条）" in result.output
    counts = per_partition(engine)
    assert counts["audit_events_y2033"] == 1 and "audit_events_default" not in counts
    assert sum(counts.values()) == events + 7  # two commands' own, and the 2033 event
    result = run("db", "partition", "--through", "2033")
    assert "没有需要新建的分区" in result.output
    assert run("db", "upgrade").exit_code == 0
    assert run("audit", "list", "--json").exit_code == 0

    # a backup of the partitioned trail restores it, partition by partition
    before = per_partition(engine)
    backup = tmp_path / "jianhu.backup"
    assert run("backup", "--out", str(backup), "--key-file", str(key) + ".pub").exit_code == 0
    result = run("restore", str(backup), "--yes", "--key-file", str(key))
    assert result.exit_code == 0, result.output
    after = per_partition(engine)
    assert after.pop("audit_events_y2026") == before.pop("audit_events_y2026") + 2  # backup, restore
    assert after == before


def test_a_database_without_the_audit_table_is_refused_and_left_as_it_was(db_url, engine):
    if not db_url.startswith("postgresql"):
        pytest.skip("partitions are made on PostgreSQL only")
    from jianhu.db.partitions import partition_audit_trail
    from jianhu.errors import JianhuError

    with engine.connect() as c:
        c.execute(text("ALTER TABLE audit_events RENAME TO audit_events_elsewhere"))
        with pytest.raises(JianhuError, match="数据库中没有审计表：请先运行 jianhu db upgrade"):
            partition_audit_trail(c, 2026)
        assert c.execute(text("SELECT to_regclass('audit_events_p2026')")).scalar() is None
        c.rollback()
    with engine.connect() as c:
        assert c.execute(text("SELECT to_regclass('audit_events')")).scalar() == "audit_events"
