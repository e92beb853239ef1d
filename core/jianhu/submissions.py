"""Idempotent writes: a record sent again with the same key is one record, answered as before.

A device (the offline web app, ODK Collect) gives each record an id when it is first saved and
sends it as the key (the ``Idempotency-Key`` header of the IETF httpapi draft; an OpenRosa
submission's ``instanceID``). The first write stores the key with its answer in the same
transaction as the record, so either both exist or neither does; the same key sent again by the
person to the same endpoint with the same content gets that answer back, marked as a replay, and
writes nothing; so does a colleague of the same township when one of the two records for others
(a supervisor importing a phone's exported records, then the phone sending them too, makes each
record once). The same key with other content, from another township or from a colleague who
records only for themselves is refused (handbook 开发者 离线采集 §幂等).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jianhu.db.models import Submission, Township
from jianhu.errors import JianhuError
from jianhu.roles import Actor

#: What a key may look like: a UUID, or ODK's ``uuid:<UUID>``, or any token of 8–100 URL-safe
#: characters (the draft leaves the form to the client).
KEY = re.compile(r"^[A-Za-z0-9:._-]{8,100}$")


@dataclass(frozen=True)
class Replay:
    """The answer first given for a key."""

    status: int
    response: dict[str, Any]


def read_key(header: str | None) -> str | None:
    """The key of an ``Idempotency-Key`` header (a structured-field string: quotes optional),
    or ``None`` when there is none.

    Raises:
        JianhuError: the key is malformed (Chinese message).
    """
    if header is None:
        return None
    key = header.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not KEY.match(key):
        raise JianhuError("Idempotency-Key 应为设备生成的记录编号（UUID）")
    return key.lower() if _is_uuid(key) else key


def _is_uuid(key: str) -> bool:
    try:
        uuid.UUID(key.removeprefix("uuid:"))
    except ValueError:
        return False
    return True


def request_hash(body: Any) -> str:
    """A digest of a request's content (JSON with sorted keys)."""
    text = json.dumps(body, sort_keys=True, ensure_ascii=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def find(session: Session, key: str, actor: Actor, endpoint: str, digest: str) -> Replay | None:
    """The answer stored for ``key``, or ``None`` when the key is new.

    Raises:
        JianhuError: the key was used in another township, for another endpoint or with other
            content (nothing of the first answer is shown).
    """
    row = session.get(Submission, key)
    if row is None:
        return None
    someone_else = row.actor != actor.code and not actor.can("records:on_behalf") and \
        not _acts_on_behalf(session, row.actor)
    if row.township_id != _township_id(session, actor) or row.endpoint != endpoint or \
            row.request_hash != digest or someone_else:
        raise JianhuError("这个记录编号已用于另一份内容不同的记录，未写入：请在设备上重新保存后再上传")
    return Replay(row.status, dict(row.response))


def _acts_on_behalf(session: Session, code: str) -> bool:
    """Whether the person who first sent a key may record for others (a supervisor importing a
    phone's exported records, whose owner's phone then sends them too)."""
    from jianhu.people import resolve_actor

    try:
        return resolve_actor(session, code).can("records:on_behalf")
    except JianhuError:
        return False


def _township_id(session: Session, actor: Actor) -> uuid.UUID | None:
    return session.scalar(select(Township.id).where(
        Township.code == actor.township_code)) if actor.township_code else None


def remember(session: Session, key: str, actor: Actor, endpoint: str, digest: str, status: int,
             response: dict[str, Any]) -> None:
    """Store ``key`` with its answer in the caller's transaction (the record's own)."""
    session.add(Submission(key=key, actor=actor.code, township_id=_township_id(session, actor),
                           endpoint=endpoint,
                           request_hash=digest, status=status, response=response))
    session.flush()


@dataclass(frozen=True)
class Outcome:
    """The answer to a write: HTTP-like status, body, and whether it is a replay."""

    status: int
    body: dict[str, Any]
    replay: bool = False


def once(session: Session, key: str | None, actor: Actor, endpoint: str, digest: str,
         write: Callable[[], tuple[int, dict[str, Any]]]) -> Outcome:
    """Run ``write`` (→ status, body) in one transaction, once per key: a key seen before gets
    its first answer back as a replay and nothing is written. Only a success (status < 300) is
    remembered, so a record refused and corrected on the device can be sent again with its id.
    A refusal rolls back whatever ``write`` did.

    Raises:
        JianhuError: the key was used for other content or by someone else.
    """
    for attempt in (1, 2):
        try:
            prior = find(session, key, actor, endpoint, digest) if key else None
            if prior is not None:
                session.rollback()
                return Outcome(prior.status, {**prior.response, "replay": True}, True)
            status, body = write()
            if status >= 300:
                session.rollback()
                return Outcome(status, body)
            if key:
                remember(session, key, actor, endpoint, digest, status, body)
            session.commit()
            return Outcome(status, body)
        except IntegrityError:  # the same key sent twice at once: the other one has written
            session.rollback()
            if not key or attempt == 2:
                raise
        except BaseException:
            session.rollback()
            raise
    raise AssertionError("unreachable")
