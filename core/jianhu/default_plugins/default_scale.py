"""The default assessment scale: Jianhu's own two-stage family guardianship scale.

No Chinese standard publishes usable cut-offs (handbook 领域规则 §4), so this scale is the project's own
default, not a standard, and every threshold below is data a township plugin can replace by
registering its own scale.

Stage 1, emergency screen: any "yes" sets the highest level (red) at once, skips scoring and
creates a mandatory-report task (高检发〔2020〕9号 Art 2–4; items after handbook 领域规则 §4, the last after
未保法 Art 21).

Stage 2, scored items: 14 items in 7 domains, each 0 (no problem) to 3 (severe); total 0–42.
The level is the first row of :data:`THRESHOLDS` whose ``min_total`` the total reaches; then an
item scored 3 in a domain of :data:`RAISE_DOMAINS` raises the level to at least orange.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

from jianhu import hookimpl
from jianhu.extensions import LEVEL_RANK, Scale, ScaleItem, ScaleResult

NAME = "jianhu-default"
VERSION = "1"

THRESHOLDS: tuple[dict[str, Any], ...] = (
    {"level": "red", "min_total": 24},
    {"level": "orange", "min_total": 15},
    {"level": "yellow", "min_total": 7},
    {"level": "green", "min_total": 0},
)
RAISE_DOMAINS: tuple[str, ...] = ("safety", "willingness")
RAISE_TO = "orange"


def _items() -> tuple[ScaleItem, ...]:
    """Read the items from ``assessment.schema.json`` (the one place they are written)."""
    schema = json.loads(
        (resources.files("jianhu") / "schemas" / "assessment.schema.json").read_text("utf-8")
    )
    items = []
    for group in ("emergency", "items"):
        for key, field in schema["properties"][group]["properties"].items():
            if "oneOf" in field:
                choices = tuple((o["const"], o["title"]) for o in field["oneOf"])
            else:
                choices = ((True, "是"), (False, "否"))
            items.append(ScaleItem(key, field["title"], field["x-domain"], choices))
    return tuple(items)


ITEMS = _items()


def score(answers: Mapping[str, Any]) -> ScaleResult:
    """Score one answer sheet of the default scale.

    Args:
        answers: the assessment form payload; uses ``answers["emergency"]`` (``{item: bool}``)
            and ``answers["items"]`` (``{item: 0..3}``).

    Returns:
        :class:`ScaleResult` with scores per domain, the total (0–42), the level and the emergency
        items answered yes. With an emergency "yes" the level is red and scores are still
        recorded for the file.
    """
    emergency = tuple(k for k, v in answers.get("emergency", {}).items() if v is True)
    item_answers = answers.get("items", {})
    scores: dict[str, float] = {}
    raise_level = False
    for item in ITEMS:
        if item.domain == "emergency":
            continue
        value = int(item_answers.get(item.id, 0))
        scores[item.domain] = scores.get(item.domain, 0) + value
        raise_level |= value == 3 and item.domain in RAISE_DOMAINS
    total = float(sum(scores.values()))
    level = next(t["level"] for t in THRESHOLDS if total >= t["min_total"])
    if raise_level and LEVEL_RANK[level] > LEVEL_RANK[RAISE_TO]:
        level = RAISE_TO
    if emergency:
        level = "red"
    return ScaleResult(scores=scores, total=total, level=level, emergency=emergency)


DEFAULT_SCALE = Scale(
    name=NAME,
    version=VERSION,
    title="Jianhu 默认家庭监护评估量表",
    form_id="assessment",
    items=ITEMS,
    score=score,
    sets_level=True,
    source="Jianhu 项目自拟默认量表（非国家或地方标准，阈值可由乡镇插件替换）",
    thresholds=THRESHOLDS
    + ({"rule": "安全保护或监护意愿任一条目为3分时至少为橙色", "domains": RAISE_DOMAINS,
        "at_least": RAISE_TO},
       {"rule": "紧急筛查任一项为「是」即为红色并立即强制报告", "at_least": "red"}),
)


@hookimpl
def jianhu_scales() -> list[Scale]:
    """Register the default scale."""
    return [DEFAULT_SCALE]
