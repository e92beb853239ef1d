import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from conftest import TEST_ENV, count
from files import write_csv, write_xlsx
from jianhu import hookimpl
from jianhu.db.models import AuditEvent, Case, Child, FormRecord, Guardian, Township, Village
from jianhu.errors import ImportRejected
from jianhu.forms import load_form
from jianhu.imports.screening import import_screening
from jianhu.plugins import Host
from jianhu.sample import generate
from surveys import survey


def _docs(host, n=40, seed=11):
    return [doc for doc, _ in generate(host, n, seed)]


def test_sample_import_counts(session, host, sample_dir):
    s = import_screening(session, host, sample_dir / "screening.xlsx", actor="tester")
    assert (s.rows, s.created, s.updated) == (300, 300, 0)
    assert count(session, Child) == 300
    assert count(session, FormRecord) == 300
    # seed 7, 300 children: 154 need a case (the figure tests/test_assessment_import.py starts from)
    assert s.cases_opened == count(session, Case) == 154
    assert count(session, Township) == 11
    # a father and a mother per child, and the 107 entrusted guardians the surveys name
    assert count(session, Guardian) == 600 + 107
    numbers = session.scalars(select(Case.case_no).order_by(Case.case_no)).all()
    assert numbers[0] == "320724100-2026-0001"
    assert len(set(numbers)) == len(numbers)


def test_reimport_does_not_duplicate(session, host, sample_dir):
    import_screening(session, host, sample_dir / "screening.xlsx", actor="tester")
    cases, audits = count(session, Case), count(session, AuditEvent)
    again = import_screening(session, host, sample_dir / "screening.xlsx", actor="tester")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 300)
    assert count(session, Child) == 300
    assert count(session, Case) == cases
    assert count(session, AuditEvent) == audits + 1  # only the import itself


def test_corrected_file_updates_the_child(session, host, tmp_path):
    form = load_form(host, "screening")
    first = survey(child__citizen_id=None)
    import_screening(session, host, write_xlsx(form, [first], tmp_path / "a.xlsx"), actor="t")
    corrected = survey(child__schooling="dropped_out")  # now with the citizen ID
    s = import_screening(session, host, write_xlsx(form, [corrected], tmp_path / "b.xlsx"),
                         actor="t")
    assert (s.created, s.updated) == (0, 1)
    child = session.scalars(select(Child)).one()
    assert child.citizen_id == "320724201406010028"
    case = session.scalars(select(Case)).one()
    assert "out_of_school" in case.categories
    event = session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "child",
                                                     AuditEvent.action == "update")).one()
    assert event.before["citizen_id"] is None
    assert event.after["citizen_id"] == "320724201406010028"
    assert event.context["row"] == 2


def test_one_bad_row_writes_nothing(session, host, tmp_path):
    form = load_form(host, "screening")
    docs = _docs(host)
    docs[17]["child"]["birth_date"] = "2030-01-01"
    docs[25]["father"]["status"] = "imprisoned"
    docs[25]["father"].pop("status_since", None)
    path = write_xlsx(form, docs, tmp_path / "bad.xlsx")
    with pytest.raises(ImportRejected) as err:
        import_screening(session, host, path, actor="t")
    messages = [str(e) for e in err.value.errors]
    assert "第19行「儿童出生日期」：出生日期晚于调查日期" in messages
    assert "第27行「父亲状况起始日期」：必填，不能为空" in messages
    for model in (Child, Case, Guardian, FormRecord, AuditEvent, Village):
        assert count(session, model) == 0, model


