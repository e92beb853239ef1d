"""A child's record stays in the township that holds it: every write by identity is checked
against the actor's scope (issue: records in scope).

Two townships share one database: 新安镇 holds 测试甲 (citizen ID 320724201406010028, 测试村,
entrusted to 测试乙); 堆沟港镇's supervisor B01 and 新安镇's director of 二村 (D02) try to write to
her through every import.
"""

import json

import pytest
from sqlalchemy import select

from conftest import count
from files import write_xlsx
from jianhu.db.models import AuditEvent, Child, DuplicateAlert, FormRecord, Guardian, Township, Village
from jianhu.forms import load_form
from jianhu.plugins import Host
from surveys import survey
from tests_helpers import answer_sheet

ROSTER = """编号,姓名,角色,乡镇,村（社区）
S01,督导甲,乡镇儿童督导员,新安镇,
D02,主任乙,村（居）儿童主任,新安镇,二村
B01,督导丙,乡镇儿童督导员,堆沟港镇,
"""
HELD = "该儿童已在其他乡镇登记，不能在本乡镇修改；已通知县级管理员核实"
FALSE = survey(child__name="冒名", residence__township="堆沟港镇", residence__village="港口村",
               entrusted_guardian__name="冒名监护人")


@pytest.fixture
def county(run, engine, host, tmp_path):
    form = load_form(host, "screening")
    second = survey(child__name="测试己", child__citizen_id="320724201505050017",
                    child__sex="male", child__birth_date="2015-05-05", residence__village="二村")
    out = run("import", "screening", str(write_xlsx(form, [survey(), second], tmp_path / "a.xlsx")))
    assert out.exit_code == 0, out.output
    (tmp_path / "people.csv").write_text(ROSTER, "utf-8")
    assert run("people", "import", str(tmp_path / "people.csv")).exit_code == 0
    return form


def _unchanged(session):
    child = session.scalars(select(Child).where(Child.citizen_id == "320724201406010028")).one()
    town = session.scalar(select(Township.name).where(Township.id == child.township_id))
    village = session.scalar(select(Village.name).where(Village.id == child.village_id))
    guardians = sorted(session.scalars(select(Guardian.name).where(Guardian.child_id == child.id)
                                       .where(Guardian.name.is_not(None))))
    assert (child.name, town, village, guardians) == ("测试甲", "新安镇", "测试村", ["测试乙"])
    return child


def test_another_township_cannot_overwrite_a_child_by_survey(run, county, session, tmp_path):
    path = write_xlsx(county, [survey(child__name="别的孩子", child__citizen_id="320724201501010018",
                                      child__sex="male", child__birth_date="2015-01-01",
                                      residence__township="堆沟港镇", residence__village="港口村"),
                               FALSE], tmp_path / "b.xlsx")
    for extra in (["--dry-run"], []):
        out = run("--as", "B01", "import", "screening", str(path), *extra)
        assert out.exit_code == 1
        assert f"第3行「儿童身份证号」：{HELD}" in out.output  # the same message in a dry run
        assert "第2行" not in out.output  # the other row is good, yet nothing is written
    child = _unchanged(session)
    assert count(session, Child) == 2
    alerts = session.scalars(select(DuplicateAlert)).all()
    xinan, dugou = (session.scalar(select(Township.id).where(Township.name == n))
                    for n in ("新安镇", "堆沟港镇"))
    assert [(a.kind, a.child_id, a.township_id, a.from_township_id, a.actor, a.row)
            for a in alerts] == [("held_elsewhere", child.id, xinan, dugou, "B01", 3)]  # one
    refused = session.scalars(select(AuditEvent).where(AuditEvent.action == "refused")).all()
    assert [(e.actor, e.entity_type, e.entity_id, e.context["row"]) for e in refused] == [
        ("B01", "child", str(child.id), 3)] * 2
    assert "测试甲" not in json.dumps([e.after for e in refused], ensure_ascii=False)


def test_a_director_cannot_overwrite_a_child_of_another_village(run, county, session, tmp_path):
    row = survey(child__name="冒名", residence__village="二村")
    out = run("--as", "D02", "import", "screening", str(write_xlsx(county, [row], tmp_path / "c.xlsx")))
    assert out.exit_code == 1
    assert "第2行「儿童身份证号」：该儿童已在本乡镇其他村（社区）登记，不能在本村修改" in out.output
    _unchanged(session)
    assert count(session, DuplicateAlert) == 1


def test_a_move_needs_a_transfer_even_for_the_administrator(run, county, session, tmp_path):
    out = run("import", "screening", str(write_xlsx(county, [FALSE], tmp_path / "d.xlsx")))
    assert out.exit_code == 1
    assert "第2行「儿童身份证号」：该儿童已在新安镇测试村登记；儿童搬迁须办理个案转移" in out.output
    _unchanged(session)
    assert count(session, DuplicateAlert) == 0  # the administrator sees both townships


