"""Signing in with the roster: passwords, failed attempts and lock-out.

Users are the people of the roster (:class:`~jianhu.db.models.Person`): they sign in with their
roster code and a password stored as an Argon2id hash (:func:`jianhu.deploy.apply.hash_password`).
After :attr:`LockoutPolicy.max_failures` wrong passwords in a row the account is locked for
:attr:`LockoutPolicy.lock_minutes` minutes. Every refusal gives the same message (:data:`WRONG`)
after the same work, for unknown codes, wrong passwords and locked accounts alike. Signing out is
stored in the database (:func:`revoke`), so a signed-out cookie stays dead after a restart.
GB/T 22239-2019 (网络安全等级保护基本要求) 8.1.4.1 asks
for "登录失败处理功能 … 限制非法登录次数" without figures; 5 failures / 15 minutes is the project's
default, set in :class:`LockoutPolicy`.

Every sign-in, failure, lock and password change is audited (个人信息保护法 Art 51, 55).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from jianhu import audit
from jianhu.dates import now_utc
from jianhu.db.models import Person, RevokedSession
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


@dataclass(frozen=True)
class LockoutPolicy:
    """How many wrong passwords in a row lock an account, and for how long.

    Attributes:
        max_failures: consecutive failures that lock the account.
        lock_minutes: minutes the account stays locked.
    """

    max_failures: int = 5
    lock_minutes: int = 15


class SignInRefused(JianhuError):
    """Sign-in refused (Chinese message for the user).

    Attributes:
        locked_until: when the account unlocks (UTC), if it is locked.
    """

    def __init__(self, message: str, locked_until: dt.datetime | None = None):
        super().__init__(message)
        self.locked_until = locked_until


def fingerprint(password_hash: str | None) -> str:
    """A short digest of a stored password hash, kept in the session cookie: changing the
    password changes it, which signs out every session made with the old password."""
    return hashlib.sha256((password_hash or "").encode("utf-8")).hexdigest()[:16]


def sign_in(session: Session, code: str, password: str, *, policy: LockoutPolicy | None = None,
            now: dt.datetime | None = None) -> tuple[Actor, str]:
    """Check a roster code and password; count failures and lock the account after too many.

    Commits: the failure counter, the lock and the audit events must stay even though the
    sign-in fails.

    Args:
        session: a session (not in any user's scope: it reads and updates ``people``).
        code: the roster code typed in.
        password: the password typed in.
        policy: the lock-out policy (default :class:`LockoutPolicy`).
        now: the current instant (default now, UTC).

    Returns:
        ``(actor, fingerprint of the password hash)`` for the session cookie.

    Raises:
        SignInRefused: unknown or inactive code, no password set, wrong password (the same
            message for all of these), or the account is locked (with the time it unlocks).
    """
    policy = policy or LockoutPolicy()
    now = now or now_utc()
    code = code.strip()
    # The row is locked until this attempt is counted, so parallel attempts are checked one by
    # one and cannot test more passwords than the policy allows (SQLite: the transaction holds
    # the write lock from its start, jianhu.db.session).
    person = session.scalar(select(Person).where(Person.code == code).with_for_update()) \
        if code else None
    if person is None or not person.active or not person.password_hash:
        verify_password(_DUMMY_HASH, password)  # as long as a wrong password takes
        session.rollback()
        raise SignInRefused(WRONG)
    if person.locked_until is not None and person.locked_until > now:
        until = person.locked_until
        verify_password(_DUMMY_HASH, password)
        session.rollback()
        raise SignInRefused(WRONG, until)
    if not verify_password(person.password_hash, password):
        session.execute(update(Person).where(Person.id == person.id)
                        .values(failed_logins=Person.failed_logins + 1))
        session.refresh(person)
        if person.failed_logins >= policy.max_failures:
            until = now + dt.timedelta(minutes=policy.lock_minutes)
            person.locked_until, person.failed_logins = until, 0
            audit.record(session, actor=code, action="lock", entity_type="person",
                         entity_id=person.id, after={"locked_until": until},
                         context={"failures": policy.max_failures})
            session.commit()
            raise SignInRefused(WRONG, until)
        audit.record(session, actor=code, action="login_failed", entity_type="person",
                     entity_id=person.id, context={"failures": person.failed_logins})
        session.commit()
        raise SignInRefused(WRONG)
    actor = resolve_actor(session, code)
    person.failed_logins, person.locked_until = 0, None
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
