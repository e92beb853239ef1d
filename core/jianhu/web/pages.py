"""The pages: sign-in, today's work, the caseload, a case with its timeline and forms, survey
import, reports, printable documents and the dashboard.

Each handler parses the request, calls the same service the command line calls, and renders a
template; it holds no rule of its own.
"""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import escape
from starlette.datastructures import UploadFile

from jianhu import approvals, transfers
from jianhu.dates import LOCAL_TZ, parse_date
from jianhu.documents import KINDS, render_html, write_document
from jianhu.errors import ImportRejected, JianhuError
from jianhu.extensions import LEVEL_LABELS, LEVELS, level_label
from jianhu.followups import due_page
from jianhu.forms import load_form
from jianhu.imports.screening import import_screening, record_survey
from jianhu.lifecycle import (
    FORM_ACTIONS,
    RECORD_FORMS,
    STATES,
    TransitionRefused,
    allowed_forms,
    check_form,
    state_label,
)
from jianhu.records import record_form
from jianhu.reports import IDENTIFIED_PERMISSION
from jianhu.reports import build as build_report
from jianhu.roles import role_labels
from jianhu.tasks import KIND_LABELS
from jianhu.tasks import label as task_label
from jianhu.timeline import case_view
from jianhu.web import charts, queries
from jianhu.web.auth import SignInRefused, revoke, sign_in
from jianhu.web.context import DB, Ctx, Forbidden, NotFound, SignedIn, Submitted, signed_in
from jianhu.web.forms import build_page, form_defaults, offer_people, read_submission
from jianhu.web.rendering import download, flash, render
from jianhu.web.security import CSP_DOCUMENT

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
#: The largest survey file the import page accepts (a 100,000-row XLSX is about 21 MB).
MAX_UPLOAD = 50 * 1024 * 1024
#: Row errors listed on the import page (as the command line does).
MAX_ROW_ERRORS = 200
PAGE_SIZE = 100
MEDIA = {".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         ".csv": "text/csv; charset=utf-8", ".json": "application/json", ".pdf": "application/pdf",
         ".html": "text/html; charset=utf-8"}


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site only (no open redirect)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


def _home(actor: object) -> str:
    return "/today" if actor.can("view:cases") else "/reports"  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- sign-in
@router.get("/")
def index(request: Request, session: DB) -> Response:
    """Today's work when signed in, else the sign-in page."""
    if not isinstance(request.session.get("user"), dict):
        return RedirectResponse("/login", status_code=303)
    try:
        ctx = signed_in(request, session)
    except JianhuError:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(_home(ctx.actor), status_code=303)


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    """The sign-in form."""
    return render(request, "login.html", next=_safe_next(next), error="", code="")


@router.post("/login")
def login(request: Request, session: DB,
          data: Submitted) -> Response:
    """Check code and password (:func:`jianhu.web.auth.sign_in`); on success start a fresh
    session (new token: no session fixation) and go where the user was going."""
    code = str(data.get("code") or "")
    target = _safe_next(str(data.get("next") or "/"))
    try:
        actor, pw = sign_in(session, code, str(data.get("password") or ""),
                            policy=request.app.state.config.lockout,
                            address=request.client.host if request.client else None)
    except SignInRefused as exc:  # the same answer whatever the reason (jianhu.web.auth)
        return render(request, "login.html", 429 if exc.throttled else 401, next=target,
                      error=str(exc), code=code)
    request.session.clear()
    request.session["user"] = {"code": actor.code, "pw": pw, "sid": secrets.token_urlsafe(16)}
    request.session["csrf"] = secrets.token_urlsafe(32)
    return RedirectResponse(target if target != "/" else _home(actor), status_code=303)


@router.post("/logout")
def logout(request: Request, session: DB) -> Response:
    """Sign out: the session is revoked in the database (every server process, after a
    restart too) and its cookie cleared."""
    user = request.session.get("user")
    if isinstance(user, dict) and user.get("sid"):
        revoke(session, user["sid"], keep_hours=request.app.state.config.session_hours)
    request.session.clear()
    # the offline app's saved pages go; its read cache is cleared by the sign-in page's script
    # (static/offline/signed-out.js); records waiting to be sent stay (handbook 离线采集)
    return RedirectResponse("/login", status_code=303, headers={"Clear-Site-Data": '"cache"'})


