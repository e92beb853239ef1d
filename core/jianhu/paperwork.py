"""Upward paperwork (上报材料): the tables a township sends up or keeps on file besides the summary.

- :func:`quarterly_table` — 季度更新: every registered child in the column layout of the 2016
  national survey's basic situation fields (:data:`NATIONAL_COLUMNS`, a column map a province
  can replace, see :func:`quarterly_report`), with what changed since the start of the quarter;
- :func:`roster_table` — 村（社区）花名册: the children under care, village by village;
- :func:`ledger_table` — 工作台账: per roster person and month, the visits, services, mandatory
  reports and assessments they made;
- :func:`register_table` — 强制报告登记簿: every mandatory report situation and its response.

The quarterly update, the roster and the register name children: they are registered as
identified reports (:attr:`jianhu.extensions.Report.identified`), so :func:`jianhu.reports.build`
refuses them to roles that may not export identified data and audits each one. Every builder
runs inside :func:`jianhu.scope.confined` and also asks for the scope itself.

Dates are local dates (Asia/Shanghai); figures and registrations are those stored now, read as of
``on`` (records dated after ``on`` are left out).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jianhu.cases import OPEN_STATUSES
from jianhu.dates import LOCAL_TZ, age_on, local_date
from jianhu.db.models import Assessment, Case, Child, FollowUp, FormRecord, Person, Township, Village
from jianhu.extensions import Column, Report, Table, level_label
from jianhu.forms import load_form
from jianhu.guardianship import in_force
from jianhu.lifecycle import state_label
from jianhu.plugins import Host
from jianhu.roles import role_labels
from jianhu.scope import current, restrict

IDENTIFIED_NOTE = ("本表含未成年人个人信息，按《未成年人保护法》第103条和《个人信息保护法》第28、51条保密，"
                   "仅限工作使用，不得公开或外传；生成已记入审计。")


def _notes(on: dt.date, *extra: str) -> tuple[str, ...]:
    return (f"统计日期：{on.isoformat()}（北京时间）", *extra)


def _places(session: Session) -> tuple[dict[uuid.UUID, Township], dict[uuid.UUID, str]]:
    towns = {t.id: t for t in session.scalars(select(Township))}
    villages = dict(session.execute(select(Village.id, Village.name)).all())
    return towns, villages


def _village_codes(session: Session) -> dict[uuid.UUID, str]:
    """Village id → its 12-digit code (``""`` when not registered, :mod:`jianhu.villages`)."""
    return {vid: code or "" for vid, code in session.execute(select(Village.id, Village.code))}


def _latest_surveys(session: Session, child_ids: Sequence[uuid.UUID],
                    on: dt.date) -> dict[uuid.UUID, list[FormRecord]]:
    """The screening records of these children recorded on or before ``on``, oldest first."""
    out: dict[uuid.UUID, list[FormRecord]] = defaultdict(list)
    if not child_ids:
        return out
    for r in session.scalars(select(FormRecord).where(
            FormRecord.form_id == "screening", FormRecord.subject_type == "child",
            FormRecord.subject_id.in_(child_ids), FormRecord.recorded_on <= on)
            .order_by(FormRecord.recorded_on, FormRecord.created_at)):
        out[r.subject_id].append(r)
    return out


def quarter_start(on: dt.date) -> dt.date:
    """The first day of the calendar quarter holding ``on`` (1 January, 1 April, 1 July or
    1 October)."""
    return dt.date(on.year, 3 * ((on.month - 1) // 3) + 1, 1)


# --------------------------------------------------------------------------- quarterly update
@dataclass(frozen=True)
class QuarterlyColumn:
    """One column of the quarterly update.

    Attributes:
        key: the key in the row dicts.
        title: the Chinese column title of the receiving system.
        source: where the value comes from: a survey field ``(group, key)`` of
            ``screening.schema.json`` (its Chinese label is written, e.g. 女 for ``female``), or
            a function ``source(row)`` of a :class:`QuarterlyRow`.
    """

    key: str
    title: str
    source: tuple[str, str] | Callable[[QuarterlyRow], Any]


@dataclass(frozen=True)
class QuarterlyRow:
    """What a computed quarterly column may read: the child's case, latest survey payload and
    guardians in force on the day, and the change since the quarter's start."""

    case: Case
    survey: dict[str, Any]
    guardians: list[Any]
    township: str
    village: str
    village_code: str
    categories: str
    change: str


