"""Read-only queries the pages need beyond the services: the caseload with its filters, the
villages a user can filter by, the figures of the dashboard, and which forms a case's state
allows (:data:`jianhu.lifecycle.FORM_STATES`). Every query of cases goes through the user's
:class:`~jianhu.scope.Scope`.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from jianhu import audit
from jianhu.cases import OPEN_STATUSES
from jianhu.db.models import Case, Child, FollowUp, FormRecord, Township, Village
from jianhu.db.types import json_list_has
from jianhu.extensions import LEVELS
from jianhu.scope import Scope
from jianhu.tasks import TASK_KINDS


def child_names(session: Session, actor: Any, case_nos: list[str], page: str) -> dict[str, str]:
    """The children's names of ``case_nos`` for a list page, when the actor may see identified
    data (else empty); showing them is an identified read, audited once for the page with the
    case numbers shown (个人信息保护法 Art 51)."""
    if not case_nos or not actor.can("view:identified"):
        return {}
    names = dict(session.execute(select(Case.case_no, Child.name).join(
        Child, Case.child_id == Child.id).where(Case.case_no.in_(case_nos))).all())
    audit.record(session, actor=actor.code, action="read_list", entity_type="case_list",
                 entity_id=page, context={"cases": sorted(names), "shown": ["child.name"]})
    session.commit()
    return names


#: The form that completes a task of each kind (the first completing form of
#: :data:`jianhu.tasks.TASK_KINDS`): the due list links to it.
TASK_FORMS: dict[str, str] = {k.code: k.completing_forms[0] for k in TASK_KINDS
                              if k.completing_forms}


@dataclass(frozen=True)
class CaseRow:
    """One line of the caseload (no personal data).

    Attributes:
        case_no: the case number.
        township: township name.
        village: village name.
        level: level code or ``None``.
        status: state code.
        categories: category codes.
        opened_on: date the case was opened.
    """

    case_no: str
    township: str
    village: str
    level: str | None
    status: str
    categories: list[str]
    opened_on: dt.date


def villages(session: Session, scope: Scope) -> list[tuple[str, str]]:
    """``(village id, "township village")`` of the villages that have a case in scope."""
    stmt = (select(Village.id, Township.name, Village.name).distinct()
            .join(Case, Case.village_id == Village.id)
            .join(Township, Village.township_id == Township.id)
            .order_by(Township.name, Village.name))
    return [(str(v), f"{t}{n}") for v, t, n in session.execute(scope.cases(stmt))]


@dataclass(frozen=True)
class CasePage:
    """One page of the caseload: how many cases match, and the page's rows."""

    total: int
    rows: list[CaseRow]


def caseload(session: Session, scope: Scope, *, village: str | None = None,
             level: str | None = None, category: str | None = None, status: str | None = None,
             q: str | None = None, limit: int | None = None, offset: int = 0) -> CasePage:
    """Cases in scope, filtered, ordered by case number, counted and paged by the database.

    Args:
        session: the user's scoped session.
        scope: the user's scope.
        village: a village id (as text).
        level: a level code, or ``"none"`` for cases not yet graded.
        category: a category code.
        status: a state code, or ``"open"`` for every state under intervention.
        q: part of a case number; for roles that may see identified data
            (``view:identified``) also part of the child's name. A search by name is audited.
        limit: rows of the page (``None``: all); offset: rows skipped before it.

    Returns:
        a :class:`CasePage`: the total that match and the page's :class:`CaseRow` list.
    """
    stmt = (select(Case.case_no, Township.name, Village.name, Case.level, Case.status,
                   Case.categories, Case.opened_on)
            .join(Township, Case.township_id == Township.id)
            .join(Village, Case.village_id == Village.id))
    if village:
        stmt = stmt.where(Village.id == _uuid(village))
    if level == "none":
        stmt = stmt.where(Case.level.is_(None))
    elif level:
        stmt = stmt.where(Case.level == level)
    if status == "open":
        stmt = stmt.where(Case.status.in_(OPEN_STATUSES))
    elif status:
        stmt = stmt.where(Case.status == status)
    if category:
        stmt = stmt.where(json_list_has(Case.categories, category))
    by_name = False
    q = (q or "").replace("\x00", "").strip()  # PostgreSQL refuses NUL even in a query
    if q:
        pattern = f"%{q.replace('%', '').replace('_', '')}%"
        if scope.actor.can("view:identified"):
            stmt = stmt.join(Child, Case.child_id == Child.id).where(
                or_(Case.case_no.like(pattern), Child.name.like(pattern)))
            by_name = True
        else:
            stmt = stmt.where(Case.case_no.like(pattern))
    stmt = scope.cases(stmt)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = stmt.order_by(Case.case_no).offset(offset).limit(limit)
    rows = [CaseRow(r[0], r[1], r[2], r[3], r[4], list(r[5] or ()), r[6])
            for r in session.execute(page)] if total > offset else []
    if by_name:
        audit.record(session, actor=scope.actor.code, action="search", entity_type="case",
                     entity_id="-", context={"by": "name_or_case_no", "results": total})
    return CasePage(total, rows)


