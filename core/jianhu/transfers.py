"""Transfers: when a family moves, the child's record moves with it.

A caseworker of the side that holds the case asks for a transfer to another township or village
(:func:`request`); a supervisor of the receiving side accepts or refuses it (:func:`decide`);
moving village inside one township is the same, with that township's supervisor deciding, and a
request made by someone who may decide it is applied at once (handbook: 个案转移).

On acceptance the child, every case of the child, all their tasks (open and done — the
return-visit plan and scheduled visits included) and approvals move to the receiving township
and village, so its staff read the whole history and documents. Open tasks owned by a named
person go back to their role for the receiving side to assign, and service providers outside the
receiving township stop seeing the case. The sending side keeps the transfer itself (who, when,
where to) as a read-only trace. Every step is audited.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.orm import Session

from jianhu import audit
from jianhu.db.models import (
    Approval,
    Case,
    CaseAssignment,
    Child,
    DuplicateAlert,
    FollowUp,
    Person,
    Township,
    Transfer,
    Village,
)
from jianhu.db.rls import across_townships
from jianhu.errors import JianhuError
from jianhu.forms.fields import fold
from jianhu.roles import Actor
from jianhu.scope import Scope

STATUS_LABELS = {"pending": "待接收", "accepted": "已接收", "refused": "已退回"}
DECISIONS = {"accept": True, "refuse": False}
#: The village a child is registered under when the receiving side does not yet know it.
UNKNOWN_VILLAGE = "待确定村（社区）"


@dataclass(frozen=True)
class TransferView:
    """One transfer as listed: ids, case number, places by name, status."""

    id: int
    case_no: str
    from_place: str
    to_place: str
    reason: str
    requested_by: str
    requested_at: dt.datetime
    status: str
    status_label: str
    decided_by: str | None
    decision_note: str | None
    to_township_id: uuid.UUID

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "requested_at": self.requested_at.isoformat(),
                "to_township_id": str(self.to_township_id)}


def _place(session: Session, text: str, case: Case) -> tuple[Township, uuid.UUID | None]:
    """The township and (optional) village ``text`` names: a 12-digit township code, a township
    name, 「乡镇/村」, or a village name of the case's own township."""
    text = text.strip().replace("／", "/")
    towns = list(session.execute(select(Township)).scalars())
    if "/" in text:
        town_name, village_name = (p.strip() for p in text.split("/", 1))
    else:
        town_name, village_name = text, ""
    if not town_name:
        raise JianhuError("请写明接收方：乡镇编号或名称，或「乡镇/村」，或本乡镇的村名")
    town = next((t for t in towns if town_name in (t.code, t.code[:9])
                 or fold(t.name) == fold(town_name)), None)
    if town is None and not village_name and town_name.isdigit():
        raise JianhuError(f"「{town_name}」不是本县的乡镇编号")
    if town is None and not village_name:
        town = next(t for t in towns if t.id == case.township_id)
        village_name = text
    if town is None:
        raise JianhuError(f"「{town_name}」不是本县的乡镇（可填乡镇编号、乡镇名，或「乡镇/村」）")
    if not village_name:
        return town, None
    with across_townships(session) as conn:  # another township's village names
        village = next((vid for vid, name in conn.execute(select(Village.id, Village.name).where(
            Village.township_id == town.id)) if fold(name) == fold(village_name)), None)
    if village is None:
        raise JianhuError(f"{town.name}没有登记过「{village_name}」（可只填乡镇，由接收方确定村）")
    return town, village


def may_decide(actor: Actor, scope: Scope, to_township_id: uuid.UUID) -> bool:
    """A supervisor of the receiving township (or the county / the local administrator)."""
    return actor.can("transfer:decide") and scope.township_id in (None, to_township_id)


