"""Signing in with the roster: passwords, failed attempts and lock-out.

Users are the people of the roster (:class:`~jianhu.db.models.Person`): they sign in with their
roster code and a password stored as an Argon2id hash (:func:`jianhu.deploy.apply.hash_password`).
Three limits (:class:`LockoutPolicy`), so that guessing is slow and nobody outside can lock a
worker out:

- **per account and address**: after :attr:`~LockoutPolicy.max_failures` wrong passwords in a
  row for one code from one network address, that code is locked *for that address* for
  :attr:`~LockoutPolicy.lock_minutes` minutes. Someone who types a colleague's code wrongly, or
  an outsider trying codes, locks only themselves out: the worker signs in from their own phone.
- **per account**: after :attr:`~LockoutPolicy.account_failures` wrong passwords in a row from
  anywhere, the account is locked everywhere (guessing spread over many addresses).
- **per address**: after :attr:`~LockoutPolicy.address_failures` failed sign-ins from one address
  within :attr:`~LockoutPolicy.address_window_minutes` minutes, whatever the codes, the address
  is refused (:data:`TOO_MANY`, HTTP 429) for :attr:`~LockoutPolicy.address_block_minutes`
  minutes (one machine trying many codes). High enough for a township office whose staff share
  one address behind its router.

Addresses are kept only as keyed digests (:class:`~jianhu.db.models.SignInThrottle`). Every
refusal of a code gives the same message (:data:`WRONG`) after the same work, for unknown codes,
wrong passwords and locks alike. Signing out is stored in the database (:func:`revoke`), so a
signed-out cookie stays dead after a restart. GB/T 22239-2019 (网络安全等级保护基本要求) 8.1.4.1
asks for "登录失败处理功能 … 限制非法登录次数" without figures; the figures are the project's
defaults. Behind a reverse proxy the address is the client's only when the server trusts the
proxy's forwarded header (uvicorn's ``--forwarded-allow-ips``).

Every sign-in, failure, lock and password change is audited (个人信息保护法 Art 51, 55).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session

from jianhu import audit
from jianhu.dates import now_utc
from jianhu.db.models import Person, RevokedSession, SignInThrottle
from jianhu.deploy.apply import hash_password, verify_password
from jianhu.errors import JianhuError
from jianhu.people import resolve_actor
from jianhu.roles import Actor

#: Shortest password accepted by :func:`set_password` (project default; GB/T 22239-2019
#: 8.1.4.1 a) asks for complexity without a figure).
MIN_PASSWORD_LENGTH = 8
#: Compared against when the code is unknown, so that a wrong code takes as long as a wrong
#: password (no hint about which codes exist).
_DUMMY_HASH = hash_password("jianhu-no-such-user")
#: The one answer to a failed sign-in, whether the code exists, the password is wrong or the account
#: is locked: nobody learns which codes exist, or that an account is locked, from outside.
WRONG = "编号或密码不正确（连续输错多次的账户会暂时锁定，请稍后再试或请督导员重设密码）"
#: The answer to an address that failed too often (it says nothing about any account).
TOO_MANY = "本设备登录失败次数过多，请{minutes}分钟后再试"


@dataclass(frozen=True)
class LockoutPolicy:
    """The sign-in limits (module docstring).

    Attributes:
        max_failures: wrong passwords in a row, for one code from one address, that lock the code
            for that address.
        lock_minutes: minutes a lock lasts (for the address, or for the account).
        account_failures: wrong passwords in a row for one code from anywhere that lock it
            everywhere.
        address_failures: failed sign-ins from one address that block the address.
        address_window_minutes: the period those are counted in.
        address_block_minutes: minutes the address stays blocked.
    """

    max_failures: int = 5
    lock_minutes: int = 15
    account_failures: int = 50
    address_failures: int = 50
    address_window_minutes: int = 15
    address_block_minutes: int = 15


class SignInRefused(JianhuError):
    """Sign-in refused (Chinese message for the user).

    Attributes:
        locked_until: when the lock ends (UTC), if the code is locked.
        throttled: the address is blocked (HTTP 429), whatever the code.
    """

    def __init__(self, message: str, locked_until: dt.datetime | None = None,
                 throttled: bool = False):
        super().__init__(message)
        self.locked_until = locked_until
        self.throttled = throttled


def _key(*parts: str) -> str:
    """A keyed digest naming an address (or an address and a code) without storing it."""
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8"), key=b"jianhu-sign-in",
                           digest_size=16).hexdigest()


def _row(session: Session, key: str, now: dt.datetime) -> SignInThrottle:
    """The throttle row ``key``, created if new and locked for this attempt."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(insert(SignInThrottle).values(address_key=key, failures=0, window_start=now)
                    .on_conflict_do_nothing())
    return session.scalars(select(SignInThrottle).where(SignInThrottle.address_key == key)
                           .with_for_update().execution_options(populate_existing=True)).one()


