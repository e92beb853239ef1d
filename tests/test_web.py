"""The web interface and the JSON API over real HTTP (uvicorn on 127.0.0.1): sign-in, cookie
flags, anti-forgery tokens, lock-out, scoping, forms from the schemas, import, reports,
documents, the dashboard, plugin pages (``jianhu_web_pages``), the OpenAPI description fuzzed by
schemathesis, ``jianhu people set-password`` and ``jianhu serve``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections import Counter

import pytest
import requests
from markupsafe import escape
from sqlalchemy import delete, func, select, update

from conftest import TEST_ENV, count
from jianhu import hookimpl
from jianhu.dates import LOCAL_TZ
from jianhu.db.models import (
    AuditEvent,
    Case,
    CaseAssignment,
    Child,
    FormRecord,
    Person,
    SignInThrottle,
    Township,
    Village,
)
from jianhu.db.session import open_session
from jianhu.deploy.apply import verify_password
from jianhu.extensions import WebDownload, WebPage
from jianhu.plugins import Host
from jianhu.web import WebConfig, create_app
from web_helpers import (
    DIRECTOR,
    MOTHER,
    OTHER_TOWN,
    PASSWORD,
    SUPERVISOR,
    WORKER,
    build_sample,
    database,
    free_port,
    page_token,
    serve,
)

XINAN = "320724100000"
NOW = dt.datetime.now(LOCAL_TZ) - dt.timedelta(minutes=2)
TODAY, JUST_NOW = NOW.date().isoformat(), NOW.strftime("%Y-%m-%dT%H:%M")
YESTERDAY = (NOW.date() - dt.timedelta(days=1)).isoformat()
NEXT_MONTH = (NOW.date() + dt.timedelta(days=30)).isoformat()


class TestPages:
    """A plugin adding two pages through ``jianhu_web_pages``."""

    @hookimpl
    def jianhu_web_pages(self):
        def hello(request):
            if request.params.get("file"):
                return WebDownload(filename="问候.txt", content="你好".encode(), media_type="text/plain")
            if request.method == "POST":
                return f"<p id='echo'>收到：{escape(request.params.get('word', ''))}</p>"
            n = request.session.scalar(request.scope.cases(select(func.count(Case.id))))
            return (f"<p id='hello'>{escape(request.actor.name)}，今天是 {request.today}（{n}）</p>"
                    f"<form method='post'>{request.csrf_field}<input name='word'>"
                    "<button>发送</button></form>")

        def broken(request):
            from jianhu.errors import JianhuError

            raise JianhuError("插件说：参数不对")

        def crash(request):
            raise RuntimeError("a bug nobody foresaw")

        return [WebPage(path="test/hello", title="问候页", render=hello, townships=(XINAN,),
                        methods=("GET", "POST")),
                WebPage(path="test/broken", title="出错页", render=broken, menu=False),
                WebPage(path="test/crash", title="崩溃页", render=crash, menu=False)]


@pytest.fixture(scope="module")
def site(tmp_path_factory, sample_dir):
    """The sample workspace served on 127.0.0.1, with the test plugin's pages."""
    host = Host.load(env=TEST_ENV, extra=[("test-web", TestPages())])
    with database(tmp_path_factory.mktemp("web")) as url:
        sample = build_sample(url, host, sample_dir)
        app = create_app(sample.engine, host, WebConfig(secret_key="test-secret"))
        with serve(app) as base:
            yield {"base": base, "sample": sample, "app": app, "host": host, "url": url}
        sample.engine.dispose()


def browser(site) -> requests.Session:
    """A client with no cookies yet."""
    s = requests.Session()
    s.base = site["base"]  # type: ignore[attr-defined]
    return s


def get(s: requests.Session, path: str, **kw) -> requests.Response:
    return s.get(s.base + path, allow_redirects=False, **kw)  # type: ignore[attr-defined]


def post(s: requests.Session, path: str, **kw) -> requests.Response:
    return s.post(s.base + path, allow_redirects=False, **kw)  # type: ignore[attr-defined]


def signed_in(site, code: str = DIRECTOR) -> requests.Session:
    """A client signed in through the sign-in page."""
    s = browser(site)
    token = page_token(get(s, "/login").text)
    r = post(s, "/login", data={"csrf_token": token, "code": code, "password": PASSWORD,
                                "next": "/"})
    assert r.status_code == 303, r.text
    return s


