"""Training of the people who do the work: sessions, attendance, and who is due for training.

The plan asks for the capacity of everyone involved to be built (新政发〔2016〕8号 六（三）
加强有关人员能力建设: training on the pilot's work and on protecting children in difficulty). A
training session is held for one township on a day, on a topic, by a trainer, with handbook
chapters as its materials; the roster people who attended are recorded. A person counts as trained
when they attended a session in the :data:`WINDOW_DAYS` days up to the day asked about
(:func:`untrained`: the people to train next).

Every write checks ``training:manage`` (:mod:`jianhu.roles`) and the actor's township, and is
audited. ``jianhu training add|list``.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jianhu import audit
from jianhu.dates import local_today
from jianhu.db.models import Person, Township, TrainingAttendance, TrainingSession, Village
from jianhu.errors import JianhuError
from jianhu.roles import Actor, role_labels
from jianhu.scope import Scope
from jianhu.teams import township_for

#: A person is trained when they attended a session this many days before the day asked about, or
#: later (up to that day): training once a year, the yearly round of the handbook's 培训与督导
#: (the plan, 新政发〔2016〕8号 六（三）, asks for training without setting its frequency).
WINDOW_DAYS = 365
_NAV_LEAF = re.compile(r"^\s*-\s*(.+?):\s*(\S+\.md)\s*$")


@cache
def handbook_chapters() -> tuple[str, ...]:
    """Titles of the handbook's hand-written chapters, in the order of ``mkdocs.yml``'s ``nav``
    (the names a training's materials are written with)."""
    from jianhu.handbook.site import config_file

    titles, in_nav = [], False
    for line in config_file().read_text("utf-8").splitlines():
        if line.startswith("nav:"):
            in_nav = True
            continue
        if in_nav and line and not line.startswith((" ", "-", "#")):
            break
        m = _NAV_LEAF.match(line) if in_nav else None
        if m:
            titles.append(m.group(1).strip())
    return tuple(titles)


def check_materials(materials: list[str]) -> list[str]:
    """The materials as chapter titles (each written as in the handbook).

    Raises:
        JianhuError: a title that is not a chapter of the handbook (Chinese, lists them).
    """
    chapters = handbook_chapters()
    out, unknown = [], []
    for m in materials:
        m = m.strip()
        if not m:
            continue
        (out if m in chapters else unknown).append(m)
    if unknown:
        raise JianhuError(f"操作手册没有章节「{'」「'.join(unknown)}」；可用：{'、'.join(chapters)}")
    return list(dict.fromkeys(out))


def split_codes(values: tuple[str, ...] | list[str]) -> list[str]:
    """Roster codes given one by one or in one text separated by commas, 、 or spaces."""
    return [c for v in values for c in re.split(r"[,，、;；\s]+", v) if c]


def add_session(session: Session, actor: Actor, scope: Scope, *, township: str | None,
                held_on: dt.date, topic: str, trainer: str, materials: list[str],
                attendees: list[str], today: dt.date | None = None) -> TrainingSession:
    """Record a training session and who attended it (audited); the caller commits.

    Rules (新政发〔2016〕8号 六（三）): a session trains the staff and volunteers of one township —
    attendees are active people of its roster; it has happened (not after today); its materials are
    chapters of this handbook.

    Raises:
        JianhuError: not allowed, another township, a day after today, no topic or trainer, an
            unknown chapter, or attendees who are not active people of the township (all named).
    """
    actor.require("training:manage")
    town = township_for(session, scope, township, "培训")
    today = today or local_today()
    if held_on > today:
        raise JianhuError(f"培训日期 {held_on.isoformat()} 晚于今天（{today.isoformat()}）："
                          "只登记已举办的培训")
    topic, trainer = topic.strip(), trainer.strip()
    if not topic or len(topic) > 200:
        raise JianhuError("培训主题不能为空，也不能超过200个字")
    if not trainer or len(trainer) > 100:
        raise JianhuError("培训人不能为空，也不能超过100个字")
    chapters = check_materials(materials)
    codes = list(dict.fromkeys(attendees))
    people = {p.code: p for p in session.scalars(select(Person).where(Person.code.in_(codes)))}
    bad = [c for c in codes if c not in people or not people[c].active
           or people[c].township_id != town.id]
    if bad:
        raise JianhuError(f"不是{town.name}人员名册中的在岗人员：{'、'.join(bad)}")
    if not codes:
        raise JianhuError("请写明参加培训的人员编号（--attendee）")
    row = TrainingSession(id=uuid.uuid4(), township_id=town.id, held_on=held_on, topic=topic,
                          trainer=trainer, materials=chapters, created_by=actor.code)
    session.add(row)
    session.flush()
    for c in codes:
        session.add(TrainingAttendance(session_id=row.id, person_id=people[c].id))
    audit.record(session, actor=actor.code, action="create", entity_type="training_session",
                 entity_id=row.id, after={"township": town.code, "held_on": held_on,
                                          "topic": topic, "trainer": trainer,
                                          "materials": chapters, "attendees": codes})
    return row


@dataclass
class SessionView:
    """A training session as ``jianhu training list`` shows it."""

    id: str
    township_code: str
    township: str
    held_on: dt.date
    topic: str
    trainer: str
    materials: list[str]
    attendees: list[str]

    def as_dict(self) -> dict[str, Any]:
        """JSON of ``jianhu training list --json``."""
        return {"id": self.id, "township_code": self.township_code, "township": self.township,
                "held_on": self.held_on.isoformat(), "topic": self.topic, "trainer": self.trainer,
                "materials": self.materials, "attendees": self.attendees}


def listing(session: Session, scope: Scope | None, township_code: str | None = None,
            person: str | None = None) -> list[SessionView]:
    """Sessions in scope, newest first; with ``person``: that person's training record (the
    sessions they attended).

    Raises:
        JianhuError: ``person`` is not on the roster in scope.
    """
    stmt = select(TrainingSession, Township.code, Township.name).join(
        Township, TrainingSession.township_id == Township.id)
    if scope is not None and scope.township_id is not None:
        stmt = stmt.where(TrainingSession.township_id == scope.township_id)
    if township_code:
        stmt = stmt.where(Township.code == township_code)
    if person:
        pid = session.scalar(select(Person.id).where(Person.code == person, *(
            [Person.township_id == scope.township_id] if scope and scope.township_id else [])))
        if pid is None:
            raise JianhuError(f"人员名册中没有「{person}」")
        stmt = stmt.where(TrainingSession.id.in_(select(TrainingAttendance.session_id).where(
            TrainingAttendance.person_id == pid)))
    rows = session.execute(stmt.order_by(TrainingSession.held_on.desc(), TrainingSession.topic)).all()
    attended: dict[uuid.UUID, list[str]] = {}
    if rows:
        for sid, code in session.execute(
                select(TrainingAttendance.session_id, Person.code)
                .join(Person, TrainingAttendance.person_id == Person.id)
                .where(TrainingAttendance.session_id.in_([r[0].id for r in rows]))
                .order_by(Person.code)):
            attended.setdefault(sid, []).append(code)
    return [SessionView(str(s.id), code, name, s.held_on, s.topic, s.trainer, list(s.materials),
                        attended.get(s.id, [])) for s, code, name in rows]


def untrained(session: Session, scope: Scope | None, on: dt.date,
              township_code: str | None = None) -> list[dict[str, Any]]:
    """Active roster people of the townships in scope who attended no training in the
    :data:`WINDOW_DAYS` days up to ``on`` (a session on ``on`` minus 365 days still counts; one
    held after ``on`` does not), by code, with the day of their last training if any
    (新政发〔2016〕8号 六（三）). People with no township (county staff) are not listed."""
    since = on - dt.timedelta(days=WINDOW_DAYS)
    last = (select(TrainingAttendance.person_id, func.max(TrainingSession.held_on).label("last"))
            .join(TrainingSession, TrainingSession.id == TrainingAttendance.session_id)
            .where(TrainingSession.held_on <= on).group_by(TrainingAttendance.person_id).subquery())
    stmt = (select(Person.code, Person.name, Person.role, Township.code, Township.name,
                   Village.name, last.c.last)
            .join(Township, Person.township_id == Township.id)
            .outerjoin(Village, Person.village_id == Village.id)
            .outerjoin(last, last.c.person_id == Person.id)
            .where(Person.active.is_(True))
            .where((last.c.last.is_(None)) | (last.c.last < since)).order_by(Person.code))
    if scope is not None and scope.township_id is not None:
        stmt = stmt.where(Person.township_id == scope.township_id)
    if township_code:
        stmt = stmt.where(Township.code == township_code)
    labels = role_labels()
    return [{"code": code, "name": name, "role": role, "role_label": labels.get(role, role),
             "township_code": tcode, "township": town, "village": village,
             "last_trained": last_on.isoformat() if last_on else None}
            for code, name, role, tcode, town, village, last_on in session.execute(stmt)]
