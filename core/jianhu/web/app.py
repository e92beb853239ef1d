"""The web application: FastAPI with Jinja2 templates, served by uvicorn (``jianhu serve``).

:func:`create_app` builds it on an engine and a plugin host: the pages (:mod:`jianhu.web.pages`),
the JSON API under ``/api/`` (:mod:`jianhu.web.api`, described at ``/openapi.json``), the pages
plugins add (``jianhu_web_pages``), the static files, sessions, anti-forgery checks and security
headers (:mod:`jianhu.web.security`). Pages are in Chinese.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from markupsafe import Markup
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException

from jianhu import __version__
from jianhu.dates import LOCAL_TZ
from jianhu.db.session import Busy, for_reading, for_writing, open_session
from jianhu.errors import JianhuError
from jianhu.extensions import WebDownload, WebPage, WebRequest
from jianhu.lifecycle import TransitionRefused
from jianhu.web import api, offline, openrosa, pages
from jianhu.web.auth import LockoutPolicy
from jianhu.web.context import Forbidden, NotFound, NotSignedIn, SignedIn, Submitted
from jianhu.web.rendering import HERE, STATUS_TEXT, download, error_page, is_api, plugin_page_visible, render
from jianhu.web.security import (
    CSRF_FIELD,
    CsrfRefused,
    SecurityHeaders,
    SessionCookies,
    csrf_protect,
    csrf_token,
)


@dataclass(frozen=True)
class WebConfig:
    """Settings of the web application.

    Attributes:
        secret_key: signs the session cookies. ``None``: a random key per process (everybody
            signs in again after a restart). Set ``JIANHU_WEB_SECRET`` on a server.
        cookie_secure: ``True`` always mark the session cookie ``Secure``, ``False`` never,
            ``None`` when the request came over HTTPS (the default; tests on
            ``http://127.0.0.1`` then still get a cookie).
        session_hours: hours a sign-in lasts.
        offline_days: days the offline app may keep capturing after an online sign-in
            (:mod:`jianhu.web.offline`; ``JIANHU_OFFLINE_DAYS``).
        lockout: failures that lock an account, and for how long.
    """

    secret_key: str | None = None
    cookie_secure: bool | None = None
    session_hours: int = 12
    offline_days: int = 7
    lockout: LockoutPolicy = field(default_factory=LockoutPolicy)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WebConfig:
        """Read ``JIANHU_WEB_SECRET``, ``JIANHU_WEB_SECURE_COOKIE`` (``auto``, ``1`` or ``0``)
        and ``JIANHU_OFFLINE_DAYS`` (1–30).

        Raises:
            JianhuError: ``JIANHU_WEB_SECURE_COOKIE`` or ``JIANHU_OFFLINE_DAYS`` has another value.
        """
        env = os.environ if env is None else env
        flag = (env.get("JIANHU_WEB_SECURE_COOKIE") or "auto").strip().lower()
        values = {"auto": None, "1": True, "true": True, "yes": True, "0": False, "false": False,
                  "no": False}
        if flag not in values:
            raise JianhuError("JIANHU_WEB_SECURE_COOKIE 只能是 auto、1 或 0")
        days = (env.get("JIANHU_OFFLINE_DAYS") or "7").strip()
        if not (days.isdigit() and 1 <= int(days) <= 30):
            raise JianhuError("JIANHU_OFFLINE_DAYS 应为 1 至 30 之间的天数")
        return cls(secret_key=env.get("JIANHU_WEB_SECRET") or None, cookie_secure=values[flag],
                   offline_days=int(days))


def create_app(engine: Engine, host: Any, config: WebConfig | None = None) -> FastAPI:
    """Build the web application.

    Args:
        engine: the workspace's engine; its schema must be current.
        host: the loaded plugins (:class:`jianhu.plugins.Host`).
        config: settings (default: :meth:`WebConfig.from_env`).

    Returns:
        the FastAPI application (an ASGI app for uvicorn).

    Raises:
        JianhuError: the database is not initialised or not on the current schema.
        PluginError: a plugin's web page is invalid.
    """
    config = config or WebConfig.from_env()
    open_session(engine).close()  # the schema is current (checked once, not per request)
    app = FastAPI(title="监护 Jianhu API", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url="/openapi.json", dependencies=[Depends(csrf_protect)],
                  description="儿童家庭监护缺失社会干预：个案、待办、表单登记与汇总。"
                              "登录：POST /api/session；之后的请求带会话 Cookie，"
                              "修改类请求另带请求头 X-CSRF-Token（登录时返回）。")
    app.state.host = host
    app.state.config = config
    app.state.sessions = sessionmaker(for_writing(engine), expire_on_commit=False)
    reader = for_reading(engine)  # SQLite: reads never take the write lock (handbook 架构, 并发)
    app.state.reading_sessions = sessionmaker(reader, expire_on_commit=False) \
        if reader is not engine else None
    app.state.audit_writer = for_writing(engine)
    app.add_middleware(SessionCookies, secret_key=config.secret_key or secrets.token_urlsafe(48),
                       secure=config.cookie_secure, max_age=config.session_hours * 3600)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(offline.router)
    app.include_router(openrosa.router)
    for page in host.web_pages.values():
        _add_plugin_page(app, page)

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if is_api(request):
            return JSONResponse({"detail": str(exc)}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, exc: CsrfRefused) -> Response:
        return error_page(request, 403, str(exc))

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return error_page(request, 403, str(exc))

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        return error_page(request, 404, str(exc))

    @app.exception_handler(Busy)
    async def busy(request: Request, exc: Busy) -> Response:
        return _busy(request, str(exc))

    @app.exception_handler(OperationalError)
    async def locked(request: Request, exc: OperationalError) -> Response:
        if "database is locked" not in str(exc.orig):
            raise exc  # a crash: logged, and answered by crashed() below
        return _busy(request, Busy.MESSAGE)  # another process held SQLite's lock too long

    @app.exception_handler(TransitionRefused)
    async def refused(request: Request, exc: TransitionRefused) -> Response:
        return error_page(request, 409, str(exc))

    @app.exception_handler(JianhuError)
    async def user_error(request: Request, exc: JianhuError) -> Response:
        return error_page(request, 422, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail
        if isinstance(detail, str) and detail.isascii():  # the framework's own English words
            detail = {400: "请求内容无法解析（应为 JSON 或表单）"}.get(
                exc.status_code, STATUS_TEXT.get(exc.status_code, "请求有误"))
        if is_api(request) or request.url.path == "/openapi.json":
            return JSONResponse({"detail": detail}, status_code=exc.status_code,
                                headers=getattr(exc, "headers", None))
        message = detail if isinstance(detail, str) and exc.status_code != 404 else "没有这个页面"
        return error_page(request, exc.status_code, message)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        problems = validation_problems(exc.errors())
        if request.url.path in openrosa.PATHS:  # ODK reads OpenRosa messages, not pages
            return openrosa.message("提交的格式不对：" + "；".join(p["msg"] for p in problems), 400)
        if is_api(request):
            return JSONResponse({"detail": problems}, status_code=422)
        return error_page(request, 422, "请求有误：" + "；".join(p["msg"] for p in problems))

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> Response:
        # the server logs the exception itself (without SQL parameters: hide_parameters)
        at = dt.datetime.now(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")
        message = (f"系统出错了，这次操作没有保存（{at}）。请返回上一页再试一次；如果一直出错，"
                   "请把出错的时间告诉乡镇督导员或县级信息科。")
        return error_page(request, 500, message)

    return app


def _busy(request: Request, message: str) -> Response:
    """503 with a Chinese message and ``Retry-After``: the database stayed busy; nothing was
    written (:class:`jianhu.db.session.Busy`)."""
    response = error_page(request, 503, message)
    response.headers["Retry-After"] = "5"
    return response


#: pydantic's error types → what a user reads (``{...}`` filled from the error's context).
_VALIDATION = {
    "missing": "必填", "int_parsing": "应为整数", "int_type": "应为整数",
    "float_parsing": "应为数字", "bool_parsing": "应为 true 或 false", "bool_type": "应为 true 或 false",
    "string_type": "应为文字", "greater_than_equal": "不能小于 {ge}", "less_than_equal": "不能大于 {le}",
    "greater_than": "应大于 {gt}", "less_than": "应小于 {lt}", "string_too_short": "至少 {min_length} 个字",
    "string_too_long": "最多 {max_length} 个字", "enum": "不是可选值之一（{expected}）",
    "literal_error": "不是可选值之一（{expected}）", "date_parsing": "不是有效日期",
    "date_from_datetime_parsing": "不是有效日期", "datetime_parsing": "不是有效时间",
    "json_invalid": "不是有效的 JSON", "dict_type": "应为对象", "model_attributes_type": "应为对象",
    "list_type": "应为数组", "extra_forbidden": "不认识的字段", "uuid_parsing": "不是有效编号",
    "string_pattern_mismatch": "格式不对",
}
_PLACES = {"query": "参数", "path": "地址中的", "body": "", "header": "请求头", "cookie": "Cookie"}


def validation_problems(errors: Any) -> list[dict[str, Any]]:
    """FastAPI's validation errors with Chinese messages, keeping ``loc`` and ``type``."""
    out = []
    for e in errors:
        loc = [str(p) for p in e.get("loc", ())]
        where = " ".join(x for x in (_PLACES.get(loc[0], loc[0]), ".".join(loc[1:])) if x) \
            if loc else ""
        text = _VALIDATION.get(e.get("type", ""))
        if text is None:
            text = "填写有误"
        else:
            try:
                text = text.format(**(e.get("ctx") or {}))
            except (KeyError, IndexError):
                pass
        out.append({"loc": e.get("loc", []), "msg": f"「{where}」{text}" if where else text,
                    "type": e.get("type", "")})
    return out


def _add_plugin_page(app: FastAPI, page: WebPage) -> None:
    """Serve a plugin's page at ``/plugins/<path>`` behind sign-in, permission and scoping."""

    def endpoint(ctx: SignedIn, data: Submitted) -> Response:
        if not plugin_page_visible(page, ctx.actor):
            raise NotFound("没有这个页面")
        params = {k: v for k, v in ctx.request.query_params.items()}
        params.update({k: v for k, v in data.multi_items() if isinstance(v, str)})
        token = csrf_token(ctx.request.session)
        request = WebRequest(
            session=ctx.session, host=ctx.host, actor=ctx.actor, scope=ctx.scope, today=ctx.today,
            method=ctx.request.method, params=params,
            csrf_field=str(Markup('<input type="hidden" name="{}" value="{}">').format(
                CSRF_FIELD, token)))
        try:
            result = page.render(request)
            if ctx.request.method == "POST":
                ctx.session.commit()
        except JianhuError as exc:
            ctx.session.rollback()
            return render(ctx.request, "plugin_page.html", 422, actor=ctx.actor, title=page.title,
                          body=Markup(""), error=str(exc))
        if isinstance(result, WebDownload):
            return download(result.content, result.filename, result.media_type)
        return render(ctx.request, "plugin_page.html", actor=ctx.actor, title=page.title,
                      body=Markup(str(result)), error="")

    endpoint.__name__ = "plugin_" + page.path.replace("/", "_").replace("-", "_")
    app.add_api_route(f"/plugins/{page.path}", endpoint, methods=list(page.methods),
                      include_in_schema=False, response_class=HTMLResponse)
