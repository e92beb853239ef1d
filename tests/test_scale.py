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
