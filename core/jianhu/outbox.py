"""The transactional outbox: messages for partner systems, written in the same transaction as the
change they report, delivered afterwards with retries.

An integration plugin calls :func:`enqueue` from its ``jianhu_case_event`` hook (it receives the
session of the change), so a message exists if and only if the change committed.

A delivery worker (e.g. ``jianhu outbox deliver`` of the webhook plugin) takes one message at a
time with :func:`claim`, which leases it (``lease_until``) in a committed transaction of its own,
so two workers running together never send the same message; it sends it, then records the
outcome with :func:`delivered` or :func:`failed` and commits. Every error of the send is a failed
attempt retried with backoff; after :data:`MAX_ATTEMPTS` the message is parked with its last error
for someone to look at. A worker killed mid-send leaves its message leased until the lease runs
out, and it is sent again: delivery is **at least once**, and the message id (the event id) is
the idempotency key a receiver uses to drop the duplicate (handbook: 开发者参考 → 插件 webhook).
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from jianhu.dates import now_utc
from jianhu.db.models import OutboxMessage

MAX_BACKOFF_SECONDS = 3600
#: Failed attempts after which a message is parked (about a day of retries with the backoff).
MAX_ATTEMPTS = 16
#: How long a claimed message stays with its worker (longer than any send may take).
LEASE_SECONDS = 300


def enqueue(session: Session, destination: str, kind: str, payload: Mapping[str, Any],
            *, message_id: uuid.UUID | None = None, now: dt.datetime | None = None,
            township_code: str | None = None) -> uuid.UUID:
    """Add a message for ``destination`` in the caller's transaction; return its id.

    Args:
        session: the session of the change being reported.
        destination: who delivers it, e.g. ``"webhook"``.
        kind: the event kind, e.g. ``"case_opened"``.
        payload: the JSON body to deliver.
        message_id: the event id (default: a new UUID).
        now: when it becomes due (default now).
        township_code: the township the message is about (only its role and the county's read
            it on PostgreSQL; ``None``: only the county's).
    """
    message_id = message_id or uuid.uuid4()
    now = now or now_utc()
    session.add(OutboxMessage(id=message_id, destination=destination, kind=kind,
                              payload=dict(payload), created_at=now, attempts=0,
                              next_attempt_at=now, township_code=township_code))
    return message_id


def claim(session: Session, destination: str, *, lease_seconds: float = LEASE_SECONDS,
          now: dt.datetime | None = None) -> OutboxMessage | None:
    """Lease the oldest due message of ``destination`` to this worker and commit; ``None`` when
    nothing is due.

    Due: not delivered, not parked, its next attempt reached, and not leased to a live worker.
    The lease is a conditional update (only a message still unleased is taken), so of two
    workers that pick the same message one gets it and the other looks again; on PostgreSQL the
    candidate row is also locked with ``SKIP LOCKED`` while it is leased.
    """
    now = now or now_utc()
    free = or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now)
    for _ in range(10):
        stmt = (select(OutboxMessage.id)
                .where(OutboxMessage.destination == destination,
                       OutboxMessage.delivered_at.is_(None), OutboxMessage.parked_at.is_(None),
                       OutboxMessage.next_attempt_at <= now, free)
                .order_by(OutboxMessage.created_at, OutboxMessage.id).limit(1))
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        candidate = session.scalar(stmt)
        if candidate is None:
            session.commit()
            return None
        taken = session.execute(
            update(OutboxMessage).where(OutboxMessage.id == candidate, free,
                                        OutboxMessage.delivered_at.is_(None))
            .values(lease_until=now + dt.timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False)).rowcount
        session.commit()
        if taken:
            message = session.get(OutboxMessage, candidate)
            session.refresh(message)
            return message
    return None


def release(message: OutboxMessage) -> None:
    """Give a claimed message back unsent (the caller commits): it is due again at once."""
    message.lease_until = None


def delivered(message: OutboxMessage, now: dt.datetime | None = None) -> None:
    """Mark a message delivered (the caller commits)."""
    message.attempts += 1
    message.delivered_at = now or now_utc()
    message.last_error = None
    message.lease_until = None


def backoff_seconds(attempts: int, base: float = 2.0, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: ``base * 2**(attempts-1)``, capped at one hour, ±20 %."""
    delay = min(base * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)
    return delay * (0.8 + 0.4 * (rng or random).random())


def failed(message: OutboxMessage, error: str, base: float = 2.0,
           now: dt.datetime | None = None) -> None:
    """Record a failed attempt and schedule the next with :func:`backoff_seconds`; after
    :data:`MAX_ATTEMPTS` park the message (the caller commits)."""
    now = now or now_utc()
    message.attempts += 1
    message.last_error = error[:500]
    message.lease_until = None
    message.next_attempt_at = now + dt.timedelta(seconds=backoff_seconds(message.attempts, base))
    if message.attempts >= MAX_ATTEMPTS:
        message.parked_at = now


def retry_parked(session: Session, destination: str, now: dt.datetime | None = None) -> int:
    """Make every parked message of ``destination`` due again with a fresh count of attempts;
    return how many (the caller commits)."""
    now = now or now_utc()
    return session.execute(
        update(OutboxMessage).where(OutboxMessage.destination == destination,
                                    OutboxMessage.parked_at.is_not(None))
        .values(parked_at=None, attempts=0, next_attempt_at=now, lease_until=None)
        .execution_options(synchronize_session=False)).rowcount
