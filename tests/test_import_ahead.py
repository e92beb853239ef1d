"""Rows read in a second process while the import writes them (jianhu.imports.ahead)."""

import multiprocessing
import os
import threading

import pytest

from conftest import count
from files import write_csv
from jianhu.db.models import AuditEvent, Case, Child, FormRecord
from jianhu.errors import JianhuError
from jianhu.forms import load_form
from jianhu.imports import ahead, screening, tables
from jianhu.imports.screening import import_screening
from jianhu.sample import generate


@pytest.fixture
def fork(monkeypatch):
    """Read ahead in a child even when the test run has other threads (a browser test's server):
    the child only reads the file."""
    monkeypatch.setattr(ahead, "forking_allowed", lambda env=None: True)


def _pids(path):
    """The generator's items: the process that made each (a child's pid when forked)."""
    for _ in range(1200):
        yield os.getpid()


def test_items_come_from_a_child_process_in_order(fork):
    items = list(ahead.read_ahead(x for x in range(1234)))
    assert items == list(range(1234))
    pids = set(ahead.read_ahead(_pids(None)))
    assert len(pids) == 1 and os.getpid() not in pids
    assert multiprocessing.active_children() == []


def test_a_reading_process_is_not_forked_beside_threads_nor_when_told_not_to():
    assert ahead.forking_allowed({"JIANHU_IMPORT_READER": "inline"}) is False
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert ahead.forking_allowed({}) is False
        assert set(ahead.read_ahead(_pids(None))) == {os.getpid()}
    finally:
        stop.set()
        other.join()


def test_the_sample_imports_the_same_with_the_reader_in_a_child(session, host, sample_dir,
                                                                  monkeypatch, tmp_path, fork):
    marks = tmp_path / "pids"
    real = screening.parse_rows

    def parse_rows(*args):
        with marks.open("a") as fh:
            fh.write(f"{os.getpid()}\n")
        yield from real(*args)

    monkeypatch.setattr(screening, "parse_rows", parse_rows)
    s = import_screening(session, host, sample_dir / "screening.xlsx", actor="tester")
    assert int(marks.read_text()) != os.getpid()  # read in a child
    # the figures of test_import_screening.test_sample_import_counts (seed 7, 300 children)
    assert (s.rows, s.created, s.cases_opened) == (300, 300, 154)
    assert count(session, Child) == 300 and count(session, Case) == 154


def test_a_file_bad_half_way_is_refused_in_chinese_and_nothing_is_written(session, host, tmp_path,
                                                                           fork):
    form = load_form(host, "screening")
    docs = [doc for doc, _ in generate(host, 6000, 3)]
    path = write_csv(form, docs, tmp_path / "gbk.csv", "gbk")
    data = path.read_bytes()
    assert len(data) > tables.ENCODING_SAMPLE + 100_000  # read as GB18030 from its first MB
    cut = data.index(b"\n", tables.ENCODING_SAMPLE + 50_000) + 1  # past 4,000 rows written
    path.write_bytes(data[:cut] + b"\xff\xfe\xff" + data[cut:])  # not GBK
    with pytest.raises(JianhuError) as err:
        import_screening(session, host, path, actor="t")
    assert "gbk.csv 第" in str(err.value) and "行附近的文字编码有误（按 gb18030 读取）" in str(err.value)
    for model in (Child, FormRecord, Case, AuditEvent):
        assert count(session, model) == 0, model
    assert multiprocessing.active_children() == []


def test_a_failure_while_writing_stops_the_reader_and_writes_nothing(session, host, sample_dir,
                                                                      monkeypatch, fork):
    def write(self, batch, apply=True):
        raise RuntimeError("disk full")

    monkeypatch.setattr(screening.ScreeningImport, "write", write)
    monkeypatch.setattr(screening, "BATCH", 50)
    with pytest.raises(RuntimeError, match="disk full"):
        import_screening(session, host, sample_dir / "screening.xlsx", actor="t")
    assert multiprocessing.active_children() == []
    assert count(session, Child) == 0


class _Unpicklable(Exception):
    def __init__(self, message, handle):
        super().__init__(message)
        self.handle = handle


def _fails(kind):
    yield 1
    if kind == "unpicklable":
        raise _Unpicklable("读不下去了", threading.Lock())
    os._exit(3)  # the child dies without a word


def test_errors_of_the_reading_process_reach_the_importer(fork):
    with pytest.raises(JianhuError, match="^读不下去了$"):
        list(ahead.read_ahead(_fails("unpicklable")))
    with pytest.raises(JianhuError, match="读取文件的进程意外退出"):
        list(ahead.read_ahead(_fails("dies")))
    assert multiprocessing.active_children() == []


def test_a_system_without_fcntl_imports_the_module_and_reads_inline(monkeypatch):
    import importlib
    import sys

    monkeypatch.setitem(sys.modules, "fcntl", None)  # Windows has no fcntl: importing it fails
    try:
        importlib.reload(ahead)
        monkeypatch.setattr(ahead, "forking_allowed", lambda env=None: False)
        assert list(ahead.read_ahead(iter([3, 1, 2]))) == [3, 1, 2]
    finally:
        monkeypatch.undo()
        importlib.reload(ahead)
