"""Who a child is, and which township holds the child's record.

The identity of a child is the citizen ID, else name + birth date + village. A child's record is
held by the township and village that registered the child; only an accepted transfer
(:mod:`jianhu.transfers`) moves it (handbook: 儿童身份与个案归属).

Every write that finds a stored child by identity — the survey import and the web survey form, the
assessment import, the records import — asks :func:`conflict` before it touches the child. A match
held outside the actor's scope (:meth:`jianhu.scope.Scope.holds`), or held in another township or
village than the row names, is a row error: the row writes nothing. When the holder is outside the
actor's scope an alert (:class:`~jianhu.db.models.DuplicateAlert`, ``held_elsewhere``) goes to the
county and the holding township, with an audit event; :func:`report` writes it even though the
write itself is rolled back. The message is the same in a dry run, so a dry run reveals nothing a
real run would not.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, insert, select
from sqlalchemy.orm import Session

from jianhu import audit
from jianhu.db.lookup import KeyLookup
from jianhu.db.models import Child, DuplicateAlert, Township, Village
from jianhu.db.rls import across_townships
from jianhu.scope import Scope, current

HELD_ELSEWHERE = "该儿童已在其他乡镇登记，不能在本乡镇修改；已通知县级管理员核实"
HELD_OTHER_VILLAGE = "该儿童已在本乡镇其他村（社区）登记，不能在本村修改；已通知乡镇督导员和县级管理员核实"
MOVED = ("该儿童已在{place}登记；儿童搬迁须办理个案转移（转出方申请、接收方督导员同意），"
         "不能用调查表改变所在地")


@dataclass(frozen=True)
class Holder:
    """Where a registered child's record is held."""

    child_id: uuid.UUID
    township_id: uuid.UUID
    village_id: uuid.UUID


def holders(session: Session, citizen_ids: list[str]) -> dict[str, Holder]:
    """Who holds each of these citizen IDs, across every township (a step that must cross
    townships: :func:`jianhu.db.rls.across_townships`). Only ids come back, never names."""
    found: dict[str, Holder] = {}
    ids = sorted(set(citizen_ids))
    with across_townships(session) as conn:
        for start in range(0, len(ids), 500):
            stmt = select(Child.citizen_id, Child.id, Child.township_id, Child.village_id).where(
                Child.citizen_id.in_(ids[start:start + 500]))
            for row in conn.execute(stmt):
                found[row.citizen_id] = Holder(row.id, row.township_id, row.village_id)
    return found


def conflict(session: Session, holder: Holder, township_id: uuid.UUID | None,
             village_id: uuid.UUID | None) -> tuple[str, bool] | None:
    """The problem with a write, naming ``township_id`` / ``village_id``, to the child ``holder``
    holds: ``(message, alert)`` — ``alert`` when the holder is outside the actor's scope — or
    ``None`` when the write may go ahead. ``None`` for the township or village means "as held"."""
    scope: Scope | None = current(session)
    if scope is not None and not scope.holds(holder.township_id, holder.village_id):
        same_town = scope.township_id == holder.township_id
        return (HELD_OTHER_VILLAGE if same_town else HELD_ELSEWHERE), True
    if township_id not in (None, holder.township_id) or village_id not in (None, holder.village_id):
        town, village = session.execute(
            select(Township.name, Village.name).join(Village, Village.township_id == Township.id)
            .where(Village.id == holder.village_id)).one()
        return MOVED.format(place=town + village), False
    return None


def alert_row(session: Session, holder: Holder, *, actor: str, source: str,
              row: int | None, from_township_id: uuid.UUID | None) -> dict[str, Any]:
    """A ``held_elsewhere`` alert for :func:`report`."""
    scope = current(session)
    return {"id": uuid.uuid4(), "kind": "held_elsewhere", "child_id": holder.child_id,
            "township_id": holder.township_id,
            "from_township_id": scope.township_id if scope and scope.township_id else
            from_township_id, "actor": actor, "source": source[:200], "row": row,
            "status": "open", "created_at": dt.datetime.now(dt.UTC)}


