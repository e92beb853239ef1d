"""Benchmark: import generated survey rows (100,000 by default), against a raw insert baseline.

Prints, for the same rows and the same SQLite file layout:

- ``jianhu import screening`` (read XLSX, check every row, children, guardians, survey records,
  cases, audit events): rows per second and peak RSS of the whole process, from the XLSX and from
  the same rows as CSV; its CPU time includes the process that reads the rows ahead
  (:mod:`jianhu.imports.ahead`), whose peak RSS is printed beside it;
- baseline: the same work without any checking — read the same file with python-calamine, then
  insert, with SQLAlchemy Core ``executemany`` in batches of 5,000 in one transaction, exactly
  as many rows into each table as the import wrote (children, guardians, survey records with
  their JSON, cases, tasks, audit events; counted from the import's database): rows per
  second and peak RSS. Reading is timed in both;
- for context, reading the workbook alone with python-calamine (whole sheet in memory) and with
  the import's streaming reader (:mod:`jianhu.imports.xlsx`).

Each measurement runs in its own process so peak RSS is its own. The files are generated once per
size and seed (:func:`jianhu.sample.generate`, the same surveys as ``jianhu demo``'s
``screening.xlsx``), written streaming (openpyxl's write-only mode) with the CSV beside them.
The last line is ``RESULT {json}``. Usage::

    python benchmarks/import_screening.py [--rows 100000] [--seed 1] [--workdir DIR]
        [--modes read,read-stream,import,import-csv,baseline]

``--modes import,import-csv`` measures the import alone (its rate and peak RSS, no ratio): at
1,000,000 rows the baseline, which holds every row in memory, needs about 10 GB.

Targets: the import at least 0.7 of the baseline's rate (it checks every row and cell, the
baseline checks nothing); the import's peak RSS not growing with the file (at most 250 MB at
1,000,000 rows, XLSX and CSV).
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
    start, cpu = time.perf_counter(), time.process_time()
    with open_session(engine) as session:
        summary = import_screening(session, host, xlsx, actor="bench")
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    # the process that reads the rows ahead (jianhu.imports.ahead), if one was forked: its CPU
    # time is part of the import's; its peak RSS counts the pages it shares with the importer
    reader = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"rows": summary.rows, "seconds": seconds,
            "cpu_s": cpu + reader.ru_utime + reader.ru_stime, "rss_mb": _rss_mb(),
            "reader_rss_mb": reader.ru_maxrss / 1024, "cases": summary.cases_opened}


#: Tables the import writes, in insert order (their rows are counted after the import).
WRITTEN = ("children", "guardians", "form_records", "cases", "followups", "audit_events")


def written_counts(db: str) -> dict[str, int]:
    """Rows per table :data:`WRITTEN` in the import's database (what the baseline must write)."""
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in WRITTEN}
    finally:
        conn.close()


