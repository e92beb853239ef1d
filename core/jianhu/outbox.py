"""The transactional outbox: messages for partner systems, written in the same transaction as the
change they report, delivered afterwards with retries.

An integration plugin calls :func:`enqueue` from its ``jianhu_case_event`` hook (it receives the
session of the change), so a message exists if and only if the change committed. A delivery worker
(e.g. ``jianhu outbox deliver`` of the webhook plugin) takes due messages with :func:`due`, and
marks each with :func:`delivered` or :func:`failed`, committing after each one: a worker killed
mid-way leaves undelivered messages due, and they are sent again (at least once; the message id
lets receivers drop duplicates).
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jianhu.dates import now_utc
from jianhu.db.models import OutboxMessage

MAX_BACKOFF_SECONDS = 3600


def enqueue(session: Session, destination: str, kind: str, payload: Mapping[str, Any],
            *, message_id: uuid.UUID | None = None, now: dt.datetime | None = None) -> uuid.UUID:
    """Add a message for ``destination`` in the caller's transaction; return its id.

    Args:
        session: the session of the change being reported.
        destination: who delivers it, e.g. ``"webhook"``.
        kind: the event kind, e.g. ``"case_opened"``.
        payload: the JSON body to deliver.
        message_id: the event id (default: a new UUID).
        now: when it becomes due (default now).
    """
    message_id = message_id or uuid.uuid4()
    now = now or now_utc()
    session.add(OutboxMessage(id=message_id, destination=destination, kind=kind,
                              payload=dict(payload), created_at=now, attempts=0,
                              next_attempt_at=now))
    return message_id


def due(session: Session, destination: str, limit: int = 100,
        now: dt.datetime | None = None) -> list[OutboxMessage]:
    """Undelivered messages of ``destination`` whose next attempt is due, oldest first.

    On PostgreSQL the rows are locked with ``SKIP LOCKED`` so two workers never take the same one.
    """
    now = now or now_utc()
    stmt = (select(OutboxMessage)
            .where(OutboxMessage.destination == destination,
                   OutboxMessage.delivered_at.is_(None), OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.created_at, OutboxMessage.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list(session.scalars(stmt))


def delivered(message: OutboxMessage, now: dt.datetime | None = None) -> None:
    """Mark a message delivered (the caller commits)."""
    message.attempts += 1
    message.delivered_at = now or now_utc()
    message.last_error = None


def backoff_seconds(attempts: int, base: float = 2.0, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: ``base * 2**(attempts-1)``, capped at one hour, ±20 %."""
    delay = min(base * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)
    return delay * (0.8 + 0.4 * (rng or random).random())


def failed(message: OutboxMessage, error: str, base: float = 2.0,
           now: dt.datetime | None = None) -> None:
    """Record a failed attempt and schedule the next with :func:`backoff_seconds`."""
    message.attempts += 1
    message.last_error = error[:500]
    message.next_attempt_at = (now or now_utc()) + dt.timedelta(
        seconds=backoff_seconds(message.attempts, base))