def report(session: Session, alerts: list[dict[str, Any]]) -> None:
    """Write ``held_elsewhere`` alerts and their audit events in a transaction of their own and
    commit (the refused write has been rolled back; the attempt must stay on record, a dry run's
    too). A child already alerted from the same township gets no second open alert."""
    if not alerts:
        return
    session.rollback()
    with across_townships(session) as conn:  # an attempt repeated (a dry run, then the real
        open_ = set(conn.execute(select(  # run) is one alert, and one audit event per try
            DuplicateAlert.child_id, DuplicateAlert.from_township_id).where(
            DuplicateAlert.kind == "held_elsewhere", DuplicateAlert.status == "open",
            DuplicateAlert.child_id.in_({a["child_id"] for a in alerts}))).all())
    new = [a for a in alerts if (a["child_id"], a["from_township_id"]) not in open_]
    if new:
        session.execute(insert(DuplicateAlert.__table__), new)
    audit.record_many(session, [audit.event_row(
        actor=a["actor"], action="refused", entity_type="child", entity_id=a["child_id"],
        after={"alert": str(a["id"]), "reason": "held_elsewhere"},
        context={"source": a["source"], "row": a["row"],
                 "from_township": str(a["from_township_id"]) if a["from_township_id"] else None})
        for a in alerts])
    session.commit()


FOUND_COLUMNS = (Child.id, Child.citizen_id, Child.township_id, Child.village_id, Child.name,
                 Child.sex, Child.birth_date, Child.name_key, Child.legal_basis, Child.consent,
                 Child.version)
_LOOKUPS: dict[Any, KeyLookup] = {}


def _by_identity(key: Any, limit: Any) -> KeyLookup:
    """The lookup of children by village, name and birth date within a scope (``key`` names the
    scope: its statements are compiled once; :mod:`jianhu.db.lookup`)."""
    if key not in _LOOKUPS:
        if len(_LOOKUPS) > 64:
            _LOOKUPS.clear()
        _LOOKUPS[key] = KeyLookup(limit(select(*FOUND_COLUMNS)), lambda p: and_(
            Child.village_id == p("v"), Child.name == p("n"), Child.birth_date == p("b")))
    return _LOOKUPS[key]


def find_children(session: Session, batch: list[dict[str, Any]]) -> dict[tuple, Any]:
    """Find the stored children in the actor's scope for a batch, by citizen ID, else name +
    birth date + village.

    Args:
        session: an open session (its scope, if any, restricts the search).
        batch: dicts with ``citizen_id`` (or ``None``), ``village_id``, ``name``, ``birth_date``.

    Returns:
        ``{("id", citizen_id) | ("nv", village_id, name, birth_date): row}`` for the children
        found; rows have ``id, citizen_id, township_id, village_id, name, sex, birth_date,
        name_key, legal_basis, consent, version``.
        A row with an ID that matches no stored ID also matches a stored child without an ID and
        the same name, birth date and village (a corrected file that adds the ID).
    """
    scope = current(session)
    limit = scope.children if scope is not None else (lambda stmt: stmt)
    ids = [c["citizen_id"] for c in batch if c["citizen_id"]]
    found: dict[tuple, Any] = {}
    if ids:
        for row in session.execute(limit(select(*FOUND_COLUMNS).where(Child.citizen_id.in_(ids)))):
            found["id", row.citizen_id] = row
    triples = [{"v": c["village_id"], "n": c["name"], "b": c["birth_date"]} for c in batch
               if not c["citizen_id"] or ("id", c["citizen_id"]) not in found]
    if triples:
        by_triple: dict[tuple, Any] = {}
        key = None if scope is None else (scope.township_id, scope.village_id, scope.assigned_only,
                                          scope.actor.code if scope.assigned_only else None)
        lookup = _by_identity(key, limit)
        for r in lookup.rows(session, triples):  # a child registered without an ID first
            key = (r.village_id, r.name, r.birth_date)
            if key not in by_triple or r.citizen_id is None:
                by_triple[key] = r
        for c in batch:
            r = by_triple.get((c["village_id"], c["name"], c["birth_date"]))
            if r is None:
                continue
            if not c["citizen_id"]:
                found["nv", c["village_id"], c["name"], c["birth_date"]] = r
            elif r.citizen_id is None and ("id", c["citizen_id"]) not in found:
                found["id", c["citizen_id"]] = r
    return found
