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

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jianhu import audit
from jianhu.dates import now_utc
from jianhu.db.models import EditConflict, Township, Village
from jianhu.errors import JianhuError
from jianhu.imports.screening import StaleEdit, record_survey
from jianhu.plugins import Host
from jianhu.roles import Actor
from jianhu.scope import Scope

#: A child's stored column → the Chinese name shown on the conflict page.
FIELD_LABELS = {"name": "姓名", "sex": "性别", "birth_date": "出生日期", "citizen_id": "身份证号",
                "township_id": "乡镇", "village_id": "村（社区）", "legal_basis": "处理依据",
                "consent": "同意情况", "survey_hash": "调查内容（监护人、家庭情况等）"}


def _shown(session: Session, column: str, value: Any) -> str:
    if value is None:
        return ""
    if column == "village_id":
        return session.scalar(select(Village.name).where(Village.id == value)) or ""
    if column == "township_id":
        return session.scalar(select(Township.name).where(Township.id == value)) or ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def hold(session: Session, stale: StaleEdit, doc: dict[str, Any], base_version: int,
         actor: Actor) -> EditConflict:
    """Keep a stale survey as an open conflict (in the caller's transaction), with an audit
    event. The child's name_key is not shown; the survey's other answers are one line."""
    changes = [{"field": FIELD_LABELS[k], "stored": _shown(session, k, stale.before.get(k)),
                "proposed": _shown(session, k, v)}
               for k, v in stale.after.items() if k in FIELD_LABELS and k != "survey_hash"]
    if not changes:
        changes = [{"field": FIELD_LABELS["survey_hash"], "stored": "", "proposed": "已修改"}]
    conflict = EditConflict(township_id=stale.township_id, child_id=stale.child_id,
                            form_id="screening", payload=doc, base_version=base_version,
                            stored_version=stale.stored_version, changes=changes,
                            submitted_by=actor.code)
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
