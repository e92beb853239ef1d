"""CSI scoring, suggested services, form and registration, against hand-computed sheets."""

from __future__ import annotations

import importlib.metadata

import jianhu_csi
import pytest
from jianhu_csi import (
    DOMAINS,
    EXTRA_IF_VERY_BAD,
    FACTORS,
    SCALE,
    SERVICE_TYPES,
    SERVICES_BY_FACTOR,
    factors_in_need,
    score,
    suggested_services,
)

from jianhu.assessment import level_scale
from jianhu.errors import JianhuError
from jianhu.forms import load_form
from jianhu.plugins import Host

TEST_ENV = {"JIANHU_LOAD_PLUGINS": ""}
ASSESSMENT = {"date": "2026-03-20", "assessor": "赵某"}
SERVICE_CODES = ["temporary_care", "tutoring", "counselling", "safety_guidance", "referral",
                 "parenting_training", "legal_aid", "medical_help", "benefit_application",
                 "entrusted_care"]
ORDER = ["food_security", "nutrition_growth", "shelter", "care", "abuse_exploitation",
         "legal_protection", "wellness", "health_care_services", "emotional_health",
         "social_behaviour", "performance", "education_work"]


def sheet(items: dict) -> dict:
    return {"assessment": dict(ASSESSMENT), "items": items}


def same(value: int, **changes: int) -> dict:
    return sheet({**{f: value for f in ORDER}, **changes})


MIXED = {
    "food_security": 2, "nutrition_growth": 3,           # 食物与营养 min 2
    "shelter": 4, "care": 1,                             # 住所与照料 min 1
    "abuse_exploitation": 3, "legal_protection": 2,      # 保护 min 2
    "wellness": 4, "health_care_services": 4,            # 健康 min 4
    "emotional_health": 2, "social_behaviour": 3,        # 心理社会 min 2
    "performance": 1, "education_work": 4,               # 教育与技能 min 1
}


@pytest.fixture(scope="module")
def host() -> Host:
    return Host.load(extra=[("csi", jianhu_csi)], env=TEST_ENV)


# ------------------------------------------------------------------------------ scoring
def test_all_good():
    result = score(same(4))
    assert result.scores == {**{f: 4 for f in ORDER}, **{d: 4 for d in DOMAINS}}
    assert result.total is None and result.level is None
    assert set(result.bands.values()) == {"良好"}
    assert factors_in_need(result) == [] and suggested_services(result) == []


def test_all_fair_needs_nothing():
    result = score(same(3))
    assert result.bands["care"] == "一般" and result.bands["protection"] == "一般"
    assert suggested_services(result) == []


def test_all_very_bad_suggests_every_service():
    result = score(same(1))
    assert set(result.scores.values()) == {1}
    assert set(result.bands.values()) == {"很差"}
    assert factors_in_need(result) == ORDER
    assert suggested_services(result) == SERVICE_CODES


def test_mixed_sheet():
    result = score(sheet(MIXED))
    assert result.scores == {
        **MIXED,
        "food_nutrition": 2, "shelter_care": 1, "protection": 2, "health": 4,
        "psychosocial": 2, "education_skills": 1,
    }
    assert result.total is None and result.level is None
    assert result.bands["care"] == "很差" and result.bands["food_security"] == "差"
    assert result.bands["nutrition_growth"] == "一般" and result.bands["health"] == "良好"
    assert result.bands["shelter_care"] == "很差"
    assert factors_in_need(result) == ["food_security", "care", "legal_protection",
                                       "emotional_health", "performance"]
    # food_security 2 → benefit_application
    # care 1          → parenting_training, entrusted_care + temporary_care (very bad)
    # legal_protection 2 → legal_aid
    # emotional_health 2 → counselling (referral only when 1)
    # performance 1   → tutoring (no extra)
    assert suggested_services(result) == [
        "temporary_care", "tutoring", "counselling", "parenting_training", "legal_aid",
        "benefit_application", "entrusted_care"]


def test_harm_and_distress_rated_very_bad():
    # abuse 1 → safety_guidance, referral + temporary_care; emotional 1 → counselling + referral
    result = score(same(4, abuse_exploitation=1, emotional_health=1))
    assert result.scores["protection"] == 1 and result.scores["psychosocial"] == 1
    assert suggested_services(result) == ["temporary_care", "counselling", "safety_guidance",
                                           "referral"]