def request(session: Session, actor: Actor, scope: Scope, case_no: str, to: str,
            reason: str) -> Transfer:
    """Ask to move the case ``case_no`` (and its child) to ``to``; applied at once when the
    actor may decide it (the request is then committed first). Otherwise does not commit.

    Raises:
        JianhuError: case not in scope, not allowed, no reason, same place, or already pending.
    """
    actor.require("transfer:request")
    case = scope.find_case(session, case_no)
    if not reason.strip():
        raise JianhuError("请写明转移原因（如：随父母迁居）")
    if len(reason.strip()) > 500:
        raise JianhuError(f"转移原因不超过500字（现有{len(reason.strip())}字）")
    town, village = _place(session, to, case)
    if town.id == case.township_id and village in (None, case.village_id):
        raise JianhuError("转入地与个案现在所在地相同")
    if session.scalar(select(Transfer.id).where(Transfer.case_id == case.id,
                                                Transfer.status == "pending")):
        raise JianhuError(f"个案 {case_no} 已有待接收的转移申请")
    transfer = Transfer(case_id=case.id, case_no=case.case_no, from_township_id=case.township_id,
                        from_village_id=case.village_id, to_township_id=town.id,
                        to_village_id=village, reason=reason.strip(),
                        requested_by=actor.code, status="pending")
    session.add(transfer)
    session.flush()
    audit.record(session, actor=actor.code, action="transfer_request", entity_type="case",
                 entity_id=case.id, after={"transfer": transfer.id, "to_township": town.code,
                                           "to_village": str(transfer.to_village_id or "")})
    if may_decide(actor, scope, town.id):
        session.commit()  # the move runs on its own connection (see decide), which must see it
        decide(session, actor, scope, transfer.id, accept=True)
    return transfer


def _visible(scope: Scope) -> Any:
    """Transfers the scope sees: from or to its township (or village)."""
    conds = []
    if scope.village_id is not None:
        conds = [or_(Transfer.from_village_id == scope.village_id,
                     Transfer.to_village_id == scope.village_id)]
    elif scope.township_id is not None:
        conds = [or_(Transfer.from_township_id == scope.township_id,
                     Transfer.to_township_id == scope.township_id)]
    return conds


def decide(session: Session, actor: Actor, scope: Scope, transfer_id: int, *, accept: bool,
           village: str | None = None, note: str = "") -> Transfer:
    """Accept (and move) or refuse a pending transfer. Does not commit.

    Args:
        village: on acceptance, the receiving village's name when the request named none (else
            the child is registered under :data:`UNKNOWN_VILLAGE` until a village move).

    Raises:
        JianhuError: no such pending transfer in scope, or the actor may not decide it.
    """
    transfer = session.scalar(select(Transfer).where(
        Transfer.id == transfer_id, *_visible(scope))) if 0 < transfer_id < 2**31 else None
    if transfer is None:
        raise JianhuError(f"没有转移申请 {transfer_id}")
    if transfer.status != "pending":
        raise JianhuError(f"转移申请 {transfer_id} {STATUS_LABELS[transfer.status]}")
    if len(note.strip()) > 500:
        raise JianhuError(f"备注不超过500字（现有{len(note.strip())}字）")
    if not may_decide(actor, scope, transfer.to_township_id):
        raise JianhuError("只有接收方乡镇的儿童督导员可以接收或退回转移申请")
    if not accept:
        if not note.strip():
            raise JianhuError("退回转移申请须写明理由")
        _close(session, actor, transfer, "refused", note)
        return transfer
    with across_townships(session) as conn:
        if village and village.strip():  # the receiving supervisor knows best
            to_village = _village(conn, actor, transfer.to_township_id, village, create=False)
        else:
            to_village = transfer.to_village_id or _village(conn, actor, transfer.to_township_id,
                                                            UNKNOWN_VILLAGE, create=True)
        done = conn.execute(update(Transfer).where(Transfer.id == transfer.id,
                                                   Transfer.status == "pending").values(
            status="accepted", decided_by=actor.code, decided_at=dt.datetime.now(dt.UTC),
            to_village_id=to_village, decision_note=note.strip() or None))
        if done.rowcount != 1:
            raise JianhuError(f"转移申请 {transfer_id} 已由他人处理")
        _move(conn, actor, transfer, to_village)
    session.expire_all()
    return session.get(Transfer, transfer.id) or transfer


def awaits_village(session: Session, transfer: Transfer) -> bool:
    """Whether an accepted transfer left the child under :data:`UNKNOWN_VILLAGE`."""
    return transfer.status == "accepted" and session.scalar(select(Village.name).where(
        Village.id == transfer.to_village_id)) == UNKNOWN_VILLAGE


def _close(session: Session, actor: Actor, transfer: Transfer, status: str, note: str) -> None:
    transfer.status, transfer.decided_by = status, actor.code
    transfer.decided_at, transfer.decision_note = dt.datetime.now(dt.UTC), note.strip()
    audit.record(session, actor=actor.code, action=f"transfer_{status}", entity_type="case",
                 entity_id=transfer.case_id, after={"transfer": transfer.id, "note": note})


