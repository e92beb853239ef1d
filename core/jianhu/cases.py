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
from jianhu.default_plugins.categories import guardianship_rating
from jianhu.extensions import TargetCategory
from jianhu.lifecycle import ACTIVE

OPEN_STATUSES = ACTIVE
"""Statuses of a case still under intervention (see :mod:`jianhu.lifecycle`)."""


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


def needs_case(category_codes: list[str], survey: Mapping[str, Any]) -> bool:
    """Whether a child gets a case: any category, or guardianship rated poor (差)."""
    return bool(category_codes) or guardianship_rating(survey) == "poor"


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
