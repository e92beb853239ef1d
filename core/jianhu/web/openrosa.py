"""The OpenRosa 1.0 form list and submission API, so ODK Collect and KoboCollect send straight to
Jianhu with a roster account.

``GET /formList`` lists the forms the account may fill in (the survey, and the visit, service and
incident records of a case) as an OpenRosa ``xformsList``; ``GET /formXml/<form>`` serves each as
an XForm (:mod:`jianhu.xlsform`, through pyxform); ``HEAD``/``POST /submission`` takes a filled-in
form (``xml_submission_file``). Every request carries the roster code and password with HTTP
Basic authentication — so the server must be reached over HTTPS — and is checked with the same
limits as the sign-in page (:func:`jianhu.web.auth.sign_in`). A submission is written through
:func:`jianhu.capture.submit` with its ``instanceID`` as the idempotency key: ODK sending it again
makes no second record (handbook 县级信息科 ODK 与 Kobo).
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated
from xml.sax.saxutils import escape

from fastapi import APIRouter, File, Request, Response, UploadFile
from sqlalchemy.orm import Session

from jianhu import capture, submissions, xlsform
from jianhu.errors import JianhuError
from jianhu.forms import Form, load_form
from jianhu.people import resolve_actor
from jianhu.scope import Scope, scope_for
from jianhu.settings import apply_plugin_settings
from jianhu.web.auth import SignInRefused, sign_in
from jianhu.web.context import WritingDB

router = APIRouter(include_in_schema=False)
#: The forms ODK may fill in: the survey (no case yet), then records of a case.
FORMS = (capture.SURVEY, "visit", "service", "incident")
#: The largest submission accepted (the forms carry no photos).
MAX_BYTES = 2_000_000
HEADERS = {"X-OpenRosa-Version": "1.0"}
#: The paths that answer in OpenRosa's format.
PATHS = frozenset({"/formList", "/submission"})
XML = "text/xml; charset=utf-8"


class Unauthorized(Exception):
    """No or wrong credentials: answered 401 with a Basic challenge (429 when throttled)."""

    def __init__(self, message: str, status: int = 401):
        super().__init__(message)
        self.status = status


def message(text: str, status: int, nature: str = "") -> Response:
    body = ('<OpenRosaResponse xmlns="http://openrosa.org/http/response">'
            f'<message{f" nature={chr(34)}{nature}{chr(34)}" if nature else ""}>{escape(text)}'
            "</message></OpenRosaResponse>")
    headers = dict(HEADERS)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="jianhu", charset="UTF-8"'
    return Response(body, status_code=status, media_type=XML, headers=headers)


def _account(request: Request, session: Session) -> Scope:
    """The roster account of the request's Basic credentials, in its scope.

    Raises:
        Unauthorized: no credentials, or refused by the sign-in limits.
    """
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        raise Unauthorized("请用人员编号和密码登录")
    try:
        code, _, password = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("登录信息无法识别") from None
    try:
        actor, _ = sign_in(session, code, password, policy=request.app.state.config.lockout,
                           address=request.client.host if request.client else None)
    except SignInRefused as exc:
        raise Unauthorized(str(exc), 429 if exc.throttled else 401) from None
    actor = resolve_actor(session, actor.code)
    apply_plugin_settings(session, request.app.state.host, actor.township_code)
    return scope_for(session, actor)


def _forms(request: Request, scope: Scope) -> dict[str, Form]:
    actor = scope.actor
    allowed = {f: load_form(request.app.state.host, f, actor.township_code) for f in FORMS
               if actor.can("import:screening" if f == capture.SURVEY else f"record:{f}")}
    return allowed


def _signed(request: Request, session: Session) -> Scope | Response:
    try:
        return _account(request, session)
    except Unauthorized as exc:
        return message(str(exc), exc.status)
    except JianhuError as exc:
        return message(str(exc), 403)


@router.get("/formList")
def form_list(request: Request, session: WritingDB) -> Response:
    """The OpenRosa form list of the forms the account may fill in."""
    scope = _signed(request, session)
    if isinstance(scope, Response):
        return scope
    base = str(request.base_url).rstrip("/")
    items = []
    for form_id, form in _forms(request, scope).items():
        _, digest = xlsform.xform(form, on_case=form_id != capture.SURVEY)
        items.append(f"<xform><formID>{xlsform.form_id(form)}</formID><name>{escape(form.title)}"
                     f"</name><version>{form.version}</version><hash>{digest}</hash>"
                     f"<downloadUrl>{escape(base)}/formXml/{form_id}</downloadUrl></xform>")
    body = ('<?xml version="1.0" encoding="UTF-8"?>'
            '<xforms xmlns="http://openrosa.org/xforms/xformsList">' + "".join(items) + "</xforms>")
    return Response(body, media_type=XML, headers=HEADERS)


@router.get("/formXml/{form_id}")
def form_xml(form_id: str, request: Request, session: WritingDB) -> Response:
    """One form as an XForm."""
    scope = _signed(request, session)
    if isinstance(scope, Response):
        return scope
    forms = _forms(request, scope)
    if form_id not in forms:
        return message("没有这个表单", 404)
    xml, _ = xlsform.xform(forms[form_id], on_case=form_id != capture.SURVEY)
    return Response(xml, media_type=XML, headers=HEADERS)


@router.head("/submission")
def submission_head(request: Request, session: WritingDB) -> Response:
    """The pre-flight of a submission: credentials checked, the size limit told."""
    scope = _signed(request, session)
    if isinstance(scope, Response):
        return scope
    return Response(status_code=204, headers={**HEADERS,
                                              "X-OpenRosa-Accept-Content-Length": str(MAX_BYTES)})


@router.post("/submission")
def submission(request: Request, session: WritingDB,
               xml_submission_file: Annotated[UploadFile | None, File()] = None) -> Response:
    """Record one submission once (its instanceID is the key); the answer is an OpenRosa
    message in Chinese (201 recorded or already recorded, 202 held as a conflict, 4xx refused
    with the reason; nothing written)."""
    scope = _signed(request, session)
    if isinstance(scope, Response):
        return scope
    if xml_submission_file is None:
        return message("提交缺少 xml_submission_file", 400)
    xml = xml_submission_file.file.read(MAX_BYTES + 1)
    if len(xml) > MAX_BYTES:
        return message("提交的内容过大", 413)
    try:
        form, instance, case_no, doc = xlsform.read(_forms(request, scope), xml)
    except JianhuError as exc:
        return message(str(exc), 400)
    try:
        key = submissions.read_key(instance)
    except JianhuError:
        return message("提交的 instanceID 无法识别", 400)
    try:
        outcome = capture.submit(session, request.app.state.host, scope, key, form.id, doc,
                                 case_no=case_no)
    except JianhuError as exc:  # the instanceID was used for another submission
        return message(str(exc), 422, "submit_error")
    body = outcome.body
    if outcome.status >= 300:
        text = str(body.get("detail", "未登记")) + "".join(
            f"；「{p['field']}」{p['message']}" for p in body.get("problems", []))
        return message(text, outcome.status, "submit_error")
    text = ("已登记（此前已提交过，未重复登记）" if outcome.replay else
            "已交乡镇督导员处理（修改冲突）" if outcome.status == 202 else "已登记")
    return message(text, outcome.status, "submit_success")
