"""A case's full story in date order: survey, opening, assessments, every lifecycle record and every
state transition, plus its tasks. Confidential parts (an incident's reporter) are shown only to
roles allowed to see them (反家庭暴力法 Art 14), and each such read is audited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from jianhu import audit
from jianhu.dates import local_date, local_today
from jianhu.db.models import (
    Assessment,
    AuditEvent,
    Case,
    Child,
    ConfidentialRecord,
    FollowUp,
    FormRecord,
    Township,
    Village,
)
from jianhu.disclosure import disclose, limited
from jianhu.extensions import LEVEL_LABELS, level_label
from jianhu.forms import load_form
from jianhu.guardianship import in_force
from jianhu.lifecycle import EVENTS, state_label
from jianhu.plugins import Host
from jianhu.roles import Actor
from jianhu.tasks import KIND_LABELS

RATING_LABELS = {"poor": "差", "fair": "一般", "good": "较好"}
#: Records whose one-line summary a service provider does not see either (a harm, the police, an
#: escalation's decision: jianhu.disclosure).
WITHHELD_SUMMARIES = frozenset({"incident", "police_report", "escalation", "guardianship"})
ESCALATION_LABELS = {None: "无", "administrative": "行政干预", "judicial": "司法干预"}


@dataclass
class Entry:
    """One line of a timeline.

    Attributes:
        on: the local date it happened.
        at: when it was recorded (UTC), to order entries of one day.
        kind: ``"screening"``, ``"opened"``, ``"assessment"``, ``"transition"`` or a form id.
        title: Chinese title.
        summary: one Chinese line.
        detail: the record itself (JSON values), without confidential parts unless allowed.
    """

    on: dt.date
    at: dt.datetime
    kind: str
    title: str
    summary: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class CaseView:
    """Everything ``jianhu case show`` prints."""

    case: dict[str, Any]
    child: dict[str, Any] | None
    timeline: list[Entry]
    tasks: list[dict[str, Any]]


def case_view(session: Session, host: Host, case: Case, actor: Actor, *,
              purpose: str = "view") -> CaseView:
    """Build the view of ``case`` for ``actor``, and audit the read (one ``read`` event naming
    the case and what was shown; the caller commits it).

    Child identity (name, sex, birth date) is included only when the role may see identified
    data; an incident's reporter only when it may see reporters (each such read is audited).
    """
    township = session.get(Township, case.township_id)
    village = session.get(Village, case.village_id)
    labels = {c.code: c.label for c in host.target_categories}
    info = {
        "case_no": case.case_no, "township": township.name, "village": village.name,
        "status": case.status, "status_label": state_label(case.status), "level": case.level,
        "level_label": level_label(case.level), "categories": list(case.categories),
        "category_labels": [labels.get(c, c) for c in case.categories],
        "guardianship_rating": case.guardianship_rating, "escalation": case.escalation,
        "opened_on": case.opened_on.isoformat(),
        "closed_on": case.closed_on.isoformat() if case.closed_on else None,
    }
    child = None
    if actor.can("view:identified"):
        c = session.get(Child, case.child_id)
        child = {"name": c.name, "sex": "男" if c.sex == "male" else "女",
                 "birth_date": c.birth_date.isoformat(),
                 "guardians": _guardians(session, host, case, actor)}
    entries: list[Entry] = [Entry(case.opened_on, case.created_at, "opened", "开案",
                                  f"类别：{'、'.join(info['category_labels']) or '无'}；监护状况："
                                  f"{RATING_LABELS.get(case.guardianship_rating, '')}")]
    records = session.scalars(select(FormRecord).where(or_(
        FormRecord.subject_id == case.id, FormRecord.subject_id == case.child_id)))
    secrets = {}
    if actor.can("view:reporter"):
        secrets = dict(session.execute(
            select(ConfidentialRecord.record_id, ConfidentialRecord.payload)
            .join(FormRecord, ConfidentialRecord.record_id == FormRecord.id)
            .where(FormRecord.subject_id == case.id)).all())
        for record_id in secrets:
            audit.record(session, actor=actor.code, action="read_confidential",
                         entity_type="form_record", entity_id=record_id,
                         context={"case_no": case.case_no, "field": "reporter"})
    for r in records:
        form = load_form(host, r.form_id)
        detail = disclose(actor, r.form_id, dict(r.payload))
        if r.id in secrets:
            detail["reporter"] = secrets[r.id]
        summary = record_summary(r.form_id, r.payload, form)
        if limited(actor) and r.form_id in WITHHELD_SUMMARIES:
            summary = "（详情仅限个案工作人员查看）"
        entries.append(Entry(r.recorded_on, r.created_at, r.form_id, form.title, summary, detail))
    for a in session.scalars(select(Assessment).where(Assessment.case_id == case.id)):
        scale = host.scales.get(a.scale)
        if a.level is None:  # a scale that does not grade (or one no longer installed)
            title = scale.title if scale is not None else a.scale
            text = title + (f"，总分 {a.total:g}" if a.total is not None else "")
            if a.bands:
                text += "；" + "，".join(f"{k} {v}" for k, v in a.bands.items())
        else:
            text = f"总分 {a.total:g}，等级 {LEVEL_LABELS.get(a.level or '', '—')}"
        if a.emergency:
            text += "；紧急筛查有「是」"
        detail = {"scale": a.scale, "scores": a.scores, "total": a.total, "bands": a.bands,
                  "level": a.level, "emergency": a.emergency, "assessor": a.assessor}
        if limited(actor):  # the level guides the service; the item scores are the family's
            text = f"等级 {LEVEL_LABELS.get(a.level or '', '—')}"
            detail = {"level": a.level}
        entries.append(Entry(a.assessed_on, a.created_at, "assessment", "评估", text, detail))
    for ev in session.scalars(select(AuditEvent).where(
            AuditEvent.entity_type == "case", AuditEvent.entity_id == str(case.id),
            AuditEvent.action == "transition")):
        before, after = ev.before or {}, ev.after or {}
        text = f"{state_label(before.get('status', ''))} → {state_label(after.get('status', ''))}"
        if after.get("reason"):
            text += f"（{after['reason']}）"
        on = dt.date.fromisoformat(after["on"]) if "on" in after else local_date(ev.at)
        entries.append(Entry(on, ev.at, "transition",
                             EVENTS.get(after.get("event", ""), "状态变更"), text,
                             {"actor": ev.actor, **after}))
    entries.sort(key=lambda e: (e.on, e.at))
    shown = (["child"] if child else []) + (["records (service view)"] if limited(actor) else
                                            ["records"]) + (["reporter"] if secrets else [])
    audit.record(session, actor=actor.code, action="read", entity_type="case",
                 entity_id=case.id, context={"case_no": case.case_no, "shown": shown,
                                             "purpose": purpose})
    tasks = [
        {"kind": t.kind, "label": KIND_LABELS.get(t.kind, t.kind), "due_on": t.due_on.isoformat(),
         "due_at": t.due_at.isoformat() if t.due_at else None, "status": t.status,
         "done_on": t.done_on.isoformat() if t.done_on else None, "ref": t.ref}
        for t in session.scalars(select(FollowUp).where(FollowUp.case_id == case.id)
                                 .order_by(FollowUp.due_on, FollowUp.kind))
    ]
    return CaseView(info, child, entries, tasks)


def _guardians(session: Session, host: Host, case: Case, actor: Actor) -> list[dict[str, Any]]:
    """The child's guardians in force today (:func:`jianhu.guardianship.in_force`); a service
    provider gets only who cares for the child in the parents' stead and how to reach them
    (as :data:`jianhu.disclosure.SERVICE_VIEW` shows the surveyed entrusted guardian), not the
    parents or a court's decision."""
    entries = [g.as_dict() for g in in_force(session, host, case.child_id, local_today())]
    if limited(actor):
        return [{k: g[k] for k in ("label", "name", "relation", "phone")} for g in entries
                if g["guardian"] and g["role"] not in ("father", "mother")]
    return entries


