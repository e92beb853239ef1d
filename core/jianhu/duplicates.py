"""Possible double registrations: a new child who resembles a child already registered.

The identity rule (:mod:`jianhu.identity`) matches a child by citizen ID, else by exact name,
birth date and village. A child surveyed twice under a variant name (陈壹 / 陈一), with the
characters in another order, with a birth date off by a day or without an ID escapes it and gets
a second case. So every child the survey import or form adds is compared with the registered
children of the whole county (handbook: 疑似重复登记). Two children are taken for possibly one when:

- their names read the same in pinyin without tones, whatever the order of the syllables
  (:func:`name_key`, stored on every child and indexed, so the comparison stays fast at a county's
  scale: only children with the same key are read);
- they have the same sex and birth dates at most one day apart;
- they do not both have citizen IDs (two different IDs are two children).

:func:`score` grades a match: 100 the same characters, 95 homophones in the same order, 90 the
same syllables in another order. A match is not refused: the row gets a warning naming the
registered child when that child is in the actor's scope, and an alert
(:class:`~jianhu.db.models.DuplicateAlert`, ``similar``) is kept for the holding township and the
county, who decide whether it is one child (``jianhu duplicates list`` / ``resolve``). Recall
and precision on generated typing errors are measured by ``benchmarks/bench_duplicates.py``.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session, aliased

from jianhu import audit
from jianhu.db.lookup import KeyLookup
from jianhu.db.models import Case, Child, DuplicateAlert, Township, Village
from jianhu.db.rls import across_townships
from jianhu.errors import JianhuError
from jianhu.roles import Actor
from jianhu.scope import Scope, current

KIND_LABELS = {"held_elsewhere": "他乡镇（村）儿童被重复登记", "similar": "疑似同一儿童"}
STATUS_LABELS = {"open": "待核实", "same": "是同一儿童", "different": "不是同一儿童"}


def _lazy_pinyin(text: str) -> list[str]:
    os.environ.setdefault("PYPINYIN_NO_PHRASES", "true")
    from pypinyin import lazy_pinyin

    return lazy_pinyin(text)


@lru_cache(maxsize=32768)
def _syllable(char: str) -> str:
    """One Chinese character's toneless syllable."""
    return _lazy_pinyin(char)[0]


def pinyin(name: str) -> list[str]:
    """The name's toneless pinyin syllables (陈壹 → ``["chen", "yi"]``), from each character's
    most common reading (pypinyin without its phrase dictionary: a name is not a phrase, and the
    dictionary costs about 45 MB). Imported on first use, so commands that add no child stay quick.

    Without phrases a character reads the same in any name, so a name of Chinese characters
    (U+4E00–U+9FFF) is read a character at a time, each reading kept; any other name whole."""
    name = name.strip()
    if name and all("\u4e00" <= ch <= "\u9fff" for ch in name):
        return [_syllable(ch) for ch in name]
    return _lazy_pinyin(name)


def name_key(name: str) -> str:
    """The blocking key of a name: toneless pinyin syllables, sorted (王小明, 王明小 → ``ming wang xiao``)."""
    return " ".join(sorted(pinyin(name)))[:200]


def score(a: str, b: str) -> int:
    """How alike two names with the same :func:`name_key` are (see the module)."""
    if a.strip() == b.strip():
        return 100
    return 95 if pinyin(a) == pinyin(b) else 90


@dataclass(frozen=True)
class Match:
    """A new child (``child_id``, on file row ``row``) resembling a registered one."""

    row: int
    child_id: uuid.UUID
    other_id: uuid.UUID
    other_township_id: uuid.UUID
    other_village_id: uuid.UUID
    other_name: str
    other_birth_date: dt.date
    score: int


_CANDIDATES = KeyLookup(
    select(Child.id, Child.name, Child.sex, Child.birth_date, Child.citizen_id, Child.township_id,
           Child.village_id, Child.name_key),
    lambda p: and_(Child.name_key == p("key"), Child.sex == p("sex"),
                   Child.birth_date.between(p("from"), p("to"))))


def _candidates(conn: Any, keys: set[tuple[str, str, dt.date]]) -> list[Any]:
    """The children of these name keys and sexes born within a day of these dates (through the
    index of name keys: :mod:`jianhu.db.lookup`)."""
    day = dt.timedelta(days=1)
    return list(_CANDIDATES.rows(conn, [{"key": k, "sex": s, "from": b - day, "to": b + day}
                                        for k, s, b in sorted(keys)]))


def find_similar(session: Session, new: list[dict[str, Any]]) -> list[Match]:
    """The registered children (any township) resembling each new child of ``new`` (dicts with
    ``row, id, name, sex, birth_date, citizen_id``), best match first per row."""
    if not new:
        return []
    keys = {(c.get("name_key") or name_key(c["name"]), c["sex"], c["birth_date"]) for c in new}
    with across_townships(session) as conn:
        rows = _candidates(conn, keys)
        if conn is not session.connection():  # the session also sees its own unwritten rows
            rows += _candidates(session.connection(), keys)
    by_key: dict[tuple[str, str], dict[uuid.UUID, Any]] = {}
    for r in rows:
        by_key.setdefault((r.name_key, r.sex), {})[r.id] = r
    new_ids = {c["id"] for c in new}
    out = []
    for c in new:
        best: Match | None = None
        for r in by_key.get((c.get("name_key") or name_key(c["name"]), c["sex"]), {}).values():
            if r.id == c["id"] or (r.id in new_ids and str(r.id) > str(c["id"])):
                continue  # itself, or the other half of a pair within the file
            if abs((r.birth_date - c["birth_date"]).days) > 1 or (c["citizen_id"] and r.citizen_id):
                continue
            s = score(c["name"], r.name)
            if best is None or s > best.score:
                best = Match(c["row"], c["id"], r.id, r.township_id, r.village_id, r.name,
                             r.birth_date, s)
        if best is not None:
            out.append(best)
    return out


