"""Legal basis and retention of children's personal data.

**Legal basis.** The county, township and village staff process a child's data to carry out a
statutory duty (《个人信息保护法》第13条第1款第3项; the duties are those of 《未成年人保护法》
第81—83、92—94条 and 民发〔2019〕34号), which needs no consent — and must not depend on it, since
the guardian may be the one harming the child. A township that also relies on a guardian's
consent records who consented, when and how on the survey (:data:`LEGAL_BASES`; stored on the
child, :func:`jianhu.imports.screening.processing_basis`).

**Retention.** Personal data is kept no longer than the purpose needs (第19条); children's data
is sensitive (第28、31条). The purpose ends when the child is an adult and the work on them is
over. :func:`run` de-identifies a child when all of these hold (:class:`Policy`):

- the child has turned 18 (《未成年人保护法》第2条: the law protects those under 18);
- no case of the child is open, and none has a pending task (return visits after closure, 四（六）);
- the last case was closed, or for a child never taken on, the last survey was made, at least
  ``years_after_closure`` years ago — **the project's default of 5 years is a choice, not law**
  (long enough for a reopening or a later inquiry; the processing records of 第55—56条 are kept
  at least 3 years, and the audit trail's events stay, with the personal values removed).

De-identification replaces, for the child, guardians, survey and case records and the audit
trail's copies of them: names, citizen IDs, phones, addresses, birth dates (the child's keeps its
year, for aggregates) and every free-text field (narratives, notes, summaries); the reporter of a
harm is deleted. Codes, choices, dates of records, levels, categories and staff codes stay, so
counts and reports of past years stay right. Each child de-identified is an audit event; nothing
else changes (handbook: 儿童信息保护 → 保存期限).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from jianhu import audit
from jianhu.dates import age_on
from jianhu.db.models import (
    AuditEvent,
    Case,
    Child,
    ConfidentialRecord,
    FollowUp,
    FormRecord,
    Guardian,
)
from jianhu.forms import load_form
from jianhu.lifecycle import CLOSED
from jianhu.plugins import Host

#: Legal basis code → Chinese name and source.
LEGAL_BASES: dict[str, tuple[str, str]] = {
    "statutory_duty": ("履行法定职责", "《个人信息保护法》第13条第1款第3项"),
    "consent": ("监护人同意", "《个人信息保护法》第13条第1款第1项、第31条"),
}
#: What replaces a removed value.
REMOVED = "（已去标识）"
#: The roster-code pattern of the forms: staff codes are not the child's data and stay.
STAFF_CODE = "^[A-Za-z0-9_.-]{1,40}$"
#: Keys whose values are personal wherever they appear (records and audit copies).
PERSONAL_KEYS = frozenset({"name", "citizen_id", "phone", "address", "birth_date", "name_key",
                           "work_place", "description", "notes", "observations", "content",
                           "summary", "outcome", "confirmed_by", "consent_by", "filled_by",
                           "reviewer", "officer", "guardian_name", "guardian_citizen_id",
                           "guardian_phone", "relation", "note", "goals"})


@dataclass(frozen=True)
class Policy:
    """When a child's personal data is de-identified (see the module docstring for sources).

    Attributes:
        adult_age: the age after which the data is no longer needed for protection.
        years_after_closure: years after the last closure (or survey) before de-identifying.
    """

    adult_age: int = 18
    years_after_closure: int = 5


@dataclass
class Summary:
    """What :func:`run` did (or, with ``dry_run``, would do)."""

    children: int = 0
    records: int = 0
    audit_events: int = 0
    reporters: int = 0
    dry_run: bool = False
    case_numbers: list[str] = field(default_factory=list)


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def due(session: Session, on: dt.date, policy: Policy = Policy()) -> list[Child]:
    """The children whose retention has ended on ``on`` and who are not yet de-identified."""
    cutoff = _years_before(on, policy.years_after_closure)
    adults = select(Child).where(Child.deidentified_on.is_(None),
                                 Child.birth_date <= _years_before(on, policy.adult_age))
    out = []
    for child in session.scalars(adults):
        cases = session.scalars(select(Case).where(Case.child_id == child.id)).all()
        if any(c.status not in CLOSED for c in cases):
            continue
        if cases and session.scalar(select(func.count()).select_from(FollowUp).where(
                FollowUp.case_id.in_([c.id for c in cases]), FollowUp.status == "pending")):
            continue
        last = max((c.closed_on for c in cases if c.closed_on), default=None) if cases else \
            session.scalar(select(func.max(FormRecord.recorded_on)).where(
                FormRecord.subject_id == child.id))
        if last is not None and last <= cutoff and age_on(child.birth_date, on) >= policy.adult_age:
            out.append(child)
    return out


def scrub(value: Any, schema: Any, resolve: Any) -> Any:
    """``value`` (a record payload or part of it) with its personal values removed, guided by
    the form's JSON Schema: a free-text string is replaced, a choice, a date of a record, a
    number, a yes/no and a staff code stay; a personal key (:data:`PERSONAL_KEYS`) goes whatever
    its type."""
    if isinstance(schema, dict) and "$ref" in schema:
        schema = {**resolve(schema["$ref"]), **{k: v for k, v in schema.items() if k != "$ref"}}
    schema = schema if isinstance(schema, dict) else {}
    if isinstance(value, dict):
        props = schema.get("properties", {})
        return {k: (REMOVED if k in PERSONAL_KEYS and v not in (None, "", [])
                    and not isinstance(v, bool) else scrub(v, props.get(k), resolve))
                for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, schema.get("items"), resolve) for v in value]
    if isinstance(value, str):
        chosen = any(k in schema for k in ("oneOf", "anyOf", "enum", "const"))
        dated = schema.get("format") in ("date", "date-time")
        staff = schema.get("pattern") == STAFF_CODE
        return value if chosen or dated or staff else REMOVED
    return value


def _scrub_copy(values: dict[str, Any] | None) -> dict[str, Any] | None:
    """An audit event's before/after with its personal values removed."""
    if not values:
        return values
    return {k: (REMOVED if k in PERSONAL_KEYS and v is not None else v) for k, v in values.items()}