def api_client(site, code: str = DIRECTOR) -> tuple[requests.Session, str]:
    """A client signed in through the API; returns it and its anti-forgery token."""
    s = browser(site)
    r = post(s, "/api/session", json={"code": code, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return s, r.json()["csrf_token"]


def records_count(site) -> tuple[int, int]:
    with open_session(site["sample"].engine) as session:
        return count(session, FormRecord), count(session, AuditEvent)


VISIT = {"visit": {"date": TODAY, "visitor": DIRECTOR, "method": "home", "child_seen": True,
                   "risk_change": "unchanged", "notes": "孩子在家，情况稳定"}}


# ----------------------------------------------------------------------------- sign-in
def test_root_leads_to_sign_in_and_pages_need_it(site):
    s = browser(site)
    assert get(s, "/").headers["location"] == "/login"
    r = get(s, "/login")
    assert r.status_code == 200 and "人员编号" in r.text and 'lang="zh-CN"' in r.text
    assert get(s, "/cases").headers["location"].startswith("/login?next=/cases")
    assert get(s, "/api/cases").status_code == 401
    assert get(s, "/api/cases").json()["detail"] == "请先登录"


def test_session_cookie_is_httponly_samesite_and_secure_over_https(site):
    s = browser(site)
    token = page_token(get(s, "/login").text)
    r = post(s, "/login", data={"csrf_token": token, "code": DIRECTOR, "password": PASSWORD})
    cookie = r.headers["set-cookie"].lower()
    assert cookie.startswith("jianhu_session=")
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    assert r.headers["location"] == "/today"
    # behind the county's nginx (X-Forwarded-Proto from loopback) the cookie is Secure
    s2 = browser(site)
    r = get(s2, "/login", headers={"X-Forwarded-Proto": "https"})
    assert "secure" in r.headers["set-cookie"].lower()
    assert r.headers["content-security-policy"].startswith("default-src 'self'")
    assert r.headers["x-frame-options"] == "DENY" and r.headers["cache-control"] == "no-store"


WRONG = "编号或密码不正确（连续输错多次的账户会暂时锁定，请稍后再试或请督导员重设密码）"


def test_wrong_password_and_lock_out(site):
    s = browser(site)
    token = page_token(get(s, "/login").text)
    for _ in range(5):
        r = post(s, "/login", data={"csrf_token": token, "code": WORKER, "password": "nope"})
        assert r.status_code == 401 and WRONG in r.text
    # locked: even the right password is refused, with the same answer, by the page and the API
    r = post(s, "/login", data={"csrf_token": token, "code": WORKER, "password": PASSWORD})
    assert r.status_code == 401 and WRONG in r.text
    r = post(s, "/api/session", json={"code": WORKER, "password": PASSWORD})
    assert (r.status_code, r.json()["detail"]) == (401, WRONG)
    with open_session(site["sample"].engine) as session:
        person = session.scalar(select(Person).where(Person.code == WORKER))
        assert person.locked_until is None  # locked for this address only, not everywhere
        events = list(session.scalars(select(AuditEvent).where(
            AuditEvent.entity_id == str(person.id)).order_by(AuditEvent.id)))[-5:]
        assert [e.action for e in events] == ["login_failed"] * 4 + ["lock"]
        assert events[-1].context == {"failures": 5, "scope": "address"}
        session.execute(update(SignInThrottle).values(blocked_until=None))  # the lock ran out
        session.commit()
    assert post(s, "/api/session", json={"code": WORKER, "password": PASSWORD}).status_code == 200
    # an unknown code gets the same answer as a wrong password or a locked account
    r = post(browser(site), "/api/session", json={"code": "nobody", "password": "x"})
    assert (r.status_code, r.json()["detail"]) == (401, WRONG)


def test_parallel_wrong_passwords_cannot_test_more_than_the_limit(site):
    """16 simultaneous wrong passwords: exactly 5 are checked against the real hash (4 failures,
    then the lock); the other 11 meet the lock."""
    from concurrent.futures import ThreadPoolExecutor

    code = MOTHER
    with open_session(site["sample"].engine) as session:
        person = session.scalar(select(Person).where(Person.code == code))
        person_id, start = str(person.id), session.scalar(select(func.max(AuditEvent.id)))

    def attempt(_: int) -> int:
        return post(browser(site), "/api/session", json={"code": code, "password": "nope"}
                    ).status_code

    with ThreadPoolExecutor(16) as pool:
        assert list(pool.map(attempt, range(16))) == [401] * 16
    with open_session(site["sample"].engine) as session:
        actions = list(session.scalars(select(AuditEvent.action).where(
            AuditEvent.entity_id == person_id, AuditEvent.id > start).order_by(AuditEvent.id)))
        assert actions == ["login_failed"] * 4 + ["lock"]
        session.execute(update(Person).where(Person.code == code).values(locked_until=None,
                                                                          failed_logins=0))
        session.execute(update(SignInThrottle).values(blocked_until=None, failures=0))
        session.commit()


def test_forms_and_api_calls_without_the_token_are_refused(site):
    s = browser(site)
    get(s, "/login")
    r = post(s, "/login", data={"code": DIRECTOR, "password": PASSWORD})
    assert r.status_code == 403 and "防伪令牌" in r.text
    s = signed_in(site)
    case_no = site["sample"].own_case
    before = records_count(site)
    r = post(s, f"/cases/{case_no}/forms/visit", data={
        "visit.date": TODAY, "visit.visitor": DIRECTOR, "visit.method": "home",
        "visit.child_seen": "true", "visit.risk_change": "unchanged"})
    assert r.status_code == 403
    r = post(s, f"/cases/{case_no}/forms/visit", data={"csrf_token": "forged", "visit.date": "x"})
    assert r.status_code == 403
    r = post(s, f"/api/cases/{case_no}/records/visit", json=VISIT)
    assert r.status_code == 403 and "防伪令牌" in r.json()["detail"]
    r = post(s, "/logout")
    assert r.status_code == 403
    assert records_count(site) == before


def test_logout_ends_the_session(site):
    s = signed_in(site)
    stolen = dict(s.cookies)
    token = page_token(get(s, "/today").text)
    r = post(s, "/logout", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert get(s, "/today").status_code == 303
    replay = browser(site)
    replay.cookies.update(stolen)
    assert get(replay, "/api/session").status_code == 401
    # a second server process (or the same one restarted) refuses the signed-out cookie too
    again = create_app(site["sample"].engine, site["host"], WebConfig(secret_key="test-secret"))
    with serve(again) as base:
        other = requests.Session()
        other.base = base  # type: ignore[attr-defined]
        other.cookies.update(stolen)
        assert get(other, "/api/session").status_code == 401
        fresh = requests.Session()
        fresh.base = base  # type: ignore[attr-defined]
        token = page_token(get(fresh, "/login").text)
        assert post(fresh, "/login", data={"csrf_token": token, "code": DIRECTOR,
                                           "password": PASSWORD}).status_code == 303


# ----------------------------------------------------------------------------- scoping
def test_a_case_of_another_town_is_not_found_by_url_and_by_api(site):
    sample = site["sample"]
    s = signed_in(site, OTHER_TOWN)
    for path in (f"/cases/{sample.own_case}", f"/cases/{sample.own_case}/forms/visit",
                 f"/cases/{sample.own_case}/documents/assessment"):
        r = get(s, path)
        assert r.status_code == 404, path
        assert "没有个案" in r.text
    api, token = api_client(site, OTHER_TOWN)
    assert get(api, f"/api/cases/{sample.own_case}").status_code == 404
    before = records_count(site)
    r = post(api, f"/api/cases/{sample.own_case}/records/visit", json=VISIT,
             headers={"X-CSRF-Token": token})
    assert r.status_code == 404
    assert records_count(site) == before
    listed = {c["case_no"] for c in get(api, "/api/cases").json()}
    assert sample.other_town_case in listed and sample.own_case not in listed
    # a village child director sees only the village: another village of the town is "not found"
    d = signed_in(site, DIRECTOR)
    assert get(d, f"/cases/{sample.other_village_case}").status_code == 404
    assert get(d, f"/cases/{sample.own_case}").status_code == 200


def test_a_service_provider_sees_only_assigned_cases(site):
    sample = site["sample"]
    api, _ = api_client(site, MOTHER)
    # the sample assigns the caring mother no case: she sees none of 新安镇's 41
    assert get(api, "/api/cases").json() == []
    with open_session(sample.engine) as session:
        assert session.scalar(select(func.count()).select_from(Case).where(
            Case.case_no.like("320724100-%"))) == 41
        for case_no in (sample.own_case, sample.other_village_case):
            session.add(CaseAssignment(case_id=session.scalar(select(Case.id).where(
                Case.case_no == case_no)), person_code=MOTHER))
        session.commit()
    try:
        rows = get(api, "/api/cases").json()
        assert sorted(r["case_no"] for r in rows) == sorted([sample.own_case,
                                                            sample.other_village_case])
        assert get(api, f"/api/cases/{sample.own_case}").status_code == 200
        assert get(api, f"/api/cases/{sample.other_town_case}").status_code == 404
    finally:
        with open_session(sample.engine) as session:
            session.execute(delete(CaseAssignment).where(CaseAssignment.person_code == MOTHER))
            session.commit()


# ----------------------------------------------------------------------------- forms
def test_a_form_with_a_wrong_field_shows_the_error_beside_it_and_writes_nothing(site):
    s = signed_in(site)
    case_no = site["sample"].own_case
    form = get(s, f"/cases/{case_no}/forms/visit")
    assert form.status_code == 200
    html = form.text
    assert "随访人编号" in html and '<span class="required" title="必填">*</span>' in html
    assert "人员名册中的编号" in html  # the field's help text from the schema
    assert '<option value="home">入户</option>' in html  # an enum as a select
    before = records_count(site)
    data = {"csrf_token": page_token(html), "visit.date": TODAY,
            "visit.visitor": "李 主任", "visit.method": "home", "visit.child_seen": "true",
            "visit.risk_change": "unchanged"}
    r = post(s, f"/cases/{case_no}/forms/visit", data=data)
    assert r.status_code == 422
    block = r.text.split('data-field="visit.visitor"')[1].split('data-field="visit.method"')[0]
    assert 'class="error field-error"' in block and "不是姓名" in block
    assert 'value="李 主任"' in block  # what was typed is shown again
    assert records_count(site) == before
    data["visit.visitor"] = DIRECTOR
    r = post(s, f"/cases/{case_no}/forms/visit", data=data)
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{case_no}", r.text[:3000]
    page = get(s, f"/cases/{case_no}").text
    assert "已登记随访记录" in page
    assert f"随访人 {DIRECTOR}" in page.split('id="timeline"')[1]


def test_the_api_rejects_a_payload_that_fails_the_schema_with_422_and_writes_nothing(site):
    api, token = api_client(site)
    case_no = site["sample"].own_case
    before = records_count(site)
    bad = {"visit": {**VISIT["visit"], "visitor": "李 主任", "method": "by pigeon"}}
    r = post(api, f"/api/cases/{case_no}/records/visit", json=bad, headers={"X-CSRF-Token": token})
    assert r.status_code == 422
    problems = {p["field"]: p["message"] for p in r.json()["problems"]}
    assert problems["随访人编号"].endswith("不是姓名")
    assert problems["方式"].startswith("不是可选项，可选：入户")
    assert records_count(site) == before
    r = post(api, f"/api/cases/{case_no}/records/visit", json={"visit": {"date": "2099-01-01"}},
             headers={"X-CSRF-Token": token})
    assert r.status_code == 422 and records_count(site) == before
    future = {"visit": {**VISIT["visit"], "date": "2099-01-01"}}
    r = post(api, f"/api/cases/{case_no}/records/visit", json=future,
             headers={"X-CSRF-Token": token})
    assert r.status_code == 422 and "晚于今天" in r.json()["detail"]
    assert records_count(site) == before
    r = post(api, f"/api/cases/{case_no}/records/return_visit", json={"return_visit": {
        "date": TODAY, "visitor": DIRECTOR, "method": "home", "risk_found": False}},
        headers={"X-CSRF-Token": token})
    assert r.status_code == 409 and "尚未结案" in r.json()["detail"]
    assert records_count(site) == before
    r = post(api, f"/api/cases/{case_no}/records/visit", json=VISIT,
             headers={"X-CSRF-Token": token})
    assert r.status_code == 201, r.text
    assert r.json()["tasks"][0]["kind"] == "visit"
    view = get(api, f"/api/cases/{case_no}").json()
    assert any(e["kind"] == "visit" and e["detail"]["visit"].get("notes") == "孩子在家，情况稳定"
               for e in view["timeline"])
    assert "visit" in view["forms"] and "return_visit" not in view["forms"]


def test_the_page_form_rejects_with_422_and_writes_nothing_on_a_business_rule(site):
    s = signed_in(site)
    case_no = site["sample"].own_case
    token = page_token(get(s, f"/cases/{case_no}/forms/visit").text)
    before = records_count(site)
    r = post(s, f"/cases/{case_no}/forms/visit", data={
        "csrf_token": token, "visit.date": TODAY, "visit.visitor": "NOBODY-1",
        "visit.method": "home", "visit.child_seen": "false", "visit.risk_change": "worse"})
    assert r.status_code == 422 and "人员名册中没有在岗人员：NOBODY-1" in r.text
    assert records_count(site) == before


def test_every_form_the_state_allows_renders_from_its_schema(site):
    s = signed_in(site, SUPERVISOR)
    case_no = site["sample"].own_case
    page = get(s, f"/cases/{case_no}").text
    for form_id in ("assessment", "plan", "service", "visit", "incident", "police_report",
                    "escalation", "closure"):
        assert f"/forms/{form_id}\"" in page, form_id
        r = get(s, f"/cases/{case_no}/forms/{form_id}")
        assert r.status_code == 200, form_id
    plan = get(s, f"/cases/{case_no}/forms/plan").text
    assert plan.count('name="measures.2.due"') == 1 and "措施第1项" in plan
    incident = get(s, f"/cases/{case_no}/forms/incident").text
    assert 'type="checkbox" name="incident.harm_types" value="neglect"' in incident
    assert 'type="datetime-local"' in incident
    r = get(s, f"/cases/{case_no}/forms/return_visit")
    assert r.status_code == 409 and "不能登记" in r.text
    assert get(s, f"/cases/{case_no}/forms/nonsense").status_code == 404


def test_a_plan_with_measures_and_a_multi_choice_incident_are_recorded(site):
    s = signed_in(site, SUPERVISOR)
    case_no = site["sample"].own_case
    token = page_token(get(s, f"/cases/{case_no}/forms/plan").text)
    before = records_count(site)
    data = {"csrf_token": token, "plan.date": TODAY, "plan.goals": "恢复上学\n每周与父母通话",
            "measures.0.service_type": "tutoring", "measures.0.description": "每周辅导两次",
            "measures.0.responsible": SUPERVISOR, "measures.0.start": TODAY,
            "measures.0.due": YESTERDAY}
    r = post(s, f"/cases/{case_no}/forms/plan", data=data)
    assert r.status_code == 422 and "完成期限早于开始日期" in r.text
    assert records_count(site) == before
    data.update({"measures.0.due": NEXT_MONTH, "measures.2.description": "只填了一半"})
    r = post(s, f"/cases/{case_no}/forms/plan", data=data)
    assert r.status_code == 422
    row3 = r.text.split('data-field="measures.2.responsible"')[1][:600]
    assert "必填，不能为空" in row3
    del data["measures.2.description"]
    r = post(s, f"/cases/{case_no}/forms/plan", data=data)
    assert r.status_code == 303, r.text
    with open_session(site["sample"].engine) as session:
        plan = session.scalars(select(FormRecord).where(FormRecord.form_id == "plan")
                               .order_by(FormRecord.created_at.desc())).first()
        assert plan.payload["plan"]["goals"] == ["恢复上学", "每周与父母通话"]
        assert len(plan.payload["measures"]) == 1
    token = page_token(get(s, f"/cases/{case_no}/forms/incident").text)
    r = post(s, f"/cases/{case_no}/forms/incident", data=[
        ("csrf_token", token), ("incident.discovered_at", JUST_NOW),
        ("incident.harm_types", "neglect"), ("incident.harm_types", "abandonment"),
        ("incident.description", "长期无人照料"), ("incident.recorded_by", SUPERVISOR),
        ("incident.triggers", "abandoned"), ("reporter.name", "邻居")])
    assert r.status_code == 303, r.text
    with open_session(site["sample"].engine) as session:
        incident = session.scalars(select(FormRecord).where(FormRecord.form_id == "incident")
                                   .order_by(FormRecord.created_at.desc())).first()
        assert incident.payload["incident"]["harm_types"] == ["neglect", "abandonment"]
        assert incident.payload["incident"]["discovered_at"] == JUST_NOW + ":00+08:00"
        assert "reporter" not in incident.payload  # kept apart (反家庭暴力法 Art 14)
    page = get(s, f"/cases/{case_no}").text
    assert "报告人（保密）：邻居" in page  # a supervisor may see the reporter


# ----------------------------------------------------------------------------- other pages
def test_today_caseload_dashboard_reports_and_documents(site):
    s = signed_in(site, SUPERVISOR)
    today = get(s, "/today")
    assert today.status_code == 200 and "今日待办" in today.text
    cards = today.text.split('<li class="task')[1:]
    kinds = [c.split('class="task-kind">')[1].split("<")[0] for c in cards]
    urgent = [i for i, k in enumerate(kinds) if k in ("强制报告", "应急处置")]
    assert urgent == list(range(len(urgent)))  # mandatory reports and emergencies come first
    assert "责任人：" in cards[0]
    with open_session(site["sample"].engine) as session:
        first_case = cards[0].split('href="/cases/')[1].split('"')[0]
        child = session.scalar(select(Child.name).join(Case, Case.child_id == Child.id).where(
            Case.case_no == first_case))
        assert f'class="task-child">{child}</a>' in cards[0]  # the child's name, for a supervisor
        read = session.scalars(select(AuditEvent).where(AuditEvent.action == "read_list")
                               .order_by(AuditEvent.id.desc())).first()
        assert read.actor == SUPERVISOR and first_case in read.context["cases"]
    mine = get(s, "/mine")
    assert mine.status_code == 200 and "<h1>我的待办" in mine.text
    own_cards = mine.text.split('<li class="task')[1:]
    assert own_cards and len(own_cards) < len(cards)
    with open_session(site["sample"].engine) as session:
        name = session.scalar(select(Person.name).where(Person.code == SUPERVISOR))
    # a task is the supervisor's own (a report on an incident they recorded) or their role's
    assert all(f"责任人：{name}<" in r or "责任人：乡镇儿童督导员<" in r for r in own_cards)
    assert not any("责任人：村（居）儿童主任<" in r for r in own_cards)
    cases = get(s, "/cases?level=red")
    assert cases.status_code == 200 and "320724100-" in cases.text
    assert "黄色" not in cases.text.split("<tbody>")[1]
    own = site["sample"].own_case
    search = get(s, f"/cases?q={own[-6:]}")
    assert f'href="/cases/{own}"' in search.text
    dash = get(s, "/dashboard")
    assert dash.status_code == 200 and dash.text.count("<svg") == 3
    r = get(s, "/reports/summary?format=csv")
    assert r.status_code == 200
    assert r.content.decode("utf-8-sig").startswith("乡镇,村（社区）,村（社区）代码,在办个案")
    assert "filename*=UTF-8''" in r.headers["content-disposition"]
    r = get(s, "/reports/summary?format=xlsx&on=2101-01-01")
    assert r.status_code == 422 and "统计日期应在 2000-01-01 至 2100-12-31 之间" in r.text
    case_no = site["sample"].own_case
    doc = get(s, f"/cases/{case_no}/documents/assessment")
    assert doc.status_code == 200 and "家庭监护评估报告" in doc.text
    assert "@page" in doc.text and "/static/print.css" in doc.text
    assert "'unsafe-inline'" in doc.headers["content-security-policy"]
    css = get(s, "/static/print.css").text
    assert "@media print" in css and ".doc-toolbar" in css


def test_survey_import_lists_row_errors_and_imports_a_good_file(site, tmp_path):
    from files import write_xlsx
    from jianhu.forms import load_form
    from surveys import survey

    s = signed_in(site, SUPERVISOR)
    token = page_token(get(s, "/import").text)
    form = load_form(site["host"], "screening")
    bad = write_xlsx(form, [survey(), survey(child__birth_date="2030-01-01")],
                     tmp_path / "bad.xlsx")
    before = records_count(site)
    r = post(s, "/import", data={"csrf_token": token},
             files={"file": ("调查表.xlsx", bad.read_bytes())})
    assert r.status_code == 422 and "导入被拒绝" in r.text
    assert "<td>3</td>" in r.text  # the bad row, numbered as the spreadsheet shows it
    assert records_count(site) == before
    good = write_xlsx(form, [survey()], tmp_path / "good.xlsx")
    r = post(s, "/import", data={"csrf_token": token, "dry_run": "1"},
             files={"file": ("good.xlsx", good.read_bytes())})
    assert r.status_code == 200 and "（试导入，未写入）" in r.text
    assert records_count(site) == before
    r = post(s, "/import", data={"csrf_token": token},
             files={"file": ("good.xlsx", good.read_bytes())})
    assert r.status_code == 200 and "共1行" in r.text, r.text
    assert get(s, "/import/template").headers["content-type"].startswith(
        "application/vnd.openxmlformats")
    r = post(s, "/import", data={"csrf_token": token},
             files={"file": ("大文件.csv", b"0" * (50 * 1024 * 1024 + 1))})
    assert r.status_code == 413 and "文件超过50 MB，请分成几个文件导入" in r.text
    r = post(s, "/import", data={"csrf_token": token},
             files={"file": ("坏表.xlsx", b"PK\x03\x04 not a workbook")})
    assert r.status_code == 422 and "无法读取工作簿 坏表.xlsx：文件已损坏" in r.text
    assert "upload-" not in r.text  # no temporary file name reaches the user


def test_a_survey_entered_on_the_form_is_checked_like_an_import(site):
    s = signed_in(site, SUPERVISOR)
    page = get(s, "/surveys/new")
    assert page.status_code == 200 and "儿童基本情况调查表" in page.text
    assert '<option value="female">女</option>' in page.text
    base = {"csrf_token": page_token(page.text), "child.name": "网页甲", "child.sex": "female",
            "child.birth_date": "2014-06-01", "child.citizen_id": "320724201406010045",
            "child.hukou_registered": "true", "child.hukou_type": "rural",
            "child.hukou_in_county": "true", "child.health": "healthy",
            "child.schooling": "primary", "child.lives_with": "grandparents",
            "residence.township": "花果山镇", "residence.village": "测试村",
            "father.status": "working_away", "mother.status": "working_away",
            "guardianship.type": "fair", "survey.date": "2026-10-01", "survey.filled_by": "王某"}
    before = records_count(site)
    r = post(s, "/surveys/new", data=base)
    assert r.status_code == 422
    assert "身份证号校验位不对" in r.text.split('data-field="child.citizen_id"')[1][:2000]
    assert records_count(site) == before
    r = post(s, "/surveys/new", data=base | {"child.citizen_id": "320724201406010044"})
    assert r.status_code == 422
    block = r.text.split('data-field="residence.township"')[1][:2000]
    assert "「花果山镇」不是本县的乡镇" in block
    assert records_count(site) == before
    r = post(s, "/surveys/new", data=base | {"child.citizen_id": "320724201406010044",
                                              "residence.township": "新安镇"})
    assert r.status_code == 303, r.text[:2000]
    flashed = get(s, "/cases").text
    assert "已登记调查表：新增儿童；开立个案 1 个" in flashed
    assert records_count(site)[0] == before[0] + 1  # the survey record
    # another township's supervisor cannot overwrite the child by entering the same ID
    other = signed_in(site, OTHER_TOWN)
    token = page_token(get(other, "/surveys/new").text)
    r = post(other, "/surveys/new", data=base | {
        "csrf_token": token, "child.citizen_id": "320724201406010044", "child.name": "冒名",
        "residence.township": "堆沟港镇"})
    assert r.status_code == 422
    assert "该儿童已在其他乡镇登记，不能在本乡镇修改" in r.text.split(
        'data-field="child.citizen_id"')[1][:2000]
    with open_session(site["sample"].engine) as session:
        assert session.scalar(select(Child.name).where(
            Child.citizen_id == "320724201406010044")) == "网页甲"


def test_plugin_pages_get_sign_in_scoping_and_the_menu(site):
    d = signed_in(site, DIRECTOR)
    today = get(d, "/today").text
    assert '<a href="/plugins/test/hello">问候页</a>' in today
    assert "/plugins/test/broken" not in today  # menu=False
    r = get(d, "/plugins/test/hello")
    assert r.status_code == 200 and "<p id='hello'>" in r.text
    token = page_token(r.text.split("id='hello'")[1])
    r = post(d, "/plugins/test/hello", data={"csrf_token": token, "word": "<b>早</b>"})
    assert r.status_code == 200 and "收到：&lt;b&gt;早&lt;/b&gt;" in r.text
    assert post(d, "/plugins/test/hello", data={"word": "x"}).status_code == 403
    r = get(d, "/plugins/test/hello?file=1")
    assert r.content.decode() == "你好" and "attachment" in r.headers["content-disposition"]
    r = get(d, "/plugins/test/broken")
    assert r.status_code == 422 and "插件说：参数不对" in r.text
    other = signed_in(site, OTHER_TOWN)
    assert "/plugins/test/hello" not in get(other, "/today").text
    assert get(other, "/plugins/test/hello").status_code == 404
    assert get(browser(site), "/plugins/test/hello").status_code == 303


def test_a_bad_plugin_page_path_is_refused():
    from jianhu.errors import PluginError

    class Bad:
        @hookimpl
        def jianhu_web_pages(self):
            return [WebPage(path="../etc", title="坏", render=lambda r: "")]

    with pytest.raises(PluginError, match="路径"):
        _ = Host.load(env=TEST_ENV, extra=[("bad", Bad())]).web_pages


def test_identified_reports_on_the_web_follow_the_same_rule(site):
    """The roster names children: a supervisor sees it listed, downloads it and the download is
    an audited export; a county viewer (counts only) neither sees it nor can download it."""
    import uuid

    from jianhu.web.auth import hash_password

    s = signed_in(site, SUPERVISOR)
    assert "村（社区）关爱保护儿童花名册（含儿童身份信息）" in get(s, "/reports").text
    r = get(s, "/reports/roster?format=csv")
    assert r.status_code == 200
    assert r.content.decode("utf-8-sig").startswith("乡镇,村（社区）,村（社区）代码,个案编号,儿童姓名")
    with open_session(site["sample"].engine) as session:
        export = session.scalars(select(AuditEvent).where(AuditEvent.action == "export",
                                                          AuditEvent.entity_type == "report")
                                 .order_by(AuditEvent.id.desc())).first()
        assert (export.actor, export.entity_id, export.after["identified"]) == (
            SUPERVISOR, "roster", True)
        now = dt.datetime.now(dt.UTC)
        session.add(Person(id=uuid.uuid4(), code="web-county-viewer", name="县级查看甲",
                           role="county_viewer", active=True, created_at=now, updated_at=now,
                           password_hash=hash_password(PASSWORD)))
        session.commit()
    viewer = signed_in(site, "web-county-viewer")
    page = get(viewer, "/reports").text
    assert "儿童家庭监护干预汇总表" in page and "关爱保护儿童花名册" not in page
    r = get(viewer, "/reports/roster?format=csv")
    assert r.status_code in (403, 422)
    assert ("县级查看（仅汇总）（web-county-viewer）无权生成含儿童身份信息的报表"
            "「村（社区）关爱保护儿童花名册」") in r.text


# ----------------------------------------------------------------------------- API
def test_openapi_description_and_api_reads(site):
    r = get(browser(site), "/openapi.json")
    paths = r.json()["paths"]
    for path in ("/api/session", "/api/cases", "/api/cases/{case_no}", "/api/followups/due",
                 "/api/cases/{case_no}/records/{form_id}", "/api/reports/summary"):
        assert path in paths, path
    assert "/cases" not in paths  # pages are not part of the API
    api, _ = api_client(site, SUPERVISOR)
    due = get(api, "/api/followups/due").json()
    assert due and due[0]["kind"] == "mandatory_report"
    summary = get(api, "/api/reports/summary").json()
    assert summary["rows"][-1]["township"] == "合计"
    assert get(api, "/api/followups/due?on=9999-12-31").status_code == 422
    schema = get(api, "/api/forms/visit").json()
    assert schema["title"] == "随访记录"


def test_schemathesis_finds_no_server_error(site):
    """Every API operation, with valid and invalid inputs (bounded: 20 examples each, ~40 s at
    most), signed in as a supervisor; and the record operation once more on a real case."""
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from schemathesis import GenerationMode

    api, token = api_client(site, SUPERVISOR)
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in api.cookies.items()),
               "X-CSRF-Token": token}
    schema = schemathesis.openapi.from_asgi("/openapi.json", site["app"])
    errors: list[str] = []
    statuses: Counter = Counter()
    runs = []
    for result in schema.get_all_operations():
        op = result.ok()
        if op.method.upper() == "DELETE":  # signing out would end the run's session
            continue
        runs.append(st.one_of(op.as_strategy(GenerationMode.POSITIVE),
                              op.as_strategy(GenerationMode.NEGATIVE)))
        if "{case_no}" in op.path:
            runs.append(op.as_strategy(path_parameters={"case_no": site["sample"].own_case}))
    assert len(runs) >= 8
    deadline = time.monotonic() + 40
    for strategy in runs:
        if time.monotonic() > deadline:
            break

        @settings(max_examples=20, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def check(case):
            response = case.call(headers=headers)
            statuses[response.status_code] += 1
            if response.status_code >= 500:
                errors.append(f"{case.method} {case.formatted_path} {case.body!r}: "
                              f"{response.status_code} {response.text[:200]}")

        check()
    assert errors == []
    assert statuses[200] and statuses[422] and statuses[404], statuses  # it got past sign-in
    assert get(api, "/api/session").status_code == 200  # still signed in


# ----------------------------------------------------------------------------- CLI
def test_cli_set_password(db_url, session, host, tmp_path):
    from click.testing import CliRunner

    from casework import one_case_workspace
    from jianhu.cli import cli

    one_case_workspace(session, host, tmp_path)

    def run(*args: str, input: str | None = None):
        return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False,
                                  env={"JIANHU_DATABASE_URL": db_url})

    r = run("people", "set-password", "D01", input="short\nshort\n")
    assert r.exit_code == 1 and "密码至少8位" in r.output
    r = run("people", "set-password", "D01", input="long-enough-1\nsomething-else\n"
                                                      "long-enough-1\nlong-enough-1\n")
    assert r.exit_code == 0 and "已设置 D01 的登录密码" in r.output
    session.rollback()  # end the read transaction: see what the command wrote
    person = session.scalar(select(Person).where(Person.code == "D01"))
    assert verify_password(person.password_hash, "long-enough-1")
    assert person.password_hash.startswith("$argon2id$")
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "set_password")).one()
    assert event.after == {"code": "D01"} and "long-enough" not in json.dumps(event.after)
    r = run("--as", "D01", "people", "set-password", "S01", "--password", "long-enough-2")
    assert r.exit_code == 1 and "无权设置登录密码" in r.output
    r = run("--as", "S01", "people", "set-password", "NOBODY", "--password", "long-enough-2")
    assert r.exit_code == 1 and "人员名册中没有「NOBODY」" in r.output

    # a one-time password, shown once, for someone whose first password was never received
    r = run("--as", "S01", "people", "reset-password", "D01")
    assert r.exit_code == 0, r.output
    first = r.output.splitlines()[0]
    assert first.startswith("D01 的一次性密码：")
    password = first.removeprefix("D01 的一次性密码：")
    assert len(password) == 16
    session.rollback()
    person = session.scalar(select(Person).where(Person.code == "D01"))
    assert verify_password(person.password_hash, password)
    assert not verify_password(person.password_hash, "long-enough-1")
    assert len(session.scalars(select(AuditEvent).where(
        AuditEvent.action == "set_password")).all()) == 2
    assert password not in json.dumps([e.after for e in session.scalars(select(AuditEvent))])
    r = run("--as", "D01", "people", "reset-password", "S01")
    assert r.exit_code == 1 and "无权设置登录密码" in r.output