def child_baseline(xlsx: str, db: str, counts_json: str) -> dict:
    """Read the file and insert as many rows per table as the import wrote, checking nothing."""
    import python_calamine
    from sqlalchemy import insert

    from jianhu.db.models import (
        AuditEvent,
        Case,
        Child,
        FollowUp,
        FormRecord,
        Guardian,
        Township,
        Village,
    )
    from jianhu.db.session import make_engine, upgrade

    counts = json.loads(counts_json)
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    township_id, village_id = uuid.uuid4(), uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(insert(Township), [{"id": township_id, "code": "320724100000",
                                         "name": "新安镇", "county_code": "320724"}])
        conn.execute(insert(Village), [{"id": village_id, "township_id": township_id,
                                        "name": "基准村", "code": None}])
    start, cpu = time.perf_counter(), time.process_time()
    sheet = python_calamine.CalamineWorkbook.from_path(xlsx).get_sheet_by_index(0)
    rows_iter = iter(sheet.iter_rows())
    header = next(rows_iter)
    col = {h: i for i, h in enumerate(header)}
    now = dt.datetime.now(dt.UTC)
    today = now.date()
    children, guardians, records = [], [], []
    for cells in rows_iter:
        born = cells[col["儿童出生日期"]]
        cid = uuid.uuid4()
        children.append({"id": cid, "township_id": township_id, "village_id": village_id,
                         "name": cells[col["儿童姓名"]], "sex": "male",
                         "birth_date": born if isinstance(born, dt.date) else dt.date(2014, 6, 1),
                         "citizen_id": cells[col["儿童身份证号"]] or None,
                         "legal_basis": "statutory_duty", "created_at": now, "updated_at": now})
        records.append({"id": uuid.uuid4(), "form_id": "screening", "form_version": 1,
                        "subject_type": "child", "subject_id": cid, "recorded_on": today,
                        "payload": {h: (c.isoformat() if isinstance(c, dt.date) else c)
                                    for h, c in zip(header, cells, strict=False)
                                    if c not in ("", None)},
                        "payload_hash": "0" * 64, "created_at": now, "created_by": "bench"})
    per_child = counts["guardians"] / max(len(children), 1)
    for i, c in enumerate(children):
        for role in ("father", "mother", "entrusted")[:round((i + 1) * per_child)
                                                     - round(i * per_child)]:
            guardians.append({"id": uuid.uuid4(), "child_id": c["id"], "role": role,
                              "name": "基准", "status": "working_away"})
    cases = [{"id": uuid.uuid4(), "case_no": f"320724100-2026-{i:06d}", "child_id": c["id"],
              "township_id": township_id, "village_id": village_id, "status": "registered",
              "categories": ["left_behind"], "guardianship_rating": "fair", "opened_on": today,
              "created_at": now, "updated_at": now}
             for i, c in enumerate(children[:counts["cases"]])]
    tasks = [{"id": uuid.uuid4(), "case_id": cases[i % len(cases)]["id"],
              "township_id": township_id, "kind": "first_assessment", "due_on": today,
              "status": "pending", "created_at": now} for i in range(counts["followups"])] \
        if cases else []
    events = [{"actor": "bench", "action": "create", "entity_type": "child",
               "entity_id": str(children[i % len(children)]["id"]), "at": now,
               "after": {"name": "基准", "village_id": str(village_id)}}
              for i in range(counts["audit_events"])]
    with engine.begin() as conn:
        for table, batch in ((Child, children), (Guardian, guardians), (FormRecord, records),
                             (Case, cases), (FollowUp, tasks), (AuditEvent, events)):
            for i in range(0, len(batch), 5000):
                conn.execute(insert(table.__table__), batch[i:i + 5000])
    written = len(children) + len(guardians) + len(records) + len(cases) + len(tasks) + \
        len(events)
    return {"rows": len(children), "written": written, "seconds": time.perf_counter() - start,
            "cpu_s": time.process_time() - cpu, "rss_mb": _rss_mb()}


def child_import_csv(xlsx: str, db: str) -> dict:
    return child_import(str(Path(xlsx).with_suffix(".csv")), db)


def child_read(xlsx: str, db: str) -> dict:
    import python_calamine

    start, cpu = time.perf_counter(), time.process_time()
    sheet = python_calamine.CalamineWorkbook.from_path(xlsx).get_sheet_by_index(0)
    n = sum(1 for _ in sheet.iter_rows()) - 1
    return {"rows": n, "seconds": time.perf_counter() - start, "cpu_s": time.process_time() - cpu,
            "rss_mb": _rss_mb()}


def child_read_stream(xlsx: str, db: str) -> dict:
    from jianhu.imports.tables import open_table

    start, cpu = time.perf_counter(), time.process_time()
    n = sum(1 for _ in open_table(xlsx).rows)
    return {"rows": n, "seconds": time.perf_counter() - start, "cpu_s": time.process_time() - cpu,
            "rss_mb": _rss_mb()}


