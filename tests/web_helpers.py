"""A sample workspace with passwords, and the web application served by uvicorn on 127.0.0.1,
for the web tests (tests/test_web.py, tests/test_web_browser.py)."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from databases import throwaway_database
from jianhu.db.models import Case, Person, Village
from jianhu.db.session import make_engine, open_session, upgrade
from jianhu.deploy.apply import hash_password
from jianhu.imports.assessment import import_assessments
from jianhu.imports.records import import_records
from jianhu.imports.screening import import_screening
from jianhu.lifecycle import ACTIVE
from jianhu.people import import_people, resolve_actor

PASSWORD = "jianhu-test-2026"
#: Debian's chromium (installed by .ci/run; never ``playwright install``) and its flags.
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: Roster codes of the sample (people.xlsx of ``write_sample``): the child director of 新安镇's
#: first village, 新安镇's supervisor, 堆沟港镇's supervisor, a 新安镇 social worker (lock-out),
#: and 新安镇's caring mother (a service provider: assigned cases only).
DIRECTOR, SUPERVISOR, OTHER_TOWN, WORKER, MOTHER = (
    "320724100-D01", "320724100-S01", "320724101-S01", "320724100-W01", "320724100-M01")


def database(tmp: Path):  # noqa: ANN201
    """A throwaway database URL (:func:`databases.throwaway_database`)."""
    return throwaway_database(tmp, prefix="jianhu_web")


@dataclass
class Sample:
    """The sample workspace: its engine and the cases the tests use.

    Attributes:
        engine: the engine.
        own_case: an active case in the director's village.
        other_village_case: a case of 新安镇 outside the director's village.
        other_town_case: a case of 堆沟港镇 (320724101).
    """

    engine: object
    own_case: str
    other_village_case: str
    other_town_case: str


def build_sample(url: str, host, sample_dir: Path) -> Sample:  # noqa: ANN001
    """Import the sample like ``jianhu demo`` and give the test users a password."""
    engine = make_engine(url)
    upgrade(engine)
    with open_session(engine) as s:
        import_screening(s, host, sample_dir / "screening.xlsx", actor="test")
    with open_session(engine) as s:
        import_assessments(s, host, sample_dir / "assessment.xlsx", actor="test")
    with open_session(engine) as s:
        admin = resolve_actor(s, None)
        import_people(s, host, sample_dir / "people.xlsx", actor=admin)
    with open_session(engine) as s:
        import_records(s, host, sample_dir / "records.jsonl", actor=resolve_actor(s, None))
    with open_session(engine) as s:
        hashed = hash_password(PASSWORD)
        for p in s.scalars(select(Person).where(Person.code.in_(
                [DIRECTOR, SUPERVISOR, OTHER_TOWN, WORKER, MOTHER]))):
            p.password_hash = hashed
        village = s.scalar(select(Person.village_id).where(Person.code == DIRECTOR))
        town = s.scalar(select(Village.township_id).where(Village.id == village))
        own = s.scalars(select(Case.case_no).where(Case.village_id == village,
                                                   Case.status.in_(ACTIVE))
                        .order_by(Case.case_no)).first()
        other_village = s.scalars(select(Case.case_no).where(
            Case.township_id == town, Case.village_id != village).order_by(Case.case_no)).first()
        other_town = s.scalars(select(Case.case_no).where(Case.case_no.like("320724101-%"))
                               .order_by(Case.case_no)).first()
        s.commit()
    assert own and other_village and other_town, "the sample lacks the cases the tests need"
    return Sample(engine, own, other_village, other_town)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(app) -> Iterator[str]:  # noqa: ANN001
    """Serve ``app`` with uvicorn in a thread on 127.0.0.1 (proxy headers trusted from loopback,
    as behind the county's nginx); yields the base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           proxy_headers=True, forwarded_allow_ips="127.0.0.1"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def served_sample(tmp: Path, sample_dir: Path, host, secret: str) -> Iterator[tuple[str, Sample, str]]:  # noqa: ANN001
    """The sample workspace (:func:`build_sample`) in a throwaway database, served on 127.0.0.1;
    yields ``(base URL, sample, database URL)``."""
    from jianhu.web import WebConfig, create_app

    with database(tmp) as url:
        sample = build_sample(url, host, sample_dir)
        with serve(create_app(sample.engine, host, WebConfig(secret_key=secret))) as base:
            yield base, sample, url
        sample.engine.dispose()


def page_token(html: str) -> str:
    """The anti-forgery token of the first form of a page."""
    return re.search(r'name="csrf_token" value="([^"]+)"', html)[1]
