"""Jianhu webhook: delivers case events to a partner's HTTP(S) endpoint as signed JSON.

- **Transactional outbox**: each event becomes an outbox row in the same transaction as the change
  (``jianhu_case_event``), so an event exists exactly when its change committed.
- **Delivery**: ``jianhu outbox deliver`` claims due rows one at a time (a lease, so two workers
  never send the same event), posts each and records the outcome; any error of the send (refused
  connection, timeout, truncated or broken answer, non-2xx status) is retried with exponential
  backoff, and after 16 failed attempts the event is parked with its error (``jianhu outbox
  status`` shows it, ``jianhu outbox retry`` sends it again). A worker killed mid-send leaves its
  event to be sent again when the lease runs out. Delivery is **at least once**: the
  ``X-Jianhu-Event-Id`` header (also the body's ``id``) is the idempotency key; a receiver that
  drops an id it has processed sees each event once.
- **Signature**: ``X-Jianhu-Signature: sha256=<hex>``, HMAC-SHA256 of ``<timestamp>.<body>`` with
  the shared secret (read from the environment variable the settings name, never stored), and
  ``X-Jianhu-Timestamp`` (Unix seconds).
- **De-identified by default**: the body carries the case number, township code, event kind,
  time and the event's data. A field that identifies the child is added only when the settings
  list it with a written legal basis (个人信息保护法 Art 13(3): a statutory duty; Art 28, 31:
  minors' data are sensitive; 未保法 Art 103).

Enable it per township: ``jianhu plugins enable webhook --township 320724100000 --settings
webhook.json``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from typing import Any

import click

from jianhu import hookimpl
from jianhu.extensions import CaseEvent, SettingsSchema

__version__ = "0.1.0"

NAME = "webhook"
EVENT_KINDS = ("case_opened", "level_changed", "mandatory_report_filed", "case_closed")
IDENTIFYING = {"child_name": "儿童姓名", "child_birth_date": "儿童出生日期",
               "citizen_id": "儿童身份证号", "village": "村（社区）"}

SETTINGS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Webhook 设置",
    "type": "object",
    "additionalProperties": False,
    "required": ["url"],
    "properties": {
        "url": {"type": "string", "title": "接收地址", "pattern": "^https?://",
                "x-error": "应以 http:// 或 https:// 开头"},
        "secret_env": {"type": "string", "title": "密钥所在环境变量", "pattern": "^[A-Z_][A-Z0-9_]*$",
                       "description": "签名密钥从该环境变量读取，不写入数据库。默认 JIANHU_WEBHOOK_SECRET。"},
        "events": {"type": "array", "title": "推送的事件", "uniqueItems": True,
                   "items": {"title": "事件", "oneOf": [
                       {"const": "case_opened", "title": "开案"},
                       {"const": "level_changed", "title": "等级变化"},
                       {"const": "mandatory_report_filed", "title": "强制报告"},
                       {"const": "case_closed", "title": "结案"}]}},
        "identified_fields": {
            "type": "array", "title": "推送的身份信息字段",
            "description": "默认不推送任何身份信息；每个字段须写明法律依据。",
            "items": {"type": "object", "title": "身份信息字段", "additionalProperties": False,
                      "required": ["field", "legal_basis"],
                      "properties": {
                          "field": {"title": "字段", "oneOf": [
                              {"const": k, "title": v} for k, v in IDENTIFYING.items()]},
                          "legal_basis": {"type": "string", "title": "法律依据", "minLength": 10}}}},
        "timeout_seconds": {"type": "number", "title": "超时（秒）", "minimum": 1, "maximum": 120},
    },
}


@hookimpl
def jianhu_settings_schema() -> list[SettingsSchema]:
    """Declare the settings: endpoint URL, secret variable, events, identified fields."""
    return [SettingsSchema(plugin=NAME, schema=SETTINGS_SCHEMA)]


def _settings(session: Any, township_code: str) -> dict[str, Any] | None:
    from jianhu.settings import settings_for

    cache = session.info.setdefault("jianhu_webhook_settings", {})
    if township_code not in cache:
        cache[township_code] = settings_for(session, NAME, township_code)
    return cache[township_code]


def build_body(session: Any, event: CaseEvent, settings: dict[str, Any]) -> dict[str, Any]:
    """The JSON body of one event: de-identified, plus the identified fields the settings allow.

    Returns:
        ``{"id", "kind", "case_no", "township_code", "at", "data"}`` and, when configured,
        ``"child": {field: value}`` with ``"legal_basis": {field: text}``.
    """
    body: dict[str, Any] = {"kind": event.kind, "case_no": event.case_no,
                            "township_code": event.township_code, "at": event.at.isoformat(),
                            "data": dict(event.data)}
    fields = settings.get("identified_fields") or []
    if fields:
        from sqlalchemy import select

        from jianhu.db.models import Case, Child, Village

        row = session.execute(
            select(Child.name, Child.birth_date, Child.citizen_id, Village.name)
            .join(Case, Case.child_id == Child.id).join(Village, Case.village_id == Village.id)
            .where(Case.case_no == event.case_no)).one()
        values = {"child_name": row[0], "child_birth_date": row[1].isoformat(),
                  "citizen_id": row[2], "village": row[3]}
        body["child"] = {f["field"]: values[f["field"]] for f in fields}
        body["legal_basis"] = {f["field"]: f["legal_basis"] for f in fields}
    return body


@hookimpl
def jianhu_case_event(session: Any, event: CaseEvent) -> None:
    """Write an outbox row for an event of an enabled township (same transaction as the change)."""
    if event.kind not in EVENT_KINDS:
        return
    settings = _settings(session, event.township_code)
    if settings is None or event.kind not in settings.get("events", EVENT_KINDS):
        return
    from jianhu.outbox import enqueue

    enqueue(session, NAME, event.kind, build_body(session, event, settings),
            township_code=event.township_code)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=`` + hex HMAC-SHA256 of ``timestamp.body`` with ``secret`` (RFC 2104)."""
    import hashlib
    import hmac

    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body,
                   hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def post(url: str, message_id: str, body: dict[str, Any], secret: str, timeout: float) -> None:
    """POST one message; return on a 2xx answer.

    Raises:
        OSError: network failure or a non-2xx status (``urllib.error.HTTPError``).
    """
    import urllib.request

    data = json.dumps({"id": message_id, **body}, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")
    timestamp = str(int(time.time()))
    request = urllib.request.Request(url, data=data, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8",
        "X-Jianhu-Event-Id": message_id,
        "X-Jianhu-Timestamp": timestamp,
        "X-Jianhu-Signature": sign(secret, timestamp, data),
        "User-Agent": f"jianhu-webhook/{__version__}",
    })
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (configured URL)
        response.read()


