"""Benchmark: one township's due list at a million tasks, beside the best hand-written SQL.

Builds a throwaway database with the real schema (``jianhu db upgrade``'s migrations): two
townships, the measured one with ``--tasks`` tasks on ``--tasks / 10`` cases (a tenth pending,
due from ten days ago to half a year ahead, the rest done or cancelled history; some mandatory
reports due at an hour), the other with a tenth as many. Then times, ``--repeat`` times each:

- ``jianhu.followups.due_page`` for the township: its first page of 50 and the total, in the
  order the today page shows (urgent first, overdue first, by date, kind and case);
- the baseline: one hand-written SQL statement for the same page (the same joins, ``ORDER BY``
  and ``LIMIT``) and one ``COUNT(*)``, run on the raw DBAPI connection with no ORM;

and prints the median timings, their ratio, and both query plans. Targets: the first page in
under 100 ms, within twice the baseline. Usage::

    python benchmarks/due_list.py [--tasks 1000000] [--repeat 15] [--db URL]

With ``--db`` (e.g. PostgreSQL) the database is emptied and rebuilt: give it a throwaway one.
Ends with ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import event, insert, text
from timing import median_ms

from jianhu.db.models import Base, Case, Child, FollowUp, Township, Village
from jianhu.db.session import make_engine, open_session, upgrade
from jianhu.followups import due_page
from jianhu.tasks import KIND_ORDER, URGENT

ON = dt.date(2026, 12, 1)
NOW = dt.datetime(2026, 12, 1, 4, 0, tzinfo=dt.UTC)  # 12:00 in Shanghai
TOWN = "320724100000"
KINDS = ("visit", "reassessment", "visit", "return_visit", "measure_due", "mandatory_report")


def build(url: str, tasks: int, seed: int) -> None:
    engine = make_engine(url)
    if not url.startswith("sqlite"):
        Base.metadata.drop_all(engine)
        with engine.begin() as c:
            c.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    upgrade(engine)
    rng = random.Random(seed)
    with engine.begin() as c:
        for n, (code, share) in enumerate(((TOWN, 1.0), ("320724101000", 0.1))):
            town = uuid.uuid4()
            c.execute(insert(Township.__table__), [{"id": town, "code": code, "name": f"测试镇{n}",
                                                    "county_code": "320724"}])
            villages = [uuid.uuid4() for _ in range(20)]
            c.execute(insert(Village.__table__), [{"id": v, "township_id": town, "name": f"村{i}"}
                                                  for i, v in enumerate(villages)])
            count = int(tasks * share)
            cases = count // 10
            children, rows = [], []
            case_ids = []
            for i in range(cases):
                child, case_id, village = uuid.uuid4(), uuid.uuid4(), villages[i % 20]
                children.append({"id": child, "township_id": town, "village_id": village,
                                 "name": "儿童", "sex": "male", "birth_date": dt.date(2015, 1, 1)})
                rows.append({"id": case_id, "case_no": f"{code[:9]}-2026-{i:06d}", "child_id": child,
                             "township_id": town, "village_id": village, "status": "supervision",
                             "categories": [], "guardianship_rating": "moderate",
                             "level": rng.choice(("red", "orange", "yellow", "green")),
                             "opened_on": dt.date(2026, 1, 1)})
                case_ids.append(case_id)
            for chunk in range(0, cases, 20_000):
                c.execute(insert(Child.__table__), children[chunk:chunk + 20_000])
                c.execute(insert(Case.__table__), rows[chunk:chunk + 20_000])
            batch = []
            for i in range(count):
                pending = rng.random() < 0.1
                kind = rng.choice(KINDS)
                due_on = ON + dt.timedelta(days=rng.randint(-10, 180) if pending else rng.randint(-700, -1))
                due_at = dt.datetime.combine(due_on, dt.time(rng.randint(0, 15)), dt.UTC) \
                    if kind == "mandatory_report" else None
                batch.append({"id": uuid.uuid4(), "case_id": case_ids[i % cases], "township_id": town,
                              "kind": kind, "due_on": due_on, "due_at": due_at,
                              "status": "pending" if pending else rng.choice(("done",) * 9 + ("cancelled",))})
                if len(batch) == 50_000:
                    c.execute(insert(FollowUp.__table__), batch)
                    batch = []
            if batch:
                c.execute(insert(FollowUp.__table__), batch)
    with engine.connect() as c:
        c.exec_driver_sql("ANALYZE")
    engine.dispose()


def baseline_sql() -> tuple[str, str]:
    """The hand-written page and count for the township (parameters: town, on, end, now)."""
    kinds = " ".join(f"WHEN '{k}' THEN {i}" for k, i in KIND_ORDER.items())
    urgent = ", ".join(f"'{k}'" for k in URGENT)
    where = ("f.status = 'pending' AND f.due_on <= :end AND f.township_id = "
             "(SELECT id FROM townships WHERE code = :town)")
    page = f"""
        SELECT f.kind, f.due_on, f.due_at, f.owner, p.name, c.case_no, c.level, t.name, v.name
        FROM followups f JOIN cases c ON f.case_id = c.id JOIN townships t ON f.township_id = t.id
        JOIN villages v ON c.village_id = v.id LEFT JOIN people p ON f.owner = p.code
        WHERE {where}
        ORDER BY CASE WHEN f.kind IN ({urgent}) THEN 0 ELSE 1 END,
                 CASE WHEN f.due_on < :on OR (f.due_at IS NOT NULL AND f.due_on = :on
                      AND f.due_at <= :now) THEN 0 ELSE 1 END,
                 f.due_on, CASE f.kind {kinds} ELSE 99 END, c.case_no
        LIMIT 50"""
    count = f"SELECT count(*) FROM followups f JOIN cases c ON f.case_id = c.id WHERE {where}"
    return page, count



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", default=None, help="a throwaway database (default: a SQLite file)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="jianhu-due-"))
    url = args.db or f"sqlite:///{tmp / 'due.db'}"
    began = time.perf_counter()
    build(url, args.tasks, args.seed)
    print(f"built {args.tasks + args.tasks // 10:,} tasks in {time.perf_counter() - began:.0f} s", flush=True)
    engine = make_engine(url)
    statements: list[tuple[str, object]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def keep(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ARG001
        statements.append((statement, parameters))

    with open_session(engine) as session:
        found = due_page(session, ON, TOWN, now=NOW, limit=50)
        ours = median_ms(lambda: due_page(session, ON, TOWN, now=NOW, limit=50), args.repeat)
        page_sql, page_params = statements[-1]
    page, count = baseline_sql()
    if engine.dialect.name == "sqlite":  # as the SQLite columns store them (jianhu.db.types)
        params = {"town": TOWN, "on": ON.isoformat(), "end": (ON + dt.timedelta(days=7)).isoformat(),
                  "now": NOW.replace(tzinfo=None).isoformat(sep=" ")}
    else:
        params = {"town": TOWN, "on": ON, "end": ON + dt.timedelta(days=7), "now": NOW}
    with engine.connect() as conn:
        def raw() -> tuple[int, list]:
            return conn.execute(text(count), params).scalar(), conn.execute(text(page), params).all()

        total, rows = raw()
        base = median_ms(raw, args.repeat)
        explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
        plan_ours = [str(r[-1]) for r in conn.exec_driver_sql(explain + page_sql, page_params)]
        plan_base = [str(r[-1]) for r in conn.execute(text(explain + page), params)]
    engine.dispose()
    assert total == found.total and [r.case_no for r in rows] == [i.case_no for i in found.items], \
        "the baseline and due_page disagree"
    ratio = ours / base if base else float("inf")
    print(f"township {TOWN}: {found.total:,} tasks overdue or due within 7 days, first page of 50")
    print(f"{'':<28}{'median ms':>10}")
    print(f"{'due_page (ORM, jianhu)':<28}{ours:>10.1f}   target < 100 ms")
    print(f"{'hand-written SQL (baseline)':<28}{base:>10.1f}")
    print(f"ratio {ratio:.2f} (target ≤ 2)")
    print("plan, due_page:\n  " + "\n  ".join(plan_ours))
    print("plan, baseline:\n  " + "\n  ".join(plan_base))
    print("RESULT " + json.dumps({"backend": engine.dialect.name, "tasks": args.tasks + args.tasks // 10,
                                  "due_total": found.total, "due_page_ms": round(ours, 1),
                                  "baseline_ms": round(base, 1), "ratio": round(ratio, 2)}))


if __name__ == "__main__":
    main()
