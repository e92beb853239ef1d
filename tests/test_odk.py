"""ODK Collect and KoboCollect: the XLSForm export converts with pyxform, and the OpenRosa form
list and submission API answer as ODK expects — a submission sent twice is one record
(jianhu.xlsform, jianhu.web.openrosa; handbook ODK 与 Kobo)."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest
import requests
from sqlalchemy import func, select

from conftest import TEST_ENV
from jianhu.db.models import Case, Child, FormRecord, Person, Village
from jianhu.db.session import open_session
from jianhu.plugins import Host
from web_helpers import DIRECTOR, OTHER_TOWN, PASSWORD, served_sample

TODAY = "2026-11-30"
LIST_NS = "http://openrosa.org/xforms/xformsList"


@pytest.fixture(scope="module")
def site(tmp_path_factory, sample_dir):
    host = Host.load(env=TEST_ENV)
    with served_sample(tmp_path_factory.mktemp("odk"), sample_dir, host, "odk") as (
            base, sample, url):
        yield base, sample


def test_the_exported_xlsform_converts_with_pyxform(run, tmp_path):
    out = tmp_path / "F.xlsx"
    done = run("forms", "export", "screening", "--xlsform", str(out))
    assert done.exit_code == 0, done.output
    assert done.output == f"已导出「儿童基本情况调查表」XLSForm：{out}（57题）\n"
    converted = subprocess.run([sys.executable, "-m", "pyxform.xls2xform", str(out)],
                               capture_output=True, text=True, cwd=tmp_path)
    assert converted.returncode == 0, converted.stderr + converted.stdout
    xform = (tmp_path / "F.xml").read_text(encoding="utf-8")
    assert '<data id="jianhu_screening" version="1">' in xform
    assert "<label>身份证号</label>" in xform and "<label>外出务工</label>" in xform
    assert '<bind nodeset="/data/child/name" type="string" required="true()"' in xform
    assert "regex(., '^([0-9]{17}[0-9Xx]|[0-9]{15})$')" in xform
    # a form recorded on a case asks for the case number first
    assert run("forms", "export", "visit", "--xlsform", str(tmp_path / "V.xlsx")).output.endswith(
        "（7题，另加个案编号）\n")
    bad = run("forms", "export", "nosuch", "--xlsform", str(tmp_path / "N.xlsx"))
    assert bad.exit_code != 0 and "没有名为「nosuch」的表单" in bad.output


def test_the_form_list_needs_a_roster_account(site):
    base, _ = site
    r = requests.get(base + "/formList")
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith('Basic realm="jianhu"')
    assert requests.get(base + "/formList", auth=(DIRECTOR, "wrong")).status_code == 401
    r = requests.get(base + "/formList", auth=(DIRECTOR, PASSWORD))
    assert r.status_code == 200 and r.headers["X-OpenRosa-Version"] == "1.0"
    assert r.text.startswith('<?xml version="1.0" encoding="UTF-8"?>'
                             f'<xforms xmlns="{LIST_NS}">')
    for form_id in ("jianhu_screening", "jianhu_visit", "jianhu_service", "jianhu_incident"):
        assert f"<formID>{form_id}</formID>" in r.text
    xml = requests.get(base + "/formXml/visit", auth=(DIRECTOR, PASSWORD))
    assert xml.status_code == 200 and '<jianhu_visit id="jianhu_visit" version="1">' in xml.text
    assert "<label>个案编号</label>" in xml.text
    assert requests.get(base + "/formXml/plan", auth=(DIRECTOR, PASSWORD)).status_code == 404
    head = requests.head(base + "/submission", auth=(DIRECTOR, PASSWORD))
    assert head.status_code == 204 and head.headers["X-OpenRosa-Accept-Content-Length"] == "2000000"


def visit_xml(case_no: str, instance: str, notes: str = "ODK 走访") -> bytes:
    return (f'<?xml version="1.0"?><jianhu_visit id="jianhu_visit" version="1" '
            f'xmlns:jr="http://openrosa.org/javarosa"><case_no>{case_no}</case_no>'
            f"<visit><date>{TODAY}</date><visitor>{DIRECTOR}</visitor><method>home</method>"
            "<child_seen>true</child_seen><risk_change>unchanged</risk_change><new_risks/>"
            f"<notes>{notes}</notes></visit><meta><instanceID>uuid:{instance}</instanceID></meta>"
            "</jianhu_visit>").encode()


def visits(sample, case_no: str) -> int:
    with open_session(sample.engine) as s:
        return s.scalar(select(func.count()).select_from(FormRecord).join(
            Case, Case.id == FormRecord.subject_id).where(
            Case.case_no == case_no, FormRecord.form_id == "visit"))


def submit(base: str, xml: bytes, code: str = DIRECTOR) -> requests.Response:
    return requests.post(base + "/submission", auth=(code, PASSWORD),
                         files={"xml_submission_file": ("submission.xml", xml, "text/xml")})


def test_a_submission_posted_twice_is_one_record(site):
    base, sample = site
    before = visits(sample, sample.own_case)
    xml = visit_xml(sample.own_case, str(uuid.uuid4()))
    first = submit(base, xml)
    assert first.status_code == 201, first.text
    assert 'nature="submit_success">已登记</message>' in first.text
    again = submit(base, xml)
    assert again.status_code == 201
    assert "已登记（此前已提交过，未重复登记）" in again.text
    assert visits(sample, sample.own_case) == before + 1


def test_a_refused_submission_says_why_and_writes_nothing(site):
    base, sample = site
    before = visits(sample, sample.other_town_case)
    r = submit(base, visit_xml(sample.other_town_case, str(uuid.uuid4())))
    assert r.status_code == 404
    assert f"没有个案 {sample.other_town_case}" in r.text
    assert visits(sample, sample.other_town_case) == before
    bad = visit_xml(sample.own_case, str(uuid.uuid4())).replace(b"<method>home", b"<method>fly")
    r = submit(base, bad)
    assert r.status_code == 422 and "「方式」" in r.text
    assert submit(base, b"<data>not closed").status_code == 400
    unknown = visit_xml(sample.own_case, str(uuid.uuid4())).replace(b'id="jianhu_visit"',
                                                                    b'id="other"')
    r = submit(base, unknown)
    assert r.status_code == 400 and "没有表单「other」" in r.text
    no_id = visit_xml(sample.own_case, "x").replace(b"<instanceID>uuid:x</instanceID>", b"")
    assert "提交缺少 instanceID" in submit(base, no_id).text
    assert requests.post(base + "/submission", files={
        "xml_submission_file": ("s.xml", b"<data/>", "text/xml")}).status_code == 401


def test_a_survey_from_odk_registers_the_child_once(site):
    base, sample = site
    with open_session(sample.engine) as s:
        village = s.scalar(select(Village.name).join(Person, Person.village_id == Village.id)
                           .where(Person.code == DIRECTOR))
    instance = str(uuid.uuid4())
    xml = ('<data id="jianhu_screening" version="1"><child><name>奥德克</name><sex>female</sex>'
           "<birth_date>2015-03-03</birth_date><citizen_id>320724201503030063</citizen_id>"
           "<hukou_registered>true</hukou_registered><hukou_type>rural</hukou_type>"
           "<hukou_in_county>true</hukou_in_county><health>healthy</health>"
           "<schooling>primary</schooling><lives_with>grandparents</lives_with></child>"
           f"<residence><township>新安镇</township><village>{village}</village></residence>"
           "<father><status>working_away</status></father><mother><status>working_away</status>"
           "</mother><guardianship><type>fair</type></guardianship>"
           "<family><income_sources>wages farming</income_sources></family>"
           f"<survey><date>{TODAY}</date><filled_by>王主任</filled_by></survey>"
           f"<meta><instanceID>uuid:{instance}</instanceID></meta></data>").encode()
    assert submit(base, xml, OTHER_TOWN).status_code == 422  # another township's survey
    first = submit(base, xml)
    assert first.status_code == 201, first.text
    assert submit(base, xml).status_code == 201
    with open_session(sample.engine) as s:
        children = list(s.scalars(select(Child).where(Child.name == "奥德克")))
        assert len(children) == 1
        record = s.scalar(select(FormRecord).where(FormRecord.subject_id == children[0].id))
        assert record.payload["family"]["income_sources"] == ["wages", "farming"]


def test_odk_answers_in_its_own_format_and_reads_what_it_is_sent(site):
    base, sample = site
    before = visits(sample, sample.own_case)
    gbk = visit_xml(sample.own_case, str(uuid.uuid4()), "国标编码的走访").decode().replace(
        '<?xml version="1.0"?>', '<?xml version="1.0" encoding="GBK"?>').encode("gbk")
    r = submit(base, gbk)
    assert r.status_code == 201, r.text
    assert visits(sample, sample.own_case) == before + 1
    maybe = visit_xml(sample.own_case, str(uuid.uuid4())).replace(b"<child_seen>true",
                                                                  b"<child_seen>maybe")
    r = submit(base, maybe)
    assert r.status_code == 400 and "「见到儿童本人」的值「maybe」不是「是」或「否」" in r.text
    instance = str(uuid.uuid4())
    assert submit(base, visit_xml(sample.own_case, instance)).status_code == 201
    r = submit(base, visit_xml(sample.own_case, instance, "另一份内容"))
    assert r.status_code == 422 and r.text.startswith("<OpenRosaResponse")
    assert "这个记录编号已用于另一份内容不同的记录" in r.text
    no_case = visit_xml("", str(uuid.uuid4()))
    r = submit(base, no_case)
    assert r.status_code == 422 and "缺少个案编号" in r.text
    assert visits(sample, sample.own_case) == before + 2
