import json

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from casework import one_case_workspace
from conftest import count
from jianhu.db.models import AuditEvent, Case, CaseAssignment, FormRecord, Person
from jianhu.errors import ImportRejected
from jianhu.imports.records import import_records
from jianhu.people import import_people
from jianhu.roles import LOCAL_ADMIN
from jianhu.scope import assign
from tests_helpers import answer_sheet


@pytest.fixture
def case_no(session, host, tmp_path):
    number = one_case_workspace(session, host, tmp_path)
    session.commit()
    return number


def _json(tmp_path, name, doc):
    path = tmp_path / name
    path.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    return str(path)


INCIDENT = {"incident": {"discovered_at": "2026-09-15T09:00:00+08:00", "harm_types": ["abuse"],
                         "triggers": ["private_injury"], "description": "疑似受伤",
                         "recorded_by": "D01"},
            "reporter": {"name": "报告人乙", "relation": "老师"}}


def test_record_and_show(run, case_no, tmp_path):
    sheet = _json(tmp_path, "a.json", answer_sheet("2026-09-10", score=1))
    out = run("--as", "D01", "record", "assessment", "--case", case_no, sheet)
    assert out.exit_code == 0, out.output
    assert out.output.startswith(f"已登记：个案 {case_no}，状态 已登记 → 已评估\n")
    out = run("--as", "D01", "record", "incident", "--case", case_no,
              _json(tmp_path, "i.json", INCIDENT))
    assert "待办：强制报告，到期 2026-09-16" in out.output
    shown = run("--as", "W01", "case", "show", case_no)
    assert shown.exit_code == 0
    lines = shown.output.splitlines()
    assert any(line.endswith("评估：总分 14，等级 黄色") for line in lines)
    assert any("侵害事件报告：强制报告情形 1 项" in line for line in lines)
    assert "报告人乙" not in shown.output and "测试甲" in shown.output
    as_json = json.loads(run("--as", "W01", "case", "show", case_no, "--json").output)
    assert [e["kind"] for e in as_json["timeline"]] == [
        "opened", "screening", "assessment", "transition", "incident"]
    assert "reporter" not in as_json["timeline"][-1]["detail"]


def test_reporter_shown_only_to_allowed_roles_and_the_read_is_audited(run, session, case_no,
                                                                      tmp_path):
    run("--as", "D01", "record", "incident", "--case", case_no, _json(tmp_path, "i.json",
                                                                         INCIDENT))
    assert "报告人乙" not in run("--as", "D01", "case", "show", case_no).output
    assert "报告人（保密）：报告人乙 老师" in run("--as", "S01", "case", "show", case_no).output
    reads = session.scalars(select(AuditEvent).where(
        AuditEvent.action == "read_confidential")).all()
    assert [(r.actor, r.context["field"]) for r in reads] == [("S01", "reporter")]
    summary = tmp_path / "s.csv"
    run("report", "summary", "--format", "csv", "--out", str(summary))
    listing = run("cases", "list", "--json").output + run("followups", "due", "--json").output
    assert "报告人乙" not in summary.read_text("utf-8-sig") + listing


def test_refused_record_exits_nonzero_and_writes_nothing(run, session, case_no, tmp_path):
    before = (count(session, FormRecord), count(session, AuditEvent))
    closure = _json(tmp_path, "c.json", {"closure": {"date": "2026-09-20", "reason": "resolved",
                                                     "summary": "x", "closed_by": "D01"}})
    out = run("--as", "D01", "record", "closure", "--case", case_no, closure)
    assert out.exit_code == 1
    assert out.output == (f"错误：个案 {case_no} 当前为「已登记」，不能结案\n")
    bad = _json(tmp_path, "b.json", {"service": {"date": "2026-09-20"}})
    out = run("--as", "W01", "record", "service", "--case", case_no, bad)
    assert out.exit_code == 1 and "「服务类型」必填，不能为空" in out.output
    assert run("--as", "NOBODY", "record", "service", "--case", case_no, bad).output.startswith(
        "错误：人员名册中没有在岗人员「NOBODY」")
    session.expire_all()
    assert (count(session, FormRecord), count(session, AuditEvent)) == before


