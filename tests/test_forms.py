import copy

import pytest
from openpyxl import load_workbook

from jianhu.errors import JianhuError
from jianhu.forms import load_form
from jianhu.sample import generate
from jianhu.workbooks import write_template
from surveys import survey


@pytest.fixture
def screening(host):
    return load_form(host, "screening")


def test_columns_are_group_title_plus_field_title(screening):
    columns = [f.column for f in screening.fields]
    assert columns[:3] == ["儿童姓名", "儿童性别", "儿童民族"]
    assert "父亲状况" in columns and "母亲身份证号" in columns and "村（社区）" in columns
    assert "受委托监护人与儿童关系" in columns and "填表人" in columns
    assert len(columns) == len(set(columns)) == 57  # with 村（社区）代码


def test_valid_survey_has_no_problems(screening):
    assert screening.problems(survey()) == []


@pytest.mark.parametrize("changes,expected", [
    ({"child__sex": "unknown"}, ("儿童性别", "不是可选项，可选：男、女")),
    ({"child__birth_date": "2014-02-30"},
     ("儿童出生日期", "「2014-02-30」不是有效日期（应为YYYY-MM-DD，1900—2200年之间）")),
    ({"child__citizen_id": "320724201406010020"}, ("儿童身份证号", "身份证号校验位不对，请核对是否抄错")),
    ({"child__name": None}, ("儿童姓名", "必填，不能为空")),
    ({"father__status": "imprisoned"}, ("父亲状况起始日期", "必填，不能为空")),
    ({"child__health": "disabled"}, ("儿童残疾类别", "必填，不能为空")),
    ({"child__hukou_in_county": False}, ("儿童在本地居住月数", "必填，不能为空")),
    ({"entrusted_guardian__phone": "12345"},
     ("受委托监护人联系电话", "应为11位手机号，或带区号的座机号（如0518-83212345）")),
])
def test_problems_name_the_column_in_chinese(screening, changes, expected):
    doc = survey(**changes)
    assert not screening.is_valid(doc)
    assert expected in screening.problems(doc)


def test_validate_raises_with_every_problem(screening):
    with pytest.raises(JianhuError) as err:
        screening.validate(survey(child__sex="x", child__name=None))
    assert "「儿童性别」不是可选项" in str(err.value)
    assert "「儿童姓名」必填，不能为空" in str(err.value)


def test_fast_and_reference_validators_agree(host, screening):
    """jsonschema-rs decides, jsonschema explains: they must agree on every document."""
    docs = [doc for doc, _ in generate(host, 150, 3)]
    broken = []
    for i, doc in enumerate(docs[:100]):
        bad = copy.deepcopy(doc)
        mutation = i % 5
        if mutation == 0:
            bad["child"]["birth_date"] = "2014-13-01"
        elif mutation == 1:
            bad["child"]["citizen_id"] = "11010519491231003X"
        elif mutation == 2:
            bad["father"]["status"] = "abroad"
        elif mutation == 3:
            bad["survey"]["date"] = "15/03/2026"
        else:
            bad["family"]["income_sources"] = ["wages", "wages"]
        broken.append(bad)
    for doc in docs + broken:
        fast = screening.fast.is_valid(doc)
        reference = screening.reference.is_valid(doc)
        assert fast == reference, doc
    assert all(screening.is_valid(d) for d in docs)
    assert not any(screening.is_valid(d) for d in broken)


def test_template_headers_are_the_form_columns(tmp_path, screening):
    path = tmp_path / "t.xlsx"
    write_template(screening, path)
    wb = load_workbook(path)
    data, notes = wb.worksheets
    header = [c.value for c in data[1]]
    assert header == [f.column for f in screening.fields]
    assert data.max_row == 1
    rows = {r[0]: r for r in notes.iter_rows(min_row=2, values_only=True) if r[0]}
    assert rows["儿童性别"][1:4] == ("必填", "单选", "男、女")
    assert rows["儿童出生日期"][5] == "2014-06-01"


def test_every_example_in_the_forms_is_valid(host):
    """Examples are what people copy: each must pass its own field's check."""
    for form_id in host.forms:
        form = load_form(host, form_id)
        for f in form.fields:
            for example in f.schema.get("examples", []):
                value = f.parse(f.label(example) if f.choices else example)
                doc = {f.group: {f.key: value}}
                bad = [m for col, m in form.problems(doc) if col == f.column]
                assert bad == [], (form_id, f.column, example, bad)


def _broken(group: dict) -> dict:
    return {"title": "坏表单", "type": "object", "properties": {"g": {
        "type": "object", "title": "组", "properties": group["properties"],
        **{k: v for k, v in group.items() if k != "properties"}}}}


