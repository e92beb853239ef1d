"""Records captured on devices: a record sent twice is one record, a stale edit is held as a
conflict, a refused record is answered (never dropped), and a phone's exported records import
once (jianhu.capture, jianhu.submissions, jianhu.conflicts; handbook 离线采集).

The browser side (the offline app in chromium, offline and back) is tests/test_offline_browser.py.
"""

from __future__ import annotations

import json
import sys
import uuid

import pytest
import requests
from sqlalchemy import func, select

from conftest import TEST_ENV
from jianhu.db.models import Child, EditConflict, FormRecord, Submission
from jianhu.db.session import open_session
from jianhu.plugins import Host
from surveys import survey
from web_helpers import DIRECTOR, OTHER_TOWN, PASSWORD, SUPERVISOR, page_token, served_sample

TODAY = "2026-11-30"
VISIT = {"visit": {"date": TODAY, "visitor": DIRECTOR, "method": "home", "child_seen": True,
                   "risk_change": "unchanged", "notes": "孩子在家，情况稳定"}}


@pytest.fixture(scope="module")
def site(tmp_path_factory, sample_dir):
    host = Host.load(env=TEST_ENV)
    with served_sample(tmp_path_factory.mktemp("offline"), sample_dir, host, "offline") as (
            base, sample, url):
        yield {"base": base, "sample": sample, "url": url, "host": host}