def _guardians_text(row: QuarterlyRow) -> str:
    return "；".join(f"{g.label}：{g.name or '未填姓名'}（{g.status}）" if g.role != "entrusted"
                    else f"{g.label}：{g.name or '未填姓名'}（{g.relation or '关系未填'}）"
                    for g in row.guardians if g.guardian)


#: The 2016 national survey's basic situation fields (handbook 领域规则 §3), as the national
#: information system lists them. A province replaces or extends this map in its own plugin
#: (``quarterly_report(columns=...)``).
NATIONAL_COLUMNS: tuple[QuarterlyColumn, ...] = (
    QuarterlyColumn("name", "儿童姓名", ("child", "name")),
    QuarterlyColumn("sex", "性别", ("child", "sex")),
    QuarterlyColumn("ethnicity", "民族", ("child", "ethnicity")),
    QuarterlyColumn("citizen_id", "公民身份号码", ("child", "citizen_id")),
    QuarterlyColumn("birth_date", "出生日期", ("child", "birth_date")),
    QuarterlyColumn("hukou_type", "户口性质", ("child", "hukou_type")),
    QuarterlyColumn("township", "乡镇（街道）", lambda r: r.township),
    QuarterlyColumn("village", "村（社区）", lambda r: r.village),
    QuarterlyColumn("village_code", "村（社区）代码", lambda r: r.village_code),
    QuarterlyColumn("health", "健康状况", ("child", "health")),
    QuarterlyColumn("schooling", "就学状况", ("child", "schooling")),
    QuarterlyColumn("category", "儿童类别", lambda r: r.categories),
    QuarterlyColumn("father", "父亲情况", ("father", "status")),
    QuarterlyColumn("mother", "母亲情况", ("mother", "status")),
    QuarterlyColumn("guardianship", "监护类型", ("guardianship", "type")),
    QuarterlyColumn("guardians", "监护人情况", _guardians_text),
    QuarterlyColumn("entrusted_phone", "受委托监护人联系电话", ("entrusted_guardian", "phone")),
    QuarterlyColumn("level", "风险等级", lambda r: level_label(r.case.level)),
    QuarterlyColumn("status", "个案状态", lambda r: state_label(r.case.status)),
)
#: The change column's values.
CHANGES = ("新增", "变更", "结案", "无变化")


#: Case records that change what the quarterly update shows: the guardians (监护变更) and the
#: level outside an assessment (a harm report raises it; an approved override sets it).
CHANGING_FORMS = ("guardianship", "incident", "level_override")


def _change(case: Case, surveys: list[FormRecord], changed_on: list[dt.date],
            level_before: str | None, level_now: str | None, start: dt.date, on: dt.date) -> str:
    """新增: the case opened in the quarter; 结案: closed in it; 变更: a new survey, a record of
    :data:`CHANGING_FORMS` or an assessment changing the level, dated in it; 无变化: none."""
    if case.opened_on >= start:
        return "新增"
    if case.closed_on is not None and start <= case.closed_on <= on:
        return "结案"
    if any(r.recorded_on >= start for r in surveys[1:]) or any(start <= d <= on for d in changed_on):
        return "变更"
    if level_before != level_now:
        return "变更"
    return "无变化"