def _village(conn: Any, actor: Actor, township_id: uuid.UUID, name: str, *,
             create: bool) -> uuid.UUID:
    """The id of the receiving township's village ``name`` (registered when new and
    ``create``; else an unknown name is refused)."""
    for vid, vname in conn.execute(select(Village.id, Village.name).where(
            Village.township_id == township_id)):
        if fold(vname) == fold(name):
            return vid
    if not create:
        town = conn.scalar(select(Township.name).where(Township.id == township_id))
        raise JianhuError(f"{town}没有登记过「{name.strip()}」：请核对村名，或不填村名，"
                          f"先登记在「{UNKNOWN_VILLAGE}」")
    vid = uuid.uuid4()
    conn.execute(insert(Village.__table__).values(id=vid, township_id=township_id,
                                                  name=name.strip()))
    audit.record_many(conn, [audit.event_row(actor=actor.code, action="create",
                                             entity_type="village", entity_id=vid,
                                             after={"name": name.strip()})])
    return vid


def _move(conn: Any, actor: Actor, transfer: Transfer, village_id: uuid.UUID) -> None:
    """Move the child, the child's cases, their tasks and approvals (see the module)."""
    child_id = conn.scalar(select(Case.child_id).where(Case.id == transfer.case_id))
    case_ids = list(conn.scalars(select(Case.id).where(Case.child_id == child_id)))
    town = transfer.to_township_id
    now = dt.datetime.now(dt.UTC)
    conn.execute(update(Child).where(Child.id == child_id).values(
        township_id=town, village_id=village_id, updated_at=now, version=Child.version + 1))
    conn.execute(update(Case).where(Case.id.in_(case_ids)).values(
        township_id=town, village_id=village_id, updated_at=now))
    conn.execute(update(FollowUp).where(FollowUp.case_id.in_(case_ids)).values(township_id=town))
    conn.execute(update(FollowUp).where(FollowUp.case_id.in_(case_ids),
                                        FollowUp.status == "pending").values(owner=None))
    conn.execute(update(Approval).where(Approval.case_id.in_(case_ids)).values(township_id=town))
    conn.execute(update(DuplicateAlert).where(DuplicateAlert.child_id == child_id).values(
        township_id=town))
    receiving = select(Person.code).where(Person.township_id == town)
    conn.execute(delete(CaseAssignment).where(CaseAssignment.case_id.in_(case_ids),
                                              CaseAssignment.person_code.not_in(receiving)))
    before = {"township": str(transfer.from_township_id), "village": str(transfer.from_village_id)}
    after = {"township": str(town), "village": str(village_id), "transfer": transfer.id}
    audit.record_many(conn, [
        audit.event_row(actor=actor.code, action="transfer_accepted", entity_type="case",
                        entity_id=transfer.case_id, before=before, after=after),
        audit.event_row(actor=actor.code, action="move", entity_type="child", entity_id=child_id,
                        before=before, after=after),
    ])


def listing(session: Session, scope: Scope, *, status: str | None = None) -> list[TransferView]:
    """The transfers the scope sees (sent or received), newest first."""
    towns = dict(session.execute(select(Township.id, Township.name)).all())
    stmt = select(Transfer).where(*_visible(scope)).order_by(Transfer.id.desc())
    if status:
        stmt = stmt.where(Transfer.status == status)
    rows = session.scalars(stmt).all()
    ids = {r.from_village_id for r in rows} | {r.to_village_id for r in rows if r.to_village_id}
    with across_townships(session) as conn:  # the other side's village names
        villages = dict(conn.execute(select(Village.id, Village.name).where(
            Village.id.in_(ids))).all()) if ids else {}
    return [TransferView(
        id=r.id, case_no=r.case_no,
        from_place=towns.get(r.from_township_id, "") + villages.get(r.from_village_id, ""),
        to_place=towns.get(r.to_township_id, "") + villages.get(r.to_village_id, ""),
        reason=r.reason, requested_by=r.requested_by, requested_at=r.requested_at,
        status=r.status, status_label=STATUS_LABELS[r.status], decided_by=r.decided_by,
        decision_note=r.decision_note, to_township_id=r.to_township_id) for r in rows]
