"""Cases: opening, numbering and classification.

A case is opened for every screened child with a target-group category or a poor guardianship
rating (issue 2; 新政发〔2016〕8号 四(三): screening feeds graded, classified intervention).
Case numbers read ``<9-digit township code>-<year>-<sequence>``, e.g. ``320724100-2026-0001``,
numbered per township and year of opening.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jianhu.db.models import CaseCounter, Township
from jianhu.extensions import TargetCategory
from jianhu.lifecycle import ACTIVE

OPEN_STATUSES = ACTIVE
"""Statuses of a case still under intervention (see :mod:`jianhu.lifecycle`)."""
#: Guardianship types the 2016 national register rates 差 (poor) (民发〔2016〕42号 登记表).
POOR_GUARDIANSHIP = frozenset({"none", "parent_incapable", "entrusted_inadequate"})


def guardianship_rating(survey: Mapping[str, Any]) -> str:
    """Return the 2016 national 3-level rating: ``"poor"`` (差), ``"fair"`` (一般), ``"good"`` (较好).

    Source: 民发〔2016〕42号, 农村留守儿童基本情况登记表 (监护情况: 无人监护、父或母无监护能力、
    受委托监护人监护能力不足 are rated 差); the survey form's ``guardianship.type`` choices.
    """
    kind = survey["guardianship"]["type"]
    return "poor" if kind in POOR_GUARDIANSHIP else kind


def classify(
    categories: list[TargetCategory], survey: Mapping[str, Any], on: dt.date
) -> list[str]:
    """Return the codes of every category whose rule applies to ``survey`` on date ``on``.

    Args:
        categories: the installed categories (``Host.target_categories``), in report order.
        survey: a validated screening payload.
        on: the survey date (ages are counted on it).
    """
    return [c.code for c in categories if c.applies(survey, on)]


#: Situations of 《未成年人保护法》 Art 92 a survey can show, code → Chinese (with the item).
EMERGENCY_SITUATIONS: dict[str, str] = {
    "parents_gone": "父母均死亡或下落不明，且无受委托监护人（《未成年人保护法》第92条第二项）",
    "parents_unable": "父母均不能履行监护职责，且无受委托监护人（第92条第三项）",
    "no_guardian": "无人监护、处于无人照料状态（第92条第四项）",
    "alone_under16": "未满16周岁单独生活（第21条第2款、第92条第四项）",
}
#: Parent statuses in which a parent cannot care for the child now (absent or incapable).
_GONE = frozenset({"dead", "missing"})
_UNABLE = frozenset({"dead", "missing", "imprisoned", "compulsory_rehab", "detained",
                     "seriously_ill", "severely_disabled", "guardianship_revoked", "deported"})


def emergency_situations(survey: Mapping[str, Any], on: dt.date) -> list[str]:
    """Codes of :data:`EMERGENCY_SITUATIONS` the survey shows for a child under 18.

    Source: 《未成年人保护法》(2020) Art 92 — civil affairs takes the child into temporary
    guardianship when (二) the guardian is missing and nobody else can act as guardian, (三) the
    guardian cannot perform the duty for objective reasons, (四) the child is left without
    care; Art 21 para 2 — a child under 16 must not be left to live alone. A case showing one
    gets an emergency-response task at once (handbook: 期限与待办).
    """
    from jianhu.dates import age_on

    age = age_on(dt.date.fromisoformat(survey["child"]["birth_date"]), on)
    if age >= 18:
        return []
    father = survey.get("father", {}).get("status", "")
    mother = survey.get("mother", {}).get("status", "")
    entrusted = bool(survey.get("entrusted_guardian", {}).get("name"))
    out = []
    if not entrusted and father in _GONE and mother in _GONE:
        out.append("parents_gone")
    elif not entrusted and father in _UNABLE and mother in _UNABLE:
        out.append("parents_unable")
    if survey.get("guardianship", {}).get("type") == "none":
        out.append("no_guardian")
    if age < 16 and survey["child"].get("lives_with") == "alone":
        out.append("alone_under16")
    return out


def needs_case(category_codes: list[str], survey: Mapping[str, Any],
               emergency: list[str] | None = None) -> bool:
    """Whether a child gets a case: any category, guardianship rated poor (差), or a situation
    of :func:`emergency_situations`."""
    return bool(category_codes) or guardianship_rating(survey) == "poor" or bool(emergency)


def allocate_case_numbers(
    session: Session, township: Township, year: int, count: int
) -> list[str]:
    """Reserve ``count`` consecutive case numbers of ``township`` for ``year``.

    The counter row is locked (``SELECT ... FOR UPDATE`` on PostgreSQL) so two imports never get
    the same numbers; the reservation rolls back with the transaction.

    Returns:
        the case numbers, e.g. ``["320724100-2026-0001", ...]``.
    """
    counter = session.execute(
        select(CaseCounter)
        .where(CaseCounter.township_id == township.id, CaseCounter.year == year)
        .with_for_update()
    ).scalar_one_or_none()
    if counter is None:
        counter = CaseCounter(township_id=township.id, year=year, last=0)
        session.add(counter)
    first = counter.last + 1
    counter.last += count
    session.flush()
    prefix = township.code[:9]
    return [f"{prefix}-{year}-{n:04d}" for n in range(first, first + count)]


def new_id() -> uuid.UUID:
    """A new primary key."""
    return uuid.uuid4()


def resolve_township(session: Session, value: str) -> str:
    """The 12-digit code of a township given as its code, its 9-digit prefix (as in case
    numbers and roster codes) or its Chinese name.

    Raises:
        JianhuError: no township of the workspace matches.
    """
    from jianhu.errors import JianhuError

    text = value.strip()
    for code, name in session.execute(select(Township.code, Township.name)):
        if text in (code, code[:9], name):
            return code
    raise JianhuError(f"没有乡镇「{value}」：请写12位代码、9位代码或乡镇名称")