def test_cli_serve_starts_the_web_interface(engine, db_url):
    port = free_port()
    env = {**os.environ, "JIANHU_DATABASE_URL": db_url, "JIANHU_LOAD_PLUGINS": ""}
    proc = subprocess.Popen([sys.executable, "-c", "from jianhu.cli import main; main()", "serve",
                             "--port", str(port)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = requests.get(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError(proc.stdout.read().decode()) from None
                time.sleep(0.1)
        assert r.status_code == 200 and "登录" in r.text
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_case_is_transferred_on_the_web_and_leaves_the_sender(site):
    with open_session(site["sample"].engine) as session:
        case_no = session.scalar(select(Case.case_no)
                                 .where(Case.case_no.like("320724100-%"),
                                        Case.case_no != site["sample"].own_case,
                                        Case.status != "closed")
                                 .order_by(Case.case_no.desc()))
        village = session.scalar(select(Village.name).join(Township).where(
            Township.code == "320724101000").order_by(Village.name))
    s = signed_in(site, SUPERVISOR)
    page = get(s, f"/cases/{case_no}")
    assert "申请转移" in page.text
    token = page_token(page.text)
    r = post(s, f"/cases/{case_no}/transfer", data={"csrf_token": token, "to": "花果山镇/村",
                                                    "reason": "迁居"})
    assert r.status_code == 303
    assert "未能申请转移：「花果山镇」不是本县的乡镇" in get(s, f"/cases/{case_no}").text
    r = post(s, f"/cases/{case_no}/transfer", data={"csrf_token": token, "to": "堆沟港镇",
                                                    "reason": "随父母迁居"})
    assert r.status_code == 303 and r.headers["location"] == "/transfers"
    listed = get(s, "/transfers").text
    assert "待接收方乡镇儿童督导员接收" in listed and case_no in listed
    assert 'value="accept"' not in listed  # the sender cannot accept its own request
    other = signed_in(site, OTHER_TOWN)
    page = get(other, "/transfers")
    assert case_no in page.text and 'value="accept"' in page.text
    transfer_id = page.text.split('action="/transfers/')[1].split('"')[0]
    r = post(other, f"/transfers/{transfer_id}", data={
        "csrf_token": page_token(page.text), "decision": "Accept", "note": "好的"})
    assert r.status_code == 303
    page = get(other, "/transfers")
    assert "未能处理转移申请：请选择「接收」或「退回」" in page.text and "待接收" in page.text
    r = post(other, "/transfers/99999999999999999999", data={
        "csrf_token": page_token(page.text), "decision": "accept"})
    assert r.status_code == 303
    page = get(other, "/transfers")
    assert "没有转移申请 99999999999999999999" in page.text
    r = post(other, f"/transfers/{transfer_id}", data={
        "csrf_token": page_token(page.text), "decision": "accept", "village": village})
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{case_no}"
    assert get(other, f"/cases/{case_no}").status_code == 200
    assert get(s, f"/cases/{case_no}").status_code == 404
    assert "已接收" in get(s, "/transfers").text  # the sender's trace


def test_a_dozen_people_signing_in_and_reading_at_once_get_no_error(site):
    """SQLite on a township laptop: simultaneous sign-ins and audited case views (each writes)
    all succeed instead of "database is locked"."""
    from concurrent.futures import ThreadPoolExecutor

    def one(_: int) -> tuple[int, int]:
        s = browser(site)
        token = page_token(get(s, "/login").text)
        r = post(s, "/login", data={"csrf_token": token, "code": SUPERVISOR, "password": PASSWORD,
                                    "next": "/"})
        page = get(s, f"/cases/{site['sample'].own_case}")
        return r.status_code, page.status_code

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(one, range(12)))
    assert results == [(303, 200)] * 12


def test_pages_answer_while_a_save_holds_the_write_lock_and_audit_before_they_are_sent(site):
    """SQLite: a page is read without the write lock (a long save does not hold up everybody's
    today page), and a page that shows a child waits for its audit entry before it is sent."""
    if not site["url"].startswith("sqlite"):
        pytest.skip("the embedded default's locking")
    import time
    from concurrent.futures import ThreadPoolExecutor

    from jianhu.db.session import for_writing

    s = signed_in(site, SUPERVISOR)
    case_no = site["sample"].own_case
    reads_before = _case_reads(site, case_no)
    holder = for_writing(site["sample"].engine).connect()
    holder.begin()  # BEGIN IMMEDIATE, as a save in progress
    try:
        started = time.monotonic()
        assert get(s, "/reports").status_code == 200  # reads only, audits nothing
        assert time.monotonic() - started < 5
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(get, s, f"/cases/{case_no}")
            time.sleep(1.0)
            assert not pending.done()  # its audit entry waits for the lock; the page waits for it
            holder.commit()
            assert pending.result(timeout=20).status_code == 200
    finally:
        holder.close()
    assert _case_reads(site, case_no) == reads_before + 1


def test_a_save_that_cannot_get_the_lock_in_time_says_so_in_chinese_and_writes_nothing(site, monkeypatch):
    """When other saves keep the database busy past the wait, the user gets 503 with a Chinese
    message to try again (never a bare 500), and nothing of the save is written."""
    if not site["url"].startswith("sqlite"):
        pytest.skip("the embedded default's locking")
    import threading

    from jianhu.db import session as db_session

    api, token = api_client(site, DIRECTOR)
    before = records_count(site)
    monkeypatch.setattr(db_session, "BUSY_TIMEOUT_MS", 300)
    taken, done = threading.Event(), threading.Event()

    def long_save() -> None:  # another thread of the server, saving for a long time
        with db_session.for_writing(site["sample"].engine).connect() as conn:
            conn.begin()
            taken.set()
            done.wait(10)
            conn.rollback()

    holder = threading.Thread(target=long_save)
    holder.start()
    try:
        assert taken.wait(5)
        r = post(api, f"/api/cases/{site['sample'].own_case}/records/visit", json=VISIT,
                 headers={"X-CSRF-Token": token, "Idempotency-Key": "busy-0001"})
    finally:
        done.set()
        holder.join()
    assert r.status_code == 503
    assert r.json() == {"detail": "系统正忙（其他人正在保存），这次操作没有保存任何内容：请稍等几秒再试一次"}
    assert r.headers["retry-after"] == "5"
    assert records_count(site) == before


def test_sqlite_locked_by_another_process_is_503_and_other_database_errors_are_a_crash(site):
    """SQLite's own "database is locked" (another process held the file past the wait) reads as
    busy (503, Chinese, try again); any other database error is a crash (500), not "busy"."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    def locked():
        raise OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))

    def broken():
        raise OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x"))

    site["app"].add_api_route("/api/test-locked", locked)
    site["app"].add_api_route("/api/test-broken", broken)
    s = browser(site)
    r = get(s, "/api/test-locked")
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    assert r.json() == {"detail": "系统正忙（其他人正在保存），这次操作没有保存任何内容：请稍等几秒再试一次"}
    r = get(s, "/api/test-broken")
    assert r.status_code == 500 and r.json()["detail"].startswith("系统出错了，这次操作没有保存")


def _case_reads(site, case_no: str) -> int:
    """The supervisor's audited reads of the case."""
    with open_session(site["sample"].engine) as session:
        case_id = str(session.scalar(select(Case.id).where(Case.case_no == case_no)))
        return session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.actor == SUPERVISOR, AuditEvent.action == "read",
            AuditEvent.entity_id == case_id))


