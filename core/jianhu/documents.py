"""Printable case documents: the family guardianship assessment report (家庭监护评估报告), the
closure report (结案报告) and the child's archive (一人一档: a cover page and every record), as
HTML (Jinja2 templates in ``jianhu/templates``) or A4 PDF (WeasyPrint, Noto CJK fonts), with
signature lines.

The documents name the child, so only roles that may see identified data can make them, and each
one made is an audited export (个人信息保护法 Art 51, 55).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from jianhu import audit
from jianhu.dates import LOCAL_TZ, age_on, now_utc
from jianhu.db.models import Assessment, Case, Child, FollowUp, FormRecord, Person
from jianhu.errors import JianhuError
from jianhu.extensions import level_label
from jianhu.forms import load_form
from jianhu.forms.fields import Field
from jianhu.guardianship import in_force
from jianhu.plugins import Host
from jianhu.records import on_case
from jianhu.roles import Actor
from jianhu.timeline import ESCALATION_LABELS, RATING_LABELS, case_view

KINDS = {"assessment": "家庭监护评估报告", "closure": "结案报告", "archive": "儿童个案档案（一人一档）"}
#: The archive's number: this prefix and the case number (档案编号).
ARCHIVE_PREFIX = "DA"
_env = Environment(loader=PackageLoader("jianhu", "templates"), autoescape=select_autoescape())


def _latest(session: Session, case: Case, form_id: str) -> FormRecord | None:
    return session.scalars(
        select(FormRecord).where(on_case(case.id, form_id))
        .order_by(FormRecord.recorded_on.desc(), FormRecord.created_at.desc())).first()


def _assessment_context(session: Session, host: Host, case: Case) -> dict[str, Any]:
    a = session.scalars(select(Assessment).where(Assessment.case_id == case.id,
                                                 Assessment.level.is_not(None))
                        .order_by(Assessment.assessed_on.desc())).first()
    if a is None:
        raise JianhuError(f"个案 {case.case_no} 还没有评估，不能生成评估报告")
    scale = host.scales[a.scale]
    form = load_form(host, scale.form_id)
    domains = form.schema.get("x-domains", {})
    maxima: Counter = Counter()
    for item in scale.items:
        if item.domain != "emergency":
            maxima[item.domain] += max(v for v, _ in item.choices)
    emergency = [i.title.removeprefix("紧急：") for i in scale.items if i.id in a.emergency]
    lp = host.followup_policy(_township_code(session, case)).for_level(a.level or "green")
    child = session.get(Child, case.child_id)
    guardians = {g.role: g for g in in_force(session, host, child.id, a.assessed_on)}

    def parent(role: str) -> str:
        g = guardians.get(role)
        return g.status or "—" if g else "—"

    carers = [f"{g.name or '未填姓名'}（{'，'.join(x for x in (g.relation, g.label, g.status) if x)}）"
              for r, g in guardians.items() if r not in ("father", "mother")]
    return {
        "assessment": {
            "date": a.assessed_on.isoformat(), "assessor": a.assessor, "scale_title": scale.title,
            "domains": [{"title": domains.get(d, d), "score": f"{a.scores.get(d, 0):g}",
                         "max": maxima[d]} for d in maxima],
            "total": f"{a.total:g}" if a.total is not None else "—",
            "max_total": sum(maxima.values()), "emergency": emergency, "level": a.level,
            "level_label": level_label(a.level),
        },
        "policy": {"visit_days": lp.visit_days, "reassess_days": lp.reassess_days,
                   "plan_hint": "7日" if a.level in ("red", "orange") else "30日"},
        "family": {"father": parent("father"), "mother": parent("mother"),
                   "entrusted": "；".join(carers) or None},
        "child_age": age_on(child.birth_date, a.assessed_on),
    }


def _closure_context(session: Session, host: Host, case: Case) -> dict[str, Any]:
    closure = _latest(session, case, "closure")
    if closure is None:
        raise JianhuError(f"个案 {case.case_no} 还没有结案报告")
    plan = _latest(session, case, "plan")
    counts = Counter(session.scalars(select(FormRecord.form_id).where(
        FormRecord.subject_type == "case", FormRecord.subject_id == case.id)))
    service_form, plan_form = load_form(host, "service"), load_form(host, "plan")
    type_field = service_form.by_path["service", "service_type"]
    service_types = sorted({type_field.label(r.payload["service"]["service_type"]) for r in
                            session.scalars(select(FormRecord).where(
                                on_case(case.id, "service")))})
    names = dict(session.execute(select(Person.code, Person.name)).all())
    done = {t.ref for t in session.scalars(select(FollowUp).where(
        FollowUp.case_id == case.id, FollowUp.kind == "measure_due", FollowUp.status == "done"))}
    measure_types = plan_form.schema["properties"]["measures"]["items"]["properties"]
    type_labels = {o["const"]: o["title"] for o in measure_types["service_type"]["oneOf"]}
    plan_ctx = None
    if plan is not None:
        plan_ctx = {"date": plan.payload["plan"]["date"], "goals": plan.payload["plan"]["goals"],
                    "measures": [{"type": type_labels.get(m["service_type"], m["service_type"]),
                                  "description": m["description"],
                                  "responsible": names.get(m["responsible"], m["responsible"]),
                                  "due": m["due"],
                                  "done": "是" if f"measure:{i}" in done else "否"}
                                 for i, m in enumerate(plan.payload["measures"], start=1)]}
    steps_field = load_form(host, "escalation").by_path["escalation", "step"]
    steps = [steps_field.label(r.payload["escalation"]["step"]) for r in session.scalars(
        select(FormRecord).where(on_case(case.id, "escalation"))
        .order_by(FormRecord.recorded_on))]
    a = session.scalars(select(Assessment).where(Assessment.case_id == case.id,
                                                 Assessment.level.is_not(None))
                        .order_by(Assessment.assessed_on.desc())).first()
    cl = closure.payload["closure"]
    reason_field = load_form(host, "closure").by_path["closure", "reason"]
    returns = [t.due_on.isoformat() for t in session.scalars(select(FollowUp).where(
        FollowUp.case_id == case.id, FollowUp.kind == "return_visit").order_by(FollowUp.due_on))]
    return {
        "plan": plan_ctx, "counts": counts, "service_types": service_types,
        "escalation_steps": steps,
        "last_assessment": f"{a.assessed_on}，{level_label(a.level)}（总分 {a.total:g}）" if a
        else "无",
        "closure": {"date": cl["date"], "reason": reason_field.label(cl["reason"]),
                    "summary": cl["summary"], "outcome": cl.get("outcome"),
                    "override_reason": cl.get("override_reason")},
        "return_visits": returns,
    }


def _value(field: Field, value: Any, names: dict[str, str]) -> str:
    """A stored value as the archive prints it: the form's Chinese label, a roster code with the
    person's name."""
    if isinstance(value, str) and value in names:
        return f"{names[value]}（{value}）"
    if isinstance(value, dict):
        return "；".join(f"{k}：{v}" for k, v in value.items())
    return field.label(value)


