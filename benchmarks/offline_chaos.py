"""Benchmark: devices that lose their signal, send twice and out of order, against the real
write path; counts what arrived.

Builds the sample workspace on SQLite, then three simulated phones (threads), each holding its
share of visit records made offline (each with its device-made id), send them through
:func:`jianhu.capture.submit` — the code behind the JSON API, the offline app and ODK — over a
bad network: a send is lost before it reaches the server (10%), reaches it but its answer is lost
(10%, the phone sends it again later), or is delivered twice (10%); each round the phone sends its
waiting records in a new random order, until every record has been answered. Two of the phones
also send a re-survey of the same child made from the same old copy: the first applies, the second
must be held as a conflict. Prints the records made, the sends, and the records lost, duplicated
and held as conflicts (0 lost and 0 duplicated is the target). Usage::

    python benchmarks/offline_chaos.py [--sends 10000] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from jianhu import capture
from jianhu.db.models import Case, Child, EditConflict, FormRecord
from jianhu.db.session import make_engine, open_session, upgrade
from jianhu.imports.assessment import import_assessments
from jianhu.imports.screening import import_screening
from jianhu.lifecycle import ACTIVE
from jianhu.people import import_people, resolve_actor
from jianhu.plugins import Host
from jianhu.roles import LOCAL_ADMIN
from jianhu.sample import write_sample
from jianhu.scope import scope_for

SUPERVISOR = "320724100-S01"
LOST_BEFORE, LOST_AFTER, TWICE = 0.10, 0.10, 0.10
DAY = "2026-11-30"


@dataclass
class Phone:
    """One device: its waiting records and what happened to its sends."""

    name: str
    waiting: list[tuple[str, str, str | None, dict, int | None]]
    sends: int = 0
    answers: Counter = field(default_factory=Counter)


def workspace(tmp: Path, host: Host, children: int) -> tuple[object, list[str]]:
    """The sample on SQLite; returns the engine and 新安镇's open case numbers."""
    files = write_sample(host, tmp, children, 7)
    engine = make_engine(f"sqlite:///{tmp / 'chaos.db'}")
    upgrade(engine)
    with open_session(engine) as s:
        import_screening(s, host, files.screening, actor="bench")
    with open_session(engine) as s:
        import_assessments(s, host, files.assessment, actor="bench")
    with open_session(engine) as s:
        import_people(s, host, files.people, actor=LOCAL_ADMIN)
        cases = list(s.scalars(select(Case.case_no).where(
            Case.case_no.like("320724100-%"), Case.status.in_(ACTIVE))))
    return engine, cases


def send(engine, host: Host, phone: Phone, record, rng: random.Random) -> bool:  # noqa: ANN001
    """One send over the bad network; True when the phone got an answer."""
    key, form_id, case_no, doc, based_on = record
    phone.sends += 1
    if rng.random() < LOST_BEFORE:
        return False
    times = 2 if rng.random() < TWICE else 1
    outcome = None
    for _ in range(times):
        with open_session(engine, writing=True) as s:
            scope = scope_for(s, resolve_actor(s, SUPERVISOR))
            outcome = capture.submit(s, host, scope, key, form_id, doc, case_no=case_no,
                                     based_on=based_on)
    phone.answers[("replay" if outcome.replay else outcome.status)] += 1
    return rng.random() >= LOST_AFTER


def run_phone(engine, host: Host, phone: Phone, seed: int) -> None:  # noqa: ANN001
    rng = random.Random(seed)
    while phone.waiting:
        rng.shuffle(phone.waiting)
        phone.waiting = [r for r in phone.waiting if not send(engine, host, phone, r, rng)]


def replay(engine, host: Host, cases: list[str], records: int, seed: int) -> dict:  # noqa: ANN001
    """Send ``records`` visits (and two stale re-surveys) from three phones; returns the counts."""
    rng = random.Random(seed)
    phones = [Phone(f"手机{i + 1}", []) for i in range(3)]
    for n in range(records):
        key = str(uuid.uuid4())
        doc = {"visit": {"date": DAY, "visitor": SUPERVISOR, "method": "home", "child_seen": True,
                         "risk_change": "unchanged", "notes": f"chaos {key}"}}
        phones[n % 3].waiting.append((key, "visit", rng.choice(cases), doc, None))
    with open_session(engine) as s:
        child = s.scalars(select(Child).join(Case, Case.child_id == Child.id).where(
            Case.case_no == cases[0])).one()
        survey = s.scalar(select(FormRecord.payload).where(
            FormRecord.subject_id == child.id, FormRecord.form_id == "screening"))
        version = child.version
    for i, phone in enumerate(phones[:2]):
        edited = {**survey, "child": {**survey["child"], "ethnicity": f"族{i}"}}
        phone.waiting.append((str(uuid.uuid4()), "screening", None, edited, version))
    start = time.perf_counter()
    threads = [threading.Thread(target=run_phone, args=(engine, host, p, seed + i))
               for i, p in enumerate(phones)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    with open_session(engine) as s:
        notes = Counter(p["visit"]["notes"] for p in s.scalars(select(FormRecord.payload).where(
            FormRecord.form_id == "visit", FormRecord.created_by == SUPERVISOR)))
        conflicts = len(list(s.scalars(select(EditConflict))))
    chaos = {k: v for k, v in notes.items() if k.startswith("chaos ")}
    return {"records": records, "sends": sum(p.sends for p in phones), "seconds": seconds,
            "arrived": len(chaos), "lost": records - len(chaos),
            "duplicated": sum(v - 1 for v in chaos.values()), "conflicts": conflicts,
            "answers": sum((p.answers for p in phones), Counter())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sends", type=int, default=10_000,
                    help="about how many sends in all (records ≈ sends / 1.25)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--children", type=int, default=600)
    args = ap.parse_args()
    host = Host.load()
    with tempfile.TemporaryDirectory() as tmp:
        engine, cases = workspace(Path(tmp), host, args.children)
        out = replay(engine, host, cases, int(args.sends / 1.25), args.seed)
    print(f"3 phones, {out['records']} visits + 2 stale re-surveys of one child, "
          f"{out['sends']} sends in {out['seconds']:.1f} s "
          f"({out['sends'] / out['seconds']:.0f} sends/s)")
    print(f"network: {LOST_BEFORE:.0%} lost on the way, {LOST_AFTER:.0%} answers lost, "
          f"{TWICE:.0%} delivered twice; new order every round")
    print(f"answers by status: {dict(sorted(out['answers'].items(), key=str))}")
    print("baseline (target): lost 0, duplicated 0, conflicts 1")
    print(f"jianhu:            lost {out['lost']}, duplicated {out['duplicated']}, "
          f"conflicts {out['conflicts']} (arrived {out['arrived']} of {out['records']})")


if __name__ == "__main__":
    main()