def test_bad_cells_are_named_by_row_and_column(session, host, tmp_path):
    form = load_form(host, "screening")
    path = write_xlsx(form, _docs(host, 3), tmp_path / "cells.xlsx")
    wb = load_workbook(path)
    ws = wb.active
    header = [c.value for c in ws[1]]
    ws.cell(row=2, column=header.index("儿童性别") + 1, value="未知")
    ws.cell(row=3, column=header.index("调查日期") + 1, value="2026年13月1日")
    ws.cell(row=4, column=header.index("乡镇") + 1, value="花果山镇")
    wb.save(path)
    with pytest.raises(ImportRejected) as err:
        import_screening(session, host, path, actor="t")
    messages = [str(e) for e in err.value.errors]
    assert "第2行「儿童性别」：「未知」不是可选项，可选：男、女" in messages
    assert "第3行「调查日期」：「2026年13月1日」不是有效日期" in messages
    assert any(m.startswith("第4行「乡镇」：「花果山镇」不是本县的乡镇") for m in messages)


def test_id_must_match_birth_date_and_sex(session, host, tmp_path):
    form = load_form(host, "screening")
    doc = survey(child__birth_date="2014-06-02", child__sex="male")
    with pytest.raises(ImportRejected) as err:
        import_screening(session, host, write_xlsx(form, [doc], tmp_path / "x.xlsx"), actor="t")
    messages = {str(e) for e in err.value.errors}
    assert messages == {"第2行「儿童身份证号」：身份证号中的出生日期与「出生日期」列（2014-06-02）不一致",
                        "第2行「儿童身份证号」：身份证号中的性别与「性别」列不一致"}


def test_same_child_twice_in_a_file(session, host, tmp_path):
    form = load_form(host, "screening")
    path = write_xlsx(form, [survey(), survey(child__schooling="junior")], tmp_path / "d.xlsx")
    with pytest.raises(ImportRejected) as err:
        import_screening(session, host, path, actor="t")
    assert [str(e) for e in err.value.errors] == ["第3行：与第2行是同一名儿童，请合并为一行"]


def test_header_problems(session, host, tmp_path):
    form = load_form(host, "screening")
    path = write_csv(form, [survey()], tmp_path / "h.csv")
    text = path.read_text("utf-8").replace("儿童姓名", "学生姓名", 1)
    path.write_text(text, "utf-8")
    with pytest.raises(ImportRejected) as err:
        import_screening(session, host, path, actor="t")
    messages = {str(e) for e in err.value.errors}
    assert "第1行「学生姓名」：未知的列：模板中没有这一列，请用 jianhu template 生成的模板" in messages
    assert "第1行「儿童姓名」：缺少必填列" in messages


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings(session, host, tmp_path, encoding):
    form = load_form(host, "screening")
    docs = _docs(host, 25)
    path = write_csv(form, docs, tmp_path / f"{encoding}.csv", encoding)
    s = import_screening(session, host, path, actor="t")
    assert s.created == 25
    names = set(session.scalars(select(Child.name)))
    assert names == {d["child"]["name"] for d in docs}


def test_dates_written_three_ways(session, host, tmp_path):
    form = load_form(host, "screening")
    path = write_csv(form, [survey(child__citizen_id=None)], tmp_path / "dates.csv")
    text = path.read_text("utf-8").replace("2014-06-01", "2014年6月1日").replace(
        "2026-03-15", "2026/3/15")
    path.write_text(text, "utf-8")
    import_screening(session, host, path, actor="t")
    child = session.scalars(select(Child)).one()
    assert child.birth_date.isoformat() == "2014-06-01"
    record = session.scalars(select(FormRecord)).one()
    assert record.recorded_on.isoformat() == "2026-03-15"


def test_dry_run_writes_nothing(session, host, sample_dir):
    s = import_screening(session, host, sample_dir / "screening.xlsx", actor="t", dry_run=True)
    assert s.dry_run and s.created == 300 and s.cases_opened > 0
    assert count(session, Child) == 0 and count(session, AuditEvent) == 0


class Exploding:
    """A partner integration that fails on the 100th case: the import must leave nothing."""

    def __init__(self):
        self.seen = 0

    @hookimpl
    def jianhu_case_event(self, session, event):
        self.seen += 1
        if self.seen == 100:
            raise RuntimeError("partner down")


