"""The monthly statistics report 新安镇 sends to the county (儿童家庭监护干预工作月报表).

One row per village (村、社区) of 新安镇 that the workspace knows, then a 合计 row. Only counts: no
name, citizen ID, address or school (未保法 第103条; 个人信息保护法 第28、51条; handbook 领域规则 §5).

The period is the calendar month of the report date ``on``, from its 1st day up to ``on``
inclusive (local dates, Asia/Shanghai). To report a finished month, give its last day
(``jianhu report xinan-monthly --on 2026-10-31 ...``).

Figures per village (the column titles carry their header levels, joined by :data:`SEP`):

- **在办个案** (open cases) at the end of ``on``: opened on or before ``on`` and either still under
  intervention (:data:`jianhu.cases.OPEN_STATUSES`) or closed after ``on``. A case closed before
  ``on`` and reopened later counts as open (the case keeps no reopening date). Split by
  **风险等级** (红橙黄绿) as of ``on``: the level of the case's latest graded assessment dated on or
  before ``on``, as the core sets a case's level from its latest assessment
  (:func:`jianhu.assessment.grade`); 未评估 when there is none yet. And by **目标类别**
  (:data:`MAIN_CATEGORIES`; a child may be in several; 其他 = in none of the named ones, e.g. a
  case opened for a poor guardianship rating alone), from the case's current categories (the
  database keeps no history of them).
- **本月新开个案**: cases with ``opened_on`` in the period.
- **本月走访（人次）**: ``visit`` (随访) and ``return_visit`` (结案回访) records dated in the period.
- **逾期未办随访**: visit, re-assessment and return-visit tasks overdue at the end of ``on`` (due
  before ``on`` and not done by ``on``; handbook 领域规则 §7 "due on D is overdue from D+1").
- **强制报告（件）**: 本月向公安报告 = reports to the police made in the period (``police_report``
  records, and ``incident`` records reported at once, by the local date of ``reported_at``);
  逾期未报 = mandatory-report tasks overdue at the end of ``on`` (高检发〔2020〕9号 第2—4条:
  report immediately; the window is the township policy's ``mandatory_report_hours``).
- **本月结案**: ``closure`` records dated in the period.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from jianhu.cases import OPEN_STATUSES
from jianhu.dates import LOCAL_TZ, local_date
from jianhu.db.models import Assessment, Case, FollowUp, FormRecord, Township, Village
from jianhu.extensions import LEVELS, Column, Table
from jianhu.followups import is_overdue
from jianhu_xinan.policy import TOWNSHIP_CODE, TOWNSHIP_NAME

REPORT_NAME = "xinan-monthly"
REPORT_TITLE = f"{TOWNSHIP_NAME}儿童家庭监护干预工作月报表"
#: Who fills the report in (the town government, which leads the work: 新政发〔2016〕8号 四（一））.
REPORTING_UNIT = f"灌南县{TOWNSHIP_NAME}人民政府"
#: Separator of header levels inside a column title, e.g. ``"在办个案｜风险等级｜红"``.
SEP = "｜"

#: Main target groups of the county's form: ``(key, Chinese label, core category codes)``. A case
#: counts once in a group when it has any of the codes. Sources of the codes: see
#: :mod:`jianhu.default_plugins.categories` (国发〔2016〕13号, 国发〔2016〕36号, 民发〔2019〕62号).
MAIN_CATEGORIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("left_behind", "留守儿童", ("left_behind",)),
    ("migrant", "流动儿童", ("migrant",)),
    ("difficulty", "困境儿童", ("difficulty_poverty", "difficulty_disability",
                                 "difficulty_guardianship")),
    ("de_facto", "事实无人抚养儿童", ("de_facto_unsupported",)),
)
OTHER_CATEGORY = ("other", "其他")

#: Task kinds counted as follow-ups (定期访问、再评估、结案回访: 新政发〔2016〕8号 四（六））.
FOLLOWUP_KINDS: tuple[str, ...] = ("visit", "reassessment", "return_visit")
MANDATORY_KIND = "mandatory_report"


@dataclass(frozen=True)
class FormTable(Table):
    """A :class:`~jianhu.extensions.Table` with what a government form prints around the figures.

    Generic formats (csv, xlsx, json) use only the base fields; the ``xinan-monthly-xlsx`` format
    also prints these.

    Attributes:
        reporting_unit: 填报单位, e.g. ``"灌南县新安镇人民政府"``.
        period: the period in words, e.g. ``"2026年10月1日至10月31日"``.
        unit: 计量单位 printed as 单位：…, e.g. ``"人"``.
    """

    reporting_unit: str = ""
    period: str = ""
    unit: str = "人"


def month_period(on: dt.date) -> tuple[dt.date, dt.date]:
    """Return ``(first day of on's month, on)``: the period a report dated ``on`` covers."""
    return on.replace(day=1), on


def period_label(start: dt.date, end: dt.date) -> str:
    """Chinese period, e.g. ``"2026年10月1日至10月31日"`` (the year is written once)."""
    return f"{start.year}年{start.month}月{start.day}日至{end.month}月{end.day}日"


def end_of_day(on: dt.date) -> dt.datetime:
    """The last instant of local day ``on`` (Asia/Shanghai), as an aware datetime."""
    return dt.datetime.combine(on, dt.time.max, LOCAL_TZ)


def columns() -> tuple[Column, ...]:
    """The report's columns, header levels joined by :data:`SEP` in each title."""
    open_ = "在办个案"
    cols = [Column("no", "序号"), Column("village", "村（社区）"),
            Column("open_cases", f"{open_}{SEP}合计")]
    cols += [Column(f"level_{code}", f"{open_}{SEP}风险等级{SEP}{label}") for code, label in LEVELS]
    cols.append(Column("level_none", f"{open_}{SEP}风险等级{SEP}未评估"))
    cats = [*((key, label) for key, label, _ in MAIN_CATEGORIES), OTHER_CATEGORY]
    cols += [Column(f"cat_{key}", f"{open_}{SEP}目标类别{SEP}{label}") for key, label in cats]
    cols += [
        Column("new_cases", "本月新开个案"),
        Column("visits", f"本月走访（人次）{SEP}随访"),
        Column("return_visits", f"本月走访（人次）{SEP}结案回访"),
        Column("followups_overdue", "逾期未办随访"),
        Column("reports_filed", f"强制报告（件）{SEP}本月向公安报告"),
        Column("reports_overdue", f"强制报告（件）{SEP}逾期未报"),
        Column("closed", "本月结案"),
    ]
    return tuple(cols)


FIGURES: tuple[str, ...] = tuple(c.key for c in columns()[2:])
"""Keys of the numeric columns, in order."""


def main_categories(codes: Sequence[str]) -> list[str]:
    """Return the :data:`MAIN_CATEGORIES` keys a case with category ``codes`` counts in.

    Returns:
        the keys in table order, or ``["other"]`` when no main category applies.
    """
    have = set(codes)
    keys = [key for key, _, members in MAIN_CATEGORIES if have & set(members)]
    return keys or [OTHER_CATEGORY[0]]


def _villages(session: Session, township_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    """Villages of a township, by statistical code (when known) then name."""
    rows = session.execute(
        select(Village.id, Village.name, Village.code).where(Village.township_id == township_id)
    ).all()
    rows.sort(key=lambda r: (r.code is None, r.code or "", r.name))
    return [(r.id, r.name) for r in rows]


def _levels_on(session: Session, township_id: uuid.UUID, on: dt.date) -> dict[uuid.UUID, str]:
    """Each case's level as of ``on``: that of its latest graded assessment dated on or before ``on``
    (assessments of scales that do not grade have no level and are skipped)."""
    stmt = (select(Assessment.case_id, Assessment.level)
            .join(Case, Assessment.case_id == Case.id)
            .where(Case.township_id == township_id, Assessment.assessed_on <= on,
                   Assessment.level.is_not(None))
            .order_by(Assessment.assessed_on, Assessment.created_at))
    return {case_id: level for case_id, level in session.execute(stmt)}


def _case_figures(session: Session, township_id: uuid.UUID, start: dt.date, on: dt.date,
                  counts: Mapping[uuid.UUID, Counter]) -> None:
    """Add open cases by level and category, and new cases, to ``counts`` (by village id)."""
    open_at_end = and_(
        Case.opened_on <= on,
        or_(Case.status.in_(OPEN_STATUSES), and_(Case.closed_on.is_not(None), Case.closed_on > on)),
    )
    levels = _levels_on(session, township_id, on)
    stmt = (select(Case.id, Case.village_id, Case.categories)
            .where(Case.township_id == township_id, open_at_end))
    for case_id, village_id, cats in session.execute(stmt):
        c = counts[village_id]
        c["open_cases"] += 1
        c[f"level_{levels.get(case_id) or 'none'}"] += 1
        for key in main_categories(list(cats or ())):
            c[f"cat_{key}"] += 1
    new = (select(Case.village_id)
           .where(Case.township_id == township_id, Case.opened_on.between(start, on)))
    for (village_id,) in session.execute(new):
        counts[village_id]["new_cases"] += 1


def _record_figures(session: Session, township_id: uuid.UUID, start: dt.date, on: dt.date,
                    counts: Mapping[uuid.UUID, Counter]) -> None:
    """Add visits, return visits, closures and reports to the police made in the period."""
    by_form = {"visit": "visits", "return_visit": "return_visits", "closure": "closed",
               "police_report": "reports_filed"}
    on_case = and_(FormRecord.subject_type == "case", FormRecord.subject_id == Case.id)
    stmt = (select(Case.village_id, FormRecord.form_id)
            .join(Case, on_case)
            .where(Case.township_id == township_id, FormRecord.form_id.in_(tuple(by_form)),
                   FormRecord.recorded_on.between(start, on)))
    for village_id, form_id in session.execute(stmt):
        counts[village_id][by_form[form_id]] += 1
    # An incident reported to the police at once carries the report in its own "police" part;
    # its record date is the discovery date, so the report date is read from the payload.
    incidents = (select(Case.village_id, FormRecord.payload)
                 .join(Case, on_case)
                 .where(Case.township_id == township_id, FormRecord.form_id == "incident",
                        FormRecord.recorded_on <= on))
    for village_id, payload in session.execute(incidents):
        police = (payload or {}).get("police") or {}
        if "reported_at" not in police:
            continue
        reported_on = local_date(dt.datetime.fromisoformat(police["reported_at"]))
        if start <= reported_on <= on:
            counts[village_id]["reports_filed"] += 1


def _overdue_figures(session: Session, township_id: uuid.UUID, on: dt.date,
                     counts: Mapping[uuid.UUID, Counter]) -> None:
    """Add follow-ups and mandatory reports overdue at the end of local day ``on``.

    A task counts when :func:`jianhu.followups.is_overdue` says so at the last instant of ``on``
    and it was not done by ``on`` (still pending, or done on a later day). Cancelled tasks are
    left out: the database keeps no cancellation date.
    """
    not_done_by_on = or_(FollowUp.status == "pending",
                         and_(FollowUp.status == "done", FollowUp.done_on > on))
    stmt = (select(Case.village_id, FollowUp.kind, FollowUp.due_on, FollowUp.due_at)
            .join(Case, FollowUp.case_id == Case.id)
            .where(FollowUp.township_id == township_id, not_done_by_on, FollowUp.due_on <= on,
                   FollowUp.kind.in_((*FOLLOWUP_KINDS, MANDATORY_KIND))))
    now = end_of_day(on)
    for village_id, kind, due_on, due_at in session.execute(stmt):
        if is_overdue(due_on, due_at, on, now):
            key = "reports_overdue" if kind == MANDATORY_KIND else "followups_overdue"
            counts[village_id][key] += 1


def build_monthly(session: Session, host: Any, on: dt.date) -> FormTable:
    """Build 新安镇's monthly report for the month of local date ``on``.

    Args:
        session: an open session.
        host: the loaded plugins (unused: the main categories are fixed by the county's form).
        on: the report date; the period is the 1st of its month to ``on`` inclusive.

    Returns:
        a :class:`FormTable`: one row per village of 新安镇 (``no`` 1, 2, …), then the 合计 row
        (``no`` empty, ``village`` "合计") whose figures are the sums of the village rows. When the
        workspace has no 新安镇 yet, only the 合计 row, all zeros.

    Rules and their sources: see the module docstring.
    """
    start, end = month_period(on)
    cols = columns()
    town = session.scalar(select(Township).where(Township.code == TOWNSHIP_CODE))
    villages = _villages(session, town.id) if town is not None else []
    counts: dict[uuid.UUID, Counter] = {vid: Counter() for vid, _ in villages}
    if town is not None:
        _case_figures(session, town.id, start, end, counts)
        _record_figures(session, town.id, start, end, counts)
        _overdue_figures(session, town.id, end, counts)
    rows: list[dict[str, Any]] = []
    total: Counter = Counter()
    for i, (vid, name) in enumerate(villages, start=1):
        c = counts[vid]
        rows.append({"no": i, "village": name, **{k: c[k] for k in FIGURES}})
        total.update(c)
    rows.append({"no": "", "village": "合计", **{k: total[k] for k in FIGURES}})
    period = period_label(start, end)
    return FormTable(
        title=f"{REPORT_TITLE}（{start.year}年{start.month}月）",
        columns=cols,
        rows=rows,
        notes=(
            f"统计时段：{period}（北京时间）；在办个案、逾期数为{end.month}月{end.day}日日终状态。",
            "风险等级为截至统计截止日最近一次评估的等级；目标类别为制表时个案的最新分类，"
            "一名儿童可同时属于多个目标类别，「其他」为不属于以上类别的在办个案。",
            "走访按人次计，强制报告按件计，其余按人计。",
            "本表只含人数，不含姓名、身份证号、住址、学校等个人信息。",
        ),
        reporting_unit=REPORTING_UNIT,
        period=period,
        unit="人",
    )