def alert_rows(matches: list[Match], *, actor: str, source: str,
               from_township_id: uuid.UUID) -> list[dict[str, Any]]:
    """``similar`` alerts for these matches."""
    now = dt.datetime.now(dt.UTC)
    return [{"id": uuid.uuid4(), "kind": "similar", "child_id": m.other_id,
             "township_id": m.other_township_id, "other_child_id": m.child_id,
             "from_township_id": from_township_id, "score": m.score, "actor": actor,
             "source": source[:200], "row": m.row, "status": "open", "created_at": now}
            for m in matches]


def warning(session: Session, match: Match, village_names: dict[uuid.UUID, str]) -> str:
    """The row warning for a match: naming the registered child only when in scope."""
    scope = current(session)
    if scope is None or scope.holds(match.other_township_id, match.other_village_id):
        place = village_names.get(match.other_village_id, "")
        return (f"可能与已登记的「{match.other_name}」（{place}，{match.other_birth_date}）是同一名儿童"
                "，已记入疑似重复登记，请核对")
    return "可能与其他乡镇（村）已登记的儿童是同一人，已通知县级管理员核实"


@dataclass(frozen=True)
class AlertView:
    """One alert as listed."""

    id: str
    kind: str
    kind_label: str
    status: str
    status_label: str
    score: int | None
    source: str
    row: int | None
    created_at: str
    from_township: str | None
    child: dict[str, Any]
    other: dict[str, Any] | None


def listing(session: Session, scope: Scope, *, status: str | None = "open") -> list[AlertView]:
    """The alerts about children in scope (row-level security does the same on PostgreSQL)."""
    stmt = select(DuplicateAlert).order_by(DuplicateAlert.created_at, DuplicateAlert.id)
    if status:
        stmt = stmt.where(DuplicateAlert.status == status)
    held = aliased(Child)
    stmt = stmt.join(held, held.id == DuplicateAlert.child_id)
    if scope.township_id is not None:
        stmt = stmt.where(DuplicateAlert.township_id == scope.township_id)
    if scope.village_id is not None:
        stmt = stmt.where(held.village_id == scope.village_id)
    alerts = session.scalars(stmt).all()
    ids = {a.child_id for a in alerts} | {a.other_child_id for a in alerts if a.other_child_id}
    people = {r.id: r for r in session.execute(
        select(Child.id, Child.name, Child.birth_date, Child.township_id, Child.village_id,
               Township.name.label("township"), Village.name.label("village"))
        .join(Township, Township.id == Child.township_id)
        .join(Village, Village.id == Child.village_id).where(Child.id.in_(ids)))}
    towns = dict(session.execute(select(Township.id, Township.name)).all())
    cases = dict(session.execute(select(Case.child_id, Case.case_no).where(
        Case.child_id.in_(ids)).order_by(Case.opened_on)).all())

    def person(cid: uuid.UUID | None) -> dict[str, Any] | None:
        r = people.get(cid) if cid else None
        if r is None or not scope.holds(r.township_id, r.village_id):
            return None
        return {"name": r.name, "birth_date": r.birth_date.isoformat(), "township": r.township,
                "village": r.village, "case_no": cases.get(r.id)}

    return [AlertView(str(a.id), a.kind, KIND_LABELS[a.kind], a.status, STATUS_LABELS[a.status],
                      a.score, a.source, a.row, a.created_at.isoformat(),
                      towns.get(a.from_township_id), person(a.child_id) or {},
                      person(a.other_child_id))
            for a in alerts]


def resolve(session: Session, actor: Actor, scope: Scope, alert_id: str, *, same: bool,
            note: str) -> None:
    """Record the decision on an alert (one child, or two) and audit it. Does not commit."""
    actor.require("duplicates:resolve")
    prefix = alert_id.strip().lower().replace("-", "")
    stmt = select(DuplicateAlert)
    if scope.township_id is not None:
        stmt = stmt.where(DuplicateAlert.township_id == scope.township_id)
    found = [a for a in session.scalars(stmt) if len(prefix) >= 8 and a.id.hex.startswith(prefix)]
    if len(found) != 1:
        raise JianhuError(f"没有疑似重复记录 {alert_id}" if not found else
                          f"编号 {alert_id} 对应多条记录，请写出更多位")
    alert, key = found[0], found[0].id
    if alert.status != "open":
        raise JianhuError(f"疑似重复记录 {alert_id} 已核实（{STATUS_LABELS[alert.status]}）")
    if len(note.strip()) > 500:
        raise JianhuError(f"核实情况不超过500字（现有{len(note.strip())}字）")
    status = "same" if same else "different"
    session.execute(update(DuplicateAlert).where(DuplicateAlert.id == key).values(
        status=status, note=note.strip() or None, decided_by=actor.code,
        decided_at=dt.datetime.now(dt.UTC)))
    audit.record(session, actor=actor.code, action="resolve", entity_type="duplicate_alert",
                 entity_id=key, before={"status": alert.status}, after={"status": status})
