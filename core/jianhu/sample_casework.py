"""Generated casework for the sample: a staff roster and lifecycle records for the sample's cases.

Nobody here is a real person (names are random combinations, no phone numbers). The records follow
the lifecycle rules, in date order, all dated no later than :data:`CUTOFF`:

- roster per town: one township supervisor, one child director per village, two social workers,
  a tutor, a psychologist, a caring mother, and a police and a civil affairs member of the
  assessment team;
- every red, orange or yellow case gets an assistance plan 3 days after its assessment (two
  measures, owned by the village child director and a social worker), approved by the township
  supervisor for 85 % of cases (the rest wait for approval), and one or two services;
  red and orange cases get their first follow-up visit when it falls before the cut-off;
- an emergency on the assessment sheet is reported to the police the same day for 70 % of cases
  (the rest stay open and show as overdue mandatory reports);
- 4 % of cases have a harm report 10 days after assessment (half reported to the police at once);
  of those, 30 % get a police warning letter, 15 % a protection-order application and order
  (valid six months less a day), 10 % an application still awaiting its ruling and 15 %
  temporary guardianship by civil affairs;
- escalations are approved by the supervisor, or by civil affairs when the supervisor recorded
  them;
- 30 % of green and 10 % of yellow cases are re-assessed green and closed 25–28 days after their
  first assessment (plan measures still open are cancelled with a reason; the supervisor
  approves), which schedules their return visits.

Same seed → same records.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable
from typing import Any

from jianhu.cases import emergency_situations
from jianhu.extensions import Scale

CUTOFF = dt.date(2026, 11, 28)
PEOPLE_COLUMNS = ("code", "name", "role", "township", "village", "organisation", "active")


def roster(rng: random.Random, towns: list[tuple[str, str, list[str]]], name: Any) -> list[dict]:
    """Roster rows (``person`` form documents) for ``(town code, town name, villages)``."""
    people = []
    for code, town, villages in towns:
        prefix = code[:9]

        def add(suffix: str, role: str, village: str | None = None, org: str | None = None,
                prefix: str = prefix, town: str = town) -> None:
            p = {"code": f"{prefix}-{suffix}", "name": name(), "role": role, "township": town,
                 "active": True}
            if village:
                p["village"] = village
            if org:
                p["organisation"] = org
            people.append({"person": p})

        add("S01", "township_supervisor", org=f"{town}民政办")
        for i, village in enumerate(villages, start=1):
            add(f"D{i:02d}", "village_child_director", village=village, org=f"{village}村委会")
        add("W01", "social_worker", org="县社会工作服务中心")
        add("W02", "social_worker", org="县社会工作服务中心")
        add("T01", "tutor")
        add("P01", "psychologist", org="县人民医院")
        add("M01", "caring_mother", org=f"{town}妇联")
        add("X01", "assessor_police", org=f"{town}派出所")
        add("C01", "assessor_civil_affairs", org=f"{town}民政办")
    return people


#: Header of the sample's ``teams.csv`` (the columns of :func:`jianhu.teams.import_teams`).
TEAM_COLUMNS = ("乡镇", "村（社区）", "类别", "队伍名称", "人员编号", "组内职务")


def teams(towns: list[tuple[str, str, list[str]]]) -> list[tuple[str, ...]]:
    """Rows of the sample's ``teams.csv`` for the roster of :func:`roster`: per township the
    plan's teams (新政发〔2016〕8号 四（一）、（二）) — the leading group (supervisor leading, civil
    affairs and police), each village's working group and 公益社 (its child director), the
    assessment team (civil affairs leading, police, supervisor) and the rescue and service team
    (a social worker leading, the other social worker, the tutor, psychologist, caring mother)."""
    rows: list[tuple[str, ...]] = []
    for code, town, villages in towns:
        p = code[:9]
        for person, role in (("S01", "组长"), ("C01", "成员"), ("X01", "成员")):
            rows.append((town, "", "领导小组", "", f"{p}-{person}", role))
        for i, village in enumerate(villages, start=1):
            rows.append((town, village, "村工作小组", "", f"{p}-D{i:02d}", "组长"))
            rows.append((town, village, "公益社", "", f"{p}-D{i:02d}", "社长"))
        for person, role in (("C01", "组长"), ("X01", "成员"), ("S01", "成员")):
            rows.append((town, "", "评估小组", "", f"{p}-{person}", role))
        for person, role in (("W01", "组长"), ("W02", "成员"), ("T01", "成员"), ("P01", "成员"),
                             ("M01", "成员")):
            rows.append((town, "", "救助服务队", "", f"{p}-{person}", role))
    return rows


def trainings(towns: list[tuple[str, str, list[str]]]) -> list[dict[str, Any]]:
    """Two training sessions per township (新政发〔2016〕8号 六（三）): the supervisor and the child
    directors on screening, 380 days before :data:`CUTOFF` (so the directors are due for
    training again), and the assessment and rescue teams on services and harm reports, 30 days
    before it. Arguments of :func:`jianhu.trainings.add_session`."""
    out = []
    for code, _town, villages in towns:
        p = code[:9]
        out.append({"township": code, "held_on": CUTOFF - dt.timedelta(days=380),
                    "topic": "入户摸排与调查表填写", "trainer": "县民政局儿童福利科",
                    "materials": ["入户摸排", "目标人群", "儿童信息保护"],
                    "attendees": [f"{p}-S01"] + [f"{p}-D{i:02d}" for i in range(1, len(villages) + 1)]})
        out.append({"township": code, "held_on": CUTOFF - dt.timedelta(days=30),
                    "topic": "精准帮扶与侵害报告", "trainer": "县社会工作服务中心",
                    "materials": ["精准帮扶服务", "侵害报告与升级干预", "儿童信息保护"],
                    "attendees": [f"{p}-{c}" for c in ("S01", "C01", "X01", "W01", "W02", "T01",
                                                       "P01", "M01")]})
    return out


def _zero_sheet(scale: Scale, on: dt.date, assessor: str) -> dict[str, Any]:
    return {"assessment": {"date": on.isoformat(), "assessor": assessor},
            "emergency": {i.id: False for i in scale.items if i.domain == "emergency"},
            "items": {i.id: 0 for i in scale.items if i.domain != "emergency"}}


def casework(rng: random.Random, scale: Scale, cases: Iterable[tuple[dict, dict]],
             villages: dict[str, list[str]], prefixes: dict[str, str],
             visit_days: dict[str, int]) -> list[dict]:
    """Lifecycle records for ``(survey, assessment sheet)`` pairs, as import lines.

    Args:
        rng: the random source (seeded by the caller).
        scale: the default scale (to know each sheet's level).
        cases: the sample's children that have cases, with their assessment sheets.
        villages: town name → its villages in roster order (for child directors' codes).
        prefixes: town name → its 9-digit code (the roster codes' prefix).
        visit_days: level → days to the first visit (the default policy).

    Returns:
        dicts ``{"form", "as", "child", "payload"}`` in the order they must be applied.
    """
    lines: list[dict] = []
    for survey, sheet in cases:
        res = survey["residence"]
        prefix = prefixes[res["township"]]
        director = f"{prefix}-D{villages[res['township']].index(res['village']) + 1:02d}"
        worker, police = f"{prefix}-W0{rng.randint(1, 2)}", f"{prefix}-X01"
        supervisor, civil = f"{prefix}-S01", f"{prefix}-C01"
        child = sheet["subject"]
        child = {"citizen_id": child["citizen_id"]} if "citizen_id" in child else child
        result = scale.score(sheet)
        on = dt.date.fromisoformat(sheet["assessment"]["date"])

        def add(form: str, who: str, payload: dict, child: dict = child) -> None:
            lines.append({"form": form, "as": who, "child": child, "payload": payload})

        if result.emergency and rng.random() < 0.7:
            add("police_report", police, {"police": {
                "reported_at": f"{on.isoformat()}T16:00:00+08:00", "reported_by": police,
                "station": f"{res['township']}派出所", "receipt_no": f"JQ{rng.randrange(10**6):06d}"}})
        share = {"green": 0.3, "yellow": 0.1}.get(result.level or "", 0)
        close_on = on + dt.timedelta(days=rng.randint(25, 28))
        closing = not result.emergency and rng.random() < share and close_on <= CUTOFF
        planned = False
        if result.level in ("red", "orange", "yellow"):
            plan_on = on + dt.timedelta(days=3)
            if plan_on <= CUTOFF:
                planned = True
                approval = ({"approved_by": supervisor} if closing or rng.random() < 0.85
                            else {})
                add("plan", director, {
                    "plan": {"date": plan_on.isoformat(),
                             "goals": ["改善日常照料与安全", "加强亲子联系"], **approval},
                    "measures": [
                        {"service_type": "parenting_training", "description": "监护人亲职能力培训",
                         "responsible": director, "start": plan_on.isoformat(),
                         "due": (plan_on + dt.timedelta(days=30)).isoformat()},
                        {"service_type": rng.choice(["tutoring", "counselling", "safety_guidance"]),
                         "description": "每周一次上门服务", "responsible": worker,
                         "partner": "县社会工作服务中心", "start": plan_on.isoformat(),
                         "due": (plan_on + dt.timedelta(days=60)).isoformat()}]})
                for k in range(rng.randint(1, 2)):
                    s_on = plan_on + dt.timedelta(days=4 + 7 * k)
                    if s_on <= CUTOFF:
                        add("service", worker, {"service": {
                            "date": s_on.isoformat(), "service_type": "counselling",
                            "provider": worker, "measure": 2, "content": "上门陪伴与心理疏导",
                            "minutes": 60}})
        # Three in ten children found in danger at screening are still waiting for someone to
        # come (their emergency response stays open: the demo's due list shows it).
        waiting = bool(emergency_situations(survey, dt.date.fromisoformat(survey["survey"]["date"]))
                       ) and rng.random() < 0.3
        if result.level in ("red", "orange") and not waiting:
            v_on = on + dt.timedelta(days=visit_days[result.level])
            if v_on <= CUTOFF:
                add("visit", director, {"visit": {
                    "date": v_on.isoformat(), "visitor": director, "method": "home",
                    "child_seen": True, "risk_change": rng.choice(["improved", "unchanged"])}})
        if rng.random() < 0.04 and on + dt.timedelta(days=12) <= CUTOFF:
            i_on = on + dt.timedelta(days=10)
            reported = rng.random() < 0.5
            payload: dict[str, Any] = {"incident": {
                "discovered_at": f"{i_on.isoformat()}T09:00:00+08:00",
                "harm_types": ["neglect"], "triggers": ["abandoned"],
                "description": "邻里反映儿童长期无人照料", "recorded_by": director},
                "reporter": {"name": "（样例）邻居", "relation": "邻居"}}
            if reported:
                payload["police"] = {"reported_at": f"{i_on.isoformat()}T11:00:00+08:00",
                                     "reported_by": police}
            add("incident", director, payload)
            roll = rng.random()
            a_on = i_on + dt.timedelta(days=1)
            if roll < 0.30:
                add("escalation", police, {"escalation": {
                    "step": "warning_letter", "date": (i_on + dt.timedelta(days=2)).isoformat(),
                    "decision": "对监护人出具告诫书", "decided_by": f"{res['township']}派出所",
                    "recorded_by": police, "approved_by": supervisor}})
            elif roll < 0.55:
                add("escalation", f"{prefix}-S01", {"escalation": {
                    "step": "protection_order_application", "date": a_on.isoformat(),
                    "applied_at": f"{a_on.isoformat()}T10:00:00+08:00", "urgent": roll < 0.45,
                    "recorded_by": supervisor, "approved_by": civil}})
                if roll < 0.45:
                    add("escalation", f"{prefix}-S01", {"escalation": {
                        "step": "protection_order", "date": (a_on + dt.timedelta(days=1)).isoformat(),
                        "decision": "裁定禁止被申请人实施家庭暴力", "decided_by": "灌南县人民法院",
                        "valid_until": (a_on + dt.timedelta(days=181)).isoformat(),
                        "recorded_by": supervisor, "approved_by": civil}})
            elif roll < 0.70:
                add("escalation", f"{prefix}-S01", {"escalation": {
                    "step": "temporary_guardianship", "date": a_on.isoformat(),
                    "decision": "由县儿童福利机构临时监护", "decided_by": "灌南县民政局",
                    "recorded_by": supervisor, "approved_by": civil}})
                add("guardianship", supervisor, {"guardianship": {
                    "change": "state_temporary", "date": a_on.isoformat(),
                    "until": (a_on + dt.timedelta(days=30)).isoformat(),
                    "guardian_name": "灌南县儿童福利院", "authority": "灌南县民政局",
                    "recorded_by": supervisor, "approved_by": civil}})
            continue
        if closing:
            add("assessment", director, _zero_sheet(scale, close_on - dt.timedelta(days=2),
                                                    sheet["assessment"]["assessor"]))
            cancelled = [{"measure": m, "reason": "再次评估困境已解除，不再需要"} for m in (1, 2)
                         ] if planned else []
            add("closure", director, {"closure": {
                "date": close_on.isoformat(), "reason": "resolved",
                "summary": "经再次评估困境已解除，监护人能够履行监护职责。", "closed_by": director,
                "approved_by": supervisor,
                **({"measures_cancelled": cancelled} if cancelled else {})}})
    return lines