def test_case_reports_as_pdf_and_html(run, session, case_no, tmp_path):
    run("--as", "D01", "record", "assessment", "--case", case_no,
        _json(tmp_path, "a.json", answer_sheet("2026-09-10", score=0)))
    pdf = tmp_path / "a.pdf"
    out = run("--as", "D01", "case", "report", case_no, "--kind", "assessment", "--out", str(pdf))
    assert out.exit_code == 0, out.output
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert case_no in text and "家庭监护评估报告" in text and "风险等级" in text
    assert run("--as", "D01", "case", "report", case_no, "--kind", "closure", "--format", "html",
               "--out", str(tmp_path / "c.html")).output == (
        f"错误：个案 {case_no} 还没有结案报告\n")
    run("--as", "D01", "record", "closure", "--case", case_no, _json(
        tmp_path, "c.json", {"closure": {"date": "2026-09-20", "reason": "resolved",
                                         "summary": "困境解除", "closed_by": "D01"}}))
    pdf = tmp_path / "c.pdf"
    run("--as", "S01", "case", "report", case_no, "--kind", "closure", "--out", str(pdf))
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert case_no in text and "结案报告" in text and "2027-03-20" in text
    exports = session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).all()
    assert [e.actor for e in exports] == ["D01", "S01"]
    # a volunteer sees only the cases assigned to them: this one is not
    assert run("--as", "V01", "case", "report", case_no, "--kind", "closure", "--out",
               str(pdf)).output == f"错误：没有个案 {case_no}\n"


def test_people_import_bad_rows(session, host, tmp_path, case_no):
    path = tmp_path / "bad.csv"
    path.write_text("编号,姓名,角色,乡镇\nA1,甲,厨师,新安镇\nA2,乙,社会工作者,花果山镇\n"
                    "S01,丙,社会工作者,新安镇\nS01,丁,社会工作者,新安镇\n", "utf-8")
    people = count(session, Person)
    with pytest.raises(ImportRejected) as err:
        import_people(session, host, path, actor=LOCAL_ADMIN)
    messages = [str(e) for e in err.value.errors]
    assert messages[0].startswith("第2行「角色」：「厨师」不是可选项")
    assert "第3行「乡镇」：「花果山镇」不是本县的乡镇" in messages
    assert "第5行「编号」：编号与第4行重复" in messages
    assert count(session, Person) == people


def test_records_import_is_all_or_nothing(session, host, tmp_path, case_no):
    child = {"citizen_id": "320724201406010028"}
    lines = [
        {"form": "assessment", "as": "D01", "child": child,
         "payload": answer_sheet("2026-09-10", score=1)},
        {"form": "closure", "as": "D01", "child": child,
         "payload": {"closure": {"date": "2026-09-20", "reason": "resolved", "summary": "x",
                                 "closed_by": "D01"}}},
        {"form": "visit", "as": "D01", "child": {"citizen_id": "11010519491231002X"},
         "payload": {}},
    ]
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n{oops\n",
                    "utf-8")
    records = count(session, FormRecord)
    with pytest.raises(ImportRejected) as err:
        import_records(session, host, path, actor=LOCAL_ADMIN)
    messages = [str(e) for e in err.value.errors]
    assert messages[0].startswith("第2行「closure」：") and "当前等级为「黄色」" in messages[0]
    assert messages[1] == "第3行「visit」：找不到这名儿童：请先导入基本情况调查表"
    assert messages[2].startswith("第4行：不是有效的 JSON")
    assert count(session, FormRecord) == records


SERVICE = {"service": {"date": "2026-09-12", "service_type": "心理疏导", "provider": "D01",
                       "content": "谈心一次", "minutes": 40}}