# --------------------------------------------------------------------------- work
def _due_page(ctx: Ctx, mine: bool, page: int) -> Response:
    ctx.require("view:cases")
    who = ctx.actor if mine else None
    found = due_page(ctx.session, ctx.today, mine=who, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    pages = max(1, -(-found.total // PAGE_SIZE))  # the most urgent come first, on page 1
    if page > pages:  # past the end: the last page
        page = pages
        found = due_page(ctx.session, ctx.today, mine=who, limit=PAGE_SIZE,
                         offset=(page - 1) * PAGE_SIZE)
    shown = found.items
    names = queries.child_names(ctx.session, ctx.actor, sorted({i.case_no for i in shown}),
                                "/mine" if mine else "/today")
    return render(ctx.request, "today.html", actor=ctx.actor, items=shown, total=found.total,
                  page=page, pages=pages, kinds=KIND_LABELS, level_label=level_label,
                  today=ctx.today, task_forms=queries.TASK_FORMS, mine=mine, names=names,
                  show_township=ctx.scope.township_id is None, form_titles=FORM_ACTIONS)


@router.get("/today")
def today(ctx: SignedIn, page: int = Query(1, ge=1, le=100000)) -> Response:
    """Overdue and soon-due tasks in scope, mandatory reports and emergencies first
    (:func:`jianhu.followups.due_page`), a page of :data:`PAGE_SIZE` at a time."""
    return _due_page(ctx, mine=False, page=page)


@router.get("/mine")
def mine(ctx: SignedIn, page: int = Query(1, ge=1, le=100000)) -> Response:
    """我的待办: the tasks owned by the signed-in person, then those of their role in scope."""
    return _due_page(ctx, mine=True, page=page)


@router.get("/cases")
def cases(ctx: SignedIn, village: str = "", level: str = "", category: str = "",
          status: str = "", q: str = "", page: int = Query(1, ge=1, le=100000)) -> Response:
    """The caseload with filters and search (:func:`queries.caseload`)."""
    ctx.require("view:cases")
    found = queries.caseload(ctx.session, ctx.scope, village=village or None, level=level or None,
                             category=category or None, status=status or None, q=q or None,
                             limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    ctx.session.commit()  # the audit of a search by name
    labels = {c.code: c.label for c in ctx.host.target_categories}
    pages = max(1, -(-found.total // PAGE_SIZE))
    return render(ctx.request, "cases.html", actor=ctx.actor, rows=found.rows, total=found.total,
                  page=page, pages=pages, villages=queries.villages(ctx.session, ctx.scope),
                  levels=[*LEVELS, ("none", "未评估")], categories=labels, states=STATES,
                  f={"village": village, "level": level, "category": category, "status": status,
                     "q": q},
                  by_name=ctx.actor.can("view:identified"), level_label=level_label,
                  state_label=state_label)


@router.get("/cases/{case_no}")
def case_page(case_no: str, ctx: SignedIn) -> Response:
    """A case: its facts, timeline, tasks, the forms its state allows and its documents."""
    ctx.require("view:cases")
    case = ctx.find_case(case_no)
    view = case_view(ctx.session, ctx.host, case, ctx.actor)
    ctx.session.commit()  # audit of confidential reads
    forms = [(f, load_form(ctx.host, f).title) for f in allowed_forms(ctx.actor, case)]
    return render(ctx.request, "case.html", actor=ctx.actor, view=view, forms=forms,
                  before=queries.before_visit(ctx.session, view),
                  may_transfer=ctx.actor.can("transfer:request"),
                  documents=KINDS if ctx.actor.can("documents:export") else {},
                  level_label=level_label, today=ctx.today.isoformat())


def _form_or_404(ctx: Ctx, form_id: str):  # noqa: ANN202
    if form_id not in RECORD_FORMS:
        raise NotFound(f"没有表单「{form_id}」")
    return load_form(ctx.host, form_id)


def _offer_people(ctx: Ctx, case: Any, page: Any) -> None:
    """Propose the case township's people for a measure's owner and an assessor, the rescue and
    service team (the assessment team) first (:func:`jianhu.teams.proposals`)."""
    from jianhu.teams import proposals

    offer_people(page, lambda key: proposals(ctx.session, case.township_id, key))


@router.get("/cases/{case_no}/forms/{form_id}")
def form_page(case_no: str, form_id: str, ctx: SignedIn) -> Response:
    """An empty form to record on the case: dates default to today, and the fields naming who
    entered it or did it (登记人, 随访人, 服务人员…) to the signed-in person."""
    form = _form_or_404(ctx, form_id)
    if not ctx.actor.can(f"record:{form_id}"):
        raise Forbidden(f"{role_labels().get(ctx.actor.role, ctx.actor.role)}无权登记{form.title}")
    case = ctx.find_case(case_no)
    check_form(case, form_id, ctx.actor)
    page = build_page(form, form_defaults(form, ctx.today, ctx.actor.code))
    _offer_people(ctx, case, page)
    return render(ctx.request, "form.html", actor=ctx.actor, case=case, page=page,
                  state=state_label(case.status))


@router.post("/cases/{case_no}/forms/{form_id}")
def form_submit(case_no: str, form_id: str, ctx: SignedIn,
                data: Submitted) -> Response:
    """Record the form (:func:`jianhu.records.record_form`); on any problem show the form
    again with the messages beside the fields (422) and write nothing."""
    form = _form_or_404(ctx, form_id)
    if not ctx.actor.can(f"record:{form_id}"):
        raise Forbidden(f"{role_labels().get(ctx.actor.role, ctx.actor.role)}无权登记{form.title}")
    case = ctx.find_case(case_no)
    values = {k: [v for v in data.getlist(k) if isinstance(v, str)] for k in data}
    doc, page = read_submission(form, values)
    status = 422
    if not (page.errors or page.field_errors):
        try:
            done = record_form(ctx.session, ctx.host, case, form_id, doc, actor=ctx.actor)
            ctx.session.commit()
        except TransitionRefused as exc:
            ctx.session.rollback()
            page.errors.append(str(exc))
            status = 409
        except (JianhuError, ValueError) as exc:
            ctx.session.rollback()
            page.errors.append(str(exc))
        else:
            lines = [f"已登记{form.title}"]
            if done.status_before != done.status_after:
                lines.append(f"状态 {state_label(done.status_before)} → "
                             f"{state_label(done.status_after)}")
            lines += [f"待办：{task_label(k)}，到期 {d.isoformat()}" for k, d in done.tasks]
            lines += done.notes
            flash(ctx.request, "；".join(lines))
            return RedirectResponse(f"/cases/{case.case_no}", status_code=303)
    ctx.session.rollback()
    _offer_people(ctx, case, page)
    return render(ctx.request, "form.html", status, actor=ctx.actor, case=case, page=page,
                  state=state_label(case.status))


@router.get("/cases/{case_no}/documents/{kind}")
def document(case_no: str, kind: str, ctx: SignedIn,
             format: str = Query("html", pattern="^(html|pdf)$")) -> Response:
    """A printable case document (:func:`jianhu.documents.render_html`): HTML with print CSS,
    or an A4 PDF to download. Audited as an export of identified data."""
    if kind not in KINDS:
        raise NotFound(f"没有文书「{kind}」")
    ctx.require("view:cases")
    case = ctx.find_case(case_no)
    try:
        html = render_html(ctx.session, ctx.host, case, kind, ctx.actor)
    except JianhuError as exc:
        if not ctx.actor.can("documents:export"):
            raise Forbidden(str(exc)) from None
        raise
    if format == "pdf":
        with tempfile.TemporaryDirectory() as tmp:
            path = write_document(html, Path(tmp) / "doc.pdf", "pdf")
            content = path.read_bytes()
        ctx.session.commit()
        return download(content, f"{KINDS[kind]}-{case.case_no}.pdf", MEDIA[".pdf"])
    ctx.session.commit()
    toolbar = ('<link rel="stylesheet" href="/static/print.css">'
               f'<div class="doc-toolbar"><a href="/cases/{escape(case.case_no)}">返回个案</a> '
               '<button type="button" id="print-button">打印</button> '
               '<a href="?format=pdf">下载 PDF</a></div>'
               '<script src="/static/print.js"></script>')

    return HTMLResponse(html.replace("<body>", "<body>" + toolbar, 1),
                        headers={"Content-Security-Policy": CSP_DOCUMENT})


# --------------------------------------------------------------------------- transfers
@router.post("/cases/{case_no}/transfer")
def transfer_request(case_no: str, ctx: SignedIn, data: Submitted) -> Response:
    """Ask to move a case to another township or village (:func:`transfers.request`)."""
    ctx.require("transfer:request")
    try:
        t = transfers.request(ctx.session, ctx.actor, ctx.scope, case_no,
                              str(data.get("to") or ""), str(data.get("reason") or ""))
        ctx.session.commit()
    except JianhuError as exc:
        ctx.session.rollback()
        flash(ctx.request, f"未能申请转移：{exc}")
        return RedirectResponse(f"/cases/{case_no}" if "没有个案" not in str(exc) else "/cases",
                                status_code=303)
    if t.status == "accepted":
        flash(ctx.request, f"已转移个案 {case_no}")
        return RedirectResponse("/transfers", status_code=303)
    flash(ctx.request, f"已申请转移个案 {case_no}（编号 {t.id}），待接收方乡镇儿童督导员接收")
    return RedirectResponse("/transfers", status_code=303)


@router.get("/transfers")
def transfers_page(ctx: SignedIn) -> Response:
    """Transfers sent and received; a receiving supervisor accepts or refuses the pending ones."""
    ctx.require("transfer:request")
    rows = transfers.listing(ctx.session, ctx.scope)
    decidable = {t.id for t in rows if transfers.may_decide(ctx.actor, ctx.scope, t.to_township_id)}
    return render(ctx.request, "transfers.html", actor=ctx.actor, rows=rows, decidable=decidable)


@router.post("/transfers/{transfer_id}")
def transfer_decide(transfer_id: int, ctx: SignedIn, data: Submitted) -> Response:
    """Accept or refuse a pending transfer (:func:`transfers.decide`)."""
    ctx.require("transfer:decide")
    accept = transfers.DECISIONS.get(str(data.get("decision") or ""))
    if accept is None:
        flash(ctx.request, "未能处理转移申请：请选择「接收」或「退回」")
        return RedirectResponse("/transfers", status_code=303)
    try:
        t = transfers.decide(ctx.session, ctx.actor, ctx.scope, transfer_id, accept=accept,
                             village=str(data.get("village") or "") or None,
                             note=str(data.get("note") or ""))
        ctx.session.commit()
    except JianhuError as exc:
        ctx.session.rollback()
        flash(ctx.request, f"未能处理转移申请：{exc}")
        return RedirectResponse("/transfers", status_code=303)
    hint = (f"；儿童暂登记在「{transfers.UNKNOWN_VILLAGE}」，确定后请在本乡镇内再转移一次"
            if transfers.awaits_village(ctx.session, t) else "")
    flash(ctx.request, f"已{'接收' if accept else '退回'}个案 {t.case_no}{hint}")
    return RedirectResponse(f"/cases/{t.case_no}" if accept else "/transfers", status_code=303)


# --------------------------------------------------------------------------- approvals
@router.get("/approvals")
def approvals_page(ctx: SignedIn) -> Response:
    """Pending approvals of the cases in scope, each saying what is to be approved; an approver
    decides the ones they may."""
    ctx.require("view:cases")
    rows = approvals.awaiting(ctx.session, ctx.scope, ctx.host)
    return render(ctx.request, "approvals.html", actor=ctx.actor, rows=rows, local_tz=LOCAL_TZ)


@router.post("/approvals/{approval_id}")
def approval_decide(approval_id: str, ctx: SignedIn, data: Submitted) -> Response:
    """Approve or reject the pending approval the approver was shown
    (:func:`approvals.decide`); a rejection needs a reason."""
    ctx.require("view:cases")
    decision = str(data.get("decision") or "")
    if decision not in ("approve", "reject"):
        flash(ctx.request, "未能审批：请选择「同意」或「不同意」")
        return RedirectResponse("/approvals", status_code=303)
    shown = {a.id: a for a in approvals.awaiting(ctx.session, ctx.scope)}
    try:
        if approval_id not in shown:
            raise JianhuError("没有这项待审批事项（或已有人作出决定）")
        item = shown[approval_id]
        row = approvals.decide(ctx.session, ctx.scope.find_case(ctx.session, item.case_no),
                               item.subject, approve=decision == "approve",
                               reason=str(data.get("reason") or "").strip() or None,
                               actor=ctx.actor, approval_id=approval_id)
        ctx.session.commit()
    except JianhuError as exc:
        ctx.session.rollback()
        flash(ctx.request, f"未能审批：{exc}")
        return RedirectResponse("/approvals", status_code=303)
    verdict = "同意" if decision == "approve" else "不同意"
    flash(ctx.request, f"已审批个案 {item.case_no} 的{approvals.SUBJECTS[row.subject]}：{verdict}")
    return RedirectResponse("/approvals", status_code=303)


# --------------------------------------------------------------------------- survey
@router.get("/surveys/new")
def survey_page(ctx: SignedIn) -> Response:
    """An empty basic situation survey (one child), with the survey date set to today."""
    ctx.require("import:screening")
    form = load_form(ctx.host, "screening", ctx.actor.township_code)
    page = build_page(form, {"survey": {"date": ctx.today.isoformat()}})
    return render(ctx.request, "form.html", actor=ctx.actor, case=None, page=page, state="")


@router.post("/surveys/new")
def survey_submit(ctx: SignedIn, data: Submitted) -> Response:
    """Record one survey (:func:`jianhu.imports.screening.record_survey`); on any problem show
    the form again with the messages beside the fields (422) and write nothing."""
    ctx.require("import:screening")
    form = load_form(ctx.host, "screening", ctx.actor.township_code)
    values = {k: [v for v in data.getlist(k) if isinstance(v, str)] for k in data}
    doc, page = read_submission(form, values)
    if not (page.errors or page.field_errors):
        try:
            summary = record_survey(ctx.session, ctx.host, doc, actor=ctx.actor.code)
        except ImportRejected as exc:
            names = {w.field.column: w for w in page.widgets}
            for e in exc.errors:
                widget = names.get(e.column)
                if widget is not None and not widget.error:
                    widget.error = e.message
                elif widget is None:
                    page.errors.append(e.message)
        else:
            what = "新增儿童" if summary.created else ("更新儿童" if summary.updated else "没有变化")
            urgent = ("；紧急：该儿童处于《未成年人保护法》第92条所列情形，已生成应急处置待办"
                      if summary.emergencies else "")
            similar = "".join(f"；提示：{w.message}" for w in summary.warnings)
            flash(ctx.request, f"已登记调查表：{what}；开立个案 {summary.cases_opened} 个{urgent}{similar}")
            return RedirectResponse("/cases", status_code=303)
    ctx.session.rollback()
    return render(ctx.request, "form.html", 422, actor=ctx.actor, case=None, page=page,
                  state="")


# --------------------------------------------------------------------------- import
@router.get("/import")
def import_page(ctx: SignedIn) -> Response:
    """The survey import form."""
    ctx.require("import:screening")
    return render(ctx.request, "import.html", actor=ctx.actor, summary=None, rejected=None)


@router.get("/import/template")
def import_template(ctx: SignedIn) -> Response:
    """A blank survey workbook (the same as ``jianhu template screening``)."""
    ctx.require("import:screening")
    from jianhu.workbooks import write_template

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.xlsx"
        write_template(load_form(ctx.host, "screening", ctx.actor.township_code), path)
        content = path.read_bytes()
    return download(content, "基本情况调查表.xlsx", MEDIA[".xlsx"])


@router.post("/import")
def import_submit(ctx: SignedIn, data: Submitted) -> Response:
    """Import a survey workbook (:func:`jianhu.imports.screening.import_screening`): all or
    nothing; a rejected file lists every bad row."""
    ctx.require("import:screening")
    upload = data.get("file")
    dry_run = data.get("dry_run") == "1"
    if not isinstance(upload, UploadFile) or not upload.filename:
        return render(ctx.request, "import.html", 422, actor=ctx.actor, summary=None,
                      rejected=None, error="请选择要导入的文件（.xlsx 或 .csv）")
    with tempfile.TemporaryDirectory() as tmp:  # the user's file name, in a private directory
        path = Path(tmp) / (Path(upload.filename).name[-120:] or "upload")
        size = 0
        with path.open("wb") as fh:
            while chunk := upload.file.read(1024 * 1024):
                size += len(chunk)
                if size > MAX_UPLOAD:
                    return render(ctx.request, "import.html", 413, actor=ctx.actor, summary=None,
                                  rejected=None, error=f"文件超过{MAX_UPLOAD // (1024 * 1024)} MB，"
                                  "请分成几个文件导入")
                fh.write(chunk)
        try:
            summary = import_screening(ctx.session, ctx.host, path, actor=ctx.actor.code,
                                       dry_run=dry_run)
        except ImportRejected as exc:
            ctx.session.rollback()
            return render(ctx.request, "import.html", 422, actor=ctx.actor, summary=None,
                          rejected=exc, errors=exc.errors[:MAX_ROW_ERRORS],
                          more=exc.total - len(exc.errors[:MAX_ROW_ERRORS]), filename=upload.filename)
        except JianhuError as exc:
            ctx.session.rollback()
            return render(ctx.request, "import.html", 422, actor=ctx.actor, summary=None,
                          rejected=None, error=str(exc))
    return render(ctx.request, "import.html", actor=ctx.actor, summary=summary, rejected=None,
                  filename=upload.filename)


# --------------------------------------------------------------------------- reports
@router.get("/reports")
def reports(ctx: SignedIn) -> Response:
    """The reports and formats to download."""
    ctx.require("report:aggregate")
    shown = {n: r for n, r in ctx.host.reports.items()
             if not r.identified or ctx.actor.can(IDENTIFIED_PERMISSION)}
    return render(ctx.request, "reports.html", actor=ctx.actor, reports=shown,
                  formats=ctx.host.report_formats, today=ctx.today)


@router.get("/reports/{name}")
def report_file(name: str, ctx: SignedIn, format: str = "xlsx",
                on: str = "") -> Response:
    """Build a report as of ``on`` (default today) and download it in ``format``, as
    ``jianhu report`` does, by :func:`jianhu.reports.build` (identified reports refused to roles
    that may not export identified data and audited; small cells suppressed by the report's
    rule)."""
    ctx.require("report:aggregate")
    report = ctx.host.reports.get(name)
    if report is None:
        raise NotFound(f"没有报表「{name}」")
    fmt = ctx.host.report_formats.get(format)
    if fmt is None:
        raise NotFound(f"不支持格式「{format}」")
    try:
        day = parse_date(on) if on else ctx.today
    except ValueError as exc:
        raise JianhuError(str(exc)) from None
    table = build_report(ctx.session, ctx.host, report, day, actor=ctx.actor)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"report{fmt.suffix}"
        try:
            fmt.write(table, path)
        except JianhuError:
            raise
        except Exception as exc:  # a plugin's format that cannot lay out this report
            raise JianhuError(f"格式「{format}」不能用于报表「{report.title}」：{exc}") from None
        content = path.read_bytes()
    ctx.session.commit()  # the audit of an identified report (jianhu.reports.build)
    return download(content, f"{report.title}-{day.isoformat()}{fmt.suffix}",
                    MEDIA.get(fmt.suffix, "application/octet-stream"))


@router.get("/dashboard")
def dashboard(ctx: SignedIn) -> Response:
    """Charts: open cases by level and by village, visits due against done per month."""
    ctx.require("view:cases")
    d = queries.dashboard(ctx.session, ctx.scope, ctx.today)
    return render(ctx.request, "dashboard.html", actor=ctx.actor, d=d,
                  level_chart=charts.bar_chart("在办个案（按等级）", d.by_level, charts.LEVEL_COLOURS),
                  village_chart=charts.bar_chart("在办个案（按村、社区）", d.by_village),
                  visit_chart=charts.paired_columns("每月随访：应访与已访", d.months),
                  levels=LEVEL_LABELS)
