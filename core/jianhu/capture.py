"""Records captured on devices: one write path for the JSON API, the offline web app, a file of
waiting records exported from a phone, and OpenRosa submissions (ODK Collect, KoboCollect).

Each write is the same as the page's (the form's schema and checks, the case's state, the actor's
role and scope) and runs once per device-made record id (:mod:`jianhu.submissions`). The answers
are plain JSON documents with an HTTP-like status: 201 recorded, 202 held as a conflict for a
supervisor (:mod:`jianhu.conflicts`), 403 not allowed, 404 no such case in scope, 409 the case's
state does not allow it, 422 a problem with the record (nothing written). A refused record is
answered, never dropped: the device keeps it and shows why (handbook 开发者 离线采集).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from jianhu import conflicts, submissions
from jianhu.db.models import Case
from jianhu.errors import ImportRejected, JianhuError
from jianhu.forms import load_form
from jianhu.imports.screening import StaleEdit, record_survey
from jianhu.lifecycle import RECORD_FORMS, TransitionRefused
from jianhu.plugins import Host
from jianhu.records import record_form
from jianhu.roles import Actor, role_labels
from jianhu.scope import Scope
from jianhu.tasks import KIND_LABELS

#: Forms a device may capture: the survey (a child, no case yet) and the case records.
SURVEY = "screening"
#: The format name of a file of waiting records exported by the offline app.
OUTBOX_FORMAT = "jianhu-outbox"


def _refused(status: int, detail: str, problems: list[dict[str, str]] | None = None
             ) -> tuple[int, dict[str, Any]]:
    return status, {"detail": detail, "problems": problems or []}


def case_record(session: Session, host: Host, scope: Scope, case: Case, form_id: str,
                doc: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Record ``doc`` as form ``form_id`` on ``case``, found in ``scope`` by the caller (in the
    caller's transaction; the caller commits a 201 and rolls back anything else). See the module
    for the statuses."""
    actor = scope.actor
    if form_id not in RECORD_FORMS:
        return _refused(422, f"不能在个案上登记「{form_id}」")
    form = load_form(host, form_id)
    if not actor.can(f"record:{form_id}"):
        return _refused(403, f"{role_labels().get(actor.role, actor.role)}无权登记{form.title}")
    problems = [{"field": c, "message": m} for c, m in form.problems(doc)]
    if problems:
        return _refused(422, f"{form.title}填写有误，未写入", problems)
    try:
        done = record_form(session, host, case, form_id, doc, actor=actor)
    except TransitionRefused as exc:
        return _refused(409, str(exc))
    except (JianhuError, ValueError) as exc:
        return _refused(422, str(exc))
    return 201, {"record_id": str(done.record_id), "case_no": done.case_no,
                 "status_before": done.status_before, "status_after": done.status_after,
                 "tasks": [{"kind": k, "label": KIND_LABELS.get(k, k), "due_on": d.isoformat()}
                           for k, d in done.tasks], "notes": done.notes}


def survey(session: Session, host: Host, actor: Actor, doc: dict[str, Any],
           based_on: int | None = None) -> tuple[int, dict[str, Any]]:
    """Record one basic situation survey (as :func:`jianhu.imports.screening.record_survey`);
    a survey made from an older copy of a child that would change it is held as a conflict
    (202). In the caller's transaction."""
    if not actor.can("import:screening"):
        return _refused(403, f"{role_labels().get(actor.role, actor.role)}无权登记调查表")
    try:
        summary = record_survey(session, host, doc, actor=actor.code, based_on=based_on,
                                commit=False)
    except ImportRejected as exc:
        return _refused(422, "调查表填写有误，未写入",
                        [{"field": e.column, "message": e.message} for e in exc.errors])
    except StaleEdit as stale:
        session.rollback()
        held = conflicts.hold(session, host, stale, doc, based_on or 0, actor)
        return 202, {"conflict_id": str(held.id), "created": 0, "updated": 0, "unchanged": 0,
                     "cases_opened": 0, "cases_reopened": 0, "emergencies": 0, "warnings": [],
                     "detail": "该儿童的信息在填表之后已被他人修改：本表未写入，已交乡镇督导员处理"}
    return 201, {"conflict_id": None, "created": summary.created, "updated": summary.updated,
                 "unchanged": summary.unchanged, "cases_opened": summary.cases_opened,
                 "cases_reopened": summary.cases_reopened, "emergencies": summary.emergencies,
                 "warnings": [w.message for w in summary.warnings]}


