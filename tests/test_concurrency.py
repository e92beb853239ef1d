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
