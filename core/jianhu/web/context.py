"""Per-request context: the database session, the signed-in user and the user's scope.

Every page and API call that shows or changes case data depends on :func:`signed_in`, which
checks the session cookie against the roster on every request (the person must still be active
and the password unchanged since signing in), resolves the :class:`~jianhu.roles.Actor`
(:func:`jianhu.people.resolve_actor`) and puts the database session in the actor's scope
(:func:`jianhu.scope.scope_for`, which on PostgreSQL also switches row-level security on).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from jianhu import audit
from jianhu.dates import local_today
from jianhu.db.models import Case, Person
from jianhu.errors import JianhuError
from jianhu.people import resolve_actor
from jianhu.roles import Actor
from jianhu.scope import Scope, scope_for
from jianhu.settings import apply_plugin_settings
from jianhu.web.auth import fingerprint, is_revoked


class NotSignedIn(JianhuError):
    """No valid sign-in on this request (pages redirect to ``/login``; the API answers 401)."""


class Forbidden(JianhuError):
    """The user's role may not do this (403)."""


class NotFound(JianhuError):
    """Nothing here, or nothing the user may see (404; a case outside the scope is "not found"
    so that its existence is not revealed)."""


@dataclass
class Ctx:
    """What a request of a signed-in user works with.

    Attributes:
        request: the request.
        session: the database session, in the user's scope.
        actor: the signed-in user.
        scope: the user's scope.
        today: today's local date (Asia/Shanghai).
    """

    request: Request
    session: Session
    actor: Actor
    scope: Scope
    today: dt.date

    @property
    def host(self) -> Any:
        """The loaded plugins."""
        return self.request.app.state.host

    def require(self, action: str) -> None:
        """Raise :class:`Forbidden` unless the user's role may do ``action``."""
        try:
            self.actor.require(action)
        except JianhuError as exc:
            raise Forbidden(str(exc)) from None

    def find_case(self, case_no: str) -> Case:
        """The case with this number if it is in the user's scope.

        Raises:
            NotFound: no such case in scope (the same whether it exists elsewhere or not).
        """
        try:
            return self.scope.find_case(self.session, case_no)
        except JianhuError as exc:
            raise NotFound(str(exc)) from None


#: Requests that only read: their sessions never take the write lock (:func:`db`).
READING_METHODS = frozenset({"GET", "HEAD"})


def _request_session(request: Request, reading: bool) -> Iterator[Session]:
    state = request.app.state
    if reading and state.reading_sessions is not None:
        session = state.reading_sessions()
        audit.defer(session, state.audit_writer)
    else:
        session = state.sessions()
    try:
        yield session
        audit.write_queued(session)
    finally:
        session.close()


def db(request: Request) -> Iterator[Session]:
    """A database session for one request; closed (uncommitted changes rolled back) after it.

    On SQLite a ``GET`` or ``HEAD`` gets a reading session (:func:`jianhu.db.session.for_reading`):
    it never takes the write lock, and the audit events of what it shows are queued and written
    when it commits (:func:`jianhu.audit.defer`), or at the latest when it ends. Other methods,
    and every request on PostgreSQL (whose readers never block, and whose audit rows must be
    written under the township's database role), get a writing session.
    """
    yield from _request_session(request, request.method in READING_METHODS)


def writing_db(request: Request) -> Iterator[Session]:
    """A writing session whatever the method: for a ``GET`` that signs in (OpenRosa's HTTP Basic
    counts failed passwords, :mod:`jianhu.web.openrosa`)."""
    yield from _request_session(request, False)


def signed_in(request: Request, session: Annotated[Session, Depends(db)]) -> Ctx:
    """The signed-in user's context.

    Raises:
        NotSignedIn: no session cookie, a signed-out or expired one, or the person is no longer
            active or has a new password.
        Forbidden: the person's roster entry gives no township where the role needs one.
    """
    user = request.session.get("user")
    if not isinstance(user, dict) or is_revoked(session, user.get("sid")):
        raise NotSignedIn("请先登录")
    row = session.execute(select(Person.password_hash, Person.active)
                          .where(Person.code == user.get("code"))).first()
    if row is None or not row.active or fingerprint(row.password_hash) != user.get("pw"):
        request.session.pop("user", None)
        raise NotSignedIn("登录已失效，请重新登录")
    try:
        actor = resolve_actor(session, user["code"])
        apply_plugin_settings(session, request.app.state.host, actor.township_code)
        scope = scope_for(session, actor)
    except JianhuError as exc:
        raise Forbidden(str(exc)) from None
    return Ctx(request, session, actor, scope, local_today())


async def form_data(request: Request) -> FormData:
    """The submitted form fields (empty for a GET): an async dependency, so sync endpoints can
    read a form whose field names are only known from the form's schema."""
    if request.method in ("GET", "HEAD"):
        return FormData()
    return await request.form()


#: Parameter types of the endpoints: the request's database session, the signed-in user's
#: context, and the submitted form fields.
DB = Annotated[Session, Depends(db)]
WritingDB = Annotated[Session, Depends(writing_db)]
SignedIn = Annotated[Ctx, Depends(signed_in)]
Submitted = Annotated[FormData, Depends(form_data)]
