"""The offline app in a real browser (Playwright driving Debian's chromium, a phone-sized
window): a village director signs in, loses the signal, saves three surveys, two visits and a
re-survey made from an older copy, reloads the page, closes and reopens the browser with the same
profile, gets the signal back and sends: exactly five records arrive, once each; the re-survey
lands as a conflict; a forced second upload of a sent record writes nothing.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
import requests
from sqlalchemy import func, select

from conftest import TEST_ENV
from jianhu.db.models import Case, Child, EditConflict, FormRecord, Person, Village
from jianhu.db.session import open_session
from jianhu.plugins import Host
from surveys import survey
from web_helpers import ARGS, CHROMIUM, DIRECTOR, PASSWORD, SUPERVISOR, served_sample

playwright_api = pytest.importorskip("playwright.sync_api")
TODAY = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date().isoformat()
#: Three children surveyed door to door (generated, not real people): name, citizen ID, birth.
NEW = [("离线一", "320724201207070095", "2012-07-07", "male"),
       ("离线二", "320724201503030063", "2015-03-03", "female"),
       ("离线三", "32072420130505008X", "2013-05-05", "female")]


@pytest.fixture(scope="module")
def site(tmp_path_factory, sample_dir):
    host = Host.load(env=TEST_ENV)
    with served_sample(tmp_path_factory.mktemp("offline-browser"), sample_dir, host, "offline-b") as (
            base, sample, url):
        yield base, sample


def api(base: str, code: str) -> tuple[requests.Session, dict]:
    s = requests.Session()
    r = s.post(base + "/api/session", json={"code": code, "password": PASSWORD})
    return s, {"X-CSRF-Token": r.json()["csrf_token"]}


def launch(p, profile):
    return p.chromium.launch_persistent_context(
        str(profile), executable_path=str(CHROMIUM), args=ARGS, locale="zh-CN",
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)


def until(page, script: str, timeout: float = 20) -> None:
    """Poll ``script`` (an async function) until it returns true (the page's policy forbids the
    string evaluation ``wait_for_function`` uses)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(script):
        assert time.monotonic() < deadline, f"not true within {timeout} s: {script}"
        time.sleep(0.2)


def waiting(page) -> int:
    return int(page.inner_text("#waiting-count"))


def fill_survey(page, name: str, cid: str, birth: str, sex: str, village: str) -> None:
    page.click("button[data-open=screening]")
    form = page.locator("#editor-form")
    form.locator("[name='child.name']").fill(name)
    form.locator("[name='child.sex']").select_option(sex)
    form.locator("[name='child.birth_date']").fill(birth)
    form.locator("[name='child.citizen_id']").fill(cid)
    for field, value in (("child.hukou_registered", "true"), ("child.hukou_type", "rural"),
                         ("child.hukou_in_county", "true"), ("child.health", "healthy"),
                         ("child.schooling", "primary"), ("child.lives_with", "grandparents"),
                         ("father.status", "working_away"), ("mother.status", "working_away"),
                         ("guardianship.type", "fair")):
        form.locator(f"[name='{field}']").select_option(value)
    form.locator("[name='residence.township']").fill("新安镇")
    form.locator("[name='residence.village']").fill(village)
    form.locator("[name='survey.filled_by']").fill("王主任")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#editor", state="hidden")


