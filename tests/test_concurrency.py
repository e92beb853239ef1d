"""Many people at once on the embedded default (SQLite): no "database is locked" (issue: many users
at once). Each worker reads, then writes, in one transaction — as a sign-in or an audited page
view does — while the others do the same."""

import threading

import pytest
from sqlalchemy import func, select

from jianhu import audit
from jianhu.db.models import AuditEvent
from jianhu.db.session import open_session


def test_parallel_read_then_write_transactions_all_succeed(engine, db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("the embedded default's locking")
    errors: list[BaseException] = []
    start = threading.Barrier(12)

    def worker(n: int) -> None:
        try:
            with open_session(engine, writing=True) as s:  # as the web and the commands do
                start.wait()
                for i in range(5):
                    s.scalar(select(func.count()).select_from(AuditEvent))  # read first
                    audit.record(s, actor=f"w{n}", action="read", entity_type="case",
                                 entity_id=f"{n}-{i}")
                    s.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with open_session(engine) as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == 60


def test_a_reading_session_never_writes_and_its_audit_waits_for_the_write_lock(engine, db_url):
    """A page's session (``for_reading``) reads while another transaction holds the write lock;
    it refuses to write; its audit event is written only when the lock is free, before the
    reading side goes on (so a page is never sent before its audit entry)."""
    if not db_url.startswith("sqlite"):
        pytest.skip("the embedded default's locking")
    import time

    from sqlalchemy import insert
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    from jianhu.db.session import for_reading, for_writing

    reader = for_reading(engine)
    assert reader is not engine
    with reader.connect() as conn, pytest.raises(OperationalError, match="readonly"):
        conn.execute(insert(AuditEvent.__table__), [audit.event_row(
            actor="x", action="read", entity_type="case", entity_id="1")])
    holder = for_writing(engine).connect()
    holder.begin()  # BEGIN IMMEDIATE: the write lock, as a long save would hold it
    holder.execute(insert(AuditEvent.__table__), [audit.event_row(
        actor="holder", action="update", entity_type="case", entity_id="1")])
    finished: list[float] = []

    def page() -> None:
        with Session(reader) as s:
            audit.defer(s, for_writing(engine))
            assert s.scalar(select(func.count()).select_from(AuditEvent)) == 0  # reads at once
            audit.record(s, actor="D01", action="read", entity_type="case", entity_id="7")
            s.commit()  # writes the queued event: waits for the lock
            finished.append(time.monotonic())

    thread = threading.Thread(target=page)
    thread.start()
    time.sleep(1.0)
    assert finished == []  # still waiting to write its audit entry
    released = time.monotonic()
    holder.commit()
    holder.close()
    thread.join(10)
    assert len(finished) == 1 and finished[0] >= released
    with open_session(engine) as s:
        assert sorted(s.scalars(select(AuditEvent.actor))) == ["D01", "holder"]
    reader.dispose()


def test_a_transaction_ended_on_another_thread_lets_the_next_writer_in(engine, db_url):
    """The web server may begin a request's transaction on one thread and close it on another:
    the next writer still gets in at once (a lock that only its owner may release would stay
    held, and every later save would wait half a minute and fail)."""
    if not db_url.startswith("sqlite"):
        pytest.skip("the embedded default's locking")
    import time
    from concurrent.futures import ThreadPoolExecutor

    from jianhu.db.session import for_writing

    writer = for_writing(engine)
    conn = writer.connect()
    with ThreadPoolExecutor(1) as one, ThreadPoolExecutor(1) as other:
        one.submit(conn.begin).result()
        other.submit(lambda: (conn.rollback(), conn.close())).result()
    started = time.monotonic()
    with open_session(engine, writing=True) as s:
        audit.record(s, actor="next", action="read", entity_type="case", entity_id="1")
        s.commit()
    assert time.monotonic() - started < 2
