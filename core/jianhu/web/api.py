"""The JSON API under ``/api/`` for partner systems and a future mobile client.

Same services, validation and scoping as the pages. Sign in with ``POST /api/session`` (roster
code and password, same lock-out): the answer sets the session cookie and gives the
anti-forgery token; send the cookie with every call and the token in the ``X-CSRF-Token`` header
with every POST/DELETE. A case outside the user's scope is 404, a form that fails its schema 422
with the Chinese problems, and nothing is written.
"""

from __future__ import annotations

import datetime as dt
import secrets
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyCookie, APIKeyHeader
from pydantic import BaseModel, Field

from jianhu import capture, submissions
from jianhu.errors import JianhuError
from jianhu.followups import due_page
from jianhu.forms import load_form
from jianhu.lifecycle import RECORD_FORMS, STATES, allowed_forms, state_label
from jianhu.reports import FIRST_DAY, LAST_DAY
from jianhu.reports import build as build_report
from jianhu.roles import role_labels
from jianhu.tasks import KIND_LABELS
from jianhu.timeline import case_view
from jianhu.web import queries
from jianhu.web.auth import SignInRefused, revoke, sign_in
from jianhu.web.context import DB, Ctx, SignedIn
from jianhu.web.security import COOKIE, CSRF_HEADER, csrf_token

cookie_auth = APIKeyCookie(name=COOKIE, auto_error=False, description="登录后的会话 Cookie")
csrf_auth = APIKeyHeader(name=CSRF_HEADER, auto_error=False,
                         description="防伪令牌：POST /api/session 返回；POST、DELETE 请求必须携带")
router = APIRouter(prefix="/api", tags=["api"], responses={
    401: {"description": "未登录"}, 403: {"description": "无权访问或缺少防伪令牌"}})
FormId = Enum("FormId", {f: f for f in RECORD_FORMS}, type=str)  # type: ignore[misc]
#: The forms whose schema the API serves: the survey and the records of a case.
SchemaId = Enum("SchemaId", {f: f for f in ("screening", *RECORD_FORMS)}, type=str)  # type: ignore[misc]
Payload = Annotated[dict[str, Any], Body(description="表单内容（按该表单的 JSON Schema）")]
LocalDay = Annotated[dt.date | None, Query(description="日期（YYYY-MM-DD，北京时间；默认今天）")]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", max_length=102,
    description="记录在设备上保存时生成的编号（UUID）：同一编号再次提交只算一份，返回第一次的结果")]
BasedOn = Annotated[int | None, Query(ge=1, le=1_000_000, description=(
    "填表时设备上该儿童信息的版本（离线副本）；信息已被他人修改时不写入，交督导员处理"))]
#: The header marking an answer given again for a key already used (jianhu.submissions).
REPLAYED = "Idempotency-Replayed"


class Credentials(BaseModel):
    """Sign-in: roster code and password."""

    code: str = Field(max_length=40, description="人员编号")
    password: str = Field(max_length=200, description="密码")


class User(BaseModel):
    """The signed-in user."""

    code: str
    name: str
    role: str
    role_label: str
    township_code: str | None


class SessionInfo(BaseModel):
    """A sign-in: the user and the anti-forgery token for the ``X-CSRF-Token`` header."""

    user: User
    csrf_token: str


class CaseItem(BaseModel):
    """One case of the caseload (no personal data)."""

    case_no: str
    township: str
    village: str
    level: str | None
    status: str
    status_label: str
    categories: list[str]
    opened_on: dt.date


class TimelineEntry(BaseModel):
    """One line of a case's timeline."""

    on: dt.date
    kind: str
    title: str
    summary: str
    detail: dict[str, Any]


class CaseDetail(BaseModel):
    """A case with its timeline, tasks and the forms its state allows the user to record."""

    case: dict[str, Any]
    child: dict[str, Any] | None
    timeline: list[TimelineEntry]
    tasks: list[dict[str, Any]]
    forms: list[str]


class DueEntry(BaseModel):
    """One overdue or soon-due item."""

    case_no: str
    township: str
    village: str
    level: str | None
    kind: str
    label: str
    due_on: dt.date
    due_at: dt.datetime | None
    status: str
    days_overdue: int
    owner: str
    owner_label: str


class Problem(BaseModel):
    """One problem of a form: the field's Chinese title and the message."""

    field: str
    message: str


class Problems(BaseModel):
    """Why a form was not recorded (nothing was written)."""

    detail: str
    problems: list[Problem] = []


class RecordedOut(BaseModel):
    """What recording a form did."""

    record_id: str
    case_no: str
    status_before: str
    status_after: str
    tasks: list[dict[str, Any]]
    notes: list[str]
    replay: bool = Field(False, description="true：同一编号已提交过，这是第一次的结果，未重复写入")