def test_records_saved_offline_arrive_once_each_and_a_stale_edit_is_a_conflict(site, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    base, sample = site
    with open_session(sample.engine) as s:
        village = s.scalar(select(Village.name).join(Person, Person.village_id == Village.id)
                           .where(Person.code == DIRECTOR))
    # a child of the director's village, registered at the office before the director goes out
    office, headers = api(base, SUPERVISOR)
    known = survey(child__name="离线旧", child__citizen_id="320724201504040079", child__sex="male",
                   child__birth_date="2015-04-04", residence__village=village)
    assert office.post(base + "/api/surveys", json=known, headers=headers).status_code == 201
    with open_session(sample.engine) as s:
        known_case = s.scalar(select(Case.case_no).join(Child).where(Child.name == "离线旧"))
        visits_before = s.scalar(select(func.count()).select_from(FormRecord).join(
            Case, Case.id == FormRecord.subject_id).where(
            Case.case_no == sample.own_case, FormRecord.form_id == "visit"))
    profile = tmp_path / "profile"
    with playwright_api.sync_playwright() as p:
        context = launch(p, profile)
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(base + "/login?next=/offline/")
        page.fill("#code", DIRECTOR)
        page.fill("#password", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url(base + "/offline/")
        page.wait_for_selector("#offline-app[data-ready='1']")
        until(page, """async () => {
            await navigator.serviceWorker.ready;
            for (const k of await caches.keys()) {
              if (await (await caches.open(k)).match('/offline/')) return true;
            }
            return false; }""")
        assert page.locator(f"li[data-case='{known_case}']").count() == 1

        context.set_offline(True)
        for name, cid, birth, sex in NEW:
            fill_survey(page, name, cid, birth, sex, village)
        for note in ("第一次走访", "第二次走访"):
            card = page.locator(f"li[data-case='{sample.own_case}']")
            card.locator("button", has_text="随访记录").click()
            form = page.locator("#editor-form")
            assert form.locator("[name='visit.date']").input_value() == TODAY
            form.locator("[name='visit.visitor']").fill(DIRECTOR)
            form.locator("[name='visit.method']").select_option("home")
            form.locator("[name='visit.child_seen']").select_option("true")
            form.locator("[name='visit.risk_change']").select_option("unchanged")
            form.locator("[name='visit.notes']").fill(note)
            form.locator("button[type=submit]").click()
            page.wait_for_selector("#editor", state="hidden")
        # a re-survey from the phone's copy (version 1), with a wrong entry caught on the phone
        page.locator(f"li[data-case='{known_case}']").locator("button", has_text="重新调查").click()
        form = page.locator("#editor-form")
        assert form.locator("[name='child.name']").input_value() == "离线旧"
        fill_survey_rest = {"child.sex": "male", "child.hukou_registered": "true",
                            "child.hukou_type": "rural", "child.hukou_in_county": "true",
                            "child.health": "healthy", "child.schooling": "junior",
                            "child.lives_with": "grandparents", "father.status": "working_away",
                            "mother.status": "working_away", "guardianship.type": "fair"}
        for field, value in fill_survey_rest.items():
            form.locator(f"[name='{field}']").select_option(value)
        form.locator("[name='child.birth_date']").fill("2015-04-04")
        form.locator("[name='residence.township']").fill("新安镇")
        form.locator("[name='survey.filled_by']").fill("王主任")
        form.locator("[name='child.citizen_id']").fill("32072420150404007")  # a digit short
        form.locator("button[type=submit]").click()
        assert "格式不对" in page.inner_text("[data-field='child.citizen_id']")
        assert waiting(page) == 5 and page.locator("#editor").is_visible()  # not saved
        form.locator("[name='child.citizen_id']").fill("320724201504040079")
        form.locator("button[type=submit]").click()
        page.wait_for_selector("#editor", state="hidden")
        until(page, "() => document.getElementById('waiting-count').textContent === '6'")
        page.reload()
        page.wait_for_selector("#offline-app[data-ready='1']")
        assert waiting(page) == 6
        assert "没有网络" in page.inner_text("#net")
        context.close()

        # the office changes the known child meanwhile (version 2)
        changed = survey(**{**{f"child__{k}": v for k, v in known["child"].items()},
                            "residence__village": village, "child__health": "ill"})
        assert office.post(base + "/api/surveys", json=changed, headers=headers).json()["updated"] == 1

        context = launch(p, profile)
        context.set_offline(True)
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(base + "/offline/")
        page.wait_for_selector("#offline-app[data-ready='1']")
        assert waiting(page) == 6
        context.set_offline(False)
        # the first visit reaches the server but its answer is lost on the way back: the phone
        # keeps it and sends it again; the server answers with the first answer
        lost, answers = [], []

        def lose_first_answer(route):
            if not lost and route.request.method == "POST" and "/records/visit" in route.request.url:
                route.fetch()
                lost.append(route.request.headers["idempotency-key"])
                route.abort("connectionreset")
            else:
                route.continue_()

        page.route("**/api/cases/**", lose_first_answer)
        page.on("response", lambda r: answers.append(
            (r.request.headers.get("idempotency-key"), r.status, r.headers.get("idempotency-replayed")))
            if r.request.method == "POST" else None)
        page.click("#sync-now")
        until(page, "() => document.getElementById('waiting-count').textContent !== '6'")
        page.click("#sync-now")
        until(page, "() => document.getElementById('waiting-count').textContent === '0'")
        sent = page.evaluate("""async () => {
            const db = await idb.openDB('jianhu-offline', 1);
            return (await db.get('meta', 'log')).map((e) => e.result); }""")
        assert sorted(sent) == ["已上传"] * 5 + ["已交督导员处理（修改冲突）"]
        context.close()
    assert len(lost) == 1
    assert (lost[0], 201, "true") in answers
    with open_session(sample.engine) as s:
        for name, cid, _, _ in NEW:
            assert list(s.scalars(select(Child.citizen_id).where(Child.name == name))) == [cid]
        assert s.scalar(select(func.count()).select_from(FormRecord).join(
            Case, Case.id == FormRecord.subject_id).where(
            Case.case_no == sample.own_case, FormRecord.form_id == "visit")) == visits_before + 2
        notes = sorted(r.payload["visit"]["notes"] for r in s.scalars(
            select(FormRecord).join(Case, Case.id == FormRecord.subject_id).where(
                Case.case_no == sample.own_case, FormRecord.form_id == "visit")))
        assert notes.count("第一次走访") == 1 and notes.count("第二次走访") == 1
        assert s.scalar(select(Child.version).where(Child.name == "离线旧")) == 2
        assert s.scalar(select(func.count()).select_from(EditConflict).where(
            EditConflict.status == "open")) == 1