def deidentify(session: Session, host: Host, child: Child, *, actor: str, on: dt.date,
               summary: Summary) -> None:
    """Remove the personal data of ``child`` and everything about it (see the module docstring);
    audit it. Does not commit."""
    cases = session.scalars(select(Case).where(Case.child_id == child.id)).all()
    case_ids = [c.id for c in cases]
    subjects = [child.id, *case_ids]
    records = session.scalars(select(FormRecord).where(FormRecord.subject_id.in_(subjects))).all()
    for r in records:
        try:
            form = load_form(host, r.form_id)
            r.payload = scrub(r.payload, form.schema, form.resolve)
        except Exception:  # a form no longer installed: remove every personal key
            r.payload = scrub(r.payload, {}, lambda ref: {})
    summary.records += len(records)
    summary.reporters += session.execute(delete(ConfidentialRecord).where(
        ConfidentialRecord.record_id.in_([r.id for r in records]))).rowcount if records else 0
    guardians = session.scalars(select(Guardian).where(Guardian.child_id == child.id)).all()
    for g in guardians:
        g.name = g.citizen_id = g.phone = g.relation = None
        g.birth_date = None
    entities = [str(x) for x in [*subjects, *(g.id for g in guardians), *(r.id for r in records)]]
    for ev in session.scalars(select(AuditEvent).where(or_(
            AuditEvent.entity_id.in_(entities),
            AuditEvent.entity_id.in_([str(i) for i in case_ids])))):
        ev.before, ev.after = _scrub_copy(ev.before), _scrub_copy(ev.after)
        summary.audit_events += 1
    child.name, child.citizen_id, child.name_key = REMOVED, None, None
    child.birth_date = child.birth_date.replace(month=1, day=1)
    child.consent = {"removed": True} if child.consent else None
    child.deidentified_on = on
    summary.children += 1
    summary.case_numbers += [c.case_no for c in cases]
    audit.record(session, actor=actor, action="deidentify", entity_type="child",
                 entity_id=child.id, after={"on": on.isoformat(), "cases": [c.case_no for c in cases],
                                            "records": len(records)})


def run(session: Session, host: Host, *, on: dt.date, actor: str, policy: Policy = Policy(),
        dry_run: bool = False) -> Summary:
    """De-identify every child whose retention has ended on ``on`` (:func:`due`), all in the
    caller's transaction; commit unless ``dry_run`` (then roll back and only count).
    """
    summary = Summary(dry_run=dry_run)
    for child in due(session, on, policy):
        deidentify(session, host, child, actor=actor, on=on, summary=summary)
    if dry_run:
        session.rollback()
    else:
        session.commit()
    return summary


def basis_label(code: str) -> str:
    """Chinese name of a legal basis code."""
    return LEGAL_BASES.get(code, (code, ""))[0]