def test_crash_midway_leaves_database_as_it_was(session, sample_dir):
    host = Host.load(env=TEST_ENV, extra=[("exploding", Exploding())])
    with pytest.raises(RuntimeError):
        import_screening(session, host, sample_dir / "screening.xlsx", actor="t")
    for model in (Child, Case, Guardian, FormRecord, AuditEvent, Township):
        assert count(session, model) == 0, model


def test_every_change_is_audited(session, host, sample_dir):
    s = import_screening(session, host, sample_dir / "screening.xlsx", actor="tester")
    actions = dict(session.execute(
        select(AuditEvent.entity_type, AuditEvent.entity_id).where(
            AuditEvent.action == "create", AuditEvent.entity_type == "child")).all())
    assert len(session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == "child")).all()) == s.created
    assert session.scalar(select(AuditEvent.actor).where(AuditEvent.action == "import")) == "tester"
    opened = session.scalars(select(AuditEvent).where(AuditEvent.action == "open")).all()
    assert len(opened) == s.cases_opened
    assert actions


def test_progress_learns_the_row_count_once_and_counts_every_row(session, host, sample_dir):
    totals, ticks = [], []

    def start(total):
        totals.append(total)
        return ticks.append

    import_screening(session, host, sample_dir / "screening.xlsx", actor="t", progress=start)
    assert totals == [300] and sum(ticks) == 300


def test_a_zip_bomb_posing_as_a_workbook_is_refused_unread(session, host, tmp_path):
    import zipfile

    from jianhu.db.models import Child
    from jianhu.errors import JianhuError

    bomb = tmp_path / "调查表.xlsx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"0" * (60 * 1024 * 1024))
    assert bomb.stat().st_size < 200_000
    with pytest.raises(JianhuError) as refused:
        import_screening(session, host, bomb, actor="t")
    assert str(refused.value) == ("调查表.xlsx 解压后过大或结构异常（1个部件，解压后约60 MB），"
                                  "不像是正常的调查表，未读取")
    broken = tmp_path / "坏表.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(JianhuError) as refused:
        import_screening(session, host, broken, actor="t")
    assert str(refused.value) == ("无法读取工作簿 坏表.xlsx：文件已损坏或不是 Excel/WPS 工作簿，"
                                  "请用 Excel 或 WPS 打开后另存为 .xlsx 再导入")
    assert count(session, Child) == 0


def test_a_parent_born_after_the_survey_or_the_child_is_refused(session, host, tmp_path):
    form = load_form(host, "screening")
    rows = [survey(father__birth_date="2030-05-01"),
            survey(child__name="测试丁", child__citizen_id=None, mother__birth_date="2015-01-01")]
    with pytest.raises(ImportRejected) as err:
        import_screening(session, host, write_xlsx(form, rows, tmp_path / "p.xlsx"), actor="t")
    assert [str(e) for e in err.value.errors] == [
        "第2行「父亲出生日期」：出生日期晚于调查日期",
        "第3行「母亲出生日期」：出生日期（2015-01-01）不早于儿童的出生日期（2014-06-01）"]
    assert session.scalars(select(Child)).all() == []


def test_an_eight_digit_number_cell_is_a_date(session, host, tmp_path):
    from openpyxl import load_workbook

    form = load_form(host, "screening")
    path = write_xlsx(form, [survey(child__citizen_id=None)], tmp_path / "n.xlsx")
    wb = load_workbook(path)
    ws = wb.active
    header = next(r for r in ws.iter_rows(min_row=1, max_row=3) if any(
        c.value == "出生日期" or c.value == "儿童出生日期" for c in r))
    column = next(c.column for c in header if c.value in ("出生日期", "儿童出生日期"))
    ws.cell(row=header[0].row + 1, column=column, value=20140601)  # a number, as typed
    wb.save(path)
    import_screening(session, host, path, actor="t")
    assert session.scalars(select(Child.birth_date)).one().isoformat() == "2014-06-01"