BROKEN = [
    ({"properties": {"method": {"title": "方式", "oneOf": [
        {"const": "home", "title": "入户"}, {"const": "home", "title": "电话"}]}}},
     "插件「town」的表单「bad」字段「g.method」：选项代码「home」重复2次"),
    ({"properties": {"method": {"title": "方式", "oneOf": [
        {"const": "home", "title": "入户"}, {"const": "phone", "title": "入户"}]}}},
     "插件「town」的表单「bad」字段「g.method」：选项名称「入户」重复2次"),
    ({"properties": {"a": {"type": "string"}}, "required": ["a", "b"]},
     "插件「town」的表单「bad」字段「g」：必填项「b」不是该组的字段"),
    ({"properties": {"a": {"type": "string", "x-eror": "拼错了"}}},
     "插件「town」的表单「bad」字段「g.a」：未知的关键字「x-eror」"),
    ({"properties": {"a": {"type": "string", "x-column-prefx": "拼错了"}}},
     "插件「town」的表单「bad」字段「g.a」：未知的关键字「x-column-prefx」"),
]


@pytest.mark.parametrize("group,message", BROKEN)
def test_a_broken_form_is_refused_when_it_loads_naming_plugin_form_and_field(group, message):
    from conftest import TEST_ENV
    from jianhu import hookimpl
    from jianhu.errors import PluginError
    from jianhu.extensions import FormSpec
    from jianhu.plugins import Host

    class Town:
        @hookimpl
        def jianhu_forms(self):
            return [FormSpec("bad", _broken(group))]

    host = Host.load(env=TEST_ENV, extra=[("town", Town())])
    with pytest.raises(PluginError) as err:
        load_form(host, "bad")
    assert message in str(err.value)


def test_a_plugins_own_keyword_and_the_shipped_forms_pass():
    from conftest import TEST_ENV
    from jianhu.forms.checks import check_schema
    from jianhu.plugins import Host

    check_schema(_broken({"properties": {"a": {"type": "string", "x-csi-code": "1A"}}}), "f", "csi")
    host = Host.load(env=TEST_ENV)
    assert len([load_form(host, f) for f in host.forms]) == 13  # 14 schemas, 1 not a form


def test_a_free_list_cell_takes_one_item_per_line_and_a_time_cell_is_beijing_time(host):
    import datetime as dt

    from jianhu.forms.fields import CellError

    plan, incident = load_form(host, "plan"), load_form(host, "incident")
    goals = plan.by_path["plan", "goals"]
    assert goals.parse("恢复上学\n 祖母学会照护 \r\n") == ["恢复上学", "祖母学会照护"]
    assert goals.parse("恢复上学；祖母学会照护;按时吃药") == ["恢复上学", "祖母学会照护", "按时吃药"]
    found = incident.by_path["incident", "discovered_at"]
    assert found.parse(dt.datetime(2026, 9, 15, 9, 30)) == "2026-09-15T09:30:00+08:00"
    assert found.parse("2026-09-15 09:30") == "2026-09-15T09:30:00+08:00"
    with pytest.raises(CellError, match="只有日期，请同时填写时间"):
        found.parse(dt.date(2026, 9, 15))


def test_a_choice_whose_label_holds_a_separator_is_read_whole_and_free_text_is_kept(host):
    incident, visit = load_form(host, "incident"), load_form(host, "visit")
    triggers = incident.by_path["incident", "triggers"]
    assert triggers.parse("多处损伤、严重营养不良、意识不清、来源不明、失踪或被拐卖、收买") == [
        "severe_injury", "missing_trafficked"]
    assert triggers.parse("被组织乞讨；多处损伤、严重营养不良、意识不清") == [
        "organised_begging", "severe_injury"]
    assert "；多处损伤、严重营养不良、意识不清；" in triggers.choices_text
    from jianhu.forms.fields import CellError

    with pytest.raises(CellError, match="「多处损伤」不是可选项"):
        triggers.parse("多处损伤")
    notes = visit.by_path["visit", "notes"]
    assert notes.parse(" 你好，世界（测试）：１２３ ") == "你好，世界（测试）：１２３"


def test_a_number_cell_that_is_not_a_finite_number_is_refused():
    from jianhu.forms.fields import CellError, Field

    weight = Field(group="local", key="weight", column="本地·体重", required=False,
                   schema={"type": "number"})
    assert weight.parse("32.5") == 32.5
    for cell in ("nan", "inf", "-Infinity", float("nan")):
        with pytest.raises(CellError, match="不是数字"):
            weight.parse(cell)