def test_a_resurvey_in_the_holding_village_still_updates(run, county, session, tmp_path):
    row = survey(entrusted_guardian__name="测试乙", family__economic_hardship=True)
    out = run("--as", "S01", "import", "screening", str(write_xlsx(county, [row], tmp_path / "e.xlsx")))
    assert out.exit_code == 0, out.output
    assert "新增0，更新1" in out.output


def test_assessment_and_records_imports_refuse_a_child_held_elsewhere(run, county, session,
                                                                     host, tmp_path):
    form = load_form(host, "assessment")
    sheet = answer_sheet("2026-03-20", score=1)
    sheet["subject"] = {"citizen_id": "320724201406010028"}
    out = run("--as", "B01", "import", "assessment", str(write_xlsx(form, [sheet],
                                                                    tmp_path / "a.xlsx")))
    assert out.exit_code == 1 and f"第2行「身份证号」：{HELD}" in out.output
    lines = tmp_path / "r.jsonl"
    lines.write_text(json.dumps({"form": "visit", "child": {"citizen_id": "320724201406010028"},
                                 "payload": {}}) + "\n", "utf-8")
    out = run("--as", "B01", "import", "records", str(lines))
    assert out.exit_code == 1 and HELD in out.output
    assert count(session, DuplicateAlert) == 1  # one open alert per child and township
    assert len(session.scalars(select(AuditEvent).where(AuditEvent.action == "refused")).all()) == 2
    assert count(session, FormRecord) == 2  # the two surveys only


def test_only_a_supervisor_imports_records_on_behalf_of_others(run, county, tmp_path):
    lines = tmp_path / "r.jsonl"
    lines.write_text(json.dumps({"form": "visit", "as": "S01", "child": {
        "citizen_id": "320724201505050017"}, "payload": {}}) + "\n", "utf-8")
    out = run("--as", "D02", "import", "records", str(lines))
    assert out.exit_code == 1 and "只有乡镇督导员可以代他人导入记录（本行 as：S01）" in out.output
    for who in ("S01", "local-admin"):  # a supervisor acts only for people of their township
        lines.write_text(json.dumps({"form": "visit", "as": who, "child": {
            "citizen_id": "320724201501010018"}, "payload": {}}) + "\n", "utf-8")
        out = run("--as", "B01", "import", "records", str(lines))
        assert out.exit_code == 1 and f"「{who}」不是本乡镇的人员，不能代其导入记录" in out.output


# ----------------------------------------------------------------------------- transfers
def _cases(run, who):
    out = run("--as", who, "cases", "list", "--json")
    assert out.exit_code == 0, out.output
    return [c["case_no"] for c in json.loads(out.output)]


def test_a_transfer_moves_the_case_its_tasks_and_leaves_a_trace(run, county, session, tmp_path):
    case_no = "320724100-2026-0001"
    assert _cases(run, "S01") == [case_no, "320724100-2026-0002"] and _cases(run, "B01") == []
    out = run("--as", "S01", "transfer", "request", case_no, "--to", "320724101000",
              "--reason", "随父母迁居")
    assert out.exit_code == 0, out.output
    assert "转移编号 1，待接收方乡镇儿童督导员接收" in out.output
    (pending,) = json.loads(run("--as", "B01", "transfer", "list", "--json").output)
    assert (pending["id"], pending["case_no"], pending["from_place"], pending["to_place"],
            pending["status"]) == (1, case_no, "新安镇测试村", "堆沟港镇", "pending")
    assert run("--as", "S01", "transfer", "accept", "1").output == \
        "错误：只有接收方乡镇的儿童督导员可以接收或退回转移申请\n"
    assert run("--as", "B01", "transfer", "accept", "1", "--village", "港口村").output == (
        "错误：堆沟港镇没有登记过「港口村」：请核对村名，或不填村名，先登记在「待确定村（社区）」\n")
    here = survey(child__name="别的孩子", child__citizen_id="320724201501010018",
                  child__sex="male", child__birth_date="2015-01-01",
                  residence__township="堆沟港镇", residence__village="港口村")
    assert run("--as", "B01", "import", "screening", str(write_xlsx(
        county, [here], tmp_path / "here.xlsx"))).exit_code == 0
    out = run("--as", "B01", "transfer", "accept", "1", "--village", "港口村")
    assert out.exit_code == 0, out.output
    assert "待确定村" not in out.output
    assert _cases(run, "B01") == [case_no, "320724101-2026-0001"]
    assert _cases(run, "S01") == ["320724100-2026-0002"]
    due = json.loads(run("--as", "B01", "followups", "due", "--on", "2026-04-30", "--json").output)["items"]
    assert [(i["case_no"], i["kind"], i["due_on"]) for i in due if i["case_no"] == case_no] == [
        (case_no, "first_assessment", "2026-03-30")]
    assert run("--as", "S01", "case", "show", case_no).output == f"错误：没有个案 {case_no}\n"
    (trace,) = json.loads(run("--as", "S01", "transfer", "list", "--json").output)
    assert (trace["status"], trace["to_place"], trace["decided_by"]) == (
        "accepted", "堆沟港镇港口村", "B01")
    assert run("--as", "B01", "transfer", "accept", "1").output == "错误：转移申请 1 已接收\n"
    actions = session.scalars(select(AuditEvent.action).where(
        AuditEvent.action.like("transfer%") | (AuditEvent.action == "move"))).all()
    assert sorted(actions) == ["move", "transfer_accepted", "transfer_request"]
    # the receiving township re-surveys the child in its village: an update, not a refusal
    out = run("--as", "B01", "import", "screening", str(write_xlsx(county, [survey(
        residence__township="堆沟港镇", residence__village="港口村")], tmp_path / "moved.xlsx")))
    assert out.exit_code == 0 and "新增0，更新1" in out.output, out.output


