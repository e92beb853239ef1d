"""Row-level security on PostgreSQL: defence in depth for township scoping.

Each township has a database role ``jianhu_t_<12-digit code>`` and the county one role
``jianhu_county`` (both ``NOLOGIN``). Policies on every table holding children's data let a
township role see and change only its township's rows (directly by ``township_id``, or through
the child or case a row belongs to); the county role sees all. The application, connected as the
tables' owner, switches to the acting user's role for each transaction (``SET LOCAL ROLE``), so the
same rule the scoping layer (:mod:`jianhu.scope`) applies in Python is enforced by the server too
(个人信息保护法 Art 51: least privilege).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, event, text
from sqlalchemy.orm import Session

COUNTY_ROLE = "jianhu_county"

#: table → the condition of its policy: one for reading and writing, or (USING, WITH CHECK) when
#: a township may write rows it then cannot read (an alert it raises for another township).
POLICIES: dict[str, str | tuple[str, str]] = {
    "villages": "jianhu_visible(township_id)",
    "children": "jianhu_visible(township_id)",
    "cases": "jianhu_visible(township_id)",
    "followups": "jianhu_visible(township_id)",
    "approvals": "jianhu_visible(township_id)",
    "people": "township_id IS NULL OR jianhu_visible(township_id)",
    "guardians": "EXISTS (SELECT 1 FROM children c WHERE c.id = child_id)",
    "assessments": "EXISTS (SELECT 1 FROM cases c WHERE c.id = case_id)",
    "case_assignments": "EXISTS (SELECT 1 FROM cases c WHERE c.id = case_id)",
    "form_records": "EXISTS (SELECT 1 FROM cases c WHERE c.id = subject_id)"
                    " OR EXISTS (SELECT 1 FROM children ch WHERE ch.id = subject_id)",
    "confidential_records": "EXISTS (SELECT 1 FROM form_records f WHERE f.id = record_id)",
    "duplicate_alerts": ("jianhu_visible(township_id)",
                         "jianhu_visible(township_id) OR jianhu_visible(from_township_id)"),
    "transfers": "jianhu_visible(from_township_id) OR jianhu_visible(to_township_id)",
    # The audit trail: a township reads the events about its own cases, children, tasks and
    # records (the subqueries are themselves under row-level security); any role may append.
    # Township and county roles get no UPDATE or DELETE on it (APPEND_ONLY).
    "audit_events": ("current_user = 'jianhu_county'"
                     " OR (entity_type = 'case' AND EXISTS (SELECT 1 FROM cases c"
                     " WHERE c.id = jianhu_uuid(entity_id)))"
                     " OR (entity_type = 'child' AND EXISTS (SELECT 1 FROM children c"
                     " WHERE c.id = jianhu_uuid(entity_id)))"
                     " OR (entity_type = 'followup' AND EXISTS (SELECT 1 FROM followups f"
                     " WHERE f.id = jianhu_uuid(entity_id)))"
                     " OR (entity_type = 'form_record' AND EXISTS (SELECT 1 FROM form_records r"
                     " WHERE r.id = jianhu_uuid(entity_id)))", "true"),
}
#: Tables application roles may only read and append to.
APPEND_ONLY = ("audit_events",)


def township_role(code: str) -> str:
    """The database role of a township (``jianhu_t_`` + its 12-digit code)."""
    if not (len(code) == 12 and code.isdigit()):
        raise ValueError(f"not a 12-digit township code: {code!r}")
    return f"jianhu_t_{code}"


def enable_row_level_security(conn: Any) -> None:
    """Create the visibility function, the county role and the policies of the tables that exist
    (a migration step; a migration that adds a table of :data:`POLICIES` calls it again)."""
    conn.execute(text("""
        CREATE OR REPLACE FUNCTION jianhu_visible(tid uuid) RETURNS boolean
        LANGUAGE sql STABLE AS $$
          SELECT current_user = 'jianhu_county'
              OR EXISTS (SELECT 1 FROM townships t
                         WHERE t.id = tid AND current_user = 'jianhu_t_' || t.code)
        $$"""))
    conn.execute(text("""
        CREATE OR REPLACE FUNCTION jianhu_uuid(t text) RETURNS uuid
        LANGUAGE sql IMMUTABLE AS $$
          SELECT CASE WHEN t ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
                      THEN t::uuid END
        $$"""))
    ensure_role(conn, COUNTY_ROLE)
    for table, condition in POLICIES.items():
        if conn.execute(text("SELECT to_regclass(:t)"), {"t": table}).scalar() is None:
            continue  # a table a later migration creates (and covers by calling this again)
        using, check = condition if isinstance(condition, tuple) else (condition, condition)
        conn.execute(text(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY"))
        conn.execute(text(f"DROP POLICY IF EXISTS jianhu_scope ON {table}"))
        conn.execute(text(f"CREATE POLICY jianhu_scope ON {table} USING ({using}) "
                          f"WITH CHECK ({check})"))


def disable_row_level_security(conn: Any) -> None:
    """Undo :func:`enable_row_level_security` (roles are kept: they are cluster-wide)."""
    for table in POLICIES:
        if conn.execute(text("SELECT to_regclass(:t)"), {"t": table}).scalar() is None:
            continue
        conn.execute(text(f"DROP POLICY IF EXISTS jianhu_scope ON {table}"))
        conn.execute(text(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY"))
    conn.execute(text("DROP FUNCTION IF EXISTS jianhu_visible(uuid)"))
    conn.execute(text("DROP FUNCTION IF EXISTS jianhu_uuid(text)"))


def ensure_role(conn: Any, role: str) -> None:
    """Create ``role`` (NOLOGIN) if missing, grant it the tables, and let the connected
    (owner) role switch to it."""
    conn.execute(text(f"""
        DO $$ BEGIN
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
            CREATE ROLE {role} NOLOGIN;
          END IF;
        END $$"""))
    conn.execute(text(f"GRANT {role} TO CURRENT_USER"))
    conn.execute(text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"))
    conn.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"))
    conn.execute(text(f"GRANT EXECUTE ON FUNCTION jianhu_visible(uuid) TO {role}"))
    if conn.execute(text("SELECT to_regprocedure('jianhu_uuid(text)')")).scalar() is not None:
        conn.execute(text(f"GRANT EXECUTE ON FUNCTION jianhu_uuid(text) TO {role}"))
    for table in APPEND_ONLY:
        if conn.execute(text("SELECT to_regclass(:t)"), {"t": table}).scalar() is not None:
            conn.execute(text(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {role}"))


def ensure_township_roles(conn: Any, codes: list[str]) -> None:
    """Make sure every township in ``codes`` has its role (PostgreSQL only; no-op elsewhere)."""
    if conn.dialect.name != "postgresql":
        return
    for code in codes:
        ensure_role(conn, township_role(code))


def use_role(session: Session, role: str | None) -> None:
    """Act as ``role`` from now on in this session (every transaction ``SET LOCAL ROLE``).

    ``None`` keeps the connected role (the owner, e.g. the local administrator or a deployment).
    No-op on SQLite.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    session.info["jianhu_db_role"] = role
    if role:
        session.execute(text(f'SET LOCAL ROLE "{role}"'))


@contextmanager
def across_townships(session: Session) -> Iterator[Connection]:
    """A connection that sees every township, for the few steps that must cross townships on
    purpose: finding who holds a citizen ID (:mod:`jianhu.identity`), looking for a similar child
    elsewhere (:mod:`jianhu.duplicates`) and moving an accepted transfer (:mod:`jianhu.transfers`).

    The caller has checked the actor's permission and returns only what the actor may know. Where
    the session acts under a township role on PostgreSQL this is a separate connection as the
    tables' owner, in its own transaction (committed when the block ends without error, like a
    ``SECURITY DEFINER`` function); anywhere else it is the session's own connection.
    """
    if session.get_bind().dialect.name != "postgresql" or not session.info.get("jianhu_db_role"):
        yield session.connection()
        return
    with session.get_bind().connect() as conn, conn.begin():
        yield conn


@event.listens_for(Session, "after_begin")
def _set_role(session: Session, transaction: Any, connection: Any) -> None:
    role = session.info.get("jianhu_db_role")
    if role and connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f'SET LOCAL ROLE "{role}"')
