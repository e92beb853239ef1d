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
message. Memory stays bounded: the child is at most a pipe's capacity (:data:`PIPE_BYTES`) and
a batch of :data:`SIZE` rows ahead.

The rows are read in this process instead when forking is not safe or not possible: on a system
other than Linux (no ``fork``), or when the process runs other threads (the web server, whose
threads would be copied into the child in whatever state they are), or with
``JIANHU_IMPORT_READER=inline``.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import pickle
import sys
import threading
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from jianhu.errors import JianhuError

T = TypeVar("T")

#: Rows per batch sent from the reading process.
SIZE = 500
#: The pipe's capacity asked of Linux (``F_SETPIPE_SZ``; 1 MB is what an unprivileged process
#: may ask by default): about 2,000 survey rows, so the reader goes on while the importer writes
#: a batch of its own (2,000 rows). The child writes the pipe from its only thread: a second
#: thread (``multiprocessing.Queue``'s) would wait for the reading thread's lock on the
#: interpreter and stall the importer. A full pipe makes the child wait: memory stays bounded.
PIPE_BYTES = 1 << 20
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
    import fcntl  # Linux only (forking_allowed): absent on Windows, where imports read inline

    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    with contextlib.suppress(OSError):  # a smaller limit: the default capacity (64 KB) does
        fcntl.fcntl(send.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    child = context.Process(target=_produce, args=(items, send, receive), daemon=True,
                            name="jianhu-import-reader")
    child.start()
    send.close()  # the child's copy is the only one: its end is seen as the end of the pipe
    try:
        while True:
            if not receive.poll(POLL_S):
                if not child.is_alive() and not receive.poll(0):
                    raise _died()
                continue
            try:
                kind, payload = receive.recv()
            except EOFError:
                raise _died() from None
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
        receive.close()


def _died() -> JianhuError:
    return JianhuError("读取文件的进程意外退出（内存不足或被终止）：没有导入任何数据，请重试")


def _produce(items: Iterable[Any], send: Any, receive: Any) -> None:
    """The child's work: send ``items`` in batches, then ``("end", None)``, or the error."""
    gc.disable()  # never finalise the parent's objects (its database connections) here
    receive.close()
    batch: list[Any] = []
    try:
        for item in items:
            batch.append(item)
            if len(batch) >= SIZE:
                send.send(("rows", batch))
                batch = []
        if batch:
            send.send(("rows", batch))
        send.send(("end", None))
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the importer
        send.send(("error", _portable(exc)))
    send.close()


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling, else a :class:`JianhuError` with its message."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - any exception that cannot cross processes
        return JianhuError(str(exc) or type(exc).__name__)
    return exc