def quarterly_table(session: Session, host: Host, on: dt.date,
                    columns: Sequence[QuarterlyColumn] = NATIONAL_COLUMNS) -> Table:
    """The quarterly update as of ``on``: one row per registered child with a case opened on or
    before ``on`` and not closed before the quarter began (a child closed earlier was sent as
    结案 then), sorted by township code, village and case number; the columns of ``columns`` and
    then 本季度变化 (:data:`CHANGES`) relative to :func:`quarter_start` of ``on``. A child with
    several cases is listed once, by the latest case."""
    start = quarter_start(on)
    form = load_form(host, "screening")
    labels = {c.code: c.label for c in host.target_categories}
    towns, villages = _places(session)
    codes = _village_codes(session)
    cases: dict[uuid.UUID, Case] = {}
    for case in session.scalars(restrict(session, select(Case).where(Case.opened_on <= on))
                                .order_by(Case.opened_on, Case.created_at)):
        cases[case.child_id] = case  # the latest case of each child
    cases = {k: c for k, c in cases.items() if c.closed_on is None or c.closed_on >= start}
    surveys = _latest_surveys(session, list(cases), on)
    changes: dict[uuid.UUID, list[dt.date]] = defaultdict(list)
    for r in session.scalars(select(FormRecord).where(
            FormRecord.form_id.in_(CHANGING_FORMS),
            FormRecord.subject_id.in_([c.id for c in cases.values()]))):
        changes[r.subject_id].append(dt.date.fromisoformat(r.payload["guardianship"]["date"])
                                     if r.form_id == "guardianship" else r.recorded_on)
    levels: dict[uuid.UUID, list[tuple[dt.date, str | None]]] = defaultdict(list)
    for a in session.scalars(select(Assessment).where(
            Assessment.case_id.in_([c.id for c in cases.values()]), Assessment.level.is_not(None),
            Assessment.assessed_on <= on).order_by(Assessment.assessed_on)):
        levels[a.case_id].append((a.assessed_on, a.level))
    rows = []
    keyed = sorted(cases.items(), key=lambda kv: (towns[kv[1].township_id].code,
                                                  villages[kv[1].village_id], kv[1].case_no))
    for child_id, case in keyed:
        history = levels[case.id]
        before = next((lv for d, lv in reversed(history) if d < start), None)
        now_level = history[-1][1] if history else None
        payload = surveys[child_id][-1].payload if surveys[child_id] else {}
        row = QuarterlyRow(
            case=case, survey=payload, guardians=in_force(session, host, child_id, on),
            township=towns[case.township_id].name, village=villages[case.village_id],
            village_code=codes[case.village_id],
            categories="、".join(labels.get(c, c) for c in case.categories),
            change=_change(case, surveys[child_id], changes[case.id], before, now_level, start,
                           on))
        out: dict[str, Any] = {}
        for col in columns:
            if callable(col.source):
                out[col.key] = col.source(row)
            else:
                group, key = col.source
                value = payload.get(group, {}).get(key)
                field = form.by_path.get((group, key))
                out[col.key] = field.label(value) if field is not None else (value or "")
        out["change"] = row.change
        rows.append(out)
    counts = Counter(r["change"] for r in rows)
    return Table(
        title="困境儿童和农村留守儿童信息季度更新表",
        columns=(*(Column(c.key, c.title) for c in columns), Column("change", "本季度变化")),
        rows=rows,
        notes=_notes(on, f"本季度自 {start.isoformat()} 起；" + "，".join(
            f"{c}{counts[c]}人" for c in CHANGES) + "。",
            "新增：本季度开案；结案：本季度结案；变更：本季度重新调查、监护变更、侵害事件报告或风险等级变化；"
            "结案早于本季度的儿童不再列出。",
            IDENTIFIED_NOTE))


def quarterly_report(columns: Sequence[QuarterlyColumn] = NATIONAL_COLUMNS,
                     name: str = "quarterly",
                     title: str = "困境儿童和农村留守儿童信息季度更新表") -> Report:
    """The quarterly update as an identified :class:`~jianhu.extensions.Report` with the column
    map ``columns``: a province's plugin returns ``quarterly_report(columns=MY_COLUMNS,
    name="quarterly_js", title=...)`` from its ``jianhu_reports`` hook."""
    def build(session: Session, host: Host, on: dt.date) -> Table:
        table = quarterly_table(session, host, on, columns)
        return Table(title, table.columns, table.rows, table.notes)

    return Report(name=name, title=title, build=build, identified=True, small_cells="never")


# --------------------------------------------------------------------------- roster
def _directors(session: Session) -> dict[uuid.UUID, list[Person]]:
    out: dict[uuid.UUID, list[Person]] = defaultdict(list)
    for p in session.scalars(select(Person).where(Person.role == "village_child_director",
                                                  Person.active.is_(True),
                                                  Person.village_id.is_not(None))
                             .order_by(Person.code)):
        out[p.village_id].append(p)
    return out


