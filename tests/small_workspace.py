"""A small hand-made workspace for the fast rule tests (follow-ups, scope): two townships, three
villages, five cases and the people who see them, written straight into the tables, the
database upgraded once per test module; each test's session is rolled back at its end."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from databases import throwaway_database
from jianhu.db.models import Case, CaseAssignment, Child, Person, Township, Village
from jianhu.db.rls import ensure_township_roles
from jianhu.db.session import make_engine, open_session, upgrade

XINAN, DUIGOU = "320724100000", "320724101000"
#: Case numbers: 新安镇 新集村 (two: assessed red, closed green), 新安镇 城南村 (under intervention,
#: yellow, assigned to the caring mother), 堆沟港镇 堆沟村 (registered, not graded; and one under
#: intervention, orange).
XJ_RED, XJ_CLOSED, CN_YELLOW = "320724100-2026-0001", "320724100-2026-0002", "320724100-2026-0003"
DG_NEW, DG_ORANGE = "320724101-2026-0001", "320724101-2026-0002"
#: Roster codes: 新安镇's supervisor, the child director of 新集村, a director with no village,
#: the caring mother, a social worker; 堆沟港镇's supervisor; a county viewer.
SUPERVISOR, DIRECTOR, NO_VILLAGE = "320724100-S01", "320724100-D01", "320724100-D02"
MOTHER, WORKER, DG_SUPERVISOR, VIEWER = ("320724100-M01", "320724100-W01", "320724101-S01",
                                         "320724-V01")


@dataclass
class Ids:
    """The ids of the townships and villages (by name) and of the cases (by number)."""

    townships: dict[str, uuid.UUID]
    villages: dict[str, uuid.UUID]
    cases: dict[str, uuid.UUID]


def build(session: Session) -> Ids:
    towns = {name: Township(id=uuid.uuid4(), code=code, name=name, county_code="320724")
             for code, name in ((XINAN, "新安镇"), (DUIGOU, "堆沟港镇"))}
    villages = {name: Village(id=uuid.uuid4(), township_id=towns[town].id, name=name, code=code)
                for name, town, code in (("新集村", "新安镇", "320724100201"),
                                         ("城南村", "新安镇", "320724100202"),
                                         ("堆沟村", "堆沟港镇", "320724101201"))}
    session.add_all([*towns.values(), *villages.values()])
    session.flush()
    cases = {}
    for n, (case_no, village, status, level) in enumerate((
            (XJ_RED, "新集村", "assessed", "red"), (XJ_CLOSED, "新集村", "closed", "green"),
            (CN_YELLOW, "城南村", "intervention", "yellow"), (DG_NEW, "堆沟村", "registered", None),
            (DG_ORANGE, "堆沟村", "intervention", "orange"))):
        v = villages[village]
        child = Child(id=uuid.uuid4(), township_id=v.township_id, village_id=v.id,
                      name=f"测试{n}", sex="female", birth_date=dt.date(2014, 6, 1 + n))
        session.add(child)
        session.flush()
        case = Case(id=uuid.uuid4(), case_no=case_no, child_id=child.id,
                    township_id=v.township_id, village_id=v.id, status=status, level=level,
                    categories=["left_behind"], guardianship_rating="fair",
                    opened_on=dt.date(2026, 3, 15))
        session.add(case)
        cases[case_no] = case.id
    xinan, duigou = towns["新安镇"].id, towns["堆沟港镇"].id
    session.add_all([
        Person(code=SUPERVISOR, name="督导甲", role="township_supervisor", township_id=xinan),
        Person(code=DIRECTOR, name="主任乙", role="village_child_director", township_id=xinan,
               village_id=villages["新集村"].id),
        Person(code=NO_VILLAGE, name="主任丙", role="village_child_director", township_id=xinan),
        Person(code=MOTHER, name="妈妈丁", role="caring_mother", township_id=xinan),
        Person(code=WORKER, name="社工戊", role="social_worker", township_id=xinan),
        Person(code=DG_SUPERVISOR, name="督导己", role="township_supervisor", township_id=duigou),
        Person(code=VIEWER, name="县级庚", role="county_viewer"),
    ])
    session.flush()
    session.add(CaseAssignment(case_id=cases[CN_YELLOW], person_code=MOTHER))
    ensure_township_roles(session.connection(), [XINAN, DUIGOU])
    return Ids({k: t.id for k, t in towns.items()}, {k: v.id for k, v in villages.items()}, cases)


def workspace(tmp: Path) -> Iterator[tuple[Engine, Ids]]:
    """Yield an engine on a throwaway database holding :func:`build`'s workspace, and its ids."""
    with throwaway_database(tmp, prefix="jianhu_rules") as url:
        engine = make_engine(url)
        upgrade(engine)
        with open_session(engine) as session:
            ids = build(session)
            session.commit()
        yield engine, ids
        engine.dispose()
