"""The audit trail: every change writes an :class:`~jianhu.db.models.AuditEvent` in the same
transaction as the change (handbook 架构, 存储; 个人信息保护法 Art 51, 55–56 for processing records).

Callers add events to the session they change data with, so a rollback removes both. The events
of a transaction wait in the session and are inserted together (one ``executemany``) when it
commits, when a savepoint is released, before a select of the trail in the session, and every
:data:`PENDING_LIMIT` events; a savepoint rolled back drops the events added since it began, a
transaction rolled back (or a session closed) all. So adding an event runs no statement and does
not autoflush the session's other changes.

A session that only reads (a web page on SQLite, :func:`jianhu.db.session.for_reading`) cannot
write: after :func:`defer` its events wait in the session and are written, each time it commits,
in a short transaction of their own on the writing engine — before the page that shows the data
is sent.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, Engine, TextClause, event, insert
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from jianhu.dates import now_utc
from jianhu.db.models import AuditEvent

DEFAULT_ACTOR = "local-admin"


def current_actor(env: Mapping[str, str] | None = None) -> str:
    """Who is acting: ``JIANHU_USER``, else the workspace's local administrator."""
    env = os.environ if env is None else env
    return env.get("JIANHU_USER") or DEFAULT_ACTOR


_PLAIN = frozenset((str, int, float, bool, type(None)))


def jsonable(value: Any) -> Any:
    """Turn dates, UUIDs and nested containers into JSON values for before/after snapshots."""
    if value is None or isinstance(value, str | int | float):
        return value
    if isinstance(value, dict):
        return {k if type(k) is str else str(k): v if type(v) in _PLAIN else jsonable(v)
                for k, v in value.items()}
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return value


def event_row(
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: Any,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Build one audit row as a dict for :func:`record_many`.

    Args:
        actor: who made the change.
        action: ``"create"``, ``"update"``, ``"delete"`` or a domain verb such as ``"grade"``.
        entity_type: table-level name, e.g. ``"child"``.
        entity_id: the entity's id.
        before: values before the change (``None`` for a creation).
        after: values after the change (``None`` for a deletion).
        context: where the change came from, e.g. ``{"file": "screening.xlsx", "row": 12}``.
        at: when (default now, UTC).
    """
    return {
        "at": at or now_utc(),
        "actor": actor,
        "action": action,
        "entity_type": entity_type,
        "entity_id": str(entity_id),
        "before": jsonable(before) if before is not None else None,
        "after": jsonable(after) if after is not None else None,
        "context": jsonable(context) if context is not None else None,
    }


def record(session: Session, **kwargs: Any) -> None:
    """Add one audit event to ``session`` (arguments as :func:`event_row`)."""
    record_many(session, [event_row(**kwargs)])


def record_many(session: Session | Connection, rows: Iterable[dict[str, Any]]) -> None:
    """Add audit rows built with :func:`event_row` to ``session``'s transaction: they wait in the
    session and are inserted together (:func:`write_pending`, see the module), or are queued for
    a transaction of their own in a session of :func:`defer`."""
    rows = list(rows)
    if not rows:
        return
    if not isinstance(session, Session):  # a connection (jianhu.db.rls.across_townships)
        session.execute(insert(AuditEvent.__table__), rows)
        return
    queued = session.info.get(_QUEUED)
    if queued is not None:
        queued.extend(rows)
        return
    pending = session.info.setdefault(_PENDING, [])
    pending.extend(rows)
    if len(pending) >= PENDING_LIMIT:
        write_pending(session)


_QUEUED = "jianhu_audit_queued"
_WRITER = "jianhu_audit_writer"
_PENDING = "jianhu_audit_pending"
_MARKS = "jianhu_audit_marks"
#: Events kept waiting in a session at most (so that a large import's memory does not grow).
PENDING_LIMIT = 5000


def write_pending(session: Session) -> None:
    """Insert the events waiting in ``session`` (:func:`record_many`) in its transaction, in the
    order they were added; nothing when none wait."""
    pending = session.info.get(_PENDING)
    if not pending:
        return
    rows = list(pending)
    pending.clear()
    marks = session.info.get(_MARKS)
    if marks:  # what was waiting is now in the savepoints themselves
        for transaction in marks:
            marks[transaction] = 0
    session.connection().execute(insert(AuditEvent.__table__), rows)


@event.listens_for(Session, "before_commit")
def _write_on_commit(session: Session) -> None:
    if session.info.get(_PENDING):
        session.flush()  # events added while flushing are written too
        write_pending(session)


@event.listens_for(Session, "do_orm_execute")
def _write_before_reading(state: ORMExecuteState) -> None:
    if state.session.info.get(_PENDING) and _reads_trail(state):
        write_pending(state.session)


def _reads_trail(state: ORMExecuteState) -> bool:
    """Whether a statement reads the audit trail: a select of it (its first entity, as every
    reader of the trail writes it; told without compiling the statement), or SQL text naming it."""
    if isinstance(state.statement, TextClause):
        return AuditEvent.__tablename__ in state.statement.text
    mapper = state.bind_mapper
    return state.is_select and mapper is not None and mapper.class_ is AuditEvent


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        session.info.setdefault(_MARKS, {})[transaction] = len(session.info.get(_PENDING, ()))


@event.listens_for(Session, "after_transaction_end")
def _drop_unwritten(session: Session, transaction: SessionTransaction) -> None:
    """A savepoint ended (released: its events are written; rolled back: they are dropped), or
    the transaction did (committed: all are written; rolled back or closed: none is)."""
    pending, marks = session.info.get(_PENDING), session.info.get(_MARKS)
    if transaction.nested:
        mark = marks.pop(transaction, None) if marks else None
        if pending and mark is not None:
            del pending[mark:]
    elif transaction.parent is None:
        if pending:
            pending.clear()
        if marks:
            marks.clear()


def defer(session: Session, writer: Engine) -> None:
    """Queue ``session``'s audit events and write them with ``writer`` whenever it commits
    (:func:`write_queued`): for a session that only reads and may not write (a page on SQLite,
    :func:`jianhu.db.session.for_reading`)."""
    session.info[_QUEUED] = []
    session.info[_WRITER] = writer
    event.listen(session, "after_commit", write_queued)


def write_queued(session: Session) -> None:
    """Write the audit events queued in ``session`` (:func:`defer`) in one short transaction of
    their own; nothing when none are queued. The caller (the request) fails if this fails: an
    identified read is shown only once it is in the audit trail."""
    queued = session.info.get(_QUEUED)
    if not queued:
        return
    rows = list(queued)
    queued.clear()
    with session.info[_WRITER].begin() as conn:
        conn.execute(insert(AuditEvent.__table__), rows)


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict, dict]:
    """Return ``(before, after)`` restricted to the keys whose values differ."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}
