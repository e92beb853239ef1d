"""The web interface in a real browser: Playwright for Python driving Debian's chromium
(``/usr/bin/chromium``, installed by ``.ci/run``; never ``playwright install``).

A village child director signs in, fills a visit record with one wrong field, sees the Chinese
error beside the field, corrects it, saves, and finds the visit on the case timeline. The session
cookie is HttpOnly and SameSite, so page scripts cannot read it. Screenshots of the main pages are
saved in the test's temporary directory (the path is printed).
"""

from __future__ import annotations

import shutil

import pytest

from conftest import TEST_ENV
from jianhu.dates import local_today
from jianhu.plugins import Host
from web_helpers import ARGS, CHROMIUM, DIRECTOR, OTHER_TOWN, PASSWORD, served_sample

if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed (/usr/bin/chromium; apt-get install chromium)",
                allow_module_level=True)
playwright_api = pytest.importorskip("playwright.sync_api",
                                     reason="Playwright for Python is not installed")


@pytest.fixture(scope="module")
def site(tmp_path_factory, sample_dir):
    """The sample workspace served on 127.0.0.1."""
    host = Host.load(env=TEST_ENV)
    with served_sample(tmp_path_factory.mktemp("browser"), sample_dir, host, "browser") as (
            base, sample, url):
        yield base, sample


@pytest.fixture(scope="module")
def chromium():
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    """Where screenshots go (also copied to ``$JIANHU_SCREENSHOTS`` when that is set)."""
    out = tmp_path_factory.mktemp("screenshots")
    yield out
    print(f"\nscreenshots: {out}")
    target = __import__("os").environ.get("JIANHU_SCREENSHOTS")
    if target:
        shutil.copytree(out, target, dirs_exist_ok=True)


