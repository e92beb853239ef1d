"""The session cookie, anti-forgery tokens and security headers.

- **Session cookie** ``jianhu_session``: Starlette's signed-cookie sessions (itsdangerous), always
  ``HttpOnly`` and ``SameSite=Lax``; ``Secure`` when the request came over HTTPS (behind the
  county's nginx, which sends ``X-Forwarded-Proto: https`` to uvicorn on loopback), or always /
  never when configured (:class:`WebConfig.cookie_secure <jianhu.web.app.WebConfig>`).
- **CSRF**: one random token per session. Every unsafe request (POST, PUT, PATCH, DELETE) must
  carry it, in the form field ``csrf_token`` (pages) or the header ``X-CSRF-Token`` (API calls
  authenticated by the cookie); only the API sign-in ``POST /api/session`` (a JSON body, which a
  cross-site form cannot send) is exempt. A request without the right token gets 403.
- **Headers**: a Content-Security-Policy allowing only this site's own files (no inline
  script), no framing, no MIME sniffing, no referrer outside the site, and ``no-store`` caching
  for everything but static files (pages show children's data).
"""

from __future__ import annotations

import secrets
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jianhu.errors import JianhuError

COOKIE = "jianhu_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
#: Unsafe requests that need no token: the API sign-in takes JSON only.
#: Requests that carry no session cookie: the API's sign-in, and OpenRosa submissions, which
#: authenticate each request with HTTP Basic (jianhu.web.openrosa).
CSRF_EXEMPT = frozenset({("POST", "/api/session"), ("POST", "/submission")})
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
#: For the printable documents, whose template carries its own ``<style>``.
CSP_DOCUMENT = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")


class CsrfRefused(JianhuError):
    """An unsafe request without the session's anti-forgery token."""


def csrf_token(session: dict[str, Any]) -> str:
    """The session's anti-forgery token (made on first use)."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return str(token)


async def csrf_protect(request: Request) -> None:
    """App-wide dependency: refuse an unsafe request whose token is missing or wrong.

    Raises:
        CsrfRefused: no token, or not the session's (compared in constant time).
    """
    if request.method in SAFE_METHODS or (request.method, request.url.path) in CSRF_EXEMPT:
        return
    expected = request.session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    content_type = request.headers.get("content-type", "")
    if sent is None and content_type.startswith(("application/x-www-form-urlencoded",
                                                 "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not secrets.compare_digest(str(expected), sent):
        raise CsrfRefused("页面已过期或来源不明（缺少防伪令牌），请刷新页面后重试")


class SessionCookies(SessionMiddleware):
    """Starlette's signed-cookie sessions, with ``Secure`` decided per request when
    ``secure`` is ``None`` (set when the request's scheme is ``https``)."""

    def __init__(self, app: ASGIApp, *, secret_key: str, secure: bool | None, max_age: int):
        super().__init__(app, secret_key=secret_key, session_cookie=COOKIE, max_age=max_age,
                         same_site="lax", https_only=bool(secure))
        self.auto = secure is None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (self.auto and scope["type"] == "http" and scope.get("scheme") == "https"):
            await super().__call__(scope, receive, send)
            return
        prefix = f"{COOKIE}=".encode()

        async def send_secure(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    (k, v + b"; secure" if k.lower() == b"set-cookie" and v.startswith(prefix)
                     else v) for k, v in message.get("headers", [])]
            await send(message)

        await super().__call__(scope, receive, send_secure)


class SecurityHeaders:
    """Add the security headers to every HTTP response (a response may set its own CSP)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope.get("path", "").startswith("/static/")

        async def send_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CSP)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "same-origin")
                if not static:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_headers)