class SurveyOut(BaseModel):
    """What recording a survey did (or that it was held as a conflict)."""

    created: int
    updated: int
    unchanged: int
    cases_opened: int
    cases_reopened: int
    emergencies: int
    warnings: list[str]
    conflict_id: str | None = Field(None, description="调查表基于旧的儿童信息：已交督导员处理，未写入")
    replay: bool = False


class TableOut(BaseModel):
    """A report table: columns (key, Chinese title), rows, notes."""

    title: str
    columns: list[dict[str, str]]
    rows: list[dict[str, Any]]
    notes: list[str]


def _user(actor: Any) -> User:
    return User(code=actor.code, name=actor.name, role=actor.role,
                role_label=role_labels().get(actor.role, actor.role),
                township_code=actor.township_code)


def _day(on: dt.date | None, ctx: Ctx) -> dt.date:
    """A day asked for (the due list's, a report's): the bounds of reports
    (:data:`jianhu.reports.FIRST_DAY`–:data:`~jianhu.reports.LAST_DAY`)."""
    day = on or ctx.today
    if not FIRST_DAY <= day <= LAST_DAY:
        raise JianhuError(f"日期应在 {FIRST_DAY} 至 {LAST_DAY} 之间")
    return day


@router.post("/session", response_model=SessionInfo, dependencies=[],
             responses={401: {"description": "编号或密码不正确（账户锁定时也是这样回答）"}})
def api_sign_in(request: Request, credentials: Credentials,
                session: DB) -> Any:
    """登录：人员编号和密码。成功后设置会话 Cookie，并返回防伪令牌。"""
    try:
        actor, pw = sign_in(session, credentials.code, credentials.password,
                            policy=request.app.state.config.lockout,
                            address=request.client.host if request.client else None)
    except SignInRefused as exc:  # the same answer whatever the reason (jianhu.web.auth)
        return JSONResponse({"detail": str(exc)}, status_code=429 if exc.throttled else 401)
    request.session.clear()
    request.session["user"] = {"code": actor.code, "pw": pw, "sid": secrets.token_urlsafe(16)}
    token = request.session["csrf"] = secrets.token_urlsafe(32)
    return SessionInfo(user=_user(actor), csrf_token=token)


@router.get("/session", response_model=SessionInfo,
            dependencies=[Depends(cookie_auth)])
def api_whoami(ctx: SignedIn) -> Any:
    """当前登录的用户和防伪令牌。"""
    return SessionInfo(user=_user(ctx.actor), csrf_token=csrf_token(ctx.request.session))


@router.delete("/session", status_code=204, dependencies=[Depends(cookie_auth),
                                                          Depends(csrf_auth)])
def api_sign_out(ctx: SignedIn) -> Response:
    """退出登录。"""
    user = ctx.request.session.get("user") or {}
    revoke(ctx.session, user.get("sid"), keep_hours=ctx.request.app.state.config.session_hours)
    ctx.request.session.clear()
    return Response(status_code=204)


#: Items per page of a list of the API unless the client asks for fewer (and never more than
#: MAX_LIMIT): a county's lists run to tens of thousands of items.
DEFAULT_LIMIT, MAX_LIMIT = 500, 2000
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"每页条数（1—{MAX_LIMIT}）")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="跳过的条数")]


