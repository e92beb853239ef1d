"""The webhook against a real local HTTP server that fails the first attempts."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time

import jianhu_webhook
import pytest
from sqlalchemy import func, select

from jianhu.db.models import OutboxMessage
from jianhu.db.session import make_engine, open_session, upgrade
from jianhu.errors import ImportRejected
from jianhu.imports.assessment import import_assessments
from jianhu.imports.screening import import_screening
from jianhu.plugins import Host
from jianhu.sample import write_sample
from jianhu.settings import enable

SECRET = "test-secret-not-real"
XINAN = "320724100000"


class Receiver(http.server.ThreadingHTTPServer):
    """Fails the first ``fail_first`` attempts of each event id; honours the event id."""

    def __init__(self, fail_first: int = 2, delay: float = 0.0):
        super().__init__(("127.0.0.1", 0), Handler)
        self.fail_first, self.delay = fail_first, delay
        self.attempts: dict[str, int] = {}
        self.processed: list[str] = []
        self.bodies: dict[str, dict] = {}
        self.bad_signatures = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass

    def do_POST(self):  # noqa: N802 (http.server's name)
        srv: Receiver = self.server
        body = self.rfile.read(int(self.headers["Content-Length"]))
        event_id = self.headers["X-Jianhu-Event-Id"]
        expected = "sha256=" + hmac.new(SECRET.encode(), self.headers["X-Jianhu-Timestamp"]
                                        .encode() + b"." + body, hashlib.sha256).hexdigest()
        time.sleep(srv.delay)
        with srv.lock:
            if not hmac.compare_digest(expected, self.headers["X-Jianhu-Signature"]):
                srv.bad_signatures += 1
                self.send_response(401)
                self.end_headers()
                return
            srv.attempts[event_id] = srv.attempts.get(event_id, 0) + 1
            if srv.attempts[event_id] <= srv.fail_first:
                self.send_response(503)
                self.end_headers()
                return
            if event_id not in srv.bodies:  # honour the event id: process once
                srv.bodies[event_id] = json.loads(body)
                srv.processed.append(event_id)
        self.send_response(200)
        self.end_headers()


@pytest.fixture
def receiver():
    def start(**kw):
        srv = Receiver(**kw)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return srv

    servers: list[Receiver] = []
    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("s")
    write_sample(Host.load(env={"JIANHU_LOAD_PLUGINS": ""}), out, 300, 7)
    return out


def workspace(tmp_path, url, sample, identified=None):
    host = Host.load(env={"JIANHU_LOAD_PLUGINS": ""}, extra=[("webhook", jianhu_webhook)])
    tmp_path.mkdir(parents=True, exist_ok=True)
    db = f"sqlite:///{tmp_path / 'w.db'}"
    engine = make_engine(db)
    upgrade(engine)
    with open_session(engine) as s:
        settings = {"url": url, "events": ["case_opened", "level_changed"]}
        if identified:
            settings["identified_fields"] = identified
        enable(s, host, "webhook", XINAN, settings, actor="t")
        s.commit()
    with open_session(engine) as s:
        import_screening(s, host, sample / "screening.xlsx", actor="t")
    with open_session(engine) as s:
        import_assessments(s, host, sample / "assessment.xlsx", actor="t")
    return host, engine, db


def outbox_ids(engine):
    with open_session(engine) as s:
        return {str(i) for i in s.scalars(select(OutboxMessage.id))}


def test_events_arrive_signed_deidentified_once_despite_failures(tmp_path, receiver, sample):
    srv = receiver(fail_first=2)
    host, engine, _ = workspace(tmp_path, srv.url, sample)
    ids = outbox_ids(engine)
    with open_session(engine) as s:
        kinds = dict(s.execute(select(OutboxMessage.kind, func.count())
                               .group_by(OutboxMessage.kind)).all())
    # 新安镇 only (seed 7, 300 children): 41 cases opened, 38 graded to a new level (the others
    # wait for their first assessment, or were red from screening and graded red again)
    assert (kinds["case_opened"], kinds["level_changed"]) == (41, 38)
    rounds = 0
    while True:
        with open_session(engine) as s:
            ok, bad = jianhu_webhook.deliver(s, backoff_base=0, env={"JIANHU_WEBHOOK_SECRET":
                                                                      SECRET})
        rounds += 1
        if ok == bad == 0:
            break
    assert rounds == 4  # two failures, one success, one empty pass
    assert set(srv.processed) == ids and len(srv.processed) == len(ids)
    assert srv.bad_signatures == 0 and set(srv.attempts.values()) == {3}
    body = next(iter(srv.bodies.values()))
    assert set(body) == {"id", "kind", "case_no", "township_code", "at", "data"}
    assert body["township_code"] == XINAN
    with open_session(engine) as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.delivered_at.is_(None))) == 0
    engine.dispose()


def test_identified_fields_need_a_legal_basis(tmp_path, receiver, sample):
    srv = receiver(fail_first=0)
    with pytest.raises(Exception) as err:
        workspace(tmp_path, srv.url, sample, identified=[{"field": "child_name",
                                                          "legal_basis": "短"}])
    assert "「推送的身份信息字段第1项·法律依据」至少10个字" in str(err.value)
    basis = "《未成年人保护法》第九十二条：民政部门临时监护所需"
    host, engine, _ = workspace(tmp_path / "b", srv.url, sample,
                                identified=[{"field": "child_name", "legal_basis": basis}])
    with open_session(engine) as s:
        jianhu_webhook.deliver(s, env={"JIANHU_WEBHOOK_SECRET": SECRET})
    body = next(iter(srv.bodies.values()))
    assert body["child"]["child_name"] and body["legal_basis"] == {"child_name": basis}
    engine.dispose()


def test_a_rolled_back_change_leaves_no_message(tmp_path, receiver, sample):
    srv = receiver()
    host, engine, _ = workspace(tmp_path, srv.url, sample)
    before = outbox_ids(engine)
    bad = tmp_path / "bad.csv"
    bad.write_text("儿童姓名\n张三\n", "utf-8")
    with open_session(engine) as s, pytest.raises(ImportRejected):
        import_screening(s, host, bad, actor="t")
    assert outbox_ids(engine) == before
    engine.dispose()


def test_killed_worker_loses_nothing_and_sends_nothing_twice(tmp_path, receiver, sample):
    srv = receiver(fail_first=0, delay=0.05)
    host, engine, db = workspace(tmp_path, srv.url, sample)
    ids = outbox_ids(engine)
    env = {**os.environ, "JIANHU_DATABASE_URL": db, "JIANHU_LOAD_PLUGINS": "webhook",
           "JIANHU_WEBHOOK_SECRET": SECRET}
    cmd = [sys.executable, "-c", "from jianhu.cli import main; main()", "outbox", "deliver"]
    worker = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 30
    while len(srv.processed) < 5 and time.time() < deadline:
        time.sleep(0.02)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    assert 0 < len(srv.processed) < len(ids), "the worker was killed mid-way"
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert sorted(srv.processed) == sorted(ids)  # every event, each processed once
    assert sum(srv.attempts.values()) <= len(ids) + 1  # at most the one in flight resent
    engine.dispose()
