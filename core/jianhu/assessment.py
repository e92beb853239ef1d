"""Grading: applying a scale to a case's answer sheet, setting its level, scheduling follow-ups.

The assessment step of 新政发〔2016〕8号 四(三) (综合测评 → 家庭监护评估报告 → 分级分类干预).
Only scales registered with ``sets_level=True`` may set a case's level (handbook 领域规则 §4: a needs
profile such as the CSI must never set it).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from jianhu import audit
from jianhu.dates import local_today, now_utc
from jianhu.db.models import Assessment, Case, Township
from jianhu.errors import JianhuError
from jianhu.extensions import LEVEL_RANK, CaseEvent, Scale, ScaleResult
from jianhu.followups import schedule_after_grading
from jianhu.forms import load_form
from jianhu.lifecycle import next_state, transition
from jianhu.plugins import Host

DEFAULT_SCALE = "jianhu-default"


@dataclass(frozen=True)
class Grading:
    """The outcome of grading one answer sheet.

    Attributes:
        case_no: the case graded.
        assessment_id: the stored assessment.
        result: the scale's :class:`~jianhu.extensions.ScaleResult`.
        level_before: the case's level before (``None`` if never graded).
        level_after: the case's level now (unchanged when the sheet is older than the latest).
        created: ``False`` when an assessment of the same case, scale and date was updated.
    """

    case_no: str
    assessment_id: uuid.UUID
    result: ScaleResult
    level_before: str | None
    level_after: str | None
    created: bool
    suggestions: tuple[str, ...] = ()


def find_scale(host: Host, name: str) -> Scale:
    """Return the installed scale ``name``.

    Raises:
        JianhuError: no such scale (the message lists the installed ones).
    """
    scale = host.scales.get(name)
    if scale is None:
        raise JianhuError(f"没有名为「{name}」的量表；已安装：{'、'.join(sorted(host.scales))}")
    return scale


def level_scale(host: Host, name: str = DEFAULT_SCALE) -> Scale:
    """Return the installed scale ``name``, refusing one that may not set a level.

    Raises:
        JianhuError: no such scale, or the scale is a needs profile (``sets_level=False``).
    """
    scale = find_scale(host, name)
    if not scale.sets_level:
        raise JianhuError(f"量表「{scale.title}」不能用于确定风险等级（它是需求评估工具）")
    return scale


#: The assessments of a case with a scale, by date (:func:`grade`), built once.
_ASSESSED = select(Assessment.assessed_on, Assessment.id).where(
    Assessment.case_id == bindparam("case_id"), Assessment.scale == bindparam("scale"))


def grade(
    session: Session,
    host: Host,
    case: Case,
    answers: Mapping[str, Any],
    *,
    actor: str,
    scale: Scale | None = None,
    context: Mapping[str, Any] | None = None,
    validate: bool = True,
) -> Grading:
    """Score ``answers`` for ``case``, store the assessment, re-grade and reschedule the case.

    A scale registered with ``sets_level=False`` (SDQ, CSI: handbook 领域规则 §4) is scored and stored
    with its bands, and plugins' plan suggestions are returned, but the case's level, state and
    follow-ups are left as they are.

    An assessment of the same case, scale and date replaces the earlier one (re-importing a
    sheet does not add a second). The newest assessment by date sets the case's level and moves
    the case by the ``grade`` event (registered → assessed, intervention → review, see
    :mod:`jianhu.lifecycle`); follow-ups are rescheduled from the assessment date
    (see :func:`jianhu.followups.schedule_after_grading`). Everything is audited and a
    ``level_changed`` case event is emitted when the level changes. Does not commit.

    Args:
        session: the session of the change.
        host: loaded plugins (scale, form, follow-up policy, case events).
        case: the case graded.
        answers: the answer-sheet payload (``assessment.date``, ``assessment.assessor``,
            ``emergency``, ``items``).
        actor: who records it.
        scale: the scale (default: the default scale).
        context: audit context (e.g. file and row).
        validate: check ``answers`` against the scale's form first.

    Raises:
        JianhuError: the answers fail the form (Chinese list of problems) or the assessment date
            is in the future or before the case was opened.
        TransitionRefused: the case's state does not allow grading (closed cases are reopened
            by a return visit or harm report first).
    """
    scale = scale or level_scale(host)
    form = load_form(host, scale.form_id)
    if validate:
        form.validate(answers)
    assessed_on = dt.date.fromisoformat(answers["assessment"]["date"])
    if assessed_on > local_today():
        raise JianhuError(f"评估日期 {assessed_on} 晚于今天")
    if assessed_on < case.opened_on:
        raise JianhuError(f"评估日期 {assessed_on} 早于开案日期 {case.opened_on}")
    next_state(case, "grade")
    result = scale.score(answers)
    now = now_utc()
    values = {
        "scale_version": scale.version, "form_version": form.version,
        "assessor": answers["assessment"]["assessor"], "answers": dict(answers),
        "scores": dict(result.scores), "total": result.total, "level": result.level,
        "emergency": list(result.emergency), "bands": dict(result.bands) or None,
    }
    # The dates the case was assessed on with this scale: the one of the same date is replaced,
    # and the newest sets the level (one statement for both). Assessments are flushed as soon as
    # they are stored (below), so this reads without flushing the session's other changes: they
    # are flushed with this assessment, once.
    with session.no_autoflush:
        dates = dict(session.execute(_ASSESSED, {"case_id": case.id, "scale": scale.name}).all())
    existing = session.get(Assessment, dates[assessed_on]) if assessed_on in dates else None
    if existing is None:
        record = Assessment(id=uuid.uuid4(), case_id=case.id, scale=scale.name,
                            assessed_on=assessed_on, created_at=now, **values)
        session.add(record)
        audit.record(session, actor=actor, action="create", entity_type="assessment",
                     entity_id=record.id, after={"case_no": case.case_no, "scale": scale.name,
                     "assessed_on": assessed_on, "total": result.total, "level": result.level,
                     "emergency": list(result.emergency)}, context=context)
    else:
        record = existing
        before = {k: getattr(record, k) for k in values}
        for k, v in values.items():
            setattr(record, k, v)
        old, new = audit.diff(before, values)
        audit.record(session, actor=actor, action="update", entity_type="assessment",
                     entity_id=record.id, before=old, after=new, context=context)
    session.flush()

    level_before = case.level
    if not scale.sets_level:  # a needs profile or screening instrument: recorded, never grades
        return Grading(case.case_no, record.id, result, level_before, level_before,
                       existing is None, tuple(host.plan_suggestions(scale.name, result)))
    if assessed_on >= max(dates, default=assessed_on):
        township = session.get(Township, case.township_id)
        case.level = result.level
        case.updated_at = now
        audit.record(session, actor=actor, action="grade", entity_type="case", entity_id=case.id,
                     before={"level": level_before}, after={"level": case.level},
                     context=context)
        transition(session, case, "grade", actor=actor, on=assessed_on, context=context)
        schedule_after_grading(
            session, case, host.followup_policy(township.code), assessed_on=assessed_on,
            assessment_id=record.id, emergency=bool(result.emergency), actor=actor, now=now,
            reporter=actor)
        if level_before != case.level:
            host.emit(session, CaseEvent(
                kind="level_changed", case_id=str(case.id), case_no=case.case_no,
                township_code=township.code, at=now,
                data={"from": level_before, "to": case.level}))
    return Grading(case.case_no, record.id, result, level_before, case.level, existing is None)


def raise_level(session: Session, host: Host, case: Case, level: str, *, reason: str, actor: str,
                now: dt.datetime | None = None) -> bool:
    """Raise ``case`` to at least ``level`` (never lower it), with ``reason`` in the level history.

    Used when the case learns of danger outside an assessment: a harm report (新政发〔2016〕8号
    四（五））, or a survey showing a situation of 未保法 Art 92 at screening. The next assessment
    sets the level again from its scores. Does not commit.

    Returns:
        whether the level changed.
    """
    before = case.level
    if before is not None and LEVEL_RANK[before] <= LEVEL_RANK[level]:
        return False
    set_level(session, host, case, level, reason=reason, actor=actor, now=now)
    return True


def set_level(session: Session, host: Host, case: Case, level: str, *, reason: str, actor: str,
              now: dt.datetime | None = None) -> None:
    """Set ``case``'s level to ``level`` with ``reason`` in the level history (a ``grade`` audit
    event) and emit ``level_changed``. Does not commit."""
    before = case.level
    now = now or now_utc()
    case.level = level
    case.updated_at = now
    audit.record(session, actor=actor, action="grade", entity_type="case", entity_id=case.id,
                 before={"level": before}, after={"level": level, "reason": reason})
    township = session.get(Township, case.township_id)
    host.emit(session, CaseEvent(kind="level_changed", case_id=str(case.id), case_no=case.case_no,
                                 township_code=township.code, at=now,
                                 data={"from": before, "to": level, "reason": reason}))