def _blocked(row: SignInThrottle | None, now: dt.datetime) -> bool:
    return row is not None and row.blocked_until is not None and row.blocked_until > now


def _failed(session: Session, row: SignInThrottle | None, limit: int, window_minutes: int | None,
            block_minutes: int, now: dt.datetime) -> bool:
    """Count a failure on ``row``; block it at ``limit`` (counted within ``window_minutes``,
    or in a row when ``None``). Returns whether it is now blocked."""
    if row is None:
        return False
    if window_minutes is not None and row.window_start < now - dt.timedelta(minutes=window_minutes):
        row.failures, row.window_start = 0, now
    row.failures += 1
    if row.failures < limit:
        return False
    row.blocked_until = now + dt.timedelta(minutes=block_minutes)
    row.failures, row.window_start = 0, now
    return True


def fingerprint(password_hash: str | None) -> str:
    """A short digest of a stored password hash, kept in the session cookie: changing the
    password changes it, which signs out every session made with the old password."""
    return hashlib.sha256((password_hash or "").encode("utf-8")).hexdigest()[:16]


def _stored_hash(session: Session, code: str) -> str | None:
    """The password hash of an active roster person, read on a connection of its own that does
    not take the write lock (the session's own transactions begin immediately on SQLite)."""
    stmt = select(Person.password_hash).where(Person.code == code, Person.active.is_(True))
    bind = session.get_bind()
    if not isinstance(bind, Engine):  # a session on one connection (a test's): read there
        return session.scalar(stmt)
    with bind.execution_options(jianhu_immediate=False).connect() as connection:
        return connection.scalar(stmt)


