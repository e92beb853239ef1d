import pytest

from jianhu.default_plugins.default_scale import DEFAULT_SCALE, ITEMS

SCORED = [i.id for i in ITEMS if i.domain != "emergency"]
EMERGENCY = [i.id for i in ITEMS if i.domain == "emergency"]


def sheet(scores: dict | int = 0, emergency: str | None = None) -> dict:
    items = {k: scores for k in SCORED} if isinstance(scores, int) else {k: 0 for k in SCORED}
    if isinstance(scores, dict):
        items.update(scores)
    return {"emergency": {k: k == emergency for k in EMERGENCY}, "items": items}


def test_item_counts():
    assert len(SCORED) == 14 and len(EMERGENCY) == 5


@pytest.mark.parametrize("answers,total,level", [
    (sheet(0), 0, "green"),
    (sheet(3), 42, "red"),
    (sheet({"care_meals": 3, "care_hygiene": 3, "health_physical": 1}), 7, "yellow"),
    (sheet({"care_meals": 2, "care_hygiene": 2, "health_physical": 2}), 6, "green"),
    (sheet({"care_meals": 3, "care_hygiene": 3, "edu_attendance": 3, "edu_support": 3,
            "bond_contact": 3}), 15, "orange"),
    (sheet({"safety_home": 3}), 3, "orange"),  # a severe safety item raises to orange
    (sheet({"willingness_duty": 3, "care_meals": 3, "care_hygiene": 3, "edu_support": 3,
            "bond_contact": 3, "health_emotional": 3, "capacity_ability": 3,
            "capacity_knowledge": 3}), 24, "red"),
])
def test_known_totals_and_levels(answers, total, level):
    result = DEFAULT_SCALE.score(answers)
    assert result.total == total
    assert result.level == level


def test_emergency_sets_red_whatever_the_score():
    result = DEFAULT_SCALE.score(sheet(0, emergency="unattended"))
    assert result.level == "red"
    assert result.emergency == ("unattended",)
    assert result.total == 0


def test_domain_scores():
    result = DEFAULT_SCALE.score(sheet({"care_meals": 2, "care_hygiene": 1, "bond_contact": 3}))
    assert result.scores["care"] == 3 and result.scores["bond"] == 3
    assert result.scores["safety"] == 0


ZERO_TO_THREE = ((0, "0 无问题"), (1, "1 轻度"), (2, "2 中度"), (3, "3 严重"))
YES_NO = ((True, "是"), (False, "否"))
#: The items as assessment.schema.json writes them: (id, domain, title), in the form's order.
WRITTEN = [
    ("violence", "emergency", "紧急：正遭受暴力、拐卖或非法用工"),
    ("runaway", "emergency", "紧急：离家出走、流浪或乞讨"),
    ("no_living", "emergency", "紧急：家庭变故致无生活来源"),
    ("life_danger", "emergency", "紧急：生命安全面临危险"),
    ("unattended", "emergency", "紧急：低龄无人照看或独居"),
    ("care_meals", "care", "生活照料：饮食起居"),
    ("care_hygiene", "care", "生活照料：衣着卫生"),
    ("safety_home", "safety", "安全保护：居家安全"),
    ("safety_supervision", "safety", "安全保护：外出监管"),
    ("health_physical", "health", "身心健康：身体健康与就医"),
    ("health_emotional", "health", "身心健康：情绪与心理"),
    ("edu_attendance", "education", "教育：上学出勤"),
    ("edu_support", "education", "教育：学习辅导"),
    ("bond_contact", "bond", "亲情关系：与父母联系"),
    ("bond_relationship", "bond", "亲情关系：家庭关系"),
    ("capacity_ability", "capacity", "监护能力：监护人身体与能力"),
    ("capacity_knowledge", "capacity", "监护能力：教养知识"),
    ("willingness_duty", "willingness", "监护意愿：履行职责意愿"),
    ("willingness_cooperate", "willingness", "监护意愿：配合帮扶意愿"),
]
DOMAINS = ("care", "safety", "health", "education", "bond", "capacity", "willingness")


def test_the_items_are_read_from_the_form():
    from jianhu.default_plugins.default_scale import _items
    from jianhu.extensions import ScaleItem

    expected = tuple(ScaleItem(key, title, domain, YES_NO if domain == "emergency" else ZERO_TO_THREE)
                     for key, domain, title in WRITTEN)
    assert _items() == expected
    assert ITEMS == expected


def test_an_empty_sheet_scores_zero_in_every_domain():
    from jianhu.extensions import ScaleResult

    assert DEFAULT_SCALE.score({}) == ScaleResult(scores={d: 0 for d in DOMAINS}, total=0.0,
                                                  level="green", emergency=())
    # items left out count 0; emergency items are never scored
    result = DEFAULT_SCALE.score({"items": {"care_meals": 2, "violence": 3}})
    assert result.scores == {"care": 2, "safety": 0, "health": 0, "education": 0, "bond": 0,
                             "capacity": 0, "willingness": 0}
    assert (result.total, result.level, result.emergency) == (2.0, "green", ())


def test_only_a_yes_is_an_emergency():
    result = DEFAULT_SCALE.score({"emergency": {"violence": "yes", "runaway": 1, "unattended": True,
                                                "life_danger": False}})
    assert (result.emergency, result.level) == (("unattended",), "red")
