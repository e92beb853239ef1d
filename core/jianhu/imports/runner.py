"""What every import shares: the summary it returns, and running it all or nothing.

An import reads and checks every row, writing while the file is good; a file with any bad row is
rolled back whole and refused with every problem by row and column
(:class:`~jianhu.errors.ImportRejected`, the first :data:`KEEP` problems kept and the rest
counted); a good one is committed once, with one ``import`` event in the audit trail. A dry run
checks and counts the same way and rolls back. Handbook: 架构 → 一次导入.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from jianhu import audit, identity
from jianhu.db.session import unit_of_work
from jianhu.errors import RowError, RowProblems

#: Problems (and possible-duplicate warnings) of a file kept to be shown; the rest are counted.
KEEP = 1000


@dataclass
class ImportSummary:
    """What an import did (or, with ``dry_run``, would do).

    Attributes:
        rows: data rows read.
        created: children (people, records...) added.
        updated: ones whose data changed.
        unchanged: ones already stored exactly as in the file.
        cases_opened: cases opened.
        cases_updated: open cases whose categories, rating or level changed.
        cases_reopened: closed cases of children found in need again by a later survey.
        emergencies: cases opened, reopened or already open that the survey puts in an emergency
            (未保法 Art 92): red, with an emergency-response task.
        villages_created: villages registered for the first time.
        possible_duplicates: new children resembling registered ones (:mod:`jianhu.duplicates`).
        dry_run: nothing was written.
        by_township: cases opened per township name.
        warnings: row warnings that did not refuse the row (possible duplicates), the first
            :data:`KEEP` of them (``possible_duplicates`` counts them all).
    """

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    cases_opened: int = 0
    cases_updated: int = 0
    cases_reopened: int = 0
    emergencies: int = 0
    villages_created: int = 0
    possible_duplicates: int = 0
    dry_run: bool = False
    by_township: dict[str, int] = field(default_factory=dict)
    warnings: list[RowError] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """The numbers of the summary (the default ``after`` of the import's audit event)."""
        return {k: v for k, v in vars(self).items() if isinstance(v, int) and not isinstance(v, bool)}


@dataclass
class ImportRun:
    """One import in progress (:func:`all_or_nothing`).

    Attributes:
        summary: what it did so far.
        problems: the problems of its rows (any refuses the file).
        alerts: attempts on children held by another township (:func:`jianhu.identity.report`),
            recorded even when the file is refused.
        after: the ``after`` of the audit event (default: the summary's counts).
        entity_id: the audit event's entity (default: the file's name).
        context: more context for the audit event.
    """

    summary: ImportSummary
    problems: RowProblems
    alerts: list[dict[str, Any]] = field(default_factory=list)
    after: dict[str, Any] | None = None
    entity_id: Any = None
    context: dict[str, Any] = field(default_factory=dict)


@contextmanager
def all_or_nothing(session: Session, *, actor: str, file: str, dry_run: bool,
                   summary: ImportSummary | None = None) -> Iterator[ImportRun]:
    """Run the block as one import of ``file`` by ``actor``: one transaction, committed only
    when no row had a problem and it is not a dry run.

    Args:
        summary: the summary to fill (default: a new one).

    Raises:
        ImportRejected: the block added problems; nothing is written (the alerts are).
    """
    if summary is None:
        summary = ImportSummary()
    summary.dry_run = dry_run
    run = ImportRun(summary, RowProblems(KEEP))
    with unit_of_work(session, keep=not dry_run), fewer_collections():
        yield run
        if run.problems:
            identity.report(session, run.alerts)
            raise run.problems.rejected(run.summary.rows)
        if not dry_run:
            audit.record(session, actor=actor, action="import", entity_type="file",
                         entity_id=file if run.entity_id is None else run.entity_id,
                         after=run.summary.counts() if run.after is None else run.after,
                         context={"file": file, **run.context})


#: The youngest generation's threshold of Python's cycle collector while an import runs (its
#: default is 700 allocations). An import allocates millions of short-lived objects, nearly none
#: of them in reference cycles, and each collection of the older generations walks every object
#: the process holds: at the default, collecting took about a sixth of a survey import's time.
IMPORT_GC_THRESHOLD = 50_000
_gc_lock = threading.Lock()
_gc_users = 0
_gc_saved: tuple[int, int, int] | None = None


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the block with the cycle collector's youngest threshold at
    :data:`IMPORT_GC_THRESHOLD` (garbage in cycles is still collected, less often), restoring the
    process's thresholds when the last of the imports running at once (threads of the web
    server) ends."""
    global _gc_users, _gc_saved
    with _gc_lock:
        if _gc_users == 0:
            _gc_saved = gc.get_threshold()
            gc.set_threshold(max(IMPORT_GC_THRESHOLD, _gc_saved[0]), *_gc_saved[1:])
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0 and _gc_saved is not None:
                gc.set_threshold(*_gc_saved)