def test_a_move_inside_the_township_by_its_supervisor_is_immediate(run, county):
    out = run("--as", "S01", "transfer", "request", "320724100-2026-0001", "--to", "二村",
              "--reason", "搬到外婆家")
    assert out.exit_code == 0 and "已转移" in out.output, out.output
    assert _cases(run, "D02") == ["320724100-2026-0001", "320724100-2026-0002"]


def test_bad_transfer_requests_are_refused_in_chinese(run, county):
    case_no = "320724100-2026-0001"
    assert run("--as", "S01", "transfer", "request", case_no, "--to", "花果山镇/水帘洞",
               "--reason", "x").output.startswith("错误：「花果山镇」不是本县的乡镇")
    assert run("--as", "S01", "transfer", "request", case_no, "--to", "新安镇/测试村",
               "--reason", "x").output == "错误：转入地与个案现在所在地相同\n"
    assert run("--as", "B01", "transfer", "request", case_no, "--to", "堆沟港镇",
               "--reason", "x").output == f"错误：没有个案 {case_no}\n"
    assert run("--as", "S01", "transfer", "request", case_no, "--to", "堆沟港镇",
               "--reason", " ").output == "错误：请写明转移原因（如：随父母迁居）\n"
    assert run("--as", "B01", "transfer", "refuse", "9", "--reason", "x").output == \
        "错误：没有转移申请 9\n"
    assert run("--as", "B01", "transfer", "accept", "99999999999999999999").output == \
        "错误：没有转移申请 99999999999999999999\n"
    assert run("--as", "S01", "transfer", "request", case_no, "--to", " ", "--reason", "x"
               ).output.startswith("错误：请写明接收方")
    assert run("--as", "S01", "transfer", "request", case_no, "--to", "999999999",
               "--reason", "x").output == "错误：「999999999」不是本县的乡镇编号\n"
    assert run("--as", "S01", "transfer", "request", case_no, "--to", "堆沟港镇",
               "--reason", "长" * 501).output == "错误：转移原因不超过500字（现有501字）\n"


def test_a_transfer_to_a_township_only_waits_for_the_village(run, county):
    out = run("--as", "S01", "transfer", "request", "320724100-2026-0001", "--to", "320724101",
              "--reason", "随父母迁居")  # the 9-digit prefix of the case numbers works too
    assert out.exit_code == 0, out.output
    out = run("--as", "B01", "transfer", "accept", "1")
    assert out.exit_code == 0, out.output
    assert "儿童暂登记在「待确定村（社区）」" in out.output


# ----------------------------------------------------------------------------- duplicates
def test_a_child_registered_twice_under_a_homophone_is_flagged(run, county, tmp_path):
    first = survey(child__name="陈壹", child__citizen_id=None)
    second = survey(child__name="陈一", child__citizen_id=None, family__economic_hardship=True)
    assert run("import", "screening", str(write_xlsx(county, [first], tmp_path / "1.xlsx"))
               ).exit_code == 0
    out = run("--as", "S01", "import", "screening", str(write_xlsx(county, [second],
                                                                   tmp_path / "2.xlsx")))
    assert out.exit_code == 0, out.output
    assert "新增1" in out.output
    assert "第2行「儿童姓名」：可能与已登记的「陈壹」（测试村，2014-06-01）是同一名儿童" in out.output
    (alert,) = json.loads(run("duplicates", "list", "--json").output)
    assert (alert["kind"], alert["score"], alert["child"]["name"], alert["other"]["name"]) == (
        "similar", 95, "陈壹", "陈一")  # homophones
    assert json.loads(run("--as", "B01", "duplicates", "list", "--json").output) == []
    assert run("--as", "S01", "duplicates", "resolve", alert["id"][:7], "--same").output == \
        f"错误：没有疑似重复记录 {alert['id'][:7]}\n"  # at least 8 characters
    out = run("--as", "S01", "duplicates", "resolve", alert["id"][:8], "--same", "--note", "同一人")
    assert out.exit_code == 0, out.output
    assert json.loads(run("duplicates", "list", "--json").output) == []
    assert run("--as", "S01", "duplicates", "resolve", alert["id"], "--different").output == \
        f"错误：疑似重复记录 {alert['id']} 已核实（是同一儿童）\n"
    assert run("--as", "D02", "duplicates", "resolve", alert["id"], "--different").output == \
        "错误：村（居）儿童主任（D02）无权核实疑似重复登记\n"


