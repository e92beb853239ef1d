import datetime as dt

import pytest

from jianhu.cases import classify, guardianship_rating, needs_case
from jianhu.default_plugins import categories as c
from jianhu.extensions import TargetCategory
from surveys import survey

ON = dt.date(2026, 3, 15)


def test_left_behind_at_15_but_not_at_16():
    assert c.left_behind(survey(child__birth_date="2010-03-16"), ON)  # 15 the day before 16
    assert not c.left_behind(survey(child__birth_date="2010-03-15"), ON)  # 16 that day


@pytest.mark.parametrize("father,mother,expected", [
    ("working_away", "working_away", True),
    ("working_away", "seriously_ill", True),
    ("severely_disabled", "working_away", True),
    ("working_away", "at_home", False),
    ("at_home", "at_home", False),
])
def test_left_behind_parents(father, mother, expected):
    assert c.left_behind(survey(father__status=father, mother__status=mother), ON) is expected


def test_left_behind_needs_rural_hukou():
    assert not c.left_behind(survey(child__hukou_type="urban"), ON)


def test_migrant_needs_six_months():
    doc = survey(child__hukou_in_county=False, child__months_resident=6)
    assert c.migrant(doc, ON)
    assert not c.migrant(survey(child__hukou_in_county=False, child__months_resident=5), ON)


def test_de_facto_unsupported_counts_six_months_of_detention():
    both = {"father__status": "imprisoned", "mother__status": "seriously_ill"}
    assert c.de_facto_unsupported(survey(**both, father__status_since="2025-09-15"), ON)
    assert not c.de_facto_unsupported(survey(**both, father__status_since="2025-09-16"), ON)


@pytest.mark.parametrize("grade,kind,expected", [
    (2, "physical", True), (3, "physical", False), (3, "intellectual", True), (4, "mental", True),
])
def test_de_facto_unsupported_disability_grades(grade, kind, expected):
    doc = survey(father__status="dead", mother__status="severely_disabled",
                 mother__disability_grade=grade, mother__disability_type=kind)
    assert c.de_facto_unsupported(doc, ON) is expected


def test_guardianship_rating_and_case_opening(host):
    poor = survey(guardianship__type="entrusted_inadequate", father__status="at_home",
                  mother__status="at_home")
    assert guardianship_rating(poor) == "poor"
    codes = classify(host.target_categories, poor, ON)
    assert codes == ["difficulty_guardianship"]
    assert needs_case(codes, poor)
    fine = survey(father__status="at_home", mother__status="at_home", guardianship__type="good")
    assert classify(host.target_categories, fine, ON) == []
    assert not needs_case([], fine)


def test_plan_groups():
    assert c.out_of_school(survey(child__schooling="dropped_out"), ON)
    assert c.single_parent_poor(survey(family__single_parent=True, family__assistance=["dibao"]), ON)
    assert c.parent_absent(survey(father__status="missing", father__status_since="2026-01-01",
                                  guardianship__type="parent_incapable"), ON)


#: The document each default category's rule comes from: its ``Source:`` paragraph starts with it.
SOURCES = {
    "left_behind": "国发〔2016〕13号 (definition: 一方外出务工另一方无监护能力); 民发〔2016〕42号",
    "migrant": "local rule (Ningxia 2024)",
    "difficulty_poverty": "国发〔2016〕36号",
    "difficulty_disability": "国发〔2016〕36号",
    "difficulty_guardianship": "国发〔2016〕36号",
    "de_facto_unsupported": "民发〔2019〕62号 第二条; 民发〔2020〕125号",
    "orphan": "国办发〔2010〕54号《关于加强孤儿保障工作的意见》",
    "single_parent_poor": "新政发〔2016〕8号 三 (目标人群).",
    "out_of_school": "新政发〔2016〕8号 三",
    "parent_absent": "新政发〔2016〕8号 三 (目标人群).",
}


def test_every_category_names_its_source(host):
    categories = {category.code: category for category in host.target_categories}
    assert set(categories) == set(SOURCES)
    for code, document in SOURCES.items():
        category = categories[code]
        # without a "Source:" paragraph the whole docstring would stand in for the source
        assert "Source:" in category.applies.__doc__, code
        assert category.source.startswith(document), (code, category.source)
        assert category.label and category.rule and category.source != category.rule
    # the paragraph is taken whole, on one line
    assert categories["single_parent_poor"].source == "新政发〔2016〕8号 三 (目标人群)."
    assert categories["migrant"].source == (
        "local rule (Ningxia 2024); no national definition with a duration was found (handbook "
        "领域规则 §2), so the months are a module setting a township plugin can replace.")


def test_a_category_record_takes_the_source_paragraph_of_its_rule():
    def rule(survey, on):
        """Some children.

        Source: 某发〔2020〕1号
            第二条.
        """

    assert c._category("some", "某类儿童", "未满18周岁", rule, 7) == TargetCategory(
        code="some", label="某类儿童", rule="未满18周岁", source="某发〔2020〕1号 第二条.",
        applies=rule, order=7)
    assert c._category("blank", "无", "无", lambda s, on: True, 1).source == ""  # no docstring
