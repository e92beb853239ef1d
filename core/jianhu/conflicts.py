"""Edits made from an older copy: held for a supervisor, never applied silently.

A survey filled in on a device carries the version of the child it was made from (the offline
copy). When the stored child has changed since and the survey would change it again, the survey
is not applied: it is kept whole here with what it would change, and a township supervisor
decides on the 修改冲突 page — apply it (recorded as a re-survey by the supervisor) or keep the
stored values. Nothing is merged field by field: a child's risk level, guardians and placement
follow from the whole survey (handbook 开发者 离线采集 §冲突). New records and the append-only
records of a case (visits, services, incidents) never conflict.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jianhu import audit
from jianhu.dates import now_utc
from jianhu.db.models import Child, EditConflict, FormRecord
from jianhu.errors import JianhuError
from jianhu.forms import Form, load_form
from jianhu.imports.screening import StaleEdit, record_survey
from jianhu.plugins import Host
from jianhu.roles import Actor
from jianhu.scope import Scope


def changes(form: Form, stored: dict[str, Any] | None, proposed: dict[str, Any]
            ) -> list[dict[str, str]]:
    """``[{"field", "stored", "proposed"}]``: the answers of the survey that differ from the
    child's latest stored survey, with Chinese titles and labels."""
    stored = stored or {}
    out = []
    for f in form.fields:
        old = (stored.get(f.group) or {}).get(f.key)
        new = (proposed.get(f.group) or {}).get(f.key)
        if old != new:
            out.append({"field": f.column, "stored": f.label(old), "proposed": f.label(new)})
    return out


def hold(session: Session, host: Host, stale: StaleEdit, doc: dict[str, Any], base_version: int,
         actor: Actor) -> EditConflict:
    """Keep a stale survey as an open conflict (in the caller's transaction), with what it would
    change against the child's latest survey and an audit event."""
    form = load_form(host, "screening")
    latest = session.scalar(select(FormRecord.payload).where(
        FormRecord.subject_type == "child", FormRecord.subject_id == stale.child_id,
        FormRecord.form_id == form.id).order_by(FormRecord.created_at.desc()).limit(1))
    conflict = EditConflict(township_id=stale.township_id, child_id=stale.child_id,
                            form_id=form.id, payload=doc, base_version=base_version,
                            stored_version=stale.stored_version,
                            changes=changes(form, latest, doc), submitted_by=actor.code)
    session.add(conflict)
    session.flush()
    audit.record(session, actor=actor.code, action="hold_conflict", entity_type="child",
                 entity_id=stale.child_id, after={"conflict": str(conflict.id),
                                                  "base_version": base_version,
                                                  "stored_version": stale.stored_version})
    return conflict


def open_conflicts(session: Session, scope: Scope) -> list[EditConflict]:
    """The open conflicts of the actor's township (every township's for county staff)."""
    stmt = select(EditConflict).where(EditConflict.status == "open")
    if scope.township_id is not None:
        stmt = stmt.where(EditConflict.township_id == scope.township_id)
    return list(session.scalars(stmt.order_by(EditConflict.submitted_at)))


def resolve(session: Session, host: Host, scope: Scope, conflict_id: str, *, apply: bool,
            actor: Actor) -> EditConflict:
    """Decide an open conflict and commit: ``apply`` records the held survey now (as a re-survey
    by ``actor``, with every check of a survey); otherwise the stored values stay.

    Raises:
        JianhuError: no such open conflict in scope, or the actor may not resolve conflicts.
        ImportRejected: the held survey no longer passes the checks (nothing is written).
    """
    if not actor.can("conflicts:resolve"):
        raise JianhuError("只有乡镇督导员可以处理修改冲突")
    try:
        cid = uuid.UUID(conflict_id)
    except ValueError:
        raise JianhuError("没有这个修改冲突") from None
    conflict = next((c for c in open_conflicts(session, scope) if c.id == cid), None)
    if conflict is None:
        raise JianhuError("没有这个修改冲突（或已处理）")
    if apply:
        version = session.scalar(select(Child.version).where(Child.id == conflict.child_id))
        if version != conflict.stored_version:
            raise JianhuError(f"该儿童的信息在此冲突之后又有修改（现为版本 {version}）：不能直接采用，"
                              "请保留现有信息，需要时请采集人重新调查")
    conflict.status = "applied" if apply else "dismissed"
    conflict.resolved_by, conflict.resolved_at = actor.code, now_utc()
    audit.record(session, actor=actor.code, action="resolve_conflict", entity_type="child",
                 entity_id=conflict.child_id, after={"conflict": str(conflict.id),
                                                     "decision": conflict.status})
    if apply:
        record_survey(session, host, dict(conflict.payload), actor=actor.code)  # commits
    else:
        session.commit()
    return conflict