def deliver(session: Any, *, backoff_base: float = 2.0, limit: int = 100,
            lease_seconds: float | None = None,
            env: dict[str, str] | None = None) -> tuple[int, int]:
    """Deliver up to ``limit`` due messages, one claimed at a time (:func:`jianhu.outbox.claim`),
    committing each outcome. Returns ``(delivered, failed)``.

    The endpoint and secret come from the settings of the message's township. Every exception
    of the send is a failed attempt (retried with backoff, parked after too many), never the end
    of the queue.

    Raises:
        JianhuError: the secret's environment variable is not set (the message is given back).
    """
    from jianhu.errors import JianhuError
    from jianhu.outbox import claim, delivered, failed, release

    env = os.environ if env is None else env
    ok = bad = 0
    while ok + bad < limit:
        message = claim(session, NAME) if lease_seconds is None else claim(
            session, NAME, lease_seconds=lease_seconds)
        if message is None:
            break
        settings = _settings(session, message.payload["township_code"]) or {}
        var = settings.get("secret_env", "JIANHU_WEBHOOK_SECRET")
        secret = env.get(var)
        if not secret:
            release(message)
            session.commit()
            raise JianhuError(f"未设置签名密钥：请设置环境变量 {var}")
        try:
            post(settings["url"], str(message.id), message.payload, secret,
                 float(settings.get("timeout_seconds", 10)))
        except Exception as exc:  # noqa: BLE001 (any failure of the send is a retry)
            failed(message, repr(exc), base=backoff_base)
            bad += 1
        else:
            delivered(message)
            ok += 1
        session.commit()
    return ok, bad