def _workbook(form, rows, path, *, title_rows=0, first_sheet=None, hidden_first=False):
    """A workbook shaped as offices keep them: title rows over the header, another sheet first
    (instructions, or hidden)."""
    from openpyxl import Workbook

    from files import rows_of

    wb = Workbook()
    ws = wb.active
    if first_sheet is not None:
        ws.title = first_sheet
        ws.append(["填表说明：每名儿童一行，日期写作 2026-03-15。"])
        if hidden_first:
            ws.sheet_state = "hidden"
        ws = wb.create_sheet("调查表")
    for i in range(title_rows):
        ws.append(["新安镇儿童基本情况调查表" if i == 0 else "填报单位：测试村（盖章）"])
    for row in rows_of(form, rows):
        ws.append(["" if v is None else v for v in row])
    wb.save(path)
    return path


@pytest.mark.parametrize("shape", [
    {"title_rows": 2}, {"first_sheet": "填表说明"}, {"first_sheet": "旧表", "hidden_first": True},
    {"title_rows": 1, "first_sheet": "填表说明"}])
def test_workbooks_as_offices_keep_them(session, host, tmp_path, shape):
    form = load_form(host, "screening")
    path = _workbook(form, [survey(), survey(child__name="测试丁", child__citizen_id=None)],
                     tmp_path / "office.xlsx", **shape)
    s = import_screening(session, host, path, actor="t")
    assert (s.rows, s.created) == (2, 2)
    assert sorted(session.scalars(select(Child.name))) == ["测试丁", "测试甲"]


def test_a_bad_row_under_title_rows_is_named_by_its_spreadsheet_row(session, host, tmp_path):
    form = load_form(host, "screening")
    path = _workbook(form, [survey(), survey(child__sex="未知", child__name="测试丁",
                                            child__citizen_id=None)], tmp_path / "t.xlsx",
                     title_rows=2)
    with pytest.raises(ImportRejected) as err:
        import_screening(session, host, path, actor="t")
    assert [str(e) for e in err.value.errors] == ["第5行「儿童性别」：「未知」不是可选项，可选：男、女"]


def test_a_two_row_header_of_merged_groups_over_fields(session, host, tmp_path):
    from openpyxl import Workbook

    from files import rows_of

    form = load_form(host, "screening")
    header, *data = rows_of(form, [survey()])
    groups, fields = [], []
    for f, column in zip(form.fields, header, strict=True):
        prefix = column[: len(column) - len(f.schema.get("title", f.key))]
        groups.append(prefix if prefix and column.endswith(f.schema.get("title", f.key)) else column)
        fields.append(column[len(prefix):] if groups[-1] != column else "")
    wb = Workbook()
    ws = wb.active
    ws.append([g if i == 0 or g != groups[i - 1] else None for i, g in enumerate(groups)])
    ws.append(fields)
    for row in data:
        ws.append(["" if v is None else v for v in row])
    start = 1
    for i in range(1, len(groups) + 1):  # merge each run of the same group, as offices do
        if i == len(groups) or groups[i] != groups[start - 1] or not fields[i - 1]:
            if i - start >= 1 and fields[start - 1]:
                ws.merge_cells(start_row=1, start_column=start, end_row=1, end_column=i)
            start = i + 1
    wb.save(tmp_path / "merged.xlsx")
    s = import_screening(session, host, tmp_path / "merged.xlsx", actor="t")
    assert (s.rows, s.created) == (1, 1)


