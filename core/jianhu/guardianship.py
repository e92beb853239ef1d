"""Guardianship changes: who is a child's guardian on a given day.

The survey records the parents and the entrusted guardian as found (the ``guardians`` table).
Afterwards the law changes who cares for a child, and each change is a 监护变更记录 (form
``guardianship``, recorded on the child's case and approved by a township approver):

- 委托照护 (``entrusted_care``): a parent who goes out to work entrusts a person able to care
  for the child, for a period (《未成年人保护法》第22条); ended by ``entrusted_care_end``.
- 撤销监护人资格 (``revocation``): a court revokes a parent's guardianship and appoints a guardian
  (《民法典》第36条); ``restoration`` gives it back (第38条).
- 民政部门临时监护 (``state_temporary``, 《未成年人保护法》第92条), ended by
  ``state_temporary_end`` (the child returned, 第93条); 长期监护 (``state_long_term``, 第94条).
- 家庭教育措施 (``family_education``): 劝诫、督促接受家庭教育指导、训诫、家庭教育指导令
  (《家庭教育促进法》第48—49条); it changes no guardian and is kept in the history.

:func:`in_force` applies the changes dated on or before a day, in date order, to the surveyed
guardians; a rejected change is ignored, one awaiting approval shows marked 待审批 (an end of a
care awaiting approval leaves the carer listed, marked so). Documents
print the guardians in force on their own date, the case page those in force today (handbook:
侵害报告与升级干预 → 监护变更, which prints :data:`CHANGES`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jianhu.db.models import Approval, Case, FormRecord, Guardian
from jianhu.errors import JianhuError

#: Change code → (Chinese name, what it does to the guardians in force, source). The form's
#: choices are these codes; the handbook prints this table (侵害报告与升级干预 → 监护变更).
CHANGES: dict[str, tuple[str, str, str]] = {
    "entrusted_care": ("委托照护", "受托人成为受托照护人，到「期限至」届满时生成待办",
                       "《未成年人保护法》第22条"),
    "entrusted_care_end": ("委托照护终止", "受托照护人不再列出", "《未成年人保护法》第22条"),
    "revocation": ("撤销监护人资格", "被撤销的父母一方或双方仍列出但注明已撤销；法院指定的人成为指定监护人",
                   "《民法典》第36条"),
    "restoration": ("恢复监护人资格", "父母恢复为监护人；双方都恢复后不再列出指定监护人",
                    "《民法典》第38条"),
    "state_temporary": ("民政部门临时监护", "民政部门（写明机构）成为监护人；写明期限的，届满时生成待办",
                        "《未成年人保护法》第92条"),
    "state_temporary_end": ("临时监护结束", "送回监护人，民政部门不再列出", "《未成年人保护法》第93条"),
    "state_long_term": ("民政部门长期监护", "民政部门（写明机构）长期监护", "《未成年人保护法》第94条"),
    "family_education": ("家庭教育措施", "不改变监护人，记入监护变更历史（劝诫、督促接受家庭教育指导、训诫、"
                         "家庭教育指导令）", "《家庭教育促进法》第48—49条"),
}
#: Guardian role → Chinese name, in the order guardians are listed.
ROLES: dict[str, str] = {
    "father": "父亲", "mother": "母亲", "entrusted": "受托照护人", "appointed": "指定监护人",
    "state": "民政部门监护",
}
#: Which pending period a change closes: the ``guardianship_period_end`` task's ref.
PERIOD_OF = {"entrusted_care": "entrusted", "entrusted_care_end": "entrusted",
             "state_temporary": "state", "state_temporary_end": "state", "state_long_term": "state"}


@dataclass(frozen=True)
class GuardianInForce:
    """One guardian of a child on a day.

    Attributes:
        role: a :data:`ROLES` code.
        name / relation / phone: as surveyed or as the change named them.
        status: Chinese: the parent's surveyed situation, or what a change made of it.
        since / until: the period of a change (``None``: as surveyed / open-ended).
        pending: the change is awaiting its approval.
        guardian: whether this person holds guardianship (a parent whose guardianship was
            revoked is listed, with ``guardian`` false).
    """

    role: str
    name: str | None
    relation: str | None
    phone: str | None
    status: str
    since: dt.date | None = None
    until: dt.date | None = None
    pending: bool = False
    guardian: bool = True

    @property
    def label(self) -> str:
        """Chinese name of the role."""
        return ROLES[self.role]

    def as_dict(self) -> dict[str, Any]:
        """The entry as JSON-ready values (dates as ISO text)."""
        return {"role": self.role, "label": self.label, "name": self.name,
                "relation": self.relation, "phone": self.phone, "status": self.status,
                "since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat() if self.until else None,
                "pending": self.pending, "guardian": self.guardian}


def check(payload: dict[str, Any], current: list[GuardianInForce]) -> None:
    """Refuse, in Chinese, a change that contradicts the guardians in force on its date: the
    same change recorded twice, a period ending before it starts, revoking a guardianship
    already revoked, restoring one that was not, ending a period that is not running.

    The fields each change needs are the form's own ``if``/``then`` rules.
    """
    g = payload["guardianship"]
    change, on = g["change"], dt.date.fromisoformat(g["date"])
    if any(e.since == on and e.name == g.get("guardian_name") and e.status.startswith(
            CHANGES[change][0]) for e in current if g.get("guardian_name")):
        raise JianhuError(f"已登记过同一天的同一项监护变更（{CHANGES[change][0]}，"
                          f"{g.get('guardian_name')}）")
    if "until" in g and dt.date.fromisoformat(g["until"]) < on:
        raise JianhuError(f"期限至 {g['until']} 早于生效日期 {on}")
    by_role = {e.role: e for e in current}
    for parent in g.get("parents", []) if change in ("revocation", "restoration") else []:
        entry = by_role.get(parent)
        if change == "revocation" and entry is not None and not entry.guardian:
            raise JianhuError(f"{ROLES[parent]}的监护人资格已被撤销，不能再次撤销")
        if change == "restoration" and (entry is None or entry.guardian):
            raise JianhuError(f"{ROLES[parent]}的监护人资格未被撤销，无需恢复")
    if change == "entrusted_care_end" and "entrusted" not in by_role:
        raise JianhuError("没有在任的受托照护人，无需终止委托照护")
    if change == "state_temporary_end" and not (
            "state" in by_role and by_role["state"].status.startswith(CHANGES["state_temporary"][0])):
        raise JianhuError("儿童不在民政部门临时监护中，无需登记临时监护结束")


def _parent_status(host: Any) -> Any:
    from jianhu.forms import load_form

    return load_form(host, "screening").by_path["father", "status"]


def surveyed(session: Session, host: Any, child_id: uuid.UUID) -> dict[str, GuardianInForce]:
    """The guardians as the survey found them (role → entry)."""
    status = _parent_status(host)
    out: dict[str, GuardianInForce] = {}
    for g in session.scalars(select(Guardian).where(Guardian.child_id == child_id)):
        if g.role not in ROLES:
            continue
        text = status.label(g.status) if g.role in ("father", "mother") and g.status else (
            g.status or "")
        out[g.role] = GuardianInForce(g.role, g.name, g.relation, g.phone, text)
    return out


def changes(session: Session, child_id: uuid.UUID, exclude: uuid.UUID | None = None
            ) -> list[tuple[FormRecord, bool]]:
    """The child's guardianship changes not rejected (nor ``exclude``), in date order, each
    with whether it awaits its approval."""
    cases = select(Case.id).where(Case.child_id == child_id)
    rows = [r for r in session.scalars(select(FormRecord).where(
        FormRecord.form_id == "guardianship", FormRecord.subject_id.in_(cases))
        .order_by(FormRecord.recorded_on, FormRecord.created_at)) if r.id != exclude]
    decisions = dict(session.execute(select(Approval.record_id, Approval.decision).where(
        Approval.record_id.in_([r.id for r in rows]))).all()) if rows else {}
    return [(r, decisions.get(r.id) == "pending") for r in rows
            if decisions.get(r.id) != "rejected"]


def apply(entries: dict[str, GuardianInForce], g: dict[str, Any], pending: bool,
          base: dict[str, GuardianInForce]) -> None:
    """Apply one change (the form's ``guardianship`` group) to ``entries`` (role → entry)."""
    change, on = g["change"], dt.date.fromisoformat(g["date"])
    until = dt.date.fromisoformat(g["until"]) if g.get("until") else None
    mark = "（待审批）" if pending else ""
    doc = "，".join(x for x in (g.get("authority"), g.get("document_no")) if x)
    new = GuardianInForce("entrusted", g.get("guardian_name"), g.get("guardian_relation"),
                          g.get("guardian_phone"), "", on, until, pending)
    if change == "entrusted_care":
        entries["entrusted"] = replace(new, status=f"委托照护{mark}")
    elif change == "entrusted_care_end" and pending:  # still caring until the end is approved
        if "entrusted" in entries:
            entries["entrusted"] = replace(entries["entrusted"],
                                           status=entries["entrusted"].status + "（终止待审批）")
    elif change == "entrusted_care_end":
        entries.pop("entrusted", None)
    elif change == "revocation":
        for parent in g["parents"]:
            old = entries.get(parent) or GuardianInForce(parent, None, None, None, "")
            entries[parent] = replace(old, status=f"监护人资格已撤销（{on}，{doc}）{mark}",
                                      since=on, guardian=False, pending=pending)
        entries["appointed"] = replace(new, role="appointed", status=f"法院指定（{doc}）{mark}")
    elif change == "restoration":
        for parent in g["parents"]:
            old = base.get(parent) or GuardianInForce(parent, None, None, None, "")
            entries[parent] = replace(old, status=f"{on}恢复监护人资格（{doc}）{mark}", since=on,
                                      pending=pending)
        if all(entries[r].guardian for r in ("father", "mother") if r in entries):
            entries.pop("appointed", None)
    elif change in ("state_temporary", "state_long_term"):
        entries["state"] = replace(new, role="state", status=CHANGES[change][0] + mark)
    elif change == "state_temporary_end" and pending:
        if "state" in entries:
            entries["state"] = replace(entries["state"],
                                       status=entries["state"].status + "（结束待审批）")
    elif change == "state_temporary_end":
        entries.pop("state", None)


def in_force(session: Session, host: Any, child_id: uuid.UUID, on: dt.date, *,
             exclude: uuid.UUID | None = None) -> list[GuardianInForce]:
    """The child's guardians on local date ``on``: the surveyed guardians with every change
    dated on or before ``on`` applied in date order. A period that ran out before ``on``
    (an entrusted care or temporary guardianship with an end date) stays listed, marked 期限已过，
    请核实 — the worker must find out who cares for the child, not be told nobody does.
    ``exclude`` leaves one change out (the one being recorded, to check it against the rest)."""
    base = surveyed(session, host, child_id)
    entries = dict(base)
    for record, pending in changes(session, child_id, exclude):
        g = record.payload["guardianship"]
        if dt.date.fromisoformat(g["date"]) <= on:
            apply(entries, g, pending, base)
    for role, e in entries.items():
        if e.until is not None and e.until < on:
            entries[role] = replace(e, status=f"{e.status}；期限至 {e.until} 已过，请核实")
    return [entries[r] for r in ROLES if r in entries]