@hookimpl
def jianhu_register_commands(cli: click.Group) -> None:
    """Add ``jianhu outbox deliver``, ``jianhu outbox status`` and ``jianhu outbox retry``."""
    from jianhu.cli.root import Workspace, pass_workspace

    @cli.group(name="outbox")
    def outbox() -> None:
        """推送队列：向合作系统推送个案事件。"""

    @outbox.command(name="deliver")
    @click.option("--watch", is_flag=True, help="持续运行，每隔 --interval 秒推送一次")
    @click.option("--interval", type=float, default=5.0, show_default=True)
    @click.option("--lease", type=click.FloatRange(1, 3600), default=None,
                  help="一条事件交给一个推送进程的时限（秒，默认 300）；"
                       "进程中途被停止时，过了时限由别的进程重发")
    @click.option("--backoff-base", type=float, default=2.0, show_default=True,
                  help="失败后重试间隔的基数（秒，指数退避）")
    @pass_workspace
    def deliver_cmd(ws: Workspace, watch: bool, interval: float, backoff_base: float,
                    lease: float | None) -> None:
        """推送到期的事件（失败按指数退避重试；中途中断不丢失）。"""
        while True:
            with ws.session() as session:
                ok, bad = deliver(session, backoff_base=backoff_base, lease_seconds=lease)
            click.echo(f"{dt.datetime.now():%H:%M:%S} 已推送 {ok} 条，失败 {bad} 条")
            if not watch:
                return
            time.sleep(interval)

    @outbox.command(name="status")
    @pass_workspace
    def status_cmd(ws: Workspace) -> None:
        """显示待推送、已推送和搁置（多次失败）的事件数，并列出搁置事件的最后错误。"""
        from sqlalchemy import case, func, select

        from jianhu.db.models import OutboxMessage

        state = case((OutboxMessage.delivered_at.is_not(None), "done"),
                     (OutboxMessage.parked_at.is_not(None), "parked"), else_="waiting")
        with ws.session() as session:
            counts = dict(session.execute(
                select(state, func.count()).where(OutboxMessage.destination == NAME)
                .group_by(state)).all())
            parked = session.execute(
                select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.attempts,
                       OutboxMessage.last_error)
                .where(OutboxMessage.destination == NAME, OutboxMessage.parked_at.is_not(None))
                .order_by(OutboxMessage.created_at).limit(20)).all()
        click.echo(f"待推送 {counts.get('waiting', 0)} 条，已推送 {counts.get('done', 0)} 条，"
                   f"搁置 {counts.get('parked', 0)} 条")
        for row in parked:
            click.echo(f"  搁置：{row.id} {row.kind}，已尝试 {row.attempts} 次，最后错误：{row.last_error}")
        if parked:
            click.echo("排除故障后用 jianhu outbox retry 重新推送搁置的事件。")

    @outbox.command(name="retry")
    @pass_workspace
    def retry_cmd(ws: Workspace) -> None:
        """把搁置的事件重新列入推送（尝试次数从零算起）。"""
        from jianhu import audit
        from jianhu.outbox import retry_parked

        with ws.session() as session:
            ws.acting(session).require("plugins:configure")
            n = retry_parked(session, NAME)
            audit.record(session, actor=ws.actor, action="outbox_retry", entity_type="outbox",
                         entity_id=NAME, after={"messages": n})
            session.commit()
        click.echo(f"已重新列入推送 {n} 条")