@router.get("/cases", response_model=list[CaseItem], dependencies=[Depends(cookie_auth)])
def api_cases(
    ctx: SignedIn,
    response: Response,
    village: Annotated[str | None, Query(max_length=36, description="村（社区）id")] = None,
    level: Annotated[str | None, Query(description="等级：red、orange、yellow、green 或 none（未评估）",
                                       pattern="^(red|orange|yellow|green|none)$")] = None,
    category: Annotated[str | None, Query(max_length=50, description="类别代码")] = None,
    status: Annotated[str | None, Query(description="状态代码，或 open（在办）",
                                        pattern=f"^({'|'.join([*STATES, 'open'])})$")] = None,
    q: Annotated[str | None, Query(max_length=50, description="个案编号的一部分；有权查看身份信息的"
                                                              "角色也可按儿童姓名查")] = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> Any:
    """个案列表（不含儿童姓名和身份证号），可按村、等级、类别、状态筛选，按编号或姓名查找；
    分页：limit、offset，总数在响应头 X-Total-Count。"""
    ctx.require("view:cases")
    found = queries.caseload(ctx.session, ctx.scope, village=village, level=level,
                             category=category, status=status, q=q, limit=limit, offset=offset)
    ctx.session.commit()
    response.headers["X-Total-Count"] = str(found.total)
    return [CaseItem(case_no=r.case_no, township=r.township, village=r.village, level=r.level,
                     status=r.status, status_label=state_label(r.status), categories=r.categories,
                     opened_on=r.opened_on) for r in found.rows]


@router.get("/cases/{case_no}", response_model=CaseDetail, dependencies=[Depends(cookie_auth)],
            responses={404: {"description": "没有该个案（或不在本人范围内）"}})
def api_case(case_no: Annotated[str, PathParam(max_length=40)], ctx: SignedIn) -> Any:
    """个案及其时间线、待办，以及当前状态下本人可登记的表单。"""
    ctx.require("view:cases")
    case = ctx.find_case(case_no)
    view = case_view(ctx.session, ctx.host, case, ctx.actor)
    ctx.session.commit()
    return CaseDetail(case=view.case, child=view.child, tasks=view.tasks,
                      forms=allowed_forms(ctx.actor, case),
                      timeline=[TimelineEntry(on=e.on, kind=e.kind, title=e.title,
                                              summary=e.summary, detail=e.detail)
                                for e in view.timeline])


@router.get("/followups/due", response_model=list[DueEntry], dependencies=[Depends(cookie_auth)])
def api_due(ctx: SignedIn, response: Response, on: LocalDay = None, mine: bool = False,
            limit: Limit = DEFAULT_LIMIT, offset: Offset = 0) -> Any:
    """已逾期和7日内到期的事项，强制报告与应急处置在前；mine=true 只列本人和本人角色的事项；
    分页：limit、offset，总数在响应头 X-Total-Count。"""
    ctx.require("view:cases")
    found = due_page(ctx.session, _day(on, ctx), mine=ctx.actor if mine else None, limit=limit,
                     offset=offset)
    response.headers["X-Total-Count"] = str(found.total)
    items = found.items
    return [DueEntry(case_no=i.case_no, township=i.township, village=i.village, level=i.level,
                     kind=i.kind, label=KIND_LABELS.get(i.kind, i.kind), due_on=i.due_on,
                     due_at=i.due_at, status="overdue" if i.overdue else "due",
                     days_overdue=i.days_overdue, owner=i.owner, owner_label=i.owner_label)
            for i in items]


@router.get("/forms/{form_id}", dependencies=[Depends(cookie_auth)],
            response_model=dict[str, Any])
def api_form(form_id: SchemaId, ctx: SignedIn) -> Any:
    """表单的 JSON Schema（含本乡镇插件增加的字段）。"""
    return load_form(ctx.host, form_id.value).schema


@router.post("/cases/{case_no}/records/{form_id}", status_code=201, response_model=RecordedOut,
             dependencies=[Depends(cookie_auth), Depends(csrf_auth)],
             responses={404: {"description": "没有该个案"}, 409: {"model": Problems,
                                                             "description": "当前状态不允许"},
                        422: {"model": Problems, "description": "表单填写有误，未写入"}})
def api_record(case_no: Annotated[str, PathParam(max_length=40)], form_id: FormId,
               payload: Payload, ctx: SignedIn, idempotency_key: IdempotencyKey = None) -> Any:
    """在个案上登记一份表单（随访、服务、救助方案……）。

    表单不符合要求时返回 422 和每个问题，不写入任何数据。带 Idempotency-Key 时，同一编号
    再次提交返回第一次的结果（响应头 Idempotency-Replayed: true），不重复写入。"""
    outcome = capture.submit(ctx.session, ctx.host, ctx.scope,
                             submissions.read_key(idempotency_key), form_id.value, payload,
                             case_no=case_no)
    return _answer(outcome)


def _answer(outcome: submissions.Outcome) -> JSONResponse:
    return JSONResponse(outcome.body, status_code=outcome.status,
                        headers={REPLAYED: "true"} if outcome.replay else None)


@router.post("/surveys", status_code=201, response_model=SurveyOut,
             dependencies=[Depends(cookie_auth), Depends(csrf_auth)],
             responses={202: {"model": SurveyOut, "description": "基于旧的儿童信息：已交督导员处理"},
                        422: {"model": Problems, "description": "调查表填写有误，未写入"}})
def api_survey(payload: Payload, ctx: SignedIn, idempotency_key: IdempotencyKey = None,
               based_on: BasedOn = None) -> Any:
    """登记一份基本情况调查表（一名儿童）：与导入一行调查表的检查和结果相同。

    带 Idempotency-Key 时同一编号只登记一次。"""
    outcome = capture.submit(ctx.session, ctx.host, ctx.scope,
                             submissions.read_key(idempotency_key), capture.SURVEY, payload,
                             based_on=based_on)
    return _answer(outcome)


@router.get("/reports/summary", response_model=TableOut, dependencies=[Depends(cookie_auth)])
def api_summary(ctx: SignedIn, on: LocalDay = None) -> Any:
    """汇总表：在办个案按乡镇、村 × 等级 × 类别，以及到期、逾期随访（只有人数）。"""
    ctx.require("report:aggregate")
    table = build_report(ctx.session, ctx.host, ctx.host.reports["summary"], _day(on, ctx),
                         actor=ctx.actor)
    return TableOut(title=table.title, columns=[{"key": c.key, "title": c.title}
                                                for c in table.columns],
                    rows=table.rows, notes=list(table.notes))

