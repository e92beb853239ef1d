"""Benchmark: import 100,000 generated survey rows, against a raw insert baseline.

Prints, for the same rows and the same SQLite file layout:

- ``jianhu import screening`` (read XLSX, check every row, children, guardians, survey records,
  cases, audit events): rows per second and peak RSS of the whole process;
- baseline: a raw SQLAlchemy Core ``executemany`` of one ``children`` row per survey row, in
  batches of 5,000, in one transaction: rows per second and peak RSS;
- for context, reading the workbook alone with python-calamine.

Each measurement runs in its own process so peak RSS is its own. Usage::

    python benchmarks/import_screening.py [--rows 100000] [--seed 1] [--workdir DIR]

Targets (issue 2): import rate at least a third of the baseline's; peak RSS under 400 MB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path


def _rss_mb() -> float:
    """Peak resident memory of this process in MB.

    Reads ``VmHWM`` on Linux: ``ru_maxrss`` keeps the parent's peak across ``exec``, which would
    charge the driver's own memory to each measured child.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_import(xlsx: str, db: str) -> dict:
    from jianhu.db.session import make_engine, open_session, upgrade
    from jianhu.imports.screening import import_screening
    from jianhu.plugins import Host

    host = Host.load(env={"JIANHU_LOAD_PLUGINS": ""})
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    start = time.perf_counter()
    with open_session(engine) as session:
        summary = import_screening(session, host, xlsx, actor="bench")
    return {"rows": summary.rows, "seconds": time.perf_counter() - start, "rss_mb": _rss_mb(),
            "cases": summary.cases_opened}


def child_baseline(xlsx: str, db: str) -> dict:
    import python_calamine
    from sqlalchemy import insert

    from jianhu.db.models import Child, Township, Village
    from jianhu.db.session import make_engine, upgrade

    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    sheet = python_calamine.CalamineWorkbook.from_path(xlsx).get_sheet_by_index(0)
    rows_iter = iter(sheet.iter_rows())
    header = next(rows_iter)
    col = {h: i for i, h in enumerate(header)}
    township_id, village_id = uuid.uuid4(), uuid.uuid4()
    now = dt.datetime.now(dt.UTC)
    rows = []
    for cells in rows_iter:
        born = cells[col["儿童出生日期"]]
        rows.append({"id": uuid.uuid4(), "township_id": township_id, "village_id": village_id,
                     "name": cells[col["儿童姓名"]], "sex": "male",
                     "birth_date": born if isinstance(born, dt.date) else dt.date(2014, 6, 1),
                     "citizen_id": cells[col["儿童身份证号"]] or None,
                     "created_at": now, "updated_at": now})
    with engine.begin() as conn:
        conn.execute(insert(Township), [{"id": township_id, "code": "320724100000",
                                         "name": "新安镇", "county_code": "320724"}])
        conn.execute(insert(Village), [{"id": village_id, "township_id": township_id,
                                        "name": "基准村", "code": None}])
    start = time.perf_counter()
    with engine.begin() as conn:
        for i in range(0, len(rows), 5000):
            conn.execute(insert(Child.__table__), rows[i:i + 5000])
    return {"rows": len(rows), "seconds": time.perf_counter() - start, "rss_mb": _rss_mb()}


def child_import_csv(xlsx: str, db: str) -> dict:
    return child_import(str(Path(xlsx).with_suffix(".csv")), db)


def child_read(xlsx: str, db: str) -> dict:
    import python_calamine

    start = time.perf_counter()
    sheet = python_calamine.CalamineWorkbook.from_path(xlsx).get_sheet_by_index(0)
    n = sum(1 for _ in sheet.iter_rows()) - 1
    return {"rows": n, "seconds": time.perf_counter() - start, "rss_mb": _rss_mb()}


def _to_csv(xlsx: Path) -> None:
    """Write the workbook's rows as UTF-8 CSV (dates as ISO text) beside it."""
    import csv

    import python_calamine

    sheet = python_calamine.CalamineWorkbook.from_path(str(xlsx)).get_sheet_by_index(0)
    with xlsx.with_suffix(".csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        for row in sheet.iter_rows():
            writer.writerow([c.isoformat() if isinstance(c, dt.date) else c for c in row])


def measure(mode: str, xlsx: Path, db: Path) -> dict:
    db.unlink(missing_ok=True)
    out = subprocess.run([sys.executable, __file__, "--child", mode, str(xlsx), str(db)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "jianhu-bench")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "XLSX", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, xlsx, db = args.child
        print(json.dumps({"import": child_import, "import-csv": child_import_csv,
                          "baseline": child_baseline, "read": child_read}[mode](xlsx, db)))
        return

    from jianhu.plugins import Host
    from jianhu.sample import write_sample

    args.workdir.mkdir(parents=True, exist_ok=True)
    sample = args.workdir / f"sample-{args.rows}-{args.seed}"
    xlsx = sample / "screening.xlsx"
    if not xlsx.exists():
        start = time.perf_counter()
        write_sample(Host.load(env={"JIANHU_LOAD_PLUGINS": ""}), sample, args.rows, args.seed)
        print(f"generated {args.rows} rows in {time.perf_counter() - start:.1f} s: {xlsx}")
    if not xlsx.with_suffix(".csv").exists():
        _to_csv(xlsx)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    results = {mode: measure(mode, xlsx, args.workdir / f"{mode}.db")
               for mode in ("read", "baseline", "import", "import-csv")}
    for mode, label in (("read", "read XLSX only (calamine)"),
                        ("baseline", "baseline: Core executemany into children"),
                        ("import", "jianhu import screening (XLSX)"),
                        ("import-csv", "jianhu import screening (same rows, CSV)")):
        r = results[mode]
        print(f"{label:45s} {r['rows'] / r['seconds']:>10,.0f} rows/s  "
              f"{r['seconds']:6.1f} s  peak RSS {r['rss_mb']:6.0f} MB")
    ratio = (results["import"]["rows"] / results["import"]["seconds"]) / (
        results["baseline"]["rows"] / results["baseline"]["seconds"])
    print(f"import / baseline rate: {ratio:.2f} (target ≥ 0.33); "
          f"cases opened: {results['import']['cases']}")


if __name__ == "__main__":
    main()