def _record_rows(form: Any, payload: dict[str, Any], names: dict[str, str]) -> list[dict[str, Any]]:
    """A record's filled-in fields as ``{"label", "value"}`` rows in the form's order, with the
    form's Chinese labels; an array group (a plan's measures) as one row per item."""
    rows = [{"label": f.column, "value": _value(f, payload.get(f.group, {}).get(f.key), names)}
            for f in form.fields if isinstance(payload.get(f.group), dict)
            and payload[f.group].get(f.key) not in (None, "", [])]
    for key, group in form.schema.get("properties", {}).items():
        items = group.get("items", {})
        if group.get("type") != "array" or items.get("type") != "object":
            continue
        for i, item in enumerate(payload.get(key) or [], start=1):
            parts = []
            for sub, schema in items.get("properties", {}).items():
                if item.get(sub) in (None, "", []):
                    continue
                f = Field(key, sub, schema.get("title", sub), schema, False)
                parts.append(f"{f.column}：{_value(f, item[sub], names)}")
            rows.append({"label": f"{group.get('title', key)}第{i}项", "value": "；".join(parts)})
    return rows


def _archive_context(session: Session, host: Host, case: Case) -> dict[str, Any]:
    """Every record of the child in date order: surveys, assessments (with the level), plans
    (measures and their owners), services, visits, harm reports, reports to the police,
    escalations, guardianship changes, closure and return visits, with the forms' labels. The
    confidential reporter of a harm is kept apart and not printed (反家庭暴力法 Art 14)."""
    names = dict(session.execute(select(Person.code, Person.name)).all())
    entries: list[tuple[Any, Any, dict[str, Any]]] = []
    for r in session.scalars(select(FormRecord).where(
            ((FormRecord.subject_type == "case") & (FormRecord.subject_id == case.id))
            | ((FormRecord.subject_type == "child") & (FormRecord.subject_id == case.child_id)))):
        form = load_form(host, r.form_id)
        entries.append((r.recorded_on, r.created_at, {
            "date": r.recorded_on.isoformat(), "title": form.title,
            "rows": _record_rows(form, r.payload, names),
            "recorded_by": names.get(r.created_by, r.created_by)}))
    for a in session.scalars(select(Assessment).where(Assessment.case_id == case.id)):
        scale = host.scales.get(a.scale)
        level_text = level_label(a.level) if a.level else "未定级"
        rows = [{"label": "量表", "value": scale.title if scale else a.scale},
                {"label": "评估人", "value": a.assessor},
                {"label": "总分", "value": f"{a.total:g}" if a.total is not None else "—"},
                {"label": "风险等级", "value": level_text}]
        if a.emergency and scale is not None:
            titles = {i.id: i.title.removeprefix("紧急：") for i in scale.items}
            rows.append({"label": "紧急情况", "value": "、".join(titles.get(e, e) for e in a.emergency)})
        entries.append((a.assessed_on, a.created_at, {
            "date": a.assessed_on.isoformat(), "title": "家庭监护评估", "rows": rows,
            "recorded_by": "", "level": a.level, "level_text": level_text}))
    entries.sort(key=lambda e: (e[0], e[1]))
    return {"archive_no": ARCHIVE_PREFIX + case.case_no,
            "entries": [e for _, _, e in entries]}


