"""Many people at once on one server: sign-ins, today's work, caseload, case pages and visits.

Builds a demo workspace (``jianhu demo``'s data), starts ``jianhu serve`` on loopback as a township
laptop runs it, and lets ``--users`` simulated village directors and supervisors sign in at the
same moment through ``POST /api/session``, then each read today's work (``/today``), the caseload
(``/api/cases``) and a case page, and save a visit through the API on one request in ten, pausing
between requests as a person reading the page would (``--think`` seconds on average, drawn between
half and one and a half times that; ``--think 0`` for a stress test with no pause). It stops by
itself after ``--rounds`` rounds per user.

Prints throughput, p50/p95/p99 latency per kind of request and errors by status, beside the
target (0 errors, p95 < 300 ms at 50 users on SQLite), then checks that every acknowledged visit
is in the database, and ends with ``RESULT {json}``::

    python benchmarks/web_load.py --users 50
    python benchmarks/web_load.py --users 50 --db postgresql+psycopg://jianhu:jianhu@127.0.0.1/bench

With ``--db`` the database is emptied and rebuilt (give it a throwaway database).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import requests
from sqlalchemy import func, select

from jianhu.audit import current_actor
from jianhu.cases import ACTIVE
from jianhu.db.models import Base, Case, FormRecord, Person
from jianhu.db.session import make_engine, open_session
from jianhu.demo import run_demo
from jianhu.deploy.apply import hash_password
from jianhu.plugins import Host

PASSWORD = "bench-load-2026"
ROLES = ("village_child_director", "township_supervisor")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(url: str | None, tmp: Path, children: int) -> tuple[str, list[tuple[str, str, list[str]]]]:
    print(f"building the demo workspace ({children} children)…", flush=True)
    """The demo's data in a database, with a password for every director and supervisor.
    Returns the URL and, per person, (code, role, case numbers of their scope)."""
    host = Host.load()
    if url is not None:  # a throwaway server database: emptied first
        engine = make_engine(url)
        Base.metadata.drop_all(engine)
        with engine.begin() as c:
            c.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        engine.dispose()
    run = run_demo(host, tmp / "demo", children=children, seed=2016, actor=current_actor(), db_url=url)
    engine = make_engine(run.db_url)
    people = []
    with open_session(engine) as s:
        hashed = hash_password(PASSWORD)
        for p in s.scalars(select(Person).where(Person.role.in_(ROLES), Person.active)
                           .order_by(Person.code)):
            p.password_hash = hashed
            where = Case.village_id == p.village_id if p.role == ROLES[0] else \
                Case.township_id == p.township_id
            cases = list(s.scalars(select(Case.case_no).where(where, Case.status.in_(ACTIVE))
                                   .order_by(Case.case_no).limit(20)))
            if cases:
                people.append((p.code, p.role, cases))
        s.commit()
    engine.dispose()
    return run.db_url, people


def serve(url: str, port: int, tmp: Path) -> subprocess.Popen:
    env = {**os.environ, "JIANHU_WEB_SECRET": uuid.uuid4().hex, "JIANHU_WEB_SECURE_COOKIE": "0"}
    jianhu = shutil.which("jianhu") or str(Path(sys.executable).with_name("jianhu"))
    log = (tmp / "serve.log").open("wb")  # a file, not a pipe nobody reads (it would fill up)
    proc = subprocess.Popen([jianhu, "--db", url, "serve", "--port", str(port)], env=env, cwd=tmp,
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/login", timeout=2)
            return proc
        except requests.ConnectionError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("服务器没有启动：" + (tmp / "serve.log").read_text("utf-8", "replace")[-2000:])


class Load:
    """The requests of all simulated users: latencies by kind, statuses, saved visit ids."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.statuses: Counter = Counter()
        self.saved: list[str] = []
        self.errors: list[str] = []

    def timed(self, kind: str, call, *args, **kwargs) -> requests.Response | None:  # noqa: ANN001
        start = time.perf_counter()
        try:
            r = call(*args, timeout=60, **kwargs)
        except requests.RequestException as exc:
            with self.lock:
                self.statuses[f"{kind}:{type(exc).__name__}"] += 1
            return None
        took = (time.perf_counter() - start) * 1000
        with self.lock:
            self.times[kind].append(took)
            self.statuses[r.status_code] += 1
            if r.status_code >= 500 or r.status_code in (401, 403, 422):
                self.errors.append(f"{kind} {r.status_code} {r.text[:200]}")
        return r