def roster_table(session: Session, host: Host, on: dt.date) -> Table:
    """The roster of children under care as of ``on``: one row per open case opened on or before
    ``on`` (sorted by township code, village, case number): the child, sex, birth date and age
    on ``on``, categories, level, the guardians in force on ``on`` and how to reach them, and
    the village's child director(s) (儿童主任) on the roster."""
    labels = {c.code: c.label for c in host.target_categories}
    towns, villages = _places(session)
    codes = _village_codes(session)
    directors = _directors(session)
    stmt = (select(Case, Child).join(Child, Case.child_id == Child.id)
            .where(Case.status.in_(OPEN_STATUSES), Case.opened_on <= on))
    rows = []
    found = sorted(session.execute(restrict(session, stmt)).all(),
                   key=lambda cc: (towns[cc[0].township_id].code, villages[cc[0].village_id],
                                   cc[0].case_no))
    for case, child in found:
        guardians = [g for g in in_force(session, host, child.id, on) if g.guardian]
        heads = directors.get(case.village_id, [])
        rows.append({
            "township": towns[case.township_id].name, "village": villages[case.village_id],
            "village_code": codes[case.village_id], "case_no": case.case_no, "name": child.name,
            "sex": "男" if child.sex == "male" else "女",
            "birth_date": child.birth_date.isoformat(), "age": age_on(child.birth_date, on),
            "category": "、".join(labels.get(c, c) for c in case.categories),
            "level": level_label(case.level),
            "guardian": "；".join(f"{g.label}：{g.name or '未填姓名'}"
                                  + (f"（{g.relation}）" if g.relation else "") for g in guardians),
            "phone": "；".join(g.phone for g in guardians if g.phone),
            "director": "、".join(p.name for p in heads) or "未配备",
            "director_phone": "、".join(p.phone for p in heads if p.phone),
        })
    columns = (Column("township", "乡镇"), Column("village", "村（社区）"),
               Column("village_code", "村（社区）代码"), Column("case_no", "个案编号"),
               Column("name", "儿童姓名"), Column("sex", "性别"), Column("birth_date", "出生日期"),
               Column("age", "年龄"), Column("category", "类别"), Column("level", "风险等级"),
               Column("guardian", "现监护人"), Column("phone", "监护人联系电话"),
               Column("director", "儿童主任"), Column("director_phone", "儿童主任联系电话"))
    return Table(title="村（社区）关爱保护儿童花名册", columns=columns, rows=rows,
                 notes=_notes(on, f"在办个案{len(rows)}人；年龄为统计日期的周岁；现监护人按统计日期有效的"
                              "监护变更计算。", IDENTIFIED_NOTE))


# --------------------------------------------------------------------------- ledger
#: The ledger's counted columns: key → Chinese title.
LEDGER_COUNTS = {"visits": "随访", "return_visits": "结案回访", "services": "服务",
                 "reports": "强制报告", "assessments": "评估"}


def ledger_months(on: dt.date) -> list[str]:
    """The ledger's months: January of ``on``'s year to ``on``'s month, as ``YYYY-MM``."""
    return [f"{on.year}-{m:02d}" for m in range(1, on.month + 1)]


def _instant_day(text: str) -> dt.date:
    return local_date(dt.datetime.fromisoformat(text).astimezone(LOCAL_TZ))