def test_the_due_list_pages_with_the_most_urgent_first(site, monkeypatch):
    from jianhu.web import pages

    s = signed_in(site, SUPERVISOR)
    everything = get(s, "/today").text.count('<li class="task')
    assert everything > 5
    monkeypatch.setattr(pages, "PAGE_SIZE", 5)
    first = get(s, "/today").text
    assert first.count('<li class="task') == 5
    last_page = -(-everything // 5)
    assert f"共{everything}项，第1/{last_page}页" in first and 'href="?page=2"' in first
    second = get(s, "/today?page=2").text
    assert second.split('id="tasks"')[1] != first.split('id="tasks"')[1]
    assert f"第{last_page}/{last_page}页" in get(s, "/today?page=99999").text  # clamped
    assert get(s, "/today?page=0").status_code == 422


def test_a_guardianship_change_is_approved_on_the_approvals_page(site):
    case_no = site["sample"].own_case
    s = signed_in(site, DIRECTOR)
    form = get(s, f"/cases/{case_no}/forms/guardianship")
    assert form.status_code == 200 and "委托照护" in form.text
    data = {"csrf_token": page_token(form.text), "guardianship.change": "entrusted_care",
            "guardianship.date": YESTERDAY, "guardianship.until": NEXT_MONTH,
            "guardianship.guardian_name": "测试叔", "guardianship.guardian_relation": "叔父",
            "guardianship.guardian_phone": "13900000000", "guardianship.recorded_by": DIRECTOR}
    r = post(s, f"/cases/{case_no}/forms/guardianship", data={**data, "guardianship.until": "x"})
    assert r.status_code == 422 and "期限至" in r.text
    r = post(s, f"/cases/{case_no}/forms/guardianship", data=data)
    assert r.status_code == 303, r.text
    page = get(s, f"/cases/{case_no}").text
    assert "受托照护人：测试叔（叔父），委托照护（待审批）" in page
    assert "/approvals" not in get(s, "/today").text.split("<main>")[0]  # no menu entry
    # a second change waiting too: a decision acts on the card it was made on
    second = {**data, "guardianship.change": "family_education", "guardianship.until": "",
              "guardianship.parents": "father", "guardianship.measure": "admonish",
              "guardianship.authority": "灌南县人民法院"}
    r = post(s, f"/cases/{case_no}/forms/guardianship", data=second)
    assert r.status_code == 303, r.text
    sup = signed_in(site, SUPERVISOR)
    listed = get(sup, "/approvals").text
    cards = [c for c in listed.split('<article class="approval">')[1:]
             if case_no in c and "：监护变更</h2>" in c]
    assert len(cards) == 2 and "监护变更记录" in cards[0] and "委托照护" in cards[0]
    assert "家庭教育措施" in cards[1]  # each card says what is to be approved
    first_id, second_id = (c.split('action="/approvals/')[1].split('"')[0] for c in cards)
    other = signed_in(site, OTHER_TOWN)
    assert case_no not in get(other, "/approvals").text
    r = post(other, f"/approvals/{first_id}", data={
        "csrf_token": page_token(get(other, "/approvals").text), "decision": "approve"})
    assert r.status_code == 303
    assert "未能审批：没有这项待审批事项" in get(other, "/approvals").text
    token = page_token(listed)
    r = post(sup, f"/approvals/{second_id}", data={"csrf_token": token, "decision": "reject"})
    assert "未能审批：不同意时须填写理由" in get(sup, "/approvals").text
    r = post(sup, f"/approvals/{second_id}", data={"csrf_token": token, "decision": "reject",
                                                   "reason": "措施登记有误"})
    assert r.status_code == 303
    still = get(sup, "/approvals").text
    assert first_id in still and second_id not in still  # the first is still waiting
    r = post(sup, f"/approvals/{first_id}", data={"csrf_token": token, "decision": "approve"})
    assert r.status_code == 303
    assert "已审批个案" in get(sup, "/approvals").text
    assert "受托照护人：测试叔（叔父），委托照护，" in get(sup, f"/cases/{case_no}").text


def test_an_outsider_cannot_lock_a_worker_out_and_one_machine_is_slowed(session, host, tmp_path):
    """Wrong passwords from one address lock the code for that address only; the worker signs
    in from their own phone. Fifty failures from one address block it, whatever the codes."""
    import datetime as dt

    from casework import one_case_workspace
    from jianhu.people import resolve_actor
    from jianhu.web.auth import LockoutPolicy, SignInRefused, set_password, sign_in

    one_case_workspace(session, host, tmp_path)
    set_password(session, "D01", "long-enough-1", actor=resolve_actor(session, "local-admin"))
    session.commit()
    now = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)
    outsider, phone = "203.0.113.9", "198.51.100.7"
    for _ in range(5):
        with pytest.raises(SignInRefused):
            sign_in(session, "D01", "guess", address=outsider, now=now)
    with pytest.raises(SignInRefused) as err:  # locked for the outsider, even the right password
        sign_in(session, "D01", "long-enough-1", address=outsider, now=now)
    assert str(err.value) == WRONG and not err.value.throttled
    actor, _ = sign_in(session, "D01", "long-enough-1", address=phone, now=now)
    assert actor.code == "D01"
    assert session.scalars(select(SignInThrottle.address_key)).all()  # digests only
    assert outsider not in str(session.scalars(select(SignInThrottle.address_key)).all())
    # one machine trying many codes: the 50th failure blocks the address for everyone's codes
    policy = LockoutPolicy()
    for i in range(policy.address_failures - 6):  # 6 failures counted already above
        with pytest.raises(SignInRefused):
            sign_in(session, f"X{i:02d}", "guess", address=outsider, now=now)
    with pytest.raises(SignInRefused) as err:
        sign_in(session, "S01", "guess", address=outsider, now=now)
    assert str(err.value) == "本设备登录失败次数过多，请15分钟后再试" and err.value.throttled
    later = now + dt.timedelta(minutes=16)
    with pytest.raises(SignInRefused) as err:  # unblocked, the code still wrong
        sign_in(session, "S01", "guess", address=outsider, now=later)
    assert not err.value.throttled
    # fifty wrong passwords in a row from anywhere lock the account everywhere
    for i in range(policy.account_failures):
        with pytest.raises(SignInRefused):
            sign_in(session, "D01", "guess", address=f"10.0.{i // 4}.{i}", now=later)
    with pytest.raises(SignInRefused):
        sign_in(session, "D01", "long-enough-1", address="192.0.2.1", now=later)
    assert session.scalar(select(Person.locked_until).where(Person.code == "D01")) is not None