def test_header_only_files_semicolons_and_a_named_sheet(session, host, tmp_path):
    from jianhu.errors import JianhuError

    form = load_form(host, "screening")
    with pytest.raises(JianhuError, match="empty.xlsx 只有表头，没有数据行"):
        import_screening(session, host, write_xlsx(form, [], tmp_path / "empty.xlsx"), actor="t")
    csv_path = write_csv(form, [survey()], tmp_path / "semi.csv")
    text = csv_path.read_text("utf-8")
    import csv as csvlib
    import io

    rows = list(csvlib.reader(io.StringIO(text)))
    buf = io.StringIO()
    csvlib.writer(buf, delimiter=";").writerows(rows)
    csv_path.write_text(buf.getvalue(), "utf-8")
    assert import_screening(session, host, csv_path, actor="t").created == 1
    path = _workbook(form, [survey(child__name="测试戊", child__citizen_id=None)],
                     tmp_path / "two.xlsx", first_sheet="填表说明")
    with pytest.raises(JianhuError, match="two.xlsx 中没有工作表「三月」；有：填表说明、调查表"):
        import_screening(session, host, path, actor="t", sheet="三月")
    assert import_screening(session, host, path, actor="t", sheet="调查表").created == 1
    with pytest.raises(JianhuError, match="找不到表头"):
        import_screening(session, host, path, actor="t", sheet="填表说明")


# ------------------------------------------------------------------ large files, flat memory
_CHARS = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥"