def sign_in(page, base: str, code: str) -> None:
    page.goto(base + "/")
    assert page.url.endswith("/login")
    page.fill("#code", code)
    page.fill("#password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(base + "/today")


def test_director_records_a_visit_in_the_browser(site, chromium, shots):
    base, sample = site
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(base + "/")
    page.screenshot(path=shots / "01-login.png", full_page=True)
    page.fill("#code", DIRECTOR)
    page.fill("#password", "wrong-password")
    page.click("form button[type=submit]")
    assert "编号或密码不正确" in page.inner_text("#login-error")
    sign_in(page, base, DIRECTOR)
    assert page.locator("h1").first.inner_text().startswith("今日待办")
    page.screenshot(path=shots / "02-today.png", full_page=True)

    # the session cookie: HttpOnly, SameSite, invisible to scripts
    cookie = next(c for c in context.cookies() if c["name"] == "jianhu_session")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"
    assert "jianhu_session" not in page.evaluate("document.cookie")

    page.click("nav >> text=个案")
    page.wait_for_url(base + "/cases")
    page.screenshot(path=shots / "03-cases.png", full_page=True)
    page.click(f"a[href='/cases/{sample.own_case}']")
    page.wait_for_url(base + f"/cases/{sample.own_case}")
    page.screenshot(path=shots / "04-case.png", full_page=True)

    page.click(f"a[href='/cases/{sample.own_case}/forms/visit']")
    page.wait_for_url(base + f"/cases/{sample.own_case}/forms/visit")
    today = local_today().isoformat()
    assert page.input_value("#f-visit-date") == today
    page.fill("#f-visit-visitor", "李主任")  # the wrong field: not a roster code
    page.select_option("#f-visit-method", "home")
    page.select_option("#f-visit-child_seen", "true")
    page.select_option("#f-visit-risk_change", "improved")
    page.fill("#f-visit-notes", "祖母照料较好，孩子按时上学。")
    page.click("form.record button[type=submit]")
    error = page.locator("[data-field='visit.visitor'] .field-error")
    error.wait_for()
    assert error.inner_text() == (
        "应为人员名册中的编号（如 320724100-D01，只含字母、数字和 - _ .），不是姓名")
    assert page.locator(".field-error").count() == 1  # only the wrong field
    assert page.input_value("#f-visit-notes") == "祖母照料较好，孩子按时上学。"  # nothing lost
    page.screenshot(path=shots / "05-form-error.png", full_page=True)

    page.fill("#f-visit-visitor", DIRECTOR)
    page.click("form.record button[type=submit]")
    page.wait_for_url(base + f"/cases/{sample.own_case}")
    assert "已登记随访记录" in page.inner_text(".flash")
    timeline = page.inner_text("#timeline")
    assert f"{today} 随访记录：随访人 {DIRECTOR}，风险变化：好转" in timeline
    page.screenshot(path=shots / "06-case-after.png", full_page=True)

    page.click("nav >> text=统计图")
    page.wait_for_url(base + "/dashboard")
    assert page.locator("svg.chart").count() == 3
    page.screenshot(path=shots / "07-dashboard.png", full_page=True)

    page.goto(base + f"/cases/{sample.own_case}/documents/assessment")
    assert page.locator("h1").inner_text().replace(" ", "") == "家庭监护评估报告"
    page.screenshot(path=shots / "08-document.png", full_page=True)
    page.emulate_media(media="print")
    assert not page.locator(".doc-toolbar").is_visible()  # the toolbar is not printed
    page.emulate_media(media="screen")

    page.goto(base + "/import")
    page.screenshot(path=shots / "09-import.png", full_page=True)
    page.click("header .who button")
    page.wait_for_url(base + "/login")
    context.close()


def test_another_town_gets_404_in_the_browser(site, chromium):
    base, sample = site
    context = chromium.new_context()
    page = context.new_page()
    sign_in(page, base, OTHER_TOWN)
    response = page.goto(base + f"/cases/{sample.own_case}")
    assert response.status == 404 and "没有个案" in page.inner_text("main")
    response = page.goto(base + f"/api/cases/{sample.own_case}")
    assert response.status == 404
    context.close()


def test_a_director_asks_for_a_transfer_on_a_phone(site, chromium, shots):
    from sqlalchemy import select

    from jianhu.db.models import Case, Person, Township, Village
    from jianhu.db.session import open_session

    base, sample = site
    with open_session(sample.engine) as session:
        village = session.scalar(select(Person.village_id).where(Person.code == DIRECTOR))
        case_no = session.scalar(select(Case.case_no).where(
            Case.village_id == village, Case.case_no != sample.own_case,
            Case.status.not_in(["closed", "return_visits"])).order_by(Case.case_no))
        target = session.scalar(select(Village.name).join(Township).where(
            Township.code == "320724101000").order_by(Village.name))
    assert case_no
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    sign_in(page, base, DIRECTOR)
    page.goto(base + f"/cases/{case_no}")
    page.goto(base + "/today")
    page.screenshot(path=shots / "10-today-phone.png")
    page.goto(base + f"/cases/{case_no}")
    page.click("text=儿童随家庭迁居时")
    page.fill("input[name=to]", "堆沟港镇")
    page.fill("input[name=reason]", "随父母迁居")
    page.locator("form[action$='/transfer']").screenshot(path=shots / "10-transfer-form-phone.png")
    page.click("text=申请转移")
    page.wait_for_url(base + "/transfers")
    assert "待接收方乡镇儿童督导员接收" in page.inner_text("body")
    assert page.locator("#transfers article").count() == 1
    assert page.locator("button[value=accept]").count() == 0
    page.screenshot(path=shots / "12-transfer-requested-phone.png", full_page=True)
    context.close()

    context = chromium.new_context()
    page = context.new_page()
    sign_in(page, base, OTHER_TOWN)
    page.goto(base + "/transfers")
    page.screenshot(path=shots / "11-transfers-desktop.png", full_page=True)
    page.fill("input[name=village]", target)
    page.click("button[value=accept]")
    page.wait_for_url(base + f"/cases/{case_no}")
    assert f"堆沟港镇{target}" in page.inner_text("main")
    page.screenshot(path=shots / "13-transfer-accepted-desktop.png", full_page=True)
    context.close()


def test_todays_work_fits_a_phone_and_a_desktop(site, chromium, shots):
    """今日待办 as cards at 390×844: no horizontal scroll, the child's name for the director who
    visits them, and every action a thumb-sized target; the same page at 1366×768."""
    base, sample = site
    for width, height, name in ((390, 844, "phone"), (1366, 768, "desktop")):
        context = chromium.new_context(viewport={"width": width, "height": height},
                                       locale="zh-CN")
        page = context.new_page()
        sign_in(page, base, DIRECTOR)
        for path in ("/today", "/mine", f"/cases/{sample.own_case}", "/cases", "/approvals",
                     "/reports"):
            page.goto(base + path)
            scroll = page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= width, (path, scroll)
        page.goto(base + "/reports")
        page.screenshot(path=shots / f"15-reports-{name}.png", full_page=True)
        page.goto(base + "/today")
        page.screenshot(path=shots / f"14-today-{name}.png", full_page=True)
        cards = page.locator("#tasks li.task")
        assert cards.count() > 0
        first = cards.first
        from jianhu.tasks import KIND_LABELS

        assert first.locator(".task-kind").inner_text() in KIND_LABELS.values()
        assert not first.locator(".task-child").inner_text().startswith("个案 ")  # a name
        for target in page.locator("#tasks a").all()[:40]:
            box = target.bounding_box()
            assert box["height"] >= 44, (target.inner_text(), box)
        context.close()