def write_files(rows: int, seed: int, xlsx: Path) -> None:
    """Write ``rows`` generated surveys as ``xlsx`` and, cell for cell, as UTF-8 CSV beside it
    (dates as ISO text), streaming: any number of rows in little memory."""
    import csv
    import random

    from openpyxl import Workbook

    from jianhu.forms import load_form
    from jianhu.plugins import Host
    from jianhu.sample import generate, human_cell

    host = Host.load(env={"JIANHU_LOAD_PLUGINS": ""})
    form = load_form(host, "screening")
    cells = human_cell(random.Random(seed + 1))  # as jianhu.sample.write_sample writes them
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(form.title[:31])
    xlsx.parent.mkdir(parents=True, exist_ok=True)
    with xlsx.with_suffix(".csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        ws.append([f.column for f in form.fields])
        writer.writerow([f.column for f in form.fields])
        for doc, _ in generate(host, rows, seed):
            row = [cells(f, doc.get(f.group, {}).get(f.key)) for f in form.fields]
            ws.append(row)
            writer.writerow(["" if c is None else c.isoformat() if isinstance(c, dt.date) else c
                             for c in row])
    wb.save(xlsx)


#: What can be measured, in the order measured and printed (the baseline last: it writes as many
#: rows as the import did).
MODES = {"read": "read XLSX only (calamine, whole sheet)",
         "read-stream": "read XLSX only (the import's streaming reader)",
         "import": "jianhu import screening (XLSX)",
         "import-csv": "jianhu import screening (same rows, CSV)",
         "baseline": "baseline: read + insert the same rows, no checks"}


def measure(mode: str, xlsx: Path, db: Path, extra: str = "") -> dict:
    db.unlink(missing_ok=True)
    out = subprocess.run([sys.executable, __file__, "--child", mode, str(xlsx), str(db), extra],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "jianhu-bench")
    parser.add_argument("--modes", default=",".join(MODES),
                        help="what to measure, comma-separated (default: all)")
    parser.add_argument("--child", nargs=4, metavar=("MODE", "XLSX", "DB", "EXTRA"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, xlsx, db, extra = args.child
        if mode == "baseline":
            print(json.dumps(child_baseline(xlsx, db, extra)))
        else:
            print(json.dumps({"import": child_import, "import-csv": child_import_csv,
                              "read": child_read, "read-stream": child_read_stream}[mode](xlsx, db)))
        return

    sample = args.workdir / f"screening-{args.rows}-{args.seed}"
    xlsx = sample / "screening.xlsx"
    if not xlsx.exists() or not xlsx.with_suffix(".csv").exists():
        start = time.perf_counter()
        write_files(args.rows, args.seed, xlsx)
        print(f"generated {args.rows} rows in {time.perf_counter() - start:.1f} s: {xlsx}")
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    modes = [m for m in MODES if m in args.modes.split(",")]
    if "baseline" in modes and "import" not in modes:
        parser.error("the baseline writes as many rows as the import: measure import too")
    results = {mode: measure(mode, xlsx, args.workdir / f"{mode}.db")
               for mode in modes if mode != "baseline"}
    counts = written_counts(str(args.workdir / "import.db")) if "import" in modes else {}
    if "baseline" in modes:
        results["baseline"] = measure("baseline", xlsx, args.workdir / "baseline.db",
                                      json.dumps(counts))
    for mode in MODES:
        (args.workdir / f"{mode}.db").unlink(missing_ok=True)
    if counts:
        print("rows the import wrote (the baseline writes as many): "
              + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
    for mode, label in MODES.items():
        if mode not in results:
            continue
        r = results[mode]
        r["rows_per_s"] = r["rows"] / r["seconds"]
        print(f"{label:48s} {r['rows_per_s']:>10,.0f} rows/s  "
              f"{r['seconds']:7.1f} s ({r['cpu_s']:7.1f} s CPU)  peak RSS {r['rss_mb']:6.0f} MB")
    if "baseline" not in results or "import-csv" not in results:
        print("RESULT " + json.dumps({"rows": args.rows, "seed": args.seed, "written": counts, **{
            mode: {k: round(v, 1) for k, v in r.items()
                   if k in ("rows_per_s", "seconds", "cpu_s", "rss_mb", "reader_rss_mb")}
            for mode, r in results.items()}}, ensure_ascii=False))
        return
    ratio = results["import"]["rows_per_s"] / results["baseline"]["rows_per_s"]
    ratio_csv = results["import-csv"]["rows_per_s"] / results["baseline"]["rows_per_s"]
    print(f"import / baseline rate: {ratio:.2f} XLSX, {ratio_csv:.2f} CSV (target ≥ 0.70); "
          f"cases opened: {results['import']['cases']}")
    cpu_ratio = results["baseline"]["cpu_s"] / results["import"]["cpu_s"]
    print(f"the same by CPU time (steadier on a busy machine): {cpu_ratio:.2f} XLSX, "
          f"{results['baseline']['cpu_s'] / results['import-csv']['cpu_s']:.2f} CSV")
    print(f"import peak RSS: XLSX {results['import']['rss_mb']:.0f} MB, CSV "
          f"{results['import-csv']['rss_mb']:.0f} MB (target ≤ 250 MB at any size); the process "
          f"reading ahead: XLSX {results['import']['reader_rss_mb']:.0f} MB, CSV "
          f"{results['import-csv']['reader_rss_mb']:.0f} MB (most of it the pages it shares "
          "with the importer)")
    print("RESULT " + json.dumps({
        "rows": args.rows, "seed": args.seed, "ratio": round(ratio, 3),
        "ratio_csv": round(ratio_csv, 3), "ratio_cpu": round(cpu_ratio, 3), "written": counts,
        **{mode: {k: round(v, 1) for k, v in r.items()
                  if k in ("rows_per_s", "seconds", "cpu_s", "rss_mb", "reader_rss_mb")}
           for mode, r in results.items()}}, ensure_ascii=False))


if __name__ == "__main__":
    main()
