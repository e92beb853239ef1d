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


def workspace(tmp_path, url, sample, identified=None, **more):
    host = Host.load(env={"JIANHU_LOAD_PLUGINS": ""}, extra=[("webhook", jianhu_webhook)])
    tmp_path.mkdir(parents=True, exist_ok=True)
    db = f"sqlite:///{tmp_path / 'w.db'}"
    engine = make_engine(db)
    upgrade(engine)
    with open_session(engine) as s:
        settings = {"url": url, "events": ["case_opened", "level_changed"], **more}
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
    # a short lease, so the event the killed worker held is due again soon
    cmd = [sys.executable, "-c", "from jianhu.cli import main; main()", "outbox", "deliver",
           "--lease", "2"]
    worker = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 30
    while len(srv.processed) < 5 and time.time() < deadline:
        time.sleep(0.02)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    assert 0 < len(srv.processed) < len(ids), "the worker was killed mid-way"
    time.sleep(2.5)  # the killed worker's lease runs out
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert sorted(srv.processed) == sorted(ids)  # every event, each processed once
    assert sum(srv.attempts.values()) <= len(ids) + 1  # at most the one in flight resent
    engine.dispose()


class Chaos(http.server.ThreadingHTTPServer):
    """A receiver that misbehaves at random: answers 503, resets the connection, truncates its
    answer (announces 100 bytes, sends 1), or hangs past the sender's timeout; otherwise 200.
    Counts, per event id, the requests, the failures it caused and the answers it completed."""

    def __init__(self, seed: int):
        super().__init__(("127.0.0.1", 0), ChaosHandler)
        self.rng = __import__("random").Random(seed)
        self.requests: dict[str, int] = {}
        self.failures: dict[str, int] = {}
        self.completed: dict[str, int] = {}
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class ChaosHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):  # noqa: N802
        srv: Chaos = self.server
        self.rfile.read(int(self.headers["Content-Length"]))
        event_id = self.headers["X-Jianhu-Event-Id"]
        with srv.lock:
            srv.requests[event_id] = srv.requests.get(event_id, 0) + 1
            roll = srv.rng.random()
            if roll < 0.35:
                srv.failures[event_id] = srv.failures.get(event_id, 0) + 1
        if roll < 0.10:
            self.send_response(503)
            self.end_headers()
        elif roll < 0.18:  # reset: close without an answer
            self.close_connection = True
            self.connection.shutdown(2)
        elif roll < 0.30:  # truncated: the sender gets IncompleteRead
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b"{")
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
        elif roll < 0.35:  # hangs past the 1-second timeout
            time.sleep(1.5)
            self.close_connection = True
        else:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")
            with srv.lock:
                srv.completed[event_id] = srv.completed.get(event_id, 0) + 1


def test_two_workers_and_a_misbehaving_receiver_deliver_every_event_once(tmp_path, sample):
    srv = Chaos(seed=2016)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        host, engine, db = workspace(tmp_path, srv.url, sample, timeout_seconds=1)
        ids = outbox_ids(engine)
        assert len(ids) == 79
        env = {**os.environ, "JIANHU_DATABASE_URL": db, "JIANHU_LOAD_PLUGINS": "webhook",
               "JIANHU_WEBHOOK_SECRET": SECRET}
        cmd = [sys.executable, "-c", "from jianhu.cli import main; main()", "outbox",
               "deliver", "--backoff-base", "0.05"]
        deadline = time.time() + 240
        while set(srv.completed) != ids and time.time() < deadline:
            workers = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True) for _ in range(2)]
            for w in workers:
                _, err = w.communicate(timeout=240)
                assert w.returncode == 0, err  # no error of the receiver stops a worker
        assert set(srv.completed) == ids  # every event delivered
        assert set(srv.completed.values()) == {1}  # none answered twice
        # no event was ever sent again except after a failure the receiver caused: two workers
        # never sent the same event at the same time
        assert {i: srv.requests[i] for i in ids} == {i: srv.failures.get(i, 0) + 1 for i in ids}
        assert sum(srv.failures.values()) > 10  # the receiver did misbehave
        with open_session(engine) as s:
            assert s.scalar(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.delivered_at.is_(None))) == 0
        engine.dispose()
    finally:
        srv.shutdown()
        srv.server_close()


def test_a_message_that_keeps_failing_is_parked_and_retried_on_request(tmp_path, receiver, sample):
    from click.testing import CliRunner

    from jianhu.cli import cli
    from jianhu.outbox import MAX_ATTEMPTS

    srv = receiver(fail_first=10_000)
    host, engine, db = workspace(tmp_path, srv.url, sample)
    for _ in range(MAX_ATTEMPTS):
        with open_session(engine) as s:
            jianhu_webhook.deliver(s, backoff_base=0, env={"JIANHU_WEBHOOK_SECRET": SECRET})
    with open_session(engine) as s:
        assert jianhu_webhook.deliver(s, backoff_base=0, env={
            "JIANHU_WEBHOOK_SECRET": SECRET}) == (0, 0)  # all 79 parked: nothing due
    env = {"JIANHU_DATABASE_URL": db, "JIANHU_LOAD_PLUGINS": "webhook"}
    out = CliRunner().invoke(cli, ["outbox", "status"], env=env)
    assert out.output.splitlines()[0] == "待推送 0 条，已推送 0 条，搁置 79 条"
    assert "已尝试 16 次，最后错误：<HTTPError 503: 'Service Unavailable'>" in out.output
    srv.fail_first = 0
    out = CliRunner().invoke(cli, ["outbox", "retry"], env=env)
    assert out.output == "已重新列入推送 79 条\n"
    with open_session(engine) as s:
        assert jianhu_webhook.deliver(s, backoff_base=0, env={
            "JIANHU_WEBHOOK_SECRET": SECRET}) == (79, 0)
    engine.dispose()