def test_health_and_schooling_rated_bad():
    # education_work 2 → tutoring, referral; health_care_services 2 → medical_help, benefit_application
    result = score(same(3, education_work=2, health_care_services=2))
    assert suggested_services(result) == ["tutoring", "referral", "medical_help",
                                          "benefit_application"]


def test_missing_factor_is_refused():
    items = dict(MIXED)
    del items["wellness"]
    with pytest.raises(ValueError, match="身体健康.*未评分"):
        score(sheet(items))


@pytest.mark.parametrize("bad", [0, 5, "4", True])
def test_bad_rating_is_refused(bad):
    with pytest.raises(ValueError, match="照料"):
        score(sheet({**MIXED, "care": bad}))


# ------------------------------------------------------------------------ mapping as data
def test_mapping_covers_every_factor_with_the_project_codes():
    assert list(SERVICE_TYPES) == SERVICE_CODES
    assert list(FACTORS) == ORDER
    assert set(SERVICES_BY_FACTOR) == set(ORDER)
    assert set(EXTRA_IF_VERY_BAD) <= set(ORDER)
    used = {c for codes in (*SERVICES_BY_FACTOR.values(), *EXTRA_IF_VERY_BAD.values()) for c in codes}
    assert used == set(SERVICE_CODES)


def test_scale_record():
    assert SCALE.name == "csi" and SCALE.form_id == "csi" and SCALE.sets_level is False
    assert [i.id for i in SCALE.items] == ORDER
    assert SCALE.items[0].choices == ((4, "4 良好"), (3, "3 一般"), (2, "2 差"), (1, "1 很差"))
    assert {i.domain for i in SCALE.items} == set(DOMAINS)
    assert "MEASURE Evaluation" in SCALE.source
    assert {"factor": "care", "title": "照料", "services_at_most_2": ("parenting_training",
            "entrusted_care"), "extra_at_1": ("temporary_care",)} in SCALE.thresholds


# ------------------------------------------------------------------------- through the host
def test_registers_through_the_host(host):
    assert host.scales["csi"].sets_level is False
    assert host.owner("jianhu_scales", "csi") == "csi"
    assert host.forms["csi"].title == "儿童状况指数（CSI）评估表"


def test_cannot_set_a_risk_level(host):
    with pytest.raises(JianhuError, match="不能用于确定风险等级"):
        level_scale(host, "csi")


def test_form_accepts_a_good_sheet(host):
    form = load_form(host, "csi")
    assert form.problems(sheet(MIXED)) == []
    assert [f.column for f in form.fields] == ["评估日期", "评估人", "食物保障", "营养与生长", "住所",
                                               "照料", "虐待与剥削", "法律保护", "身体健康",
                                               "医疗卫生服务", "情绪健康", "社会行为", "学习表现",
                                               "就学或就业"]
    assert all(f.required for f in form.fields)


def test_form_rejects_bad_and_missing_ratings_in_chinese(host):
    form = load_form(host, "csi")
    items = {**MIXED, "care": 5}
    del items["shelter"]
    assert form.problems(sheet(items)) == [
        ("住所", "必填，不能为空"),
        ("照料", "不是可选项，可选：4 良好、3 一般、2 差、1 很差"),
    ]


def test_entry_point_loads_when_installed():
    try:
        dist = importlib.metadata.distribution("jianhu-csi")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("jianhu-csi is not installed")
    assert [ep.value for ep in dist.entry_points if ep.group == "jianhu"] == ["jianhu_csi"]
    host = Host.load(env={"JIANHU_LOAD_PLUGINS": "csi"})
    info = next(p for p in host.plugins() if p.name == "csi")
    assert (info.version, info.source) == ("0.1.0", "entry point")
    assert host.scales["csi"].sets_level is False


def test_plan_suggestions_hook_and_recording_on_a_case(tmp_path):
    """A CSI sheet recorded on a case leaves its level alone and suggests plan services."""
    import jianhu_csi

    from jianhu.plugins import Host

    host = Host.load(env={"JIANHU_LOAD_PLUGINS": ""}, extra=[("csi", jianhu_csi)])
    result = jianhu_csi.score({"items": {f: 4 for f in jianhu_csi.FACTORS} | {
        "food_security": 1}})
    # food security rated 1 (很差): help applying for benefits, and temporary care at once, in
    # the order of SERVICE_TYPES
    assert host.plan_suggestions("csi", result) == ["temporary_care", "benefit_application"]
    assert host.plan_suggestions("sdq", result) == []