def _township_code(session: Session, case: Case) -> str:
    from jianhu.db.models import Township

    return session.get(Township, case.township_id).code


def render_html(session: Session, host: Host, case: Case, kind: str, actor: Actor) -> str:
    """Render document ``kind`` (``"assessment"``, ``"closure"`` or ``"archive"``, the 一人一档
    archive: a cover page, then every record of the child in date order) of ``case`` as HTML.

    Writes an audit event ``export`` (identified document) in the session; the caller commits.

    Raises:
        JianhuError: unknown kind, the actor may not see identified data, or the case has no
            assessment / closure report yet.
    """
    if kind not in KINDS:
        raise JianhuError(f"没有文书类型「{kind}」；可选：{'、'.join(KINDS)}")
    actor.require("documents:export")
    view = case_view(session, host, case, actor, purpose="document")
    extra = {"assessment": _assessment_context, "closure": _closure_context,
             "archive": _archive_context}[kind](session, host, case)
    child = dict(view.child or {})
    child["age"] = extra.pop("child_age", "")
    ctx = {
        "title": KINDS[kind],
        "case": {**view.case, "rating_label": RATING_LABELS.get(case.guardianship_rating, ""),
                 "escalation_label": ESCALATION_LABELS.get(case.escalation, "")},
        "child": child, **extra,
        "generated_at": now_utc().astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M"),
    }
    audit.record(session, actor=actor.code, action="export", entity_type="case",
                 entity_id=case.id, after={"document": kind, "identified": True})
    return _env.get_template(f"{kind}_report.html").render(**ctx)


def write_document(html: str, path: str | Path, fmt: str) -> Path:
    """Write rendered HTML to ``path`` as ``html`` or ``pdf`` (A4, via WeasyPrint).

    Raises:
        JianhuError: unknown format.
    """
    path = Path(path)
    if fmt == "html":
        path.write_text(html, encoding="utf-8")
    elif fmt == "pdf":
        from weasyprint import HTML

        HTML(string=html).write_pdf(path)
    else:
        raise JianhuError(f"不支持格式「{fmt}」；可选：html、pdf")
    return path