def ledger_table(session: Session, host: Host, on: dt.date) -> Table:
    """The work ledger: one row per roster person in scope and month of ``on``'s year up to
    ``on`` (:func:`ledger_months`), with what that person did that month, by the record's own
    date up to ``on``:

    - 随访 / 结案回访: visit and return visit records naming them as visitor (随访人编号);
    - 服务: service records naming them as provider (服务人员编号);
    - 强制报告: reports to the police they made (报告人编号 of a police report record, or of an
      incident report that records the report made at once);
    - 评估: assessments whose assessor (评估人) is their code or their roster name.

    People listed: the active people of the scope's township (a village child director: their
    village's and the township's staff; a service provider: themselves), and anyone inactive
    who did something counted. Only the records of cases in scope are counted.
    """
    scope = current(session)
    pstmt = select(Person).order_by(Person.code)
    if scope is not None:
        if scope.assigned_only:
            pstmt = pstmt.where(Person.code == scope.actor.code)
        elif scope.township_id is not None:
            pstmt = pstmt.where(Person.township_id == scope.township_id)
            if scope.village_id is not None:
                pstmt = pstmt.where((Person.village_id == scope.village_id)
                                    | Person.village_id.is_(None))
    people = list(session.scalars(pstmt))
    by_name: dict[str, list[str]] = defaultdict(list)
    for p in people:
        by_name[p.name].append(p.code)
    months = ledger_months(on)
    first = dt.date(on.year, 1, 1)
    counts: dict[tuple[str, str], Counter] = defaultdict(Counter)

    def count(code: str | None, day: dt.date, key: str) -> None:
        if code and first <= day <= on:
            counts[code, f"{day.year}-{day.month:02d}"][key] += 1

    case_ids = select(Case.id)
    if scope is not None:
        case_ids = scope.cases(case_ids)
    for r in session.scalars(select(FormRecord).where(
            FormRecord.subject_type == "case", FormRecord.subject_id.in_(case_ids),
            FormRecord.form_id.in_(("visit", "return_visit", "service", "police_report",
                                    "incident")))):
        p = r.payload
        if r.form_id == "visit":
            count(p["visit"].get("visitor"), r.recorded_on, "visits")
        elif r.form_id == "return_visit":
            count(p["return_visit"].get("visitor"), r.recorded_on, "return_visits")
        elif r.form_id == "service":
            count(p["service"].get("provider"), r.recorded_on, "services")
        elif p.get("police", {}).get("reported_at"):
            count(p["police"].get("reported_by"), _instant_day(p["police"]["reported_at"]),
                  "reports")
    for assessor, day in session.execute(select(Assessment.assessor, Assessment.assessed_on)
                                         .where(Assessment.case_id.in_(case_ids))):
        codes = [assessor] if assessor in {p.code for p in people} else by_name.get(assessor, [])
        if len(codes) == 1:  # a name two people share is not counted for either
            count(codes[0], day, "assessments")
    towns, villages = _places(session)
    done = {code for code, _ in counts}
    rows = []
    roles = role_labels()
    for p in people:
        if not p.active and p.code not in done:
            continue
        for month in months:
            c = counts[p.code, month]
            rows.append({"month": month, "township": towns[p.township_id].name
                         if p.township_id in towns else "", "village": villages.get(p.village_id, "")
                         if p.village_id else "", "code": p.code, "name": p.name,
                         "role": roles.get(p.role, p.role),
                         **{k: c[k] for k in LEDGER_COUNTS}, "total": sum(c.values())})
    columns = (Column("month", "月份"), Column("township", "乡镇"), Column("village", "村（社区）"),
               Column("code", "人员编号"), Column("name", "姓名"), Column("role", "角色"),
               *(Column(k, t) for k, t in LEDGER_COUNTS.items()), Column("total", "合计"))
    return Table(title="儿童关爱保护工作台账", columns=columns, rows=rows,
                 notes=_notes(on, f"统计期间：{first.isoformat()} 至 {on.isoformat()}，每人每月一行。",
                              "按记录上写明的随访人、服务人员、向公安机关报告人和评估人统计，以记录日期计月；"
                              "评估人按人员编号或名册姓名对应，同名的不计。",
                              "本表只列工作人员及其工作量，不含儿童个人信息。"))


# --------------------------------------------------------------------------- register
def _local(instant: dt.datetime | None) -> str:
    return instant.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if instant else ""