def sign_in(session: Session, code: str, password: str, *, policy: LockoutPolicy | None = None,
            address: str | None = None, now: dt.datetime | None = None) -> tuple[Actor, str]:
    """Check a roster code and password against the three limits of :class:`LockoutPolicy`.

    Commits: the failure counters, the locks and the audit events must stay even though the
    sign-in fails.

    Args:
        session: a session (not in any user's scope: it reads and updates ``people``).
        code: the roster code typed in.
        password: the password typed in.
        policy: the limits (default :class:`LockoutPolicy`).
        address: the network address the attempt comes from (``None``: the per-address limits
            do not apply, e.g. a test).
        now: the current instant (default now, UTC).

    Returns:
        ``(actor, fingerprint of the password hash)`` for the session cookie.

    Raises:
        SignInRefused: unknown or inactive code, no password set, wrong password, a lock of the
            code (the same message for all of these), or the address is blocked
            (``throttled``).
    """
    policy = policy or LockoutPolicy()
    now = now or now_utc()
    code = code.strip()
    # The slow part, the Argon2 check (about half a second), runs before the write transaction,
    # so that many people signing in at once do not queue behind each other's checks holding
    # the lock (SQLite has one writer). Its answer counts only if the hash is still the same
    # under the lock below, where the limits are decided one attempt at a time.
    checked_hash = _stored_hash(session, code) if code else None
    matches = verify_password(checked_hash or _DUMMY_HASH, password) and checked_hash is not None
    machine = _row(session, _key(address), now) if address else None
    if _blocked(machine, now):
        session.rollback()
        raise SignInRefused(TOO_MANY.format(minutes=policy.address_block_minutes),
                            machine.blocked_until, throttled=True)
    pair = _row(session, _key(address, code), now) if address and code else None
    # The rows are locked until this attempt is counted, so parallel attempts are counted one by
    # one: an attempt beyond the limits is refused whatever its password, so no more passwords
    # can be tried than the limits allow (SQLite: the transaction holds the write lock from its
    # start, jianhu.db.session).
    person = session.scalar(select(Person).where(Person.code == code).with_for_update()) \
        if code else None

    def refuse(locked_until: dt.datetime | None = None) -> SignInRefused:
        if _failed(session, machine, policy.address_failures, policy.address_window_minutes,
                   policy.address_block_minutes, now):
            audit.record(session, actor="-", action="throttle", entity_type="address",
                         entity_id=machine.address_key, after={"blocked_until": machine.blocked_until})
        session.commit()
        return SignInRefused(WRONG, locked_until)

    if person is None or not person.active or not person.password_hash:
        raise refuse()
    if person.locked_until is not None and person.locked_until > now:
        raise refuse(person.locked_until)
    if _blocked(pair, now):
        raise refuse(pair.blocked_until)
    if not (matches if person.password_hash == checked_hash
            else verify_password(person.password_hash, password)):  # changed meanwhile
        session.execute(update(Person).where(Person.id == person.id)
                        .values(failed_logins=Person.failed_logins + 1))
        session.refresh(person)
        if person.failed_logins >= policy.account_failures:
            until = now + dt.timedelta(minutes=policy.lock_minutes)
            person.locked_until, person.failed_logins = until, 0
            audit.record(session, actor=code, action="lock", entity_type="person",
                         entity_id=person.id, after={"locked_until": until},
                         context={"failures": policy.account_failures, "scope": "account"})
            raise refuse(until)
        if _failed(session, pair, policy.max_failures, None, policy.lock_minutes, now):
            audit.record(session, actor=code, action="lock", entity_type="person",
                         entity_id=person.id, after={"locked_until": pair.blocked_until},
                         context={"failures": policy.max_failures, "scope": "address"})
            raise refuse(pair.blocked_until)
        audit.record(session, actor=code, action="login_failed", entity_type="person",
                     entity_id=person.id, context={"failures": person.failed_logins})
        raise refuse()
    actor = resolve_actor(session, code)
    person.failed_logins, person.locked_until = 0, None
    if pair is not None:
        pair.failures = 0
    day = now - dt.timedelta(days=1)  # forget counts nobody is blocked by any more
    session.execute(delete(SignInThrottle).where(
        SignInThrottle.window_start < day,
        (SignInThrottle.blocked_until.is_(None)) | (SignInThrottle.blocked_until < now)))
    audit.record(session, actor=code, action="login", entity_type="person", entity_id=person.id)
    session.commit()
    return actor, fingerprint(person.password_hash)


def revoke(session: Session, sid: str | None, *, keep_hours: int) -> None:
    """End the web session ``sid`` for good (signing out) and forget revocations older than a
    session can live. Commits."""
    if sid:
        cutoff = now_utc() - dt.timedelta(hours=keep_hours)
        session.execute(delete(RevokedSession).where(RevokedSession.revoked_at < cutoff))
        if session.get(RevokedSession, sid) is None:
            session.add(RevokedSession(sid=sid))
    session.commit()


def is_revoked(session: Session, sid: str | None) -> bool:
    """Whether the web session ``sid`` was signed out (any server process, any time)."""
    return not sid or session.get(RevokedSession, sid) is not None


def set_password(session: Session, code: str, password: str, *, actor: Actor) -> Person:
    """Set a roster person's password (Argon2id), unlock the account and audit it. Does not
    commit.

    Township supervisors may set passwords of their own township's people; the county and local
    administrators of anyone (the same people who may import the roster, ``people:import``).

    Raises:
        JianhuError: the actor may not, the code is not on the roster (or outside the actor's
            township), or the password is shorter than :data:`MIN_PASSWORD_LENGTH` or equal to
            the code.
    """
    if not actor.can("people:import"):
        raise JianhuError(f"{actor.code} 无权设置登录密码")
    person = session.scalar(select(Person).where(Person.code == code))
    if person is not None and actor.township_code is not None and actor.role != "county_admin":
        from jianhu.db.models import Township

        town = session.get(Township, person.township_id) if person.township_id else None
        if town is None or town.code != actor.township_code:
            person = None
    if person is None:
        raise JianhuError(f"人员名册中没有「{code}」")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise JianhuError(f"密码至少{MIN_PASSWORD_LENGTH}位")
    if password.strip().lower() == code.lower():
        raise JianhuError("密码不能与人员编号相同")
    person.password_hash = hash_password(password)
    person.failed_logins, person.locked_until = 0, None
    person.updated_at = now_utc()
    audit.record(session, actor=actor.code, action="set_password", entity_type="person",
                 entity_id=person.id, after={"code": person.code})
    return person
