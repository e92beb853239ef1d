"""Row-level security on PostgreSQL: defence in depth for township scoping.

Each township has a database role ``jianhu_t_<12-digit code>`` and the county one role
``jianhu_county`` (both ``NOLOGIN``). Policies on every table holding children's data let a
township role see and change only its township's rows (directly by ``township_id``, or through
the child or case a row belongs to); the county role sees all. The application switches to the
acting user's role for each transaction (``SET LOCAL ROLE``), so the same rule the scoping layer
(:mod:`jianhu.scope`) applies in Python is enforced by the server too
(个人信息保护法 Art 51: least privilege). Commands run as the tables' owner; the web server connects
as :data:`APP_LOGIN`, which can become the county or a township role and never the owner.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, event, text
from sqlalchemy.orm import Session

from jianhu.errors import JianhuError

COUNTY_ROLE = "jianhu_county"
#: The login role the web server connects as on a county server (``jianhu db app-login``): not
#: the tables' owner, member of the county and township roles only (handbook 部署 数据库角色).
APP_LOGIN = "jianhu_app"

#: table → the condition of its policy: one string for reading and writing alike, or a dict of
#: conditions per command (``select``, ``insert``, ``update``, ``delete``; a command left out is
#: refused) where a township may read more than it may change, or append what it then cannot read.
#: Policies bind their tables when created, so a temporary table cannot stand in for one; the
#: functions they call are schema-qualified with a fixed search_path (:data:`FUNCTIONS`).
POLICIES: dict[str, str | dict[str, str]] = {
    "villages": "jianhu_visible(township_id)",
    "children": "jianhu_visible(township_id)",
    "cases": "jianhu_visible(township_id)",
    "case_counters": "jianhu_visible(township_id)",
    "followups": "jianhu_visible(township_id)",
    "approvals": "jianhu_visible(township_id)",
    # County staff (no township) are listed to every township, but only a township's own people
    # may be added, changed or removed by it (no password reset of a county administrator).
    "people": {"select": "township_id IS NULL OR jianhu_visible(township_id)",
               "insert": "jianhu_visible(township_id)", "update": "jianhu_visible(township_id)",
               "delete": "jianhu_visible(township_id)"},
    "guardians": "EXISTS (SELECT 1 FROM children c WHERE c.id = child_id)",
    "assessments": "EXISTS (SELECT 1 FROM cases c WHERE c.id = case_id)",
    "case_assignments": "EXISTS (SELECT 1 FROM cases c WHERE c.id = case_id)",
    "form_records": "EXISTS (SELECT 1 FROM cases c WHERE c.id = subject_id)"
                    " OR EXISTS (SELECT 1 FROM children ch WHERE ch.id = subject_id)",
    "confidential_records": "EXISTS (SELECT 1 FROM form_records f WHERE f.id = record_id)",
    # A township raises an alert for the township holding the child, which alone reads it.
    "duplicate_alerts": {"select": "jianhu_visible(township_id)",
                         "insert": "jianhu_visible(township_id) OR jianhu_visible(from_township_id)",
                         "update": "jianhu_visible(township_id)"},
    "transfers": "jianhu_visible(from_township_id) OR jianhu_visible(to_township_id)",
    # The delivery queue: a township appends messages about its own cases and reads only those;
    # the delivery worker runs as the owner.
    "outbox": {"select": "current_user = 'jianhu_county' OR current_user = 'jianhu_t_' || township_code",
               "insert": "township_code IS NULL OR current_user = 'jianhu_county'"
                         " OR current_user = 'jianhu_t_' || township_code"},
    # Idempotency keys and held edits: the sender's township (county staff: none, county only).
    "submissions": "jianhu_visible(township_id)",
    "edit_conflicts": "jianhu_visible(township_id)",
    # The plan's teams and trainings (新政发〔2016〕8号 四、六（三）): a township's own; a member
    # must be of the team's township, checked by the server too.
    "teams": "jianhu_visible(township_id)",
    "team_members": "EXISTS (SELECT 1 FROM teams t JOIN people p ON p.township_id = t.township_id"
                    " WHERE t.id = team_id AND p.id = person_id)",
    "training_sessions": "jianhu_visible(township_id)",
    "training_attendance": "EXISTS (SELECT 1 FROM training_sessions s WHERE s.id = session_id)",
    # The audit trail: a township reads the events about its own cases, children, tasks and
    # records (the subqueries are themselves under row-level security); any role may append,
    # none may change or delete (APPEND_ONLY).
    "audit_events": {"select": "current_user = 'jianhu_county'"
                     # what the township's own staff did, wherever the child went afterwards
                     " OR actor IN (SELECT p.code FROM people p WHERE p.township_id IS NOT NULL)"
                     " OR (entity_type = 'case' AND EXISTS (SELECT 1 FROM cases c"
                     " WHERE c.id = jianhu_uuid(entity_id)))"
                     " OR (entity_type = 'child' AND EXISTS (SELECT 1 FROM children c"
                     " WHERE c.id = jianhu_uuid(entity_id)))"
                     " OR (entity_type = 'followup' AND EXISTS (SELECT 1 FROM followups f"
                     " WHERE f.id = jianhu_uuid(entity_id)))"
                     " OR (entity_type = 'form_record' AND EXISTS (SELECT 1 FROM form_records r"
                     " WHERE r.id = jianhu_uuid(entity_id)))", "insert": "true"},
}
#: Columns a policy needs that a later migration adds: until then the table is left as it was
#: (that migration calls :func:`enable_row_level_security` again).
NEEDS_COLUMN = {"outbox": "township_code"}
#: Tables application roles may only read and append to.
APPEND_ONLY = ("audit_events",)
#: Tables township roles may only read (the county role and the owner keep writing them).
READ_ONLY_FOR_TOWNSHIPS = ("townships", "plugin_settings")
#: Tables with no personal data and no access control of their own, open to every role: the
#: signed-out web sessions (random ids only).
UNSCOPED = ("revoked_sessions",)
#: Tables township roles may not touch at all: the schema's revision, and the sign-in limits
#: (a township connection must not unblock an address or block a colleague; signing in runs as
#: the owner).
NO_ACCESS_FOR_TOWNSHIPS = ("alembic_version", "sign_in_throttle")

FUNCTIONS = ("""
    CREATE OR REPLACE FUNCTION public.jianhu_visible(tid uuid) RETURNS boolean
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
      SELECT current_user = 'jianhu_county'
          OR EXISTS (SELECT 1 FROM public.townships t
                     WHERE t.id = tid AND current_user = 'jianhu_t_' || t.code)
    $$""", """
    CREATE OR REPLACE FUNCTION public.jianhu_uuid(t text) RETURNS uuid
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
      SELECT CASE WHEN t ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
                  THEN t::uuid END
    $$""")


def township_role(code: str) -> str:
    """The database role of a township (``jianhu_t_`` + its 12-digit code)."""
    if not (len(code) == 12 and code.isdigit()):
        raise ValueError(f"not a 12-digit township code: {code!r}")
    return f"jianhu_t_{code}"


def enable_row_level_security(conn: Any) -> None:
    """Create the functions, the county role and the policies of the tables that exist (a
    migration step; a migration that adds a table of :data:`POLICIES` calls it again)."""
    for function in FUNCTIONS:
        conn.execute(text(function))
    ensure_role(conn, COUNTY_ROLE)
    for table, condition in POLICIES.items():
        if conn.execute(text("SELECT to_regclass(:t)"), {"t": table}).scalar() is None:
            continue  # a table a later migration creates (and covers by calling this again)
        if table in NEEDS_COLUMN and conn.execute(text(
                "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public' "
                "AND table_name = :t AND column_name = :c"),
                {"t": table, "c": NEEDS_COLUMN[table]}).scalar() == 0:
            continue
        conn.execute(text(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY"))
        _drop_policies(conn, table)
        condition = _county_first(condition)
        if isinstance(condition, str):
            conn.execute(text(f"CREATE POLICY jianhu_scope ON {table} USING ({condition}) "
                              f"WITH CHECK ({condition})"))
            continue
        for command, cond in condition.items():
            clause = {"select": f"USING ({cond})", "insert": f"WITH CHECK ({cond})",
                      "update": f"USING ({cond}) WITH CHECK ({cond})",
                      "delete": f"USING ({cond})"}[command]
            conn.execute(text(f"CREATE POLICY jianhu_scope_{command} ON {table} "
                              f"FOR {command.upper()} {clause}"))


def _county_first(condition: str | dict[str, str]) -> str | dict[str, str]:
    """The condition with the county role's test written before each ``jianhu_visible`` call.

    The function has a fixed search_path, so PostgreSQL calls it for every row instead of
    inlining it; checked first, ``current_user = 'jianhu_county'`` spares the county's reports the
    million calls (6.5 s of the county report at 100,000 cases, ``benchmarks/province.py``). The
    function still checks the county role itself, so each policy means what it says.
    """
    if isinstance(condition, dict):
        return {command: str(_county_first(cond)) for command, cond in condition.items()}
    return re.sub(r"jianhu_visible\((\w+)\)",
                  rf"(current_user = '{COUNTY_ROLE}' OR jianhu_visible(\1))", condition)


def _drop_policies(conn: Any, table: str) -> None:
    for (name,) in conn.execute(text("SELECT policyname FROM pg_policies WHERE tablename = :t "
                                     "AND policyname LIKE 'jianhu\\_scope%'"), {"t": table}):
        conn.execute(text(f'DROP POLICY IF EXISTS "{name}" ON {table}'))


def disable_row_level_security(conn: Any) -> None:
    """Undo :func:`enable_row_level_security` (roles are kept: they are cluster-wide)."""
    for table in POLICIES:
        if conn.execute(text("SELECT to_regclass(:t)"), {"t": table}).scalar() is None:
            continue
        _drop_policies(conn, table)
        conn.execute(text(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY"))
    conn.execute(text("DROP FUNCTION IF EXISTS public.jianhu_visible(uuid)"))
    conn.execute(text("DROP FUNCTION IF EXISTS public.jianhu_uuid(text)"))


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
    if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": APP_LOGIN}).first():
        conn.execute(text(f"GRANT {role} TO {APP_LOGIN}"))
    conn.execute(text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"))
    conn.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"))
    restrict_role(conn, role)


def restrict_role(conn: Any, role: str) -> None:
    """Grant ``role`` the functions and take back what its work does not need (see
    :data:`APPEND_ONLY`, :data:`READ_ONLY_FOR_TOWNSHIPS`, :data:`NO_ACCESS_FOR_TOWNSHIPS`)."""
    for function in ("jianhu_visible(uuid)", "jianhu_uuid(text)"):
        if conn.execute(text("SELECT to_regprocedure(:f)"), {"f": f"public.{function}"}
                        ).scalar() is not None:
            conn.execute(text(f"GRANT EXECUTE ON FUNCTION public.{function} TO {role}"))

    def existing(tables: tuple[str, ...]) -> list[str]:
        return [t for t in tables
                if conn.execute(text("SELECT to_regclass(:t)"), {"t": t}).scalar() is not None]

    for table in existing(APPEND_ONLY):
        conn.execute(text(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {role}"))
        # its yearly partitions (jianhu.db.partitions) are reached through it only
        for (part,) in conn.execute(text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = to_regclass(:t)"), {"t": table}):
            conn.execute(text(f"REVOKE ALL ON {part} FROM {role}"))
    if role == COUNTY_ROLE:
        return
    for table in existing(READ_ONLY_FOR_TOWNSHIPS):
        conn.execute(text(f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {table} FROM {role}"))
    for table in existing(NO_ACCESS_FOR_TOWNSHIPS):
        conn.execute(text(f"REVOKE ALL ON {table} FROM {role}"))


def app_roles(conn: Any) -> list[str]:
    """The county role and every township role that exist on the server, sorted."""
    return sorted(conn.execute(text(r"SELECT rolname FROM pg_roles WHERE rolname LIKE 'jianhu\_t\_%' "
                                    "OR rolname = :c"), {"c": COUNTY_ROLE}).scalars())


def ensure_township_roles(conn: Any, codes: list[str]) -> None:
    """Make sure every township in ``codes`` has its role (PostgreSQL only; no-op elsewhere).

    Raises:
        JianhuError: a role is missing and the connection may not create it (the web server's
            login: county IT runs ``jianhu deploy apply`` as the owner first).
    """
    if conn.dialect.name != "postgresql":
        return
    manager = conn.execute(text(
        "SELECT r.rolsuper OR t.tableowner = session_user FROM pg_roles r, pg_tables t "
        "WHERE r.rolname = session_user AND t.schemaname = 'public' AND t.tablename = 'children'"
    )).scalar()
    for code in codes:
        role = township_role(code)
        granted = conn.execute(text(
            "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = :r) "
            "AND has_table_privilege(:r, 'public.children', 'SELECT')"), {"r": role}).scalar()
        if granted and not manager:
            continue  # the web server's login: the role is there and may work in this database
        if not manager:
            raise JianhuError(f"乡镇 {code} 的数据库角色尚未建立：请信息科用数据库所有者账号运行 "
                              "jianhu deploy apply（或 jianhu db upgrade）后再导入")
        ensure_role(conn, role)


def ensure_app_login(conn: Any, password: str, name: str = APP_LOGIN) -> None:
    """Create (or give a new password to) the web server's login role ``name``: ``LOGIN
    NOINHERIT``, a member of the county role and every township role and nothing else, starting
    each session as the county role. It cannot become the owner, change a table, a policy or a
    function, or read a table without switching to one of those roles (PostgreSQL only)."""
    conn.execute(text(f"""
        DO $$ BEGIN
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN
            CREATE ROLE {name} LOGIN NOINHERIT;
          END IF;
        END $$"""))
    conn.execute(text(f"ALTER ROLE {name} LOGIN NOINHERIT NOCREATEROLE NOCREATEDB "
                      f"PASSWORD '{password.replace(chr(39), '')}'"))
    ensure_role(conn, COUNTY_ROLE)
    for role in app_roles(conn):
        conn.execute(text(f"GRANT {role} TO {name}"))
    conn.execute(text(f"ALTER ROLE {name} SET role = '{COUNTY_ROLE}'"))


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