def test_a_resurvey_without_the_id_keeps_it(run, county, session, tmp_path):
    out = run("--as", "S01", "import", "screening", str(write_xlsx(
        county, [survey(child__citizen_id=None, family__economic_hardship=True)], tmp_path / "f.xlsx")))
    assert out.exit_code == 0 and "新增0，更新1" in out.output, out.output
    _unchanged(session)


# ----------------------------------------------------------------------------- plugins
def test_a_township_whose_enabled_plugin_is_gone_refuses_work(run, county, session):
    from jianhu.db.models import PluginSetting

    session.add(PluginSetting(plugin="jianhu-gone", township_code="320724100000", enabled=True,
                              settings={}))
    session.commit()
    out = run("--as", "S01", "cases", "list")
    assert out.exit_code == 1
    assert out.output == ("错误：已启用的插件没有安装：「jianhu-gone」（320724100000）。"
                          "请安装该插件后再操作，或由管理员用 jianhu plugins disable 停用"
                          "（停用后按默认规则办理）\n")
    assert run("--as", "B01", "cases", "list", "--json").exit_code == 0  # another township works
    listed = json.loads(run("plugins", "list", "--json").output)
    assert {"name": "jianhu-gone", "version": None, "source": None, "hooks": [],
            "enabled_for": ["320724100000"], "installed": False} in listed
    assert run("plugins", "disable", "jianhu-gone", "--township", "320724100000").exit_code == 0
    assert run("--as", "S01", "cases", "list", "--json").exit_code == 0


LOCAL_PLUGIN = """
from jianhu import hookimpl
from jianhu.extensions import FormExtension

@hookimpl
def jianhu_form_fields(form_id):
    if form_id != "screening":
        return []
    return [FormExtension(form_id="screening", group="local", group_title="本地", name="local",
                          properties={"org": {"type": "string", "title": "结对公益社"}})]
"""


def test_a_plugin_enabled_for_one_township_reaches_that_township_only(run, county, host,
                                                                     tmp_path):
    from openpyxl import load_workbook

    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "localfields.py").write_text(LOCAL_PLUGIN, "utf-8")
    p = ("--plugins-dir", str(plugins))
    names = [x["name"] for x in json.loads(run(*p, "plugins", "list", "--json").output)]
    plugin = next(n for n in names if "localfields" in n)
    assert run(*p, "plugins", "enable", plugin, "--township", "320724100000").exit_code == 0

    def header(code):
        out = tmp_path / f"{code}.xlsx"
        assert run(*p, "template", "screening", "--township", code, "--out", str(out)
                   ).exit_code == 0
        return [c.value for c in load_workbook(out).active[1]]

    ours_header, theirs_header = header("320724100000"), header("320724101000")
    assert [h for h in ours_header if "公益社" in h] == ["本地结对公益社"]
    assert [h for h in theirs_header if "公益社" in h] == []
    form = load_form(Host.load(plugins_dir=plugins, env={"JIANHU_LOAD_PLUGINS": ""}), "screening")
    theirs = survey(child__name="测试庚", child__citizen_id="320724201501010018",
                    child__sex="male", child__birth_date="2015-01-01",
                    residence__township="堆沟港镇", residence__village="港口村")
    theirs["local"] = {"org": "新安公益社"}
    out = run(*p, "--as", "B01", "import", "screening",
              str(write_xlsx(form, [theirs], tmp_path / "b.xlsx")))
    assert out.exit_code == 1
    assert "第2行「本地结对公益社」：「本地」各栏只适用于新安镇，本行的乡镇不填" in out.output
    ours = survey(child__name="测试辛", child__citizen_id="320724201506060014",
                  child__sex="male", child__birth_date="2015-06-06")
    ours["local"] = {"org": "新安公益社"}
    out = run(*p, "--as", "S01", "import", "screening",
              str(write_xlsx(form, [ours], tmp_path / "a.xlsx")))
    assert out.exit_code == 0, out.output