def record_summary(form_id: str, p: dict[str, Any], form: Any) -> str:
    """One Chinese line about a record (no personal data beyond staff codes). A field an old
    record lacks (a form changed without a declared migration, :mod:`jianhu.forms.migrations`)
    reads 未填 instead of failing the whole case."""
    try:
        return _summary_of(form_id, p, form)
    except (KeyError, TypeError, AttributeError):
        return "（本记录按旧版表单填写，部分栏目无法显示）"


def _summary_of(form_id: str, p: dict[str, Any], form: Any) -> str:
    def label(group: str, key: str) -> str:
        return form.by_path[group, key].label(p[group].get(key))

    if form_id == "screening":
        return f"调查日期 {p['survey']['date']}，填表人 {p['survey'].get('filled_by', '')}"
    if form_id == "plan":
        return f"目标 {len(p['plan']['goals'])} 项，措施 {len(p['measures'])} 项"
    if form_id == "service":
        return f"{label('service', 'service_type')}，服务人员 {p['service']['provider']}"
    if form_id == "visit":
        return f"随访人 {p['visit']['visitor']}，风险变化：{label('visit', 'risk_change')}"
    if form_id == "incident":
        return f"强制报告情形 {len(p['incident'].get('triggers', []))} 项" + (
            "，已报告公安机关" if "police" in p else "")
    if form_id == "police_report":
        return f"报告时间 {p['police']['reported_at']}"
    if form_id == "escalation":
        return f"{label('escalation', 'step')}：{p['escalation'].get('decision', '')}"
    if form_id == "closure":
        return f"结案原因：{label('closure', 'reason')}"
    if form_id == "return_visit":
        return "发现风险" if p["return_visit"]["risk_found"] else "未发现风险"
    if form_id == "level_override":
        return f"调整为{label('override', 'level')}：{p['override']['reason']}"
    if form_id == "guardianship":
        return f"{label('guardianship', 'change')}，{p['guardianship']['date']} 起"
    return ""