@pytest.mark.parametrize("chunk", [1, 500])
def test_a_record_repeated_in_one_file_is_recorded_once(session, host, tmp_path, case_no,
                                                        monkeypatch, chunk):
    """The records kept while a file is applied count as stored for its later lines, whether
    they were looked up in the same chunk of lines or an earlier one."""
    monkeypatch.setattr("jianhu.imports.records.CHUNK", chunk)
    child = {"citizen_id": "320724201406010028"}
    lines = [{"form": "assessment", "as": "D01", "child": child,
              "payload": answer_sheet("2026-09-10", score=1)},
             {"form": "service", "as": "D01", "child": child, "payload": SERVICE},
             {"form": "service", "as": "D01", "child": child, "payload": SERVICE}]
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), "utf-8")
    records = count(session, FormRecord)
    summary = import_records(session, host, path, actor=LOCAL_ADMIN)
    assert (summary.created, summary.unchanged) == (2, 1)
    assert count(session, FormRecord) == records + 1


@pytest.mark.parametrize("chunk", [1, 500])
def test_a_refused_record_repeated_is_refused_each_time(session, host, tmp_path, case_no,
                                                        monkeypatch, chunk):
    """A record refused after it was stored (its savepoint rolled back) is not taken for a
    stored one: the same record on a later line is refused again, with its own line."""
    monkeypatch.setattr("jianhu.imports.records.CHUNK", chunk)
    child = {"citizen_id": "320724201406010028"}
    bad = {"service": {**SERVICE["service"], "measure": 3}}  # no plan has a third measure
    lines = [{"form": "assessment", "as": "D01", "child": child,
              "payload": answer_sheet("2026-09-10", score=1)},
             {"form": "service", "as": "D01", "child": child, "payload": bad},
             {"form": "service", "as": "D01", "child": child, "payload": bad}]
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), "utf-8")
    records = count(session, FormRecord)
    with pytest.raises(ImportRejected) as err:
        import_records(session, host, path, actor=LOCAL_ADMIN)
    assert [str(e) for e in err.value.errors] == [
        "第2行「service」：救助方案中没有第3项措施", "第3行「service」：救助方案中没有第3项措施"]
    assert count(session, FormRecord) == records


def test_assigning_twice_before_a_flush_assigns_once(session, case_no):
    """scope.assign reads the assignments without flushing: those not yet flushed count too."""
    case = session.scalar(select(Case).where(Case.case_no == case_no))
    assign(session, case, ["S01"])
    assign(session, case, ["S01", "D01"])
    session.flush()
    codes = session.scalars(select(CaseAssignment.person_code).where(
        CaseAssignment.case_id == case.id)).all()
    assert sorted(codes) == ["D01", "S01"]


def test_the_same_records_file_imported_twice_records_once(run, session, case_no, tmp_path):
    child = {"citizen_id": "320724201406010028"}
    service = {"service": {"date": "2026-09-12", "service_type": "心理疏导",
                           "provider": "D01", "content": "谈心一次", "minutes": 40}}
    lines = [{"form": "assessment", "as": "D01", "child": child,
              "payload": answer_sheet("2026-09-10", score=1)},
             {"form": "service", "as": "D01", "child": child, "payload": service},
             {"form": "service", "as": "D01", "child": child,
              "payload": {"service": {**service["service"], "date": "2026-09-13"}}}]
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), "utf-8")
    first = run("--as", "S01", "import", "records", str(path))
    assert first.output == "个案记录：共3行，已登记3份。\n", first.output
    services = count(session, FormRecord)
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines[1:]), "utf-8")
    again = run("--as", "S01", "import", "records", str(path))
    assert again.output == "个案记录：共2行，已登记0份，2份与已登记的记录相同、未重复登记。\n"
    assert count(session, FormRecord) == services
    dated = session.scalars(select(FormRecord.recorded_on).where(
        FormRecord.form_id == "service")).all()
    assert sorted(d.isoformat() for d in dated) == ["2026-09-12", "2026-09-13"]