def client(site, code: str = DIRECTOR) -> tuple[requests.Session, dict]:
    s = requests.Session()
    r = s.post(site["base"] + "/api/session", json={"code": code, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return s, {"X-CSRF-Token": r.json()["csrf_token"]}


def visits(site, case_no: str) -> int:
    from jianhu.db.models import Case

    with open_session(site["sample"].engine) as s:
        case_id = s.scalar(select(Case.id).where(Case.case_no == case_no))
        return s.scalar(select(func.count()).select_from(FormRecord).where(
            FormRecord.subject_id == case_id, FormRecord.form_id == "visit"))


def test_the_same_key_twice_is_one_record_and_the_second_answer_is_a_replay(site):
    s, headers = client(site)
    case_no = site["sample"].own_case
    before = visits(site, case_no)
    key = str(uuid.uuid4())
    url = f"{site['base']}/api/cases/{case_no}/records/visit"
    first = s.post(url, json=VISIT, headers=headers | {"Idempotency-Key": key})
    assert first.status_code == 201, first.text
    assert "Idempotency-Replayed" not in first.headers
    again = s.post(url, json=VISIT, headers=headers | {"Idempotency-Key": f'"{key}"'})
    assert again.status_code == 201
    assert again.headers["Idempotency-Replayed"] == "true"
    assert again.json()["record_id"] == first.json()["record_id"]
    assert again.json()["replay"] is True
    assert visits(site, case_no) == before + 1
    # the same key with other content, or from another township, writes nothing
    other = s.post(url, json={"visit": VISIT["visit"] | {"notes": "改过的内容"}},
                   headers=headers | {"Idempotency-Key": key})
    assert other.status_code == 422
    assert "这个记录编号已用于另一份内容不同的记录" in other.json()["detail"]
    elsewhere, h2 = client(site, OTHER_TOWN)
    r = elsewhere.post(url, json=VISIT, headers=h2 | {"Idempotency-Key": key})
    assert r.status_code in (404, 422)
    assert visits(site, case_no) == before + 1


def test_a_refused_record_is_answered_and_can_be_sent_again_with_its_key_corrected(site):
    s, headers = client(site)
    case_no = site["sample"].own_case
    before = visits(site, case_no)
    key = str(uuid.uuid4())
    url = f"{site['base']}/api/cases/{case_no}/records/visit"
    bad = {"visit": VISIT["visit"] | {"method": "飞鸽"}}
    r = s.post(url, json=bad, headers=headers | {"Idempotency-Key": key})
    assert r.status_code == 422
    assert r.json()["problems"][0]["field"] == "方式"
    assert visits(site, case_no) == before
    r = s.post(url, json=VISIT, headers=headers | {"Idempotency-Key": key})
    assert r.status_code == 201 and "Idempotency-Replayed" not in r.headers
    assert visits(site, case_no) == before + 1


def test_a_record_for_a_child_outside_scope_is_refused_with_its_reason(site):
    s, headers = client(site)
    other = site["sample"].other_town_case
    r = s.post(f"{site['base']}/api/cases/{other}/records/visit", json=VISIT,
               headers=headers | {"Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 404
    assert r.json()["detail"] == f"没有个案 {other}"
    with open_session(site["sample"].engine) as session:
        assert session.scalar(select(func.count()).select_from(Submission).where(
            Submission.endpoint == f"records/{other}/visit")) == 0


def test_a_malformed_key_is_refused_in_chinese(site):
    s, headers = client(site)
    r = s.post(f"{site['base']}/api/cases/{site['sample'].own_case}/records/visit", json=VISIT,
               headers=headers | {"Idempotency-Key": "a b"})
    assert r.status_code == 422
    assert r.json()["detail"] == "Idempotency-Key 应为设备生成的记录编号（UUID）"


def children_named(site, name: str) -> list[tuple[str, int]]:
    with open_session(site["sample"].engine) as s:
        return [(c.citizen_id, c.version) for c in s.scalars(select(Child).where(Child.name == name))]


def test_a_survey_sent_twice_is_one_child(site):
    s, headers = client(site, SUPERVISOR)
    doc = survey(child__name="离线甲", child__citizen_id="320724201503030063",
                 child__birth_date="2015-03-03", residence__village="测试村")
    key = str(uuid.uuid4())
    first = s.post(site["base"] + "/api/surveys", json=doc, headers=headers | {"Idempotency-Key": key})
    assert first.status_code == 201, first.text
    assert first.json()["created"] == 1
    again = s.post(site["base"] + "/api/surveys", json=doc, headers=headers | {"Idempotency-Key": key})
    assert again.status_code == 201 and again.json()["replay"] is True
    assert again.json()["created"] == 1  # the first answer, not a second child
    assert children_named(site, "离线甲") == [("320724201503030063", 1)]


def test_a_survey_made_from_an_older_copy_is_held_as_a_conflict_for_the_supervisor(site):
    s, headers = client(site, SUPERVISOR)
    doc = survey(child__name="离线乙", child__citizen_id="320724201504040079", child__sex="male",
                 child__birth_date="2015-04-04", residence__village="测试村")
    assert s.post(site["base"] + "/api/surveys", json=doc, headers=headers).status_code == 201
    # the office corrects the child (version 2) while a director's phone still has version 1
    office = survey(**{**{f"child__{k}": v for k, v in doc["child"].items()},
                       "residence__village": "测试村", "child__schooling": "junior"})
    r = s.post(site["base"] + "/api/surveys", json=office, headers=headers)
    assert r.status_code == 201 and r.json()["updated"] == 1
    assert children_named(site, "离线乙") == [("320724201504040079", 2)]
    phone = survey(**{**{f"child__{k}": v for k, v in doc["child"].items()},
                      "residence__village": "测试村", "child__name": "离线丙"})
    key = str(uuid.uuid4())
    held = s.post(site["base"] + "/api/surveys?based_on=1", json=phone,
                  headers=headers | {"Idempotency-Key": key})
    assert held.status_code == 202, held.text
    assert held.json()["conflict_id"]
    assert children_named(site, "离线乙") == [("320724201504040079", 2)]  # nothing applied
    replay = s.post(site["base"] + "/api/surveys?based_on=1", json=phone,
                    headers=headers | {"Idempotency-Key": key})
    assert replay.status_code == 202 and replay.json()["conflict_id"] == held.json()["conflict_id"]
    with open_session(site["sample"].engine) as session:
        row = session.get(EditConflict, uuid.UUID(held.json()["conflict_id"]))
        assert (row.status, row.base_version, row.stored_version) == ("open", 1, 2)
        assert {"field": "儿童姓名", "stored": "离线乙", "proposed": "离线丙"} in row.changes
        assert session.scalar(select(func.count()).select_from(EditConflict)) == 1
    # the supervisor sees it on the page, another township's supervisor does not
    page = requests.Session()
    token = page_token(page.get(site["base"] + "/login").text)
    page.post(site["base"] + "/login", data={"csrf_token": token, "code": SUPERVISOR,
                                             "password": PASSWORD, "next": "/"})
    listed = page.get(site["base"] + "/conflicts")
    assert listed.status_code == 200 and "离线丙" in listed.text and "离线乙" in listed.text
    outsider = requests.Session()
    token = page_token(outsider.get(site["base"] + "/login").text)
    outsider.post(site["base"] + "/login", data={"csrf_token": token, "code": OTHER_TOWN,
                                                 "password": PASSWORD, "next": "/"})
    assert "离线乙" not in outsider.get(site["base"] + "/conflicts").text
    r = outsider.post(site["base"] + f"/conflicts/{held.json()['conflict_id']}",
                      data={"csrf_token": page_token(outsider.get(site["base"] + "/today").text),
                            "decision": "apply"})
    assert "未处理：没有这个修改冲突（或已处理）" in r.text
    assert children_named(site, "离线丙") == []
    # applied by the supervisor: recorded as a re-survey, version 3
    token = page_token(listed.text)
    r = page.post(site["base"] + f"/conflicts/{held.json()['conflict_id']}",
                  data={"csrf_token": token, "decision": "apply"}, allow_redirects=False)
    assert r.status_code == 303
    assert children_named(site, "离线丙") == [("320724201504040079", 3)]
    assert "没有待处理的修改冲突" in page.get(site["base"] + "/conflicts").text


def test_the_app_manifest_and_service_worker_answer_and_the_app_needs_sign_in(site):
    r = requests.get(site["base"] + "/manifest.webmanifest")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/manifest+json")
    assert r.json()["start_url"] == "/offline/" and r.json()["display"] == "standalone"
    sw = requests.get(site["base"] + "/offline/sw.js")
    assert sw.status_code == 200 and sw.headers["content-type"].startswith("text/javascript")
    assert "__VERSION__" not in sw.text and "jianhu-offline-" in sw.text
    r = requests.get(site["base"] + "/offline/", allow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    s, _ = client(site)
    page = s.get(site["base"] + "/offline/")
    assert page.status_code == 200
    for form_id in ("visit", "service", "incident"):
        assert f'<template id="form-{form_id}"' in page.text
    assert '<template id="form-screening"' in page.text  # a director surveys too
    bundle = s.get(site["base"] + "/api/offline/bundle").json()
    assert site["sample"].own_case in {c["case_no"] for c in bundle["cases"]}
    assert site["sample"].other_town_case not in {c["case_no"] for c in bundle["cases"]}
    assert site["sample"].other_village_case not in {c["case_no"] for c in bundle["cases"]}


def test_a_phones_exported_records_import_once_and_anothers_are_refused(site, tmp_path):
    from click.testing import CliRunner

    from jianhu.cli import cli

    case_no = site["sample"].own_case
    before = visits(site, case_no)
    mine, theirs = str(uuid.uuid4()), str(uuid.uuid4())
    file = tmp_path / "待上传记录.json"
    file.write_text(json.dumps({"format": "jianhu-outbox", "version": 1, "records": [
        {"id": mine, "form_id": "visit", "case_no": case_no, "by": DIRECTOR, "doc": VISIT},
        {"id": theirs, "form_id": "visit", "case_no": case_no, "by": "320724100-W01",
         "doc": VISIT}]}, ensure_ascii=False), encoding="utf-8")
    runner = CliRunner()
    env = {**TEST_ENV, "JIANHU_DATABASE_URL": site["url"]}
    out = runner.invoke(cli, ["--as", DIRECTOR, "import", "outbox", str(file)], env=env)
    assert out.exit_code == 1, out.output
    assert "已登记1条，此前已上传0条" in out.output
    assert "第2条：由 320724100-W01 采集，请由本人登录后上传" in out.output
    assert visits(site, case_no) == before + 1
    # the phone sends the same record afterwards: a replay, no second visit
    s, headers = client(site)
    r = s.post(f"{site['base']}/api/cases/{case_no}/records/visit", json=VISIT,
               headers=headers | {"Idempotency-Key": mine})
    assert r.status_code == 201 and r.headers["Idempotency-Replayed"] == "true"
    out = runner.invoke(cli, ["--as", DIRECTOR, "import", "outbox", str(file)], env=env)
    assert "已登记0条，此前已上传1条" in out.output
    assert visits(site, case_no) == before + 1
    file.write_text("不是文件", encoding="utf-8")
    out = runner.invoke(cli, ["--as", DIRECTOR, "import", "outbox", str(file)], env=env)
    assert out.exit_code != 0 and "无法读取待上传记录文件" in out.output


def test_three_phones_on_a_bad_network_lose_nothing_and_duplicate_nothing(tmp_path):
    """The chaos benchmark (benchmarks/offline_chaos.py) at a small size."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parent.parent / "benchmarks" / "offline_chaos.py"
    spec = importlib.util.spec_from_file_location("offline_chaos", path)
    chaos = importlib.util.module_from_spec(spec)
    sys.modules["offline_chaos"] = chaos  # its dataclasses look their module up
    spec.loader.exec_module(chaos)
    host = Host.load(env=TEST_ENV)
    engine, cases = chaos.workspace(tmp_path, host, 120)
    out = chaos.replay(engine, host, cases, 60, seed=3)
    engine.dispose()
    assert (out["arrived"], out["lost"], out["duplicated"], out["conflicts"]) == (60, 0, 0, 1)
    assert out["sends"] > 62  # the network lost some: phones sent again


def test_signing_out_clears_the_phones_copy_but_not_its_waiting_records(site):
    s = requests.Session()
    login = s.get(site["base"] + "/login")
    assert '<script src="/static/offline/signed-out.js"></script>' in login.text
    s.post(site["base"] + "/login", data={"csrf_token": page_token(login.text), "code": DIRECTOR,
                                          "password": PASSWORD, "next": "/offline/"})
    page = s.get(site["base"] + "/offline/")
    assert 'data-offline-days="7"' in page.text
    out = s.post(site["base"] + "/logout", data={"csrf_token": page_token(page.text)},
                 allow_redirects=False)
    assert out.status_code == 303 and out.headers["Clear-Site-Data"] == '"cache"'
    script = requests.get(site["base"] + "/static/offline/signed-out.js").text
    assert 'objectStore("cache").clear()' in script and "outbox\").clear" not in script


def test_the_offline_period_is_set_by_the_county_within_bounds():
    from jianhu.errors import JianhuError
    from jianhu.web import WebConfig

    assert WebConfig.from_env({"JIANHU_OFFLINE_DAYS": "3"}).offline_days == 3
    assert WebConfig.from_env({}).offline_days == 7
    for bad in ("0", "31", "七", "-1"):
        with pytest.raises(JianhuError, match="JIANHU_OFFLINE_DAYS 应为 1 至 30 之间的天数"):
            WebConfig.from_env({"JIANHU_OFFLINE_DAYS": bad})


@pytest.mark.parametrize(("field", "value"), [
    ("survey__date", "0000-01-01"), ("survey__date", "2026-11-15T00:00:00"),
    ("survey__date", "20260-11-15"), ("child__birth_date", "0000-01-01"),
    ("survey__consent_date", "0000-01-01"), ("child__name", "   ")])
def test_a_survey_with_an_impossible_date_or_a_blank_name_is_refused_in_chinese(site, field, value):
    s, headers = client(site, SUPERVISOR)
    doc = survey(child__name="坏日期", child__citizen_id="320724201207070095", child__sex="male",
                 child__birth_date="2012-07-07", residence__village="测试村")
    group, key = field.split("__")
    doc[group][key] = value
    r = s.post(site["base"] + "/api/surveys", json=doc,
               headers=headers | {"Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == "调查表填写有误，未写入"
    assert all(not p["message"].isascii() for p in r.json()["problems"]), r.json()
    assert children_named(site, "坏日期") == []


def test_text_that_cannot_be_stored_is_refused_not_crashed(site):
    s, headers = client(site)
    bad = {"visit": VISIT["visit"] | {"notes": "\ud800"}}
    r = s.post(f"{site['base']}/api/cases/{site['sample'].own_case}/records/visit", json=bad,
               headers=headers | {"Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 422 and r.json()["detail"] == "内容含有无法识别的字符，未写入"
    r = s.post(f"{site['base']}/api/cases/{site['sample'].own_case}/records/visit",
               data="[" * 2000, headers=headers | {"Content-Type": "application/json"})
    assert r.status_code in (400, 422) and r.json()["detail"] and not str(r.json()["detail"]).isascii()


def test_a_held_survey_shows_what_it_changes_and_is_not_applied_over_a_later_change(site):
    s, headers = client(site, SUPERVISOR)
    base = survey(child__name="离线丁", child__citizen_id="320724201207070095", child__sex="male",
                  child__birth_date="2012-07-07", residence__village="测试村")
    assert s.post(site["base"] + "/api/surveys", json=base, headers=headers).status_code == 201
    office = {**base, "child": {**base["child"], "health": "ill"}}
    assert s.post(site["base"] + "/api/surveys", json=office, headers=headers).json()["updated"] == 1
    phone = {**base, "child": {**base["child"], "schooling": "junior"}}
    held = s.post(site["base"] + "/api/surveys?based_on=1", json=phone, headers=headers).json()
    with open_session(site["sample"].engine) as session:
        row = session.get(EditConflict, uuid.UUID(held["conflict_id"]))
        assert row.changes == [{"field": "儿童健康状况", "stored": "患病", "proposed": "健康"},
                               {"field": "儿童就学状况", "stored": "小学", "proposed": "初中"}]
    later = {**office, "child": {**office["child"], "boarding": True}}
    assert s.post(site["base"] + "/api/surveys", json=later, headers=headers).json()["updated"] == 1
    page = requests.Session()
    token = page_token(page.get(site["base"] + "/login").text)
    page.post(site["base"] + "/login", data={"csrf_token": token, "code": SUPERVISOR,
                                             "password": PASSWORD, "next": "/"})
    r = page.post(site["base"] + f"/conflicts/{held['conflict_id']}",
                  data={"csrf_token": page_token(page.get(site["base"] + "/conflicts").text),
                        "decision": "apply"})
    assert "该儿童的信息在此冲突之后又有修改（现为版本 3）：不能直接采用" in r.text
    assert children_named(site, "离线丁") == [("320724201207070095", 3)]


def test_a_bad_record_in_an_exported_file_is_named_and_the_others_are_recorded(site, tmp_path):
    from click.testing import CliRunner

    from jianhu.cli import cli

    case_no = site["sample"].own_case
    before = visits(site, case_no)
    good = {"id": str(uuid.uuid4()), "form_id": "visit", "case_no": case_no, "by": DIRECTOR,
            "doc": VISIT}
    file = tmp_path / "f.json"
    file.write_text(json.dumps({"format": "jianhu-outbox", "version": 1, "records": [
        {**good, "id": str(uuid.uuid4()), "based_on": "abc"},
        {**good, "id": str(uuid.uuid4()), "based_on": True},
        {**good, "id": str(uuid.uuid4()), "case_no": ["x"]},
        {**good, "id": str(uuid.uuid4()), "doc": {"visit": {**VISIT["visit"], "date": "0000-01-01"}}},
        good]}, ensure_ascii=False), encoding="utf-8")
    out = CliRunner().invoke(cli, ["--as", DIRECTOR, "import", "outbox", str(file)],
                             env={**TEST_ENV, "JIANHU_DATABASE_URL": site["url"]})
    assert out.exit_code == 1 and "Traceback" not in out.output, out.output
    assert "已登记1条" in out.output and "未登记4条" in out.output
    assert "第1条：based_on 应为正整数" in out.output and "第2条：based_on 应为正整数" in out.output
    assert "第3条：form_id、case_no 应为文字" in out.output
    assert "第4条：随访记录填写有误，未写入；「随访日期」" in out.output
    assert visits(site, case_no) == before + 1


def test_a_nul_character_is_refused_wherever_it_comes_from(site, tmp_path):
    s, headers = client(site)
    case_no = site["sample"].own_case
    bad = {"visit": VISIT["visit"] | {"notes": "a\u0000b"}}
    r = s.post(f"{site['base']}/api/cases/{case_no}/records/visit", json=bad,
               headers=headers | {"Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 422 and r.json()["detail"] == "内容含有无法识别的字符，未写入"
    page = requests.Session()
    token = page_token(page.get(site["base"] + "/login").text)
    page.post(site["base"] + "/login", data={"csrf_token": token, "code": SUPERVISOR,
                                             "password": PASSWORD, "next": "/"})
    form = page.get(site["base"] + "/surveys/new")
    with open_session(site["sample"].engine) as session:
        before = session.scalar(select(func.count()).select_from(Child))
    r = page.post(site["base"] + "/surveys/new", data={
        "csrf_token": page_token(form.text), "child.name": "测\u0000试", "child.sex": "female"})
    assert r.status_code == 422
    assert "含有无法识别的字符" in r.text.split('data-field="child.name"')[1][:3000]
    with open_session(site["sample"].engine) as session:
        assert session.scalar(select(func.count()).select_from(Child)) == before


def test_a_colleague_who_records_only_for_themselves_cannot_replay_anothers_key(site):
    from web_helpers import WORKER

    case_no = site["sample"].own_case
    key = str(uuid.uuid4())
    url = f"{site['base']}/api/cases/{case_no}/records/visit"
    s, headers = client(site)
    assert s.post(url, json=VISIT, headers=headers | {"Idempotency-Key": key}).status_code == 201
    worker, h2 = client(site, WORKER)
    r = worker.post(url, json=VISIT, headers=h2 | {"Idempotency-Key": key})
    assert r.status_code == 422 and "Idempotency-Replayed" not in r.headers
    supervisor, h3 = client(site, SUPERVISOR)  # records for others: may see the first answer
    r = supervisor.post(url, json=VISIT, headers=h3 | {"Idempotency-Key": key})
    assert r.status_code == 201 and r.headers["Idempotency-Replayed"] == "true"


def test_a_file_that_nests_too_deep_is_refused_without_a_traceback(site, tmp_path):
    from click.testing import CliRunner

    from jianhu.cli import cli

    file = tmp_path / "deep.json"
    file.write_text("[" * 100_000, encoding="utf-8")
    out = CliRunner().invoke(cli, ["--as", DIRECTOR, "import", "outbox", str(file)],
                             env={**TEST_ENV, "JIANHU_DATABASE_URL": site["url"]})
    assert out.exit_code == 1 and out.output == "错误：无法读取待上传记录文件：不是有效的 JSON\n"
