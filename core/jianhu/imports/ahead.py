"""Reading a file's rows in a second process while this one writes them (handbook: 系统架构 →
导入的速度).

An import has two halves that need nothing of each other until a row is ready: reading and
checking the cells (the file, the form's field parsers, the schema) and writing (the database).
On a machine with more than one core :func:`read_ahead` runs the first half in a forked child
process, which sends the rows in batches through a bounded queue, while the importing process
looks children up and writes them; the import of 20,000 survey rows from an XLSX takes about
0.6 of the time it takes in one process (``benchmarks/import_screening.py``).

Nothing else changes: the rows come in file order with the same problems, the importing process
alone touches the database (all or nothing as before), and an error the reading raises (a file
that cannot be decoded half-way) is raised here, in the importing process, with its Chinese
message. Memory stays bounded: the child is at most :data:`DEPTH` batches of :data:`SIZE` rows
ahead.

The rows are read in this process instead when forking is not safe or not possible: on a system
other than Linux (no ``fork``), or when the process runs other threads (the web server, whose
threads would be copied into the child in whatever state they are), or with
``JIANHU_IMPORT_READER=inline``.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import queue
import sys
import threading
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from jianhu.errors import JianhuError

T = TypeVar("T")

#: Rows per batch sent from the reading process.
SIZE = 500
#: Batches the reading process may be ahead of the writing one (the queue's bound: at most
#: ``SIZE × DEPTH`` rows waiting, a few MB); more than the import's own batch of 2,000 rows, so
#: the reader goes on while a batch is written.
DEPTH = 8
#: How long to wait for the next batch before checking that the reading process still runs.
POLL_S = 1.0


def forking_allowed(env: dict[str, str] | None = None) -> bool:
    """Whether :func:`read_ahead` reads in a child process: on Linux, in a process with no other
    thread, unless ``JIANHU_IMPORT_READER=inline``."""
    env = os.environ if env is None else env
    return (sys.platform == "linux" and env.get("JIANHU_IMPORT_READER", "") != "inline"
            and threading.active_count() == 1)


def read_ahead(items: Iterable[T]) -> Iterator[T]:
    """Yield the items of ``items`` (a generator not started yet, whose items can be pickled),
    produced in a forked child process when :func:`forking_allowed`, else here.

    The child only iterates ``items``: it never touches the parent's database connections (its
    garbage collector is off, so no copied connection is finalised there) and ends with
    ``os._exit``. When the consumer stops early (an error while writing), the child is killed.

    Raises:
        whatever iterating ``items`` raises, re-raised here (as :class:`JianhuError` with the
        same message when the exception itself cannot be pickled); :class:`JianhuError` when the
        child dies without a word (killed, out of memory).
    """
    if not forking_allowed():
        yield from items
        return
    context = multiprocessing.get_context("fork")
    batches: Any = context.Queue(maxsize=DEPTH)
    child = context.Process(target=_produce, args=(items, batches), daemon=True,
                            name="jianhu-import-reader")
    child.start()
    try:
        while True:
            try:
                kind, payload = batches.get(timeout=POLL_S)
            except queue.Empty:
                if not child.is_alive():
                    raise JianhuError("读取文件的进程意外退出（内存不足或被终止）：没有导入任何数据，"
                                      "请重试") from None
                continue
            if kind == "rows":
                yield from payload
            elif kind == "error":
                raise payload
            else:
                return
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        batches.close()
        batches.join_thread()


def _produce(items: Iterable[Any], batches: Any) -> None:
    """The child's work: send ``items`` in batches, then ``("end", None)``, or the error."""
    gc.disable()  # never finalise the parent's objects (its database connections) here
    batch: list[Any] = []
    try:
        for item in items:
            batch.append(item)
            if len(batch) >= SIZE:
                batches.put(("rows", batch))
                batch = []
        if batch:
            batches.put(("rows", batch))
        batches.put(("end", None))
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the importer
        batches.put(("error", _portable(exc)))
    batches.close()
    batches.join_thread()


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling (the queue pickles in a thread, where a failure would be
    lost), else a :class:`JianhuError` with its message."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - any exception that cannot cross processes
        return JianhuError(str(exc) or type(exc).__name__)
    return exc
