"""The audit trail in yearly partitions, on PostgreSQL (a county or a province server).

The audit trail (``audit_events``) only grows: an event for every change and every identified read
(个人信息保护法 Art 51, 未成年人保护法 Art 72), kept as long as the records. At a province's scale it
is the largest table by far. ``jianhu db partition`` turns it into a table partitioned by range on
``at``, one partition per Beijing calendar year (``audit_events_y2026``) and a default partition for
anything outside them, so that:

- a query for a period reads only that period's partitions, and each year's indexes stay small;
- a year leaves the live database whole (``ALTER TABLE … DETACH PARTITION``, then archived),
  instead of by a long ``DELETE`` that bloats the table and the replica's log.

Nothing else changes: the application reads and appends through ``audit_events`` as before, its
row-level security policies (:mod:`jianhu.db.rls`) apply to every partition reached through it, and
the partitions themselves are closed to every application role (row-level security on with no
policy, privileges revoked), so a partition can never be read around the parent's policies.

Form records are not partitioned: tasks, approvals and confidential records point at them by id,
and PostgreSQL enforces a foreign key into a partitioned table only when the key includes the
partition column. Handbook: 部署运行手册 §8 (``deploy/RUNBOOK.md``).

This module is PostgreSQL only, and the only one with partitioning syntax.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text

from jianhu.errors import JianhuError

#: The partitioned table and the column its partitions are cut on.
TABLE = "audit_events"
COLUMN = "at"
#: The partition holding events outside every yearly partition.
DEFAULT_PARTITION = f"{TABLE}_default"
#: Year boundaries are Beijing midnights (handbook 领域规则 §7: the calendar is Beijing's).
OFFSET = "+08"


def partition_name(year: int) -> str:
    """The partition of one Beijing calendar year, e.g. ``audit_events_y2026``."""
    return f"{TABLE}_y{year}"


@dataclass
class PartitionSummary:
    """What :func:`partition_audit_trail` did.

    Attributes:
        converted: the table was a plain one and is now partitioned.
        created: the years whose partitions were added, in order.
        moved: events taken out of the default partition into a new year's partition.
    """

    converted: bool = False
    created: list[int] = field(default_factory=list)
    moved: int = 0


def _bounds(year: int) -> tuple[str, str]:
    return f"{year}-01-01 00:00:00{OFFSET}", f"{year + 1}-01-01 00:00:00{OFFSET}"


def _require_postgresql(conn: Any) -> None:
    if conn.dialect.name != "postgresql":
        raise JianhuError("按年分区只用于 PostgreSQL（县级或省级数据库）；SQLite 单机数据库不需要分区")


def is_partitioned(conn: Any) -> bool:
    """Whether ``audit_events`` is already a partitioned table."""
    _require_postgresql(conn)
    return conn.execute(text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:t)"),
                        {"t": TABLE}).scalar() == "p"


def partitions(conn: Any) -> list[str]:
    """The names of ``audit_events``' partitions, sorted (none when it is a plain table)."""
    _require_postgresql(conn)
    return sorted(conn.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(:t)"), {"t": TABLE}).scalars())


def partition_audit_trail(conn: Any, through: int) -> PartitionSummary:
    """Partition the audit trail by year, through year ``through`` (idempotent).

    A plain table is converted in this transaction (locked meanwhile: run it in a quiet hour):
    its events are copied into a new partitioned ``audit_events``, one partition for every year
    from its oldest event's to ``through`` plus the default partition, and the plain table is
    dropped; the id sequence, the index and the privileges carry over. On a table already
    partitioned, the missing years up to ``through`` are added, taking their events out of the
    default partition. Running it again with the same year changes nothing.

    Raises:
        JianhuError: not PostgreSQL, or ``audit_events`` does not exist (``jianhu db upgrade``).
    """
    _require_postgresql(conn)
    if conn.execute(text("SELECT to_regclass(:t)"), {"t": TABLE}).scalar() is None:
        raise JianhuError("数据库中没有审计表：请先运行 jianhu db upgrade")
    summary = PartitionSummary()
    if not is_partitioned(conn):
        summary.created += _convert(conn)
        summary.converted = True
    have = set(partitions(conn))
    first = _oldest_year(conn) or through
    for year in range(min(first, through), through + 1):
        if partition_name(year) in have:
            continue
        summary.moved += _add_year(conn, year)
        summary.created.append(year)
    summary.created.sort()
    _close_partitions(conn)
    return summary


def _oldest_year(conn: Any) -> int | None:
    oldest = conn.execute(text(f"SELECT min({COLUMN}) FROM {TABLE}")).scalar()
    if oldest is None:
        return None
    return (oldest.astimezone(dt.timezone(dt.timedelta(hours=8)))).year


def _convert(conn: Any) -> list[int]:
    """Make ``audit_events`` partitioned, with a partition for each year it has events of."""
    old = f"{TABLE}_unpartitioned"
    conn.execute(text(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE"))
    sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": TABLE}).scalar()
    conn.execute(text(f"ALTER TABLE {TABLE} RENAME TO {old}"))
    conn.execute(text(f"ALTER TABLE {old} RENAME CONSTRAINT pk_{TABLE} TO pk_{old}"))
    conn.execute(text(f"ALTER INDEX ix_{TABLE}_entity RENAME TO ix_{old}_entity"))
    conn.execute(text(f"CREATE TABLE {TABLE} (LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
                      f"INCLUDING STORAGE) PARTITION BY RANGE ({COLUMN})"))
    # A partitioned table's unique keys must hold the partition column; the sequence keeps ids
    # unique. A unique index, not a primary key constraint: pg_restore --clean (jianhu restore)
    # cannot drop the key constraints the partitions inherit (PostgreSQL 15).
    conn.execute(text(f"CREATE UNIQUE INDEX ux_{TABLE}_id ON {TABLE} (id, {COLUMN})"))
    conn.execute(text(f"CREATE INDEX ix_{TABLE}_entity ON {TABLE} (entity_type, entity_id)"))
    if sequence:
        conn.execute(text(f"ALTER SEQUENCE {sequence} OWNED BY {TABLE}.id"))
    conn.execute(text(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF {TABLE} DEFAULT"))
    # Privileges and policies as the plain table had them (the roles are the same).
    grants = conn.execute(text(
        "SELECT grantee, string_agg(privilege_type, ', ' ORDER BY privilege_type) "
        "FROM information_schema.role_table_grants "
        "WHERE table_schema = 'public' AND table_name = :t AND grantee <> current_user "
        "GROUP BY grantee"), {"t": old}).all()
    years = conn.execute(text(
        f"SELECT DISTINCT extract(year FROM {COLUMN} AT TIME ZONE 'Asia/Shanghai')::int "
        f"FROM {old} ORDER BY 1")).scalars().all()
    for year in years:
        _create_partition(conn, year)
    conn.execute(text(f"INSERT INTO {TABLE} SELECT * FROM {old}"))
    conn.execute(text(f"DROP TABLE {old}"))
    by_privileges: dict[str, list[str]] = {}
    for grantee, privileges in grants:  # one statement per set of privileges, not per role
        by_privileges.setdefault(privileges, []).append(f'"{grantee}"')
    for privileges, grantees in by_privileges.items():
        conn.execute(text(f"GRANT {privileges} ON {TABLE} TO {', '.join(grantees)}"))
    from jianhu.db.rls import enable_row_level_security

    enable_row_level_security(conn)
    return list(years)


def _create_partition(conn: Any, year: int) -> None:
    low, high = _bounds(year)
    conn.execute(text(f"CREATE TABLE {partition_name(year)} PARTITION OF {TABLE} "
                      f"FOR VALUES FROM ('{low}') TO ('{high}')"))


def _add_year(conn: Any, year: int) -> int:
    """Add ``year``'s partition; events of that year in the default partition move into it."""
    low, high = _bounds(year)
    name = partition_name(year)
    waiting = conn.execute(text(f"SELECT count(*) FROM {DEFAULT_PARTITION} WHERE {COLUMN} >= :low "
                                f"AND {COLUMN} < :high"), {"low": low, "high": high}).scalar()
    if not waiting:
        _create_partition(conn, year)
        return 0
    conn.execute(text(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
    conn.execute(text(
        f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE {COLUMN} >= :low AND {COLUMN} < :high "
        f"RETURNING *) INSERT INTO {name} SELECT * FROM moved"), {"low": low, "high": high})
    conn.execute(text(f"ALTER TABLE {TABLE} ATTACH PARTITION {name} "
                      f"FOR VALUES FROM ('{low}') TO ('{high}')"))
    return int(waiting)


def _close_partitions(conn: Any) -> None:
    """Close every partition to the application roles: reached through ``audit_events`` only
    (as :func:`jianhu.db.rls.restrict_role` does for a role made later)."""
    from jianhu.db.rls import app_roles

    names, roles = partitions(conn), [f'"{r}"' for r in app_roles(conn)]
    for name in names:
        conn.execute(text(f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY"))
    if roles:  # one statement for a province's 1,500 township roles
        conn.execute(text(f"REVOKE ALL ON {', '.join(names)} FROM {', '.join(roles)}"))