def _children(n):
    """``n`` valid surveys of different girls born 2014-06-01 (citizen IDs in sequence)."""
    from datetime import date

    from jianhu import citizen_id

    return [survey(child__name="测" + _CHARS[i % 22] + _CHARS[i // 22 % 22],
                   child__citizen_id=citizen_id.make(str(320700 + i // 450), date(2014, 6, 1),
                                                     2 * (i % 450) + 2))
            for i in range(n)]


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """3,001 good surveys (rows 2–3002) as a streamed workbook (written in openpyxl's
    write-only mode) and as CSV."""
    host = Host.load(env=TEST_ENV)
    form = load_form(host, "screening")
    out = tmp_path_factory.mktemp("big")
    docs = _children(3001)
    return docs, write_xlsx(form, docs, out / "big.xlsx"), write_csv(form, docs, out / "big.csv")


class _NoCalamine:
    class CalamineWorkbook:
        @staticmethod
        def from_path(path):
            raise AssertionError("an XLSX must be streamed, not read whole by python-calamine")


def test_a_large_workbook_is_streamed_and_imported_whole(session, host, big, monkeypatch):
    import jianhu.imports.tables as tables
    from jianhu.db.models import FollowUp

    monkeypatch.setattr(tables, "python_calamine", _NoCalamine)
    s = import_screening(session, host, big[1], actor="t")
    assert (s.rows, s.created, s.updated, s.cases_opened) == (3001, 3001, 0, 3001)
    assert (count(session, Child), count(session, FormRecord), count(session, Guardian),
            count(session, Case), count(session, FollowUp)) == (3001, 3001, 9003, 3001, 3001)
    child = session.scalars(select(Child).where(Child.citizen_id == "320704201406014023")).one()
    assert (child.name, child.birth_date.isoformat()) == ("测戌丙", "2014-06-01")


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_a_bad_last_row_of_a_large_file_writes_nothing(session, host, big, tmp_path, kind):
    """Rows 2–2001 are written before row 3002 is read: the whole import is rolled back."""
    from jianhu.db.models import FollowUp

    form = load_form(host, "screening")
    docs = [*big[0][:3000], survey(child__sex="未知", child__name="测末",
                                   child__citizen_id="320724201406019989")]
    write = write_xlsx if kind == "xlsx" else write_csv
    path = write(form, docs, tmp_path / f"end.{kind}")
    with pytest.raises(ImportRejected) as err:
        import_screening(session, host, path, actor="t")
    assert [str(e) for e in err.value.errors] == ["第3002行「儿童性别」：「未知」不是可选项，可选：男、女"]
    assert str(err.value) == "导入被拒绝：共3001行，其中1行有错误，未写入任何数据。"
    for model in (Child, Guardian, FormRecord, Case, FollowUp, AuditEvent, Village):
        assert count(session, model) == 0, model


def test_a_child_listed_again_thousands_of_rows_later(session, host, big, tmp_path):
    form = load_form(host, "screening")
    again = {**big[0][0], "survey": {**big[0][0]["survey"], "date": "2026-03-16"}}
    path = write_csv(form, [*big[0][:3000], again], tmp_path / "again.csv")
    with pytest.raises(ImportRejected) as err:
        import_screening(session, host, path, actor="t")
    assert [str(e) for e in err.value.errors] == ["第3002行：与第2行是同一名儿童，请合并为一行"]
    assert count(session, Child) == 0


def test_a_file_of_many_bad_rows_keeps_the_first_problems_and_counts_all(session, host, tmp_path,
                                                                       monkeypatch, run):
    import jianhu.imports.runner as runner

    monkeypatch.setattr(runner, "KEEP", 3)
    form = load_form(host, "screening")
    docs = [{**d, "child": {**d["child"], "sex": "未知"}} for d in _children(7)]
    path = write_csv(form, docs, tmp_path / "bad.csv")
    with pytest.raises(ImportRejected) as err:
        import_screening(session, host, path, actor="t")
    assert [e.row for e in err.value.errors] == [2, 3, 4]
    assert (err.value.total, err.value.bad_rows, err.value.rows_read) == (7, 7, 7)
    assert str(err.value) == "导入被拒绝：共7行，其中7行有错误，未写入任何数据。"
    result = run("import", "screening", str(path))
    assert result.output == ("导入被拒绝：共7行，其中7行有错误，未写入任何数据。\n"
                             "  第2行「儿童性别」：「未知」不是可选项，可选：男、女\n"
                             "  第3行「儿童性别」：「未知」不是可选项，可选：男、女\n"
                             "  第4行「儿童性别」：「未知」不是可选项，可选：男、女\n"
                             "  ……另有4处错误未列出\n")


@pytest.mark.parametrize("sample", [1000, 2500])
@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-8"])
def test_the_csv_encoding_is_told_from_its_first_bytes(session, host, tmp_path, monkeypatch,
                                                      encoding, sample):
    """The encoding is read from a sample (a megabyte; here 1,000 or 2,500 bytes, ending within
    a character), and the rows after it are read in that encoding."""
    import jianhu.imports.tables as tables

    monkeypatch.setattr(tables, "ENCODING_SAMPLE", sample)
    form = load_form(host, "screening")
    docs = _children(30)
    path = write_csv(form, docs, tmp_path / f"{encoding}.csv", encoding)
    assert path.stat().st_size > 3000
    assert tables.detect_encoding(path) == {"gbk": "gb18030"}.get(encoding, encoding)
    s = import_screening(session, host, path, actor="t")
    assert s.created == 30
    assert session.scalars(select(Child.name).where(
        Child.citizen_id == "320700201406010449")).one() == "测亥甲"


def test_an_import_collects_garbage_less_often_and_gives_the_thresholds_back(
        session, host, tmp_path):
    import gc
    import threading

    from jianhu import hookimpl as impl
    from jianhu.imports.runner import fewer_collections

    seen = []

    class Watch:  # sees the thresholds while the import runs
        @impl
        def jianhu_case_event(self, session, event):
            seen.append(gc.get_threshold())

    host.pm.register(Watch(), name="watch")
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        form = load_form(host, "screening")
        import_screening(session, host, write_csv(form, [survey()],
                                                  tmp_path / "a.csv"), actor="t")
        assert seen == [(50_000, 10, 10)]
        assert gc.get_threshold() == (700, 10, 10)
        bad = survey(child__birth_date="2099-01-01")
        with pytest.raises(ImportRejected):
            import_screening(session, host, write_csv(form, [bad], tmp_path / "b.csv"), actor="t")
        assert gc.get_threshold() == (700, 10, 10)
        # two imports at once (threads of the web server): the first to end keeps the setting
        first, second = fewer_collections(), fewer_collections()
        first.__enter__()
        done = threading.Thread(target=lambda: second.__enter__())
        done.start()
        done.join()
        first.__exit__(None, None, None)
        assert gc.get_threshold() == (50_000, 10, 10)
        second.__exit__(None, None, None)
        assert gc.get_threshold() == (700, 10, 10)
    finally:
        gc.set_threshold(*saved)