def tidy(value: Any) -> Any:
    """A document as the forms read typed text: strings trimmed, empty ones left out (a name of
    three spaces is no name)."""
    if isinstance(value, dict):
        out = {k: tidy(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v != ""}
    if isinstance(value, list):
        return [tidy(v) for v in value]
    return value.strip() if isinstance(value, str) else value


def _unreadable(value: Any) -> bool:
    """Whether a document holds text that cannot be stored: a lone UTF-16 surrogate, or a NUL
    character (PostgreSQL refuses it in text)."""
    if isinstance(value, dict):
        return any(_unreadable(k) or _unreadable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_unreadable(v) for v in value)
    if isinstance(value, str):
        if "\x00" in value:
            return True
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
    return False


def submit(session: Session, host: Host, scope: Scope, key: str | None, form_id: str,
           doc: dict[str, Any], *, case_no: str | None = None,
           based_on: int | None = None) -> submissions.Outcome:
    """Record one captured record once per ``key`` (its device-made id) and commit.

    A record of a case outside the actor's scope is answered 404 before anything else, a replay
    included (nobody learns of a record on a case they cannot see)."""
    if _unreadable(doc):
        return submissions.Outcome(*_refused(422, "内容含有无法识别的字符，未写入"))
    if based_on is not None and (isinstance(based_on, bool) or not isinstance(based_on, int)
                                 or based_on < 1):
        return submissions.Outcome(*_refused(422, "based_on 应为正整数（设备上儿童信息的版本）"))
    doc = tidy(doc)
    if form_id != SURVEY:
        if not case_no:
            return submissions.Outcome(*_refused(422, "缺少个案编号"))
        try:
            case = scope.find_case(session, case_no)
        except JianhuError as exc:
            session.rollback()
            return submissions.Outcome(*_refused(404, str(exc)))
    if form_id == SURVEY:
        endpoint = "surveys"
        digest = submissions.request_hash({"doc": doc, "based_on": based_on})
        return submissions.once(session, key, scope.actor, endpoint, digest,
                                lambda: survey(session, host, scope.actor, doc, based_on))
    endpoint = f"records/{case_no}/{form_id}"
    return submissions.once(session, key, scope.actor, endpoint, submissions.request_hash(doc),
                            lambda: case_record(session, host, scope, case, form_id, doc))


@dataclass
class FileResult:
    """What importing a file of waiting records did: counts and the refused records' reasons."""

    recorded: int = 0
    replayed: int = 0
    conflicts: int = 0
    refused: list[str] | None = None


def import_outbox(session: Session, host: Host, scope: Scope, path: str | Path) -> FileResult:
    """Record the waiting records of a file the offline app exported (the last resort when a
    phone is to be wiped), each once by its id, as ``scope``'s actor: the person who captured
    them, or a township supervisor on their behalf (``records:on_behalf``). Each record is its
    own transaction: a refused one is listed and the others are recorded.

    Raises:
        JianhuError: the file is not such a file (nothing is written).
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise JianhuError(f"无法读取待上传记录文件：{exc.strerror or '打不开'}") from None
    except UnicodeDecodeError:
        raise JianhuError("无法读取待上传记录文件：不是 UTF-8 文本") from None
    except (json.JSONDecodeError, RecursionError):
        raise JianhuError("无法读取待上传记录文件：不是有效的 JSON") from None
    if not isinstance(data, dict) or data.get("format") != OUTBOX_FORMAT or \
            not isinstance(data.get("records"), list):
        raise JianhuError("这不是离线采集导出的待上传记录文件（format 应为 jianhu-outbox）")
    result = FileResult(refused=[])
    for n, rec in enumerate(data["records"], start=1):
        if not isinstance(rec, dict) or not isinstance(rec.get("doc"), dict):
            result.refused.append(f"第{n}条：内容不完整")
            continue
        if rec.get("by") != scope.actor.code and not scope.actor.can("records:on_behalf"):
            result.refused.append(f"第{n}条：由 {rec.get('by')} 采集，请由本人登录后上传")
            continue
        case_no = rec.get("case_no")
        if not isinstance(case_no, str | None) or not isinstance(rec.get("form_id"), str):
            result.refused.append(f"第{n}条：form_id、case_no 应为文字")
            continue
        try:
            key = submissions.read_key(str(rec.get("id", "")))
        except JianhuError:
            result.refused.append(f"第{n}条：记录编号（id）无法识别")
            continue
        try:
            outcome = submit(session, host, scope, key, rec["form_id"], rec["doc"],
                             case_no=case_no, based_on=rec.get("based_on"))
        except JianhuError as exc:
            result.refused.append(f"第{n}条：{exc}")
            continue
        if outcome.replay:
            result.replayed += 1
        elif outcome.status == 202:
            result.conflicts += 1
        elif outcome.status < 300:
            result.recorded += 1
        else:
            result.refused.append(f"第{n}条：{outcome.body.get('detail')}" + "".join(
                f"；「{p['field']}」{p['message']}" for p in outcome.body.get("problems", [])))
    return result
