"""Jianhu plugin: the Strengths and Difficulties Questionnaire (SDQ, 长处与困难问卷).

Source of every rule below: Goodman R. (1997) "The Strengths and Difficulties Questionnaire: a
research note", J Child Psychol Psychiatry 38:581–586, and youthinmind's scoring instructions
("Scoring the Strengths & Difficulties Questionnaire for age 4-17", sdqinfo.org), as summarised in
handbook 领域规则 §4.

- 25 items, each answered 0 (不符合, not true), 1 (有点符合, somewhat true) or 2 (完全符合,
  certainly true). Items 7, 11, 14, 21 and 25 are reverse-scored: score = 2 − answer.
- Five subscales of five items: emotional, conduct, hyperactivity, peer (the four problem
  subscales) and prosocial (a strength).
- A subscale with at least 3 of its 5 items answered is prorated (see :func:`prorate`); with fewer
  it is missing (``None``).
- Total difficulties = the sum of the four problem subscales (0–40), missing when any of them is.
- Bands (正常 / 临界 / 异常) come from a named norm set in :data:`NORM_SETS`; norms differ by country,
  so the norm set is a parameter of :func:`score` (default :data:`DEFAULT_NORMS`).

The SDQ is a screening questionnaire for a child's mental health, not a guardianship risk tool: the
scale is registered with ``sets_level=False`` and never sets a case's risk level.

The item wordings are copyright (youthinmind) and are **not** shipped: the form ``sdq`` records only
item numbers and answers. Licence the item texts from youthinmind before printing questionnaires.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

from jianhu import hookimpl
from jianhu.extensions import FormSpec, Scale, ScaleItem, ScaleResult

__version__ = "0.1.0"

NAME = "sdq"
FORM_ID = "sdq"
VERSION = "1"
SOURCE = (
    "Goodman R. (1997) The Strengths and Difficulties Questionnaire: a research note. "
    "J Child Psychol Psychiatry 38:581–586; youthinmind, Scoring the SDQ (sdqinfo.org)"
)

#: Items scored 2 − answer (Goodman 1997; youthinmind scoring instructions).
REVERSED: frozenset[int] = frozenset({7, 11, 14, 21, 25})

#: Subscale key → its five item numbers (Goodman 1997; youthinmind scoring instructions).
SUBSCALES: dict[str, tuple[int, ...]] = {
    "emotional": (3, 8, 13, 16, 24),
    "conduct": (5, 7, 12, 18, 22),
    "hyperactivity": (2, 10, 15, 21, 25),
    "peer": (6, 11, 14, 19, 23),
    "prosocial": (1, 4, 9, 17, 20),
}

#: The four subscales summed into total difficulties (prosocial is a strength, not a difficulty).
PROBLEM_SUBSCALES: tuple[str, ...] = ("emotional", "conduct", "hyperactivity", "peer")

#: Chinese titles of the scores in :attr:`ScaleResult.scores`.
SCORE_TITLES: dict[str, str] = {
    "emotional": "情绪症状",
    "conduct": "品行问题",
    "hyperactivity": "多动/注意缺陷",
    "peer": "同伴交往问题",
    "prosocial": "亲社会行为",
    "total": "困难总分",
}

#: Fewest answered items (of 5) for a subscale to be scored (youthinmind scoring instructions).
MIN_ANSWERED = 3

ANSWERS: tuple[int, ...] = (0, 1, 2)

#: Norm sets: name → title, source, band labels and, per score, ``(min, max, band)`` rows.
#: Norms differ by country and informant; a township plugin may add its own set here (e.g. a
#: Chinese norm it has a source for) and pass its name to :func:`score`.
NORM_SETS: dict[str, dict[str, Any]] = {
    "uk-parent-3band": {
        "title": "英国常模（家长版，三级划分）",
        "source": "youthinmind, Scoring the SDQ: original three-band categorisation, parent "
                  "report (Goodman 1997；见手册「领域规则」§4)",
        "labels": {"normal": "正常", "borderline": "临界", "abnormal": "异常"},
        "bands": {
            "total": ((0, 13, "normal"), (14, 16, "borderline"), (17, 40, "abnormal")),
            "emotional": ((0, 3, "normal"), (4, 4, "borderline"), (5, 10, "abnormal")),
            "conduct": ((0, 2, "normal"), (3, 3, "borderline"), (4, 10, "abnormal")),
            "hyperactivity": ((0, 5, "normal"), (6, 6, "borderline"), (7, 10, "abnormal")),
            "peer": ((0, 2, "normal"), (3, 3, "borderline"), (4, 10, "abnormal")),
            "prosocial": ((8, 10, "normal"), (7, 7, "borderline"), (0, 6, "abnormal")),
        },
    },
}

#: The norm set :func:`score` uses when none is named.
DEFAULT_NORMS = "uk-parent-3band"

_SCHEMA_FILE = "sdq.schema.json"


def _schema() -> dict[str, Any]:
    """Read ``sdq.schema.json`` from this package (importlib.resources, so it works from a wheel)."""
    return json.loads((resources.files(__name__) / _SCHEMA_FILE).read_text("utf-8"))


def _items(schema: Mapping[str, Any]) -> tuple[ScaleItem, ...]:
    """Build the 25 :class:`ScaleItem` records from the form (the one place titles are written)."""
    fields = schema["properties"]["items"]["properties"]
    return tuple(
        ScaleItem(key, f["title"], f["x-domain"], tuple((o["const"], o["title"]) for o in f["oneOf"]))
        for key, f in fields.items()
    )


SCHEMA = _schema()
ITEMS = _items(SCHEMA)


def item_key(number: int) -> str:
    """Return the answer-sheet key of SDQ item ``number`` (1–25), e.g. ``7`` → ``"q7"``.

    Source: item numbering of the SDQ (Goodman 1997).
    """
    return f"q{number}"


def item_score(number: int, answer: int) -> int:
    """Score one answered item: the answer itself, or ``2 − answer`` for a reverse-scored item.

    Source: Goodman 1997; youthinmind scoring instructions (items 7, 11, 14, 21, 25 reversed).

    Raises:
        ValueError: ``answer`` is not 0, 1 or 2.
    """
    if isinstance(answer, bool) or answer not in ANSWERS:
        raise ValueError(f"SDQ第{number}题的答案应为0、1或2，收到：{answer!r}")
    answer = int(answer)
    return 2 - answer if number in REVERSED else answer


def prorate(item_scores: list[int]) -> int | None:
    """Score a subscale from its answered item scores, prorating when 1 or 2 items are missing.

    Source: youthinmind scoring instructions (a scale score may be prorated when at least 3 of its
    5 items are completed; their SPSS/Stata syntax is ``RND(MEAN.3(...) * 5)``).

    Rule: with ``n`` items answered (``n`` ≥ 3) the score is ``round(sum * 5 / n)``, halves rounded
    **up** (2.5 → 3, as SPSS ``RND`` and Stata ``round`` do), not to the even neighbour as Python's
    ``round`` would. Only 4 answered items can give a half (sums × 5 / 4); with 3 or 5 answered
    the result is a third-fraction or exact. Computed in integers: ``(10 * sum + n) // (2 * n)``.

    Returns:
        the subscale score 0–10, or ``None`` when fewer than 3 items are answered.
    """
    n = len(item_scores)
    if n < MIN_ANSWERED:
        return None
    return (10 * sum(item_scores) + n) // (2 * n)


def band(value: float | None, score_name: str, norms: str = DEFAULT_NORMS) -> str | None:
    """Return the band code (e.g. ``"borderline"``) of ``value`` for score ``score_name``.

    Source: the norm set's own source (``NORM_SETS[norms]["source"]``; the default is youthinmind's
    UK parent three-band cut-offs).

    Returns:
        the band code, or ``None`` when ``value`` is ``None`` (missing score).

    Raises:
        KeyError: no such norm set or the norm set has no bands for ``score_name``.
        ValueError: ``value`` falls in no band of the norm set.
    """
    if value is None:
        return None
    for low, high, code in norm_set(norms)["bands"][score_name]:
        if low <= value <= high:
            return code
    raise ValueError(f"SDQ {score_name} 得分 {value} 不在常模「{norms}」的任何分段内")


def norm_set(norms: str) -> Mapping[str, Any]:
    """Return the norm set named ``norms`` from :data:`NORM_SETS`.

    Source: see each norm set's ``source`` (Goodman 1997; youthinmind scoring instructions).

    Raises:
        KeyError: no such norm set (the message lists those installed).
    """
    try:
        return NORM_SETS[norms]
    except KeyError:
        raise KeyError(f"没有名为「{norms}」的SDQ常模；已有：{'、'.join(NORM_SETS)}") from None


def score(answers: Mapping[str, Any], norms: str = DEFAULT_NORMS) -> ScaleResult:
    """Score one SDQ answer sheet.

    Source: Goodman 1997; youthinmind scoring instructions (reverse items, subscales, prorating,
    total difficulties); bands from the norm set ``norms`` (default UK parent three-band).

    Args:
        answers: the ``sdq`` form payload; uses ``answers["items"]`` = ``{"q1": 0, ...}``. A missing
            key (or ``None``) is an unanswered item.
        norms: name of a norm set in :data:`NORM_SETS`.

    Returns:
        :class:`ScaleResult` with ``scores`` = the five subscales (``int`` 0–10, or ``None`` when
        fewer than 3 of 5 items are answered), ``total`` = total difficulties (0–40, ``None`` when
        a problem subscale is missing), ``level=None`` (the SDQ never sets a risk level) and
        ``bands`` = ``{score name: Chinese band label}`` for every score that is not missing
        (``"total"`` included).

    Raises:
        ValueError: an answer is not 0, 1 or 2.
        KeyError: no norm set named ``norms``.
    """
    chosen = norm_set(norms)
    given = answers.get("items") or {}
    scores: dict[str, int | None] = {}
    for name, numbers in SUBSCALES.items():
        answered = [
            item_score(n, given[item_key(n)]) for n in numbers if given.get(item_key(n)) is not None
        ]
        scores[name] = prorate(answered)
    problems = [scores[name] for name in PROBLEM_SUBSCALES]
    total = None if any(s is None for s in problems) else sum(problems)  # type: ignore[arg-type]
    bands: dict[str, str] = {}
    for name, value in (*scores.items(), ("total", total)):
        code = band(value, name, norms)
        if code is not None:
            bands[name] = chosen["labels"][code]
    return ScaleResult(scores=scores, total=total, level=None, bands=bands)  # type: ignore[arg-type]


def thresholds() -> tuple[dict[str, Any], ...]:
    """Every band of every norm set in :data:`NORM_SETS` as flat rows, for the handbook.

    Source: the norm sets' sources (youthinmind scoring instructions for ``uk-parent-3band``).

    Returns:
        rows like ``{"norms": "uk-parent-3band", "score": "total", "band": "normal",
        "label": "正常", "min": 0, "max": 13}``, then one row stating the prorating rule.
    """
    rows: list[dict[str, Any]] = []
    for norms, spec in NORM_SETS.items():
        for score_name, rules in spec["bands"].items():
            for low, high, code in rules:
                rows.append({"norms": norms, "score": score_name, "band": code,
                             "label": spec["labels"][code], "min": low, "max": high})
    rows.append({"rule": "分量表5题中至少答3题时按比例折算：round(已答得分和×5÷已答题数)，0.5进位；"
                         "少于3题为缺失；任一困难分量表缺失则困难总分缺失",
                 "min_answered": MIN_ANSWERED})
    return tuple(rows)


SCALE = Scale(
    name=NAME,
    version=VERSION,
    title="长处与困难问卷（SDQ）",
    form_id=FORM_ID,
    items=ITEMS,
    score=score,
    sets_level=False,
    source=SOURCE,
    thresholds=thresholds(),
)


@hookimpl
def jianhu_scales() -> list[Scale]:
    """Register the SDQ scale (``sets_level=False``; Goodman 1997, youthinmind scoring)."""
    return [SCALE]


@hookimpl
def jianhu_forms() -> list[FormSpec]:
    """Register the ``sdq`` answer sheet (item numbers only; item texts are youthinmind's)."""
    return [FormSpec.from_file(FORM_ID, resources.files(__name__) / _SCHEMA_FILE)]
