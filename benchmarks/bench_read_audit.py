"""Benchmark: what auditing every identified read costs a case view.

Builds the 300-child sample workspace on SQLite, then opens every open case's view
(:func:`jianhu.timeline.case_view`, as the case page, the API and ``case show`` do) as a township
supervisor, committing each view as a request would: once as shipped (one ``read`` audit event per
view, written in the view's transaction) and once with the audit write left out (the baseline).
Prints milliseconds per view for both and the difference. Usage::

    python benchmarks/bench_read_audit.py [--children 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from unittest import mock

from sqlalchemy import select

from jianhu import timeline
from jianhu.db.models import Case
from jianhu.db.session import make_engine, open_session, upgrade
from jianhu.imports.screening import import_screening
from jianhu.people import import_people, resolve_actor
from jianhu.plugins import Host
from jianhu.roles import LOCAL_ADMIN
from jianhu.sample import write_sample
from jianhu.scope import scope_for


def views(engine, host, code: str, case_nos: list[str]) -> float:  # noqa: ANN001
    """Seconds per case view, each in its own committed transaction."""
    start = time.perf_counter()
    for case_no in case_nos:
        with open_session(engine, writing=True) as s:
            actor = resolve_actor(s, code)
            case = scope_for(s, actor).find_case(s, case_no)
            timeline.case_view(s, host, case, actor)
            s.commit()
    return (time.perf_counter() - start) / len(case_nos)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--children", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    host = Host.load()
    with tempfile.TemporaryDirectory() as tmp:
        files = write_sample(host, Path(tmp), args.children, 7)
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        upgrade(engine)
        with open_session(engine) as s:
            import_screening(s, host, files.screening, actor="bench")
            import_people(s, host, files.people, actor=LOCAL_ADMIN)
            case_nos = list(s.scalars(select(Case.case_no).where(
                Case.case_no.like("320724100-%"))))
        supervisor = "320724100-S01"
        with_audit, without = [], []
        for _ in range(args.rounds):
            with_audit.append(views(engine, host, supervisor, case_nos))
            with mock.patch.object(timeline.audit, "record", lambda *a, **k: None):
                without.append(views(engine, host, supervisor, case_nos))
    a, b = statistics.median(with_audit) * 1000, statistics.median(without) * 1000
    print(f"{len(case_nos)} case views of 新安镇, median of {args.rounds} rounds")
    print(f"baseline: case view without the read audit   {b:7.2f} ms per view")
    print(f"jianhu:   case view with the read audit      {a:7.2f} ms per view")
    print(f"cost of auditing the read                    {a - b:+7.2f} ms ({(a - b) / b:+.0%})")


if __name__ == "__main__":
    main()
