"""The offline web app: survey, visit, service and incident forms that work without a signal.

``/offline/`` is an installable web app (``/manifest.webmanifest``) whose service worker
(``/offline/sw.js``) keeps the page and its scripts, so it opens with no connection. The forms
are the pages' own (:mod:`jianhu.web.forms`, plugin fields included), with the schema's
constraints checked in the browser. A saved record gets its id on the device and waits in the
browser's IndexedDB (through the vendored ``idb`` library) until it is sent to the JSON API with
that id as its ``Idempotency-Key`` (:mod:`jianhu.capture`), so a record sent twice is one
record. The worker's open cases and due tasks are kept for reading (``/api/offline/bundle``),
encrypted in the browser where it can, and cleared on sign-out; waiting records are kept across
sign-out and can be exported to a file that ``jianhu offline import`` reads (handbook 离线采集).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy import select

from jianhu import __version__, audit, conflicts
from jianhu.capture import SURVEY
from jianhu.dates import LOCAL_TZ
from jianhu.db.models import Case, Child
from jianhu.errors import ImportRejected, JianhuError
from jianhu.followups import due_list
from jianhu.forms import load_form
from jianhu.lifecycle import may_record
from jianhu.tasks import KIND_LABELS
from jianhu.web import queries
from jianhu.web.context import SignedIn, Submitted
from jianhu.web.forms import build_page, form_defaults
from jianhu.web.rendering import HERE, flash, render

router = APIRouter()
#: The forms the offline app captures: the survey, then the records of a case.
FORMS = (SURVEY, "visit", "service", "incident")
#: Open cases kept on a device at most (a village's or a township's; county staff get the first).
MAX_CASES = 2000
#: The fields a new record starts with today's date in (filled in on the device).
TODAY_FIELDS = {SURVEY: "survey.date", "visit": "visit.date", "service": "service.date"}


@router.get("/manifest.webmanifest", include_in_schema=False)
def manifest() -> Response:
    """The web app manifest: the offline app installs to the home screen."""
    return JSONResponse({
        "name": "监护 · 离线采集", "short_name": "监护采集", "lang": "zh-CN",
        "start_url": "/offline/", "scope": "/offline/", "display": "standalone",
        "background_color": "#ffffff", "theme_color": "#1d4e89",
        "description": "没有信号时登记调查表、随访、服务和侵害事件，联网后上传",
        "icons": [{"src": f"/static/offline/icon-{n}.png", "sizes": f"{n}x{n}", "type": "image/png"}
                  for n in (192, 512)]}, media_type="application/manifest+json")


@router.get("/offline/sw.js", include_in_schema=False)
def service_worker() -> Response:
    """The service worker (its cache is named after the version, so an upgrade replaces it)."""
    script = (HERE / "static" / "offline" / "sw.js").read_text(encoding="utf-8")
    return Response(script.replace("__VERSION__", __version__), media_type="text/javascript",
                    headers={"Cache-Control": "no-cache"})


@router.get("/offline/", include_in_schema=False)
def offline_page(ctx: SignedIn) -> Response:
    """The offline app: the forms the user may record, each in a ``<template>``."""
    township = ctx.actor.township_code
    forms = []
    for form_id in FORMS:
        action = "import:screening" if form_id == SURVEY else f"record:{form_id}"
        if ctx.actor.can(action):
            form = load_form(ctx.host, form_id, township)
            start = {} if form_id == SURVEY else form_defaults(form, ctx.today, ctx.actor.code)
            forms.append((form_id, build_page(form, start)))
    return render(ctx.request, "offline.html", actor=ctx.actor, forms=forms,
                  offline_days=ctx.request.app.state.config.offline_days,
                  today_fields=TODAY_FIELDS, survey=SURVEY)


@router.get("/api/offline/bundle", tags=["api"])
def offline_bundle(ctx: SignedIn) -> Any:
    """本人范围内的在办个案和7日内到期事项，供离线时查看（有权查看身份信息的角色含儿童姓名）。"""
    ctx.require("view:cases")
    rows = queries.caseload(ctx.session, ctx.scope, status="open", limit=MAX_CASES).rows
    names = queries.child_names(ctx.session, ctx.actor, [r.case_no for r in rows], "offline")
    numbers = [r.case_no for r in rows]
    facts = {no: (version, escalation) for no, version, escalation in ctx.session.execute(
        select(Case.case_no, Child.version, Case.escalation).join(
            Child, Case.child_id == Child.id).where(Case.case_no.in_(numbers)))} if rows else {}
    resurvey = ctx.actor.can("import:screening")
    shown = set(numbers)
    due = [i for i in due_list(ctx.session, ctx.today) if i.case_no in shown]
    cases = [{"case_no": r.case_no, "name": names.get(r.case_no, ""), "village": r.village,
              "level": r.level, "status": r.status,
              "child_version": facts[r.case_no][0] if resurvey else None,
              "forms": [f for f in FORMS[1:] if ctx.actor.can(f"record:{f}") and
                        may_record(ctx.actor.role, f, r.status, facts[r.case_no][1])]}
             for r in rows]
    ctx.session.commit()
    now = dt.datetime.now(dt.UTC)
    return {"user": {"code": ctx.actor.code, "name": ctx.actor.name},
            "issued_at": now.isoformat(), "valid_days": ctx.request.app.state.config.offline_days,
            "cases": cases,
            "due": [{"case_no": i.case_no, "label": KIND_LABELS.get(i.kind, i.kind),
                     "due_on": i.due_on.isoformat(), "overdue": i.overdue} for i in due]}


@router.get("/conflicts", include_in_schema=False)
def conflicts_page(ctx: SignedIn) -> Response:
    """Surveys held because they were made from an older copy of the child
    (:mod:`jianhu.conflicts`), for a township supervisor to decide."""
    ctx.require("conflicts:resolve")
    rows = conflicts.open_conflicts(ctx.session, ctx.scope)
    names: dict[Any, str] = {}
    versions: dict[Any, int] = {}
    if rows:
        for cid, name, version in ctx.session.execute(select(Child.id, Child.name, Child.version)
                                                      .where(Child.id.in_([c.child_id for c in rows]))):
            names[cid], versions[cid] = name, version
        audit.record(ctx.session, actor=ctx.actor.code, action="read_list", entity_type="child_list",
                     entity_id="conflicts", context={"children": sorted(str(i) for i in names),
                                                     "shown": ["child.name"]})
        ctx.session.commit()
    return render(ctx.request, "conflicts.html", actor=ctx.actor, rows=rows, names=names,
                  versions=versions, local_tz=LOCAL_TZ)


@router.post("/conflicts/{conflict_id}", include_in_schema=False)
def conflict_decide(conflict_id: str, ctx: SignedIn, data: Submitted) -> Response:
    """Apply the held survey or keep the stored child (:func:`jianhu.conflicts.resolve`)."""
    ctx.require("conflicts:resolve")
    decision = str(data.get("decision") or "")
    if decision not in ("apply", "keep"):
        flash(ctx.request, "未处理：请选择「采用新调查表」或「保留现有信息」")
        return RedirectResponse("/conflicts", status_code=303)
    try:
        conflicts.resolve(ctx.session, ctx.host, ctx.scope, conflict_id,
                          apply=decision == "apply", actor=ctx.actor)
    except ImportRejected as exc:
        ctx.session.rollback()
        flash(ctx.request, "未能采用：" + "；".join(f"「{e.column}」{e.message}" for e in exc.errors))
        return RedirectResponse("/conflicts", status_code=303)
    except JianhuError as exc:
        ctx.session.rollback()
        flash(ctx.request, f"未处理：{exc}")
        return RedirectResponse("/conflicts", status_code=303)
    flash(ctx.request, "已采用新调查表" if decision == "apply" else "已保留现有信息")
    return RedirectResponse("/conflicts", status_code=303)