def user(base: str, person: tuple[str, str, list[str]], rounds: int, start: threading.Barrier,
         load: Load, rng: random.Random, today: str, think: float) -> None:
    code, role, cases = person
    s = requests.Session()

    def pause() -> None:
        if think:
            time.sleep(rng.uniform(0.5 * think, 1.5 * think))

    start.wait()
    r = load.timed("sign-in", s.post, f"{base}/api/session", json={"code": code, "password": PASSWORD})
    if r is None or r.status_code != 200:
        return
    headers = {"X-CSRF-Token": r.json()["csrf_token"]}
    for _ in range(rounds):
        pause()
        load.timed("today", s.get, f"{base}/today")
        pause()
        load.timed("caseload", s.get, f"{base}/api/cases", params={"limit": 50})
        case_no = rng.choice(cases)
        pause()
        load.timed("case page", s.get, f"{base}/cases/{case_no}")
        if rng.random() < 0.1:
            pause()
            visit = {"visit": {"date": today, "visitor": code, "method": "home", "child_seen": True,
                               "risk_change": "unchanged", "notes": "压力测试随访"}}
            r = load.timed("visit save", s.post, f"{base}/api/cases/{case_no}/records/visit",
                           json=visit, headers=headers | {"Idempotency-Key": str(uuid.uuid4())})
            if r is not None and r.status_code == 201:
                with load.lock:
                    load.saved.append(r.json()["record_id"])


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of reads per user")
    parser.add_argument("--children", type=int, default=2000)
    parser.add_argument("--db", default=None, help="a throwaway database (default: SQLite file)")
    parser.add_argument("--think", type=float, default=2.0,
                        help="average seconds a person spends on a page (0: no pause, a stress test)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="jianhu-load-"))
    try:
        url, people = prepare(args.db, tmp, args.children)
        port = free_port()
        proc = serve(url, port, tmp)
        base = f"http://127.0.0.1:{port}"
        load = Load()
        today = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=8)).date().isoformat()
        barrier = threading.Barrier(args.users)
        threads = [threading.Thread(target=user, args=(base, people[i % len(people)], args.rounds,
                                                       barrier, load, random.Random(i), today,
                                                       args.think))
                   for i in range(args.users)]
        began = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - began
        proc.terminate()
        proc.wait(timeout=30)
        engine = make_engine(url)
        with open_session(engine) as s:
            stored = s.scalar(select(func.count()).select_from(FormRecord).where(
                FormRecord.id.in_([uuid.UUID(i) for i in load.saved]))) if load.saved else 0
        engine.dispose()
    finally:
        if (tmp / "serve.log").exists() and (tmp / "serve.log").stat().st_size:
            print("server log (last lines):\n" + "\n".join(
                (tmp / "serve.log").read_text("utf-8", "replace").splitlines()[-12:]))
        shutil.rmtree(tmp, ignore_errors=True)

    total = sum(len(v) for v in load.times.values())
    every = [t for v in load.times.values() for t in v]
    backend = "postgresql" if url.startswith("postgresql") else "sqlite"
    print(f"{args.users} users × {args.rounds} rounds on {backend} (as {len(people)} directors and "
          f"supervisors), {args.think:g} s on a page on average, {total} requests in {wall:.1f} s "
          f"({total / wall:.1f} requests/s)")
    print(f"{'request':<12}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for kind, values in load.times.items():
        print(f"{kind:<12}{len(values):>6}{percentile(values, 50):>9.0f}{percentile(values, 95):>9.0f}"
              f"{percentile(values, 99):>9.0f}")
    print(f"{'all':<12}{len(every):>6}{percentile(every, 50):>9.0f}{percentile(every, 95):>9.0f}"
          f"{percentile(every, 99):>9.0f}   target: p95 < 300 ms at 50 users on SQLite")
    # signing in checks an Argon2id hash (about half a second of CPU, by design): fifty at the
    # same instant queue for the cores, which says nothing about the pages
    work = [t for kind, v in load.times.items() if kind != "sign-in" for t in v]
    print(f"{'after sign-in':<13}{len(work):>5}{percentile(work, 50):>9.0f}{percentile(work, 95):>9.0f}"
          f"{percentile(work, 99):>9.0f}")
    print("statuses:", dict(sorted(load.statuses.items(), key=str)), "  target: no 5xx, no error")
    print(f"visits acknowledged {len(load.saved)}, in the database {stored}")
    for e in load.errors[:5]:
        print("  ", e)
    errors = sum(n for k, n in load.statuses.items() if not isinstance(k, int) or k >= 400)
    print("RESULT " + json.dumps({
        "backend": backend, "users": args.users, "think_s": args.think, "requests": total,
        "seconds": round(wall, 2),
        "throughput": round(total / wall, 1), "p50_ms": round(percentile(every, 50)),
        "p95_ms": round(percentile(every, 95)), "p99_ms": round(percentile(every, 99)),
        "p95_ms_after_sign_in": round(percentile(work, 95)),
        "errors": errors, "statuses": {str(k): n for k, n in load.statuses.items()},
        "visits_acknowledged": len(load.saved), "visits_stored": stored}))
    sys.exit(1 if errors or stored != len(load.saved) else 0)


if __name__ == "__main__":
    main()