def register_table(session: Session, host: Host, on: dt.date) -> Table:
    """The mandatory report register (强制报告登记簿) as of ``on``: one row per mandatory report
    situation found on or before ``on`` (高检发〔2020〕9号), in date order:

    - a harm report (侵害事件报告) that is a mandatory report situation (it made a 强制报告 task,
      or it recorded the report to the police at once);
    - an assessment whose emergency screening had a 是 (it made a 强制报告 task).

    Columns: the date found, case number, child, village, who recorded it, what was reported (the
    harm types and situations, or the emergency items), the deadline, when and by whom the
    police were told (the report completing the task: the earliest police report on the case
    made after the situation was found), the police station and receipt number, and the status
    (已按时报告 / 逾期报告 / 未报告（未到期） / 逾期未报告 / 已撤销). The confidential reporter of
    a harm (反家庭暴力法 Art 14) is never shown.
    """
    incident_form = load_form(host, "incident")
    harm_field = incident_form.by_path["incident", "harm_types"]
    trigger_field = incident_form.by_path["incident", "triggers"]
    towns, villages = _places(session)
    names = dict(session.execute(select(Person.code, Person.name)).all())
    scale_items = {i.id: i.title.removeprefix("紧急：") for s in host.scales.values()
                   for i in s.items}
    cases = {c.id: c for c in session.scalars(restrict(session, select(Case)))}
    children = {c.id: c for c in session.scalars(select(Child).where(
        Child.id.in_([c.child_id for c in cases.values()])))}
    records = list(session.scalars(select(FormRecord).where(
        FormRecord.subject_id.in_(list(cases)),
        FormRecord.form_id.in_(("incident", "police_report")))))
    police: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    incidents = {}
    for r in records:
        if r.payload.get("police", {}).get("reported_at"):
            police[r.subject_id].append(r.payload["police"])
        if r.form_id == "incident":
            incidents[r.id] = r
    tasks = list(session.scalars(select(FollowUp).where(
        FollowUp.kind == "mandatory_report", FollowUp.case_id.in_(list(cases)))))
    assessments = {a.id: a for a in session.scalars(select(Assessment).where(
        Assessment.id.in_([t.assessment_id for t in tasks if t.assessment_id])))}
    entries: list[tuple[dt.datetime, FormRecord | Assessment, FollowUp | None]] = []
    tasked = set()
    for t in tasks:
        if t.ref and t.ref.startswith("incident:"):
            r = incidents.get(uuid.UUID(t.ref.removeprefix("incident:")))
            if r is not None:
                tasked.add(r.id)
                entries.append((dt.datetime.fromisoformat(r.payload["incident"]["discovered_at"]),
                                r, t))
        elif t.assessment_id in assessments:
            a = assessments[t.assessment_id]
            entries.append((dt.datetime.combine(a.assessed_on, dt.time(), LOCAL_TZ), a, t))
    for r in incidents.values():  # reported at once: no task was made
        if r.id not in tasked and r.payload.get("police", {}).get("reported_at"):
            entries.append((dt.datetime.fromisoformat(r.payload["incident"]["discovered_at"]), r,
                            None))
    rows = []
    for found, source, task in sorted(entries, key=lambda e: e[0]):
        if local_date(found) > on:
            continue
        case = cases[source.subject_id if isinstance(source, FormRecord) else source.case_id]
        child = children[case.child_id]
        if isinstance(source, FormRecord):
            inc = source.payload["incident"]
            what = "侵害类型：" + harm_field.label(inc.get("harm_types", []))
            if inc.get("triggers"):
                what += "；强制报告情形：" + trigger_field.label(inc["triggers"])
            recorder = inc.get("recorded_by")
            own = source.payload.get("police")
        else:
            what = "评估紧急筛查：" + "、".join(scale_items.get(i, i) for i in source.emergency)
            recorder, own = None, None
        made = [p for p in police[case.id] if dt.datetime.fromisoformat(p["reported_at"]) >= found]
        made.sort(key=lambda p: dt.datetime.fromisoformat(p["reported_at"]))
        report = own or (made[0] if made and (task is None or task.status == "done") else None)
        if report is not None and _instant_day(report["reported_at"]) > on:
            report = None
        reported_at = dt.datetime.fromisoformat(report["reported_at"]) if report else None
        deadline = task.due_at if task is not None else None
        if task is not None and task.status == "cancelled":
            status = "已撤销"
        elif reported_at is not None:
            status = "逾期报告" if deadline is not None and reported_at > deadline else "已按时报告"
        elif deadline is not None and local_date(deadline) < on:
            status = "逾期未报告"
        else:
            status = "未报告（未到期）"
        rows.append({
            "found": _local(found), "case_no": case.case_no, "name": child.name,
            "township": towns[case.township_id].name, "village": villages[case.village_id],
            "recorded_by": names.get(recorder, recorder or "") if recorder else "",
            "what": what, "deadline": _local(deadline),
            "reported_at": _local(reported_at),
            "reported_by": names.get(report.get("reported_by"), report.get("reported_by", ""))
            if report else "",
            "station": report.get("station", "") if report else "",
            "receipt_no": report.get("receipt_no", "") if report else "",
            "status": status,
        })
    columns = (Column("found", "发现时间"), Column("case_no", "个案编号"), Column("name", "儿童姓名"),
               Column("township", "乡镇"), Column("village", "村（社区）"), Column("recorded_by", "登记人"),
               Column("what", "报告内容"), Column("deadline", "报告期限"), Column("reported_at", "报告时间"),
               Column("reported_by", "报告人"), Column("station", "公安机关"),
               Column("receipt_no", "受案回执号"), Column("status", "办理情况"))
    late = sum(r["status"] in ("逾期报告", "逾期未报告") for r in rows)
    return Table(title="强制报告登记簿", columns=columns, rows=rows,
                 notes=_notes(on, f"共{len(rows)}件，其中逾期{late}件。依据：高检发〔2020〕9号；"
                              "《未成年人保护法》第11条。",
                              "报告人为向公安机关报告的工作人员；侵害事件的举报人身份保密，不在本表列出。",
                              IDENTIFIED_NOTE))
