"""新安镇's monthly report page in the web interface (``jianhu_web_pages``): registered for the
town only, renders the figures, downloads the government-form workbook, and is served behind the
core's sign-in and scoping (uvicorn on 127.0.0.1, plain urllib as the client)."""

from __future__ import annotations

import datetime as dt
import http.cookiejar
import io
import json
import socket
import threading
import time
import urllib.error
import urllib.request

import jianhu_xinan
import pytest
from jianhu_xinan import web
from jianhu_xinan.monthly import REPORT_TITLE
from openpyxl import load_workbook
from sqlalchemy import select

from jianhu.db.models import Person
from jianhu.db.session import make_engine, open_session, upgrade
from jianhu.deploy.apply import hash_password
from jianhu.errors import JianhuError
from jianhu.extensions import WebDownload, WebRequest
from jianhu.imports.assessment import import_assessments
from jianhu.imports.screening import import_screening
from jianhu.people import import_people, resolve_actor
from jianhu.plugins import Host
from jianhu.roles import LOCAL_ADMIN
from jianhu.sample import write_sample
from jianhu.scope import scope_for

TEST_ENV = {"JIANHU_LOAD_PLUGINS": ""}
XINAN_SUPERVISOR, OTHER_SUPERVISOR = "320724100-S01", "320724101-S01"
PASSWORD = "xinan-web-2026"


@pytest.fixture(scope="module")
def host() -> Host:
    return Host.load(extra=[("xinan", jianhu_xinan)], env=TEST_ENV)


@pytest.fixture(scope="module")
def engine(host, tmp_path_factory):
    """A sample workspace (80 children) with passwords for two supervisors."""
    tmp = tmp_path_factory.mktemp("xinan-web")
    files = write_sample(host, tmp, 80, 7)
    eng = make_engine(f"sqlite:///{tmp / 'web.db'}")
    upgrade(eng)
    with open_session(eng) as s:
        import_screening(s, host, files.screening, actor="test")
    with open_session(eng) as s:
        import_assessments(s, host, files.assessment, actor="test")
    with open_session(eng) as s:
        import_people(s, host, files.people, actor=LOCAL_ADMIN)
    with open_session(eng) as s:
        for p in s.scalars(select(Person).where(Person.code.in_([XINAN_SUPERVISOR,
                                                                  OTHER_SUPERVISOR]))):
            p.password_hash = hash_password(PASSWORD)
        s.commit()
    yield eng
    eng.dispose()


def request_for(session, host, code: str, **params: str) -> WebRequest:
    actor = resolve_actor(session, code)
    return WebRequest(session=session, host=host, actor=actor, scope=scope_for(session, actor),
                      today=dt.date(2026, 11, 29), method="GET", params=params, csrf_field="")


def test_the_page_is_registered_for_the_town(host):
    page = host.web_pages[web.PAGE_PATH]
    assert (page.title, page.permission, page.townships, page.menu) == (
        "新安镇月报", "report:aggregate", ("320724100000",), True)
    assert host.owner("jianhu_web_pages", web.PAGE_PATH) == "xinan"
    assert jianhu_xinan.jianhu_web_pages()[0].render is web.render_monthly


def test_the_page_shows_the_figures_and_downloads_the_form(host, engine):
    page = host.web_pages[web.PAGE_PATH]
    with open_session(engine) as session:
        html = page.render(request_for(session, host, XINAN_SUPERVISOR))
        assert f"{REPORT_TITLE}（2026年10月）" in html  # last month by default
        assert 'value="2026-10-31"' in html and "<td>合计</td>" in html
        assert "在办个案 · 风险等级 · 红" in html
        got = page.render(request_for(session, host, XINAN_SUPERVISOR, on="2026-11-15",
                                      download="xinan-monthly-xlsx"))
        assert isinstance(got, WebDownload) and got.filename.endswith("2026-11.xlsx")
        sheet = load_workbook(io.BytesIO(got.content)).active
        assert sheet["A1"].value == f"{REPORT_TITLE}（2026年11月）"
        csv = page.render(request_for(session, host, XINAN_SUPERVISOR, download="csv"))
        assert csv.content.decode("utf-8-sig").startswith("序号,村（社区）")
        for bad in ({"on": "2099-01-01"}, {"on": "不是日期"}, {"download": "pdf"}):
            with pytest.raises(JianhuError):
                page.render(request_for(session, host, XINAN_SUPERVISOR, **bad))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _client(base: str, code: str) -> urllib.request.OpenerDirector:
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    body = json.dumps({"code": code, "password": PASSWORD}).encode()
    opener.open(urllib.request.Request(f"{base}/api/session", data=body,
                                       headers={"Content-Type": "application/json"}))
    return opener


def test_the_page_is_served_with_the_menu_entry_for_the_town_only(host, engine):
    import uvicorn

    from jianhu.web import WebConfig, create_app

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(engine, host, WebConfig(secret_key="x")),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    base = f"http://127.0.0.1:{port}"
    try:
        xinan = _client(base, XINAN_SUPERVISOR)
        today = xinan.open(f"{base}/today").read().decode()
        assert '<a href="/plugins/xinan/monthly">新安镇月报</a>' in today
        page = xinan.open(f"{base}/plugins/xinan/monthly?on=2026-10-31").read().decode()
        assert f"{REPORT_TITLE}（2026年10月）" in page and "<h1>新安镇月报</h1>" in page
        other = _client(base, OTHER_SUPERVISOR)
        assert "/plugins/xinan/monthly" not in other.open(f"{base}/today").read().decode()
        with pytest.raises(urllib.error.HTTPError) as refused:
            other.open(f"{base}/plugins/xinan/monthly")
        assert refused.value.code == 404
    finally:
        server.should_exit = True
        thread.join(timeout=10)