def test_errors_are_told_in_chinese(site):
    s = signed_in(site, SUPERVISOR)
    r = get(s, "/today?page=0")
    assert r.status_code == 422 and "请求有误：「参数 page」不能小于 1" in r.text
    r = get(s, "/api/cases?level=purple")
    assert r.status_code == 422
    assert [p["msg"] for p in r.json()["detail"]] == ["「参数 level」格式不对"]
    r = post(s, "/api/session", json={"code": 5})
    assert r.status_code == 422
    assert sorted(p["msg"] for p in r.json()["detail"]) == ["「code」应为文字", "「password」必填"]
    r = get(s, "/plugins/test/crash")
    assert r.status_code == 500
    assert "系统出错了，这次操作没有保存" in r.text and "Internal Server Error" not in r.text
    assert "a bug nobody foresaw" not in r.text  # no internals shown


def test_api_lists_come_in_pages_with_the_total(site):
    s = signed_in(site, SUPERVISOR)
    everything = get(s, "/api/cases?limit=2000")
    total = int(everything.headers["x-total-count"])
    assert total == len(everything.json()) > 10
    first, second = get(s, "/api/cases?limit=4").json(), get(s, "/api/cases?limit=4&offset=4")
    assert [c["case_no"] for c in first + second.json()] == [
        c["case_no"] for c in everything.json()[:8]]
    assert second.headers["x-total-count"] == str(total)
    assert get(s, "/api/cases?limit=0").status_code == 422
    assert get(s, "/api/cases?limit=2001").status_code == 422
    due = get(s, "/api/followups/due?limit=3")
    assert len(due.json()) == 3 and int(due.headers["x-total-count"]) > 3
