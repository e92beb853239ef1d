"""Rendering the pages: the templates, the menu, messages shown on the next page, downloads and
error pages (shared by the core pages, the offline app and plugin pages; :mod:`jianhu.web.app`
builds the application)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates

from jianhu import __version__
from jianhu.extensions import WebPage
from jianhu.roles import COUNTY_WIDE, role_labels
from jianhu.web.security import CSRF_FIELD, csrf_token

HERE = Path(__file__).parent
#: Core menu entries: (path, label, the permission needed).
MENU: tuple[tuple[str, str, str], ...] = (
    ("/today", "今日待办", "view:cases"),
    ("/mine", "我的待办", "view:cases"),
    ("/offline/", "离线采集", "record:visit"),
    ("/cases", "个案", "view:cases"),
    ("/surveys/new", "登记调查表", "import:screening"),
    ("/import", "导入调查表", "import:screening"),
    ("/transfers", "个案转移", "transfer:request"),
    ("/approvals", "待审批", "approve:plan"),
    ("/conflicts", "修改冲突", "conflicts:resolve"),
    ("/reports", "报表", "report:aggregate"),
    ("/dashboard", "统计图", "view:cases"),
)
STATUS_TEXT = {400: "请求有误", 401: "请先登录", 403: "无权访问", 404: "没有找到", 405: "不支持此操作",
               409: "当前状态不允许", 413: "文件过大", 422: "填写有误", 429: "尝试次数过多",
               503: "系统正忙"}


templates = Jinja2Templates(directory=str(HERE / "templates"))


def is_api(request: Request) -> bool:
    """Whether the request is for the JSON API (errors answer JSON, not pages)."""
    return request.url.path.startswith("/api/")


def menu(request: Request, actor: Any) -> list[tuple[str, str]]:
    """The navigation entries ``(href, label)`` the user may open: core pages, then plugin
    pages with ``menu=True``."""
    items = [(href, label) for href, label, action in MENU if actor.can(action)]
    for page in request.app.state.host.web_pages.values():
        if page.menu and plugin_page_visible(page, actor):
            items.append((f"/plugins/{page.path}", page.title))
    return items


def plugin_page_visible(page: WebPage, actor: Any) -> bool:
    """Whether ``actor`` may open a plugin page (its permission and its townships)."""
    if not actor.can(page.permission):
        return False
    return (not page.townships or actor.role in COUNTY_WIDE
            or actor.township_code in page.townships)


def render(request: Request, template: str, status: int = 200, *, actor: Any = None,
           headers: Mapping[str, str] | None = None, **context: Any) -> HTMLResponse:
    """Render a page template with the common context (user, menu, token, messages)."""
    flash = request.session.pop("flash", []) if "flash" in request.session else []
    base = {"user": actor, "role_label": role_labels().get(actor.role, actor.role) if actor else "",
            "menu": menu(request, actor) if actor else [], "csrf": csrf_token(request.session),
            "csrf_field_name": CSRF_FIELD, "flash": flash, "version": __version__}
    return templates.TemplateResponse(request, template, {**base, **context}, status_code=status,
                                      headers=dict(headers or {}))


def flash(request: Request, message: str) -> None:
    """Show ``message`` on the next page the user sees."""
    request.session["flash"] = [*request.session.get("flash", []), message]


def download(content: bytes, filename: str, media_type: str) -> Response:
    """A response the browser saves as ``filename`` (UTF-8 names per RFC 6266 / RFC 5987)."""
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return Response(content, media_type=media_type,
                    headers={"Content-Disposition": disposition})


def error_page(request: Request, status: int, message: str, actor: Any = None) -> Response:
    if is_api(request):
        return JSONResponse({"detail": message}, status_code=status)
    return render(request, "error.html", status, actor=actor, status_code=status,
                  heading=STATUS_TEXT.get(status, "出错了"), message=message)