def _uuid(text: str) -> Any:
    import uuid

    try:
        return uuid.UUID(text)
    except ValueError:
        return uuid.UUID(int=0)


@dataclass(frozen=True)
class Dashboard:
    """The figures of the dashboard.

    Attributes:
        by_level: ``(label, open cases)`` per level, then 未评估.
        by_village: ``(village, open cases)``, most first.
        months: ``(YYYY-MM, visits due, visits done)`` for the last months, oldest first.
    """

    by_level: list[tuple[str, int]]
    by_village: list[tuple[str, int]]
    months: list[tuple[str, int, int]]


def _month_start(day: dt.date, back: int) -> dt.date:
    y, m = divmod(day.year * 12 + day.month - 1 - back, 12)
    return dt.date(y, m + 1, 1)


def dashboard(session: Session, scope: Scope, today: dt.date, months: int = 6) -> Dashboard:
    """Open cases by level and by village, and visits due against visits done per month.

    A visit is *due* in the month of its due date (visit tasks not cancelled); it is *done* in
    the month of the visit record's date (随访记录, form ``visit``).
    """
    levels: Counter = Counter()
    villages_: Counter = Counter()
    stmt = (select(Case.level, Township.name, Village.name)
            .join(Township, Case.township_id == Township.id)
            .join(Village, Case.village_id == Village.id)
            .where(Case.status.in_(OPEN_STATUSES)))
    for level, town, village in session.execute(scope.cases(stmt)):
        levels[level] += 1
        villages_[f"{town}{village}" if scope.township_id is None else village] += 1
    by_level = [(label, levels[code]) for code, label in LEVELS] + [("未评估", levels[None])]
    start = _month_start(today, months - 1)
    keys = [_month_start(today, back).strftime("%Y-%m") for back in range(months - 1, -1, -1)]
    due: Counter = Counter()
    done: Counter = Counter()
    tasks = (select(FollowUp.due_on).join(Case, FollowUp.case_id == Case.id)
             .where(FollowUp.kind == "visit", FollowUp.status != "cancelled",
                    FollowUp.due_on >= start, FollowUp.due_on <= today))
    for (day,) in session.execute(scope.cases(tasks)):
        due[day.strftime("%Y-%m")] += 1
    records = (select(FormRecord.recorded_on).join(Case, FormRecord.subject_id == Case.id)
               .where(FormRecord.form_id == "visit", FormRecord.recorded_on >= start,
                      FormRecord.recorded_on <= today))
    for (day,) in session.execute(scope.cases(records)):
        done[day.strftime("%Y-%m")] += 1
    return Dashboard(by_level, villages_.most_common(15),
                     [(k, due[k], done[k]) for k in keys])


@dataclass
class BeforeVisit:
    """What a worker reads before going to the family, from the case view (so a service
    provider gets only what its disclosure allows)."""

    address: str
    measures: list[dict[str, Any]]
    visits: list[dict[str, Any]]


def before_visit(session: Session, view: Any) -> BeforeVisit:
    """The address of the latest survey, the latest plan's measures with their owners' names
    and whether each is still to do, and the three latest visits and return visits."""
    from jianhu.db.models import Person

    entries = view.timeline
    surveys = [e for e in entries if e.kind == "screening"]
    residence = surveys[-1].detail.get("residence", {}) if surveys else {}
    address = "".join(x for x in (residence.get("village", ""), residence.get("address", "")) if x)
    plans = [e for e in entries if e.kind == "plan"]
    raw = plans[-1].detail.get("measures", []) if plans else []
    open_refs = {t.get("ref") for t in view.tasks if t["kind"] == "measure_due"
                 and t["status"] == "pending"}
    codes = {m.get("responsible") for m in raw if m.get("responsible")}
    names = dict(session.execute(select(Person.code, Person.name).where(
        Person.code.in_(codes))).all()) if codes else {}
    measures = [{"description": m.get("description", ""), "due": m.get("due", ""),
                 "owner": names.get(m.get("responsible"), m.get("responsible", "")),
                 "open": f"measure:{i}" in open_refs} for i, m in enumerate(raw, start=1)]
    visits = []
    for e in reversed([e for e in entries if e.kind in ("visit", "return_visit")][-3:]):
        group = e.detail.get(e.kind, {})
        visits.append({"on": e.on.isoformat(), "title": e.title, "summary": e.summary,
                       "notes": group.get("notes") or group.get("observations") or ""})
    return BeforeVisit(address, measures, visits)
