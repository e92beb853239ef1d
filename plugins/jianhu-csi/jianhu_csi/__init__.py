"""Jianhu plugin: the Child Status Index (CSI, 儿童状况指数).

Source: O'Donnell K., Nyangara F., Murphy R., Nyberg B., *Child Status Index: a tool for assessing
the well-being of orphans and vulnerable children* (MEASURE Evaluation / Duke University, 2008;
manual MS-08-31, "CSI Made Easy" MS-08-31c), as summarised in handbook 领域规则 §4.

- 6 domains × 2 factors = 12 factors, each rated by the worker against local standards:
  4 good (良好), 3 fair (一般), 2 bad (差), 1 very bad (很差).
- There is no total and no cut-off: the CSI is a needs profile for planning services, explicitly
  **not** a child-protection risk tool. The scale is registered with ``sets_level=False`` and its
  results have ``total=None`` and ``level=None``.
- The CSI "feeds the assistance plan": :func:`suggested_services` turns every factor rated 1 or 2
  into service-type codes (:data:`SERVICES_BY_FACTOR`, :data:`EXTRA_IF_VERY_BAD`).

A factor rated "very bad" for abuse and exploitation describes a child who is being harmed: that
is a mandatory report (高检发〔2020〕9号) handled by the core's emergency screen, not by this plugin.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

from jianhu import hookimpl
from jianhu.extensions import FormSpec, Scale, ScaleItem, ScaleResult

__version__ = "0.1.0"

NAME = "csi"
FORM_ID = "csi"
VERSION = "1"
SOURCE = (
    "O'Donnell K, Nyangara F, Murphy R, Nyberg B. Child Status Index: a tool for assessing the "
    "well-being of orphans and vulnerable children. MEASURE Evaluation, 2008"
)

#: Rating value → Chinese label (CSI manual: good, fair, bad, very bad).
RATINGS: dict[int, str] = {4: "良好", 3: "一般", 2: "差", 1: "很差"}

#: Ratings at or below this mean the factor needs a service ("bad" or "very bad").
NEEDS_AT_MOST = 2

#: Domain key → (Chinese title, its two factor keys), in CSI order (CSI manual, domains 1–6).
DOMAINS: dict[str, tuple[str, tuple[str, str]]] = {
    "food_nutrition": ("食物与营养", ("food_security", "nutrition_growth")),
    "shelter_care": ("住所与照料", ("shelter", "care")),
    "protection": ("保护", ("abuse_exploitation", "legal_protection")),
    "health": ("健康", ("wellness", "health_care_services")),
    "psychosocial": ("心理社会", ("emotional_health", "social_behaviour")),
    "education_skills": ("教育与技能", ("performance", "education_work")),
}

#: Service-type codes of the assistance plan (the project's list) with Chinese labels; suggestions
#: are listed in this order.
SERVICE_TYPES: dict[str, str] = {
    "temporary_care": "临时照料",
    "tutoring": "学业辅导",
    "counselling": "心理辅导",
    "safety_guidance": "安全教育与保护指导",
    "referral": "转介专业机构",
    "parenting_training": "监护能力培训",
    "legal_aid": "法律援助",
    "medical_help": "医疗帮扶",
    "benefit_application": "协助申请救助福利",
    "entrusted_care": "落实委托照护",
}

#: Factor → service types suggested when it is rated 2 (差) or 1 (很差). Project mapping (the CSI
#: manual asks programmes to plan services per factor but names no services): e.g. food or
#: shelter → help applying for 低保/临时救助/住房救助; care → train the guardian and settle the
#: entrusted guardian; education/work → tutoring and referral to the school (控辍保学).
SERVICES_BY_FACTOR: dict[str, tuple[str, ...]] = {
    "food_security": ("benefit_application",),
    "nutrition_growth": ("medical_help", "parenting_training"),
    "shelter": ("benefit_application",),
    "care": ("parenting_training", "entrusted_care"),
    "abuse_exploitation": ("safety_guidance", "referral"),
    "legal_protection": ("legal_aid",),
    "wellness": ("medical_help",),
    "health_care_services": ("medical_help", "benefit_application"),
    "emotional_health": ("counselling",),
    "social_behaviour": ("counselling", "parenting_training"),
    "performance": ("tutoring",),
    "education_work": ("tutoring", "referral"),
}

#: Factor → service types added when it is rated 1 (很差) only: no food, no shelter, no carer or a
#: child being harmed needs care at once; very poor emotional health needs a specialist.
EXTRA_IF_VERY_BAD: dict[str, tuple[str, ...]] = {
    "food_security": ("temporary_care",),
    "shelter": ("temporary_care",),
    "care": ("temporary_care",),
    "abuse_exploitation": ("temporary_care",),
    "emotional_health": ("referral",),
}

_SCHEMA_FILE = "csi.schema.json"


def _schema() -> dict[str, Any]:
    """Read ``csi.schema.json`` from this package (importlib.resources, so it works from a wheel)."""
    return json.loads((resources.files(__name__) / _SCHEMA_FILE).read_text("utf-8"))


def _items(schema: Mapping[str, Any]) -> tuple[ScaleItem, ...]:
    """Build the 12 :class:`ScaleItem` records from the form (the one place titles are written)."""
    fields = schema["properties"]["items"]["properties"]
    return tuple(
        ScaleItem(key, f["title"], f["x-domain"], tuple((o["const"], o["title"]) for o in f["oneOf"]))
        for key, f in fields.items()
    )


SCHEMA = _schema()
ITEMS = _items(SCHEMA)
#: Factor keys in CSI order (1A, 1B, 2A, … 6B).
FACTORS: tuple[str, ...] = tuple(i.id for i in ITEMS)
FACTOR_TITLES: dict[str, str] = {i.id: i.title for i in ITEMS}


def score(answers: Mapping[str, Any]) -> ScaleResult:
    """Score one CSI sheet: the 12 factor ratings and a rating per domain.

    Source: Child Status Index (MEASURE Evaluation 2008) for the factors and the 1–4 ratings. The
    CSI manual defines no domain score; here a domain's score is the **lower** of its two factor
    ratings (a domain needs attention when either factor does) — the project's rule.

    Args:
        answers: the ``csi`` form payload; uses ``answers["items"]`` = ``{"food_security": 4, ...}``.

    Returns:
        :class:`ScaleResult` with ``scores`` = every factor (1–4) and every domain (1–4),
        ``total=None`` (the CSI has no total), ``level=None`` (it never sets a risk level) and
        ``bands`` = the Chinese rating label (良好/一般/差/很差) of every factor and domain.

    Raises:
        ValueError: a factor is not rated, or is rated other than 1, 2, 3 or 4.
    """
    given = answers.get("items") or {}
    scores: dict[str, int] = {}
    for factor in FACTORS:
        value = given.get(factor)
        if value is None:
            raise ValueError(f"CSI「{FACTOR_TITLES[factor]}」未评分")
        if isinstance(value, bool) or value not in RATINGS:
            raise ValueError(f"CSI「{FACTOR_TITLES[factor]}」应评为1、2、3或4，收到：{value!r}")
        scores[factor] = int(value)
    for domain, (_, factors) in DOMAINS.items():
        scores[domain] = min(scores[f] for f in factors)
    bands = {key: RATINGS[value] for key, value in scores.items()}
    return ScaleResult(scores=scores, total=None, level=None, bands=bands)


def factors_in_need(result: ScaleResult) -> list[str]:
    """Return the factors rated 2 (bad) or 1 (very bad), in CSI order.

    Source: Child Status Index (MEASURE Evaluation 2008): factors rated bad or very bad are the
    priorities of the child's service plan.
    """
    return [f for f in FACTORS
            if result.scores.get(f) is not None and result.scores[f] <= NEEDS_AT_MOST]


def suggested_services(result: ScaleResult) -> list[str]:
    """Suggest service-type codes for the assistance plan from a CSI result.

    Source: Child Status Index (MEASURE Evaluation 2008) for "plan services for factors rated bad
    or very bad"; the factor → service mapping is the project's (:data:`SERVICES_BY_FACTOR`,
    plus :data:`EXTRA_IF_VERY_BAD` for a factor rated 1).

    Args:
        result: what :func:`score` returned.

    Returns:
        the service-type codes (keys of :data:`SERVICE_TYPES`) without repeats, in the order of
        :data:`SERVICE_TYPES`; empty when no factor is rated 1 or 2. A suggestion for the worker,
        not a decision, and never a substitute for a mandatory report.
    """
    wanted: set[str] = set()
    for factor in factors_in_need(result):
        wanted.update(SERVICES_BY_FACTOR[factor])
        if result.scores[factor] == 1:
            wanted.update(EXTRA_IF_VERY_BAD.get(factor, ()))
    return [code for code in SERVICE_TYPES if code in wanted]


def thresholds() -> tuple[dict[str, Any], ...]:
    """The CSI's planning rules as data, for the handbook (it has no level thresholds).

    Source: Child Status Index (MEASURE Evaluation 2008); service mapping is the project's.

    Returns:
        one row for the needs rule, one for the domain rule, then one row per factor giving the
        services suggested at rating ≤ 2 and the extra ones at rating 1.
    """
    rows: list[dict[str, Any]] = [
        {"rule": "CSI没有总分和分级阈值，不用于确定风险等级；任一因子评为2（差）或1（很差）即列为需要服务",
         "needs_at_most": NEEDS_AT_MOST},
        {"rule": "领域得分取其两个因子评分中的较低者（本项目规则）"},
    ]
    for factor in FACTORS:
        rows.append({"factor": factor, "title": FACTOR_TITLES[factor],
                     "services_at_most_2": SERVICES_BY_FACTOR[factor],
                     "extra_at_1": EXTRA_IF_VERY_BAD.get(factor, ())})
    return tuple(rows)


SCALE = Scale(
    name=NAME,
    version=VERSION,
    title="儿童状况指数（CSI）",
    form_id=FORM_ID,
    items=ITEMS,
    score=score,
    sets_level=False,
    source=SOURCE,
    thresholds=thresholds(),
)


@hookimpl
def jianhu_scales() -> list[Scale]:
    """Register the CSI scale (``sets_level=False``; MEASURE Evaluation 2008)."""
    return [SCALE]


@hookimpl
def jianhu_forms() -> list[FormSpec]:
    """Register the ``csi`` form (12 factors, all required; MEASURE Evaluation 2008)."""
    return [FormSpec.from_file(FORM_ID, resources.files(__name__) / _SCHEMA_FILE)]


@hookimpl
def jianhu_plan_suggestions(scale: str, result: ScaleResult) -> list[str]:
    """Suggest plan services from a CSI result (:func:`suggested_services`); nothing for others."""
    return suggested_services(result) if scale == NAME else []
