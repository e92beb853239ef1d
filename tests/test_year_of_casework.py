"""A year of casework, checked by hand (issue: the case engine, item 10).

Twelve generated children of one village go through calendar year 2025, day by day: door-to-door
screening, assessments and re-assessments, visits kept and visits missed, a plan measure
delivered late, a harm report and the police report that follows, a police warning letter, a
protection order, an entrusted care with its end, closures, return visits, and a reopening. On
chosen dates the due list is compared with the tasks written out below, worked out by hand from
the policy of a fresh install (the core default policy: visits every 7/14/30/90 days and
re-assessments every 30/60/90/180 days for red/orange/yellow/green; first assessment 3 days after
the survey when guardianship is poor, else 15; an emergency response and a mandatory report
within 24 hours; a re-assessment within 7 days of a harm report or of a return visit that finds
risk; return visits every 6 months; the warning letter's visits on days 7 and 30).

Nothing expected here is computed by the product: each date is counted on the calendar.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from casework import ROSTER
from files import write_xlsx
from jianhu.dates import LOCAL_TZ
from jianhu.db.models import Case, Child
from jianhu.followups import acknowledge, due_list
from jianhu.forms import load_form
from jianhu.imports.screening import import_screening
from jianhu.lifecycle import TransitionRefused
from jianhu.people import import_people, resolve_actor
from jianhu.records import record_form
from jianhu.roles import LOCAL_ADMIN
from surveys import survey
from tests_helpers import answer_sheet

#: The children, by letter; the survey of 2025-01-06 (L: of 2025-06-02). No citizen IDs (a
#: generated sample): each child is told apart by name and birth date.
BORN = {"A": "2013-02-01", "B": "2013-03-01", "C": "2016-05-01", "D": "2012-04-01",
        "E": "2015-03-01", "F": "2014-07-01", "G": "2011-08-01", "H": "2012-09-01",
        "I": "2013-10-01", "J": "2014-11-01", "K": "2010-12-01", "L": "2015-01-15"}


def _survey(letter: str, date: str, **changes):
    doc = survey(child__name=f"测试{letter}", child__birth_date=BORN[letter],
                 child__citizen_id=None, survey__date=date, **changes)
    return doc


SURVEYS = [_survey(x, "2025-01-06") for x in "AB"] + [
    _survey("C", "2025-01-06", child__sex="male", child__lives_with="alone",
            guardianship__type="none", mother__status="dead")] + [
    _survey(x, "2025-01-06") for x in "DEFGHIJK"]
SURVEYS[1]["guardianship"]["type"] = "entrusted_inadequate"  # B: poor guardianship
del SURVEYS[2]["entrusted_guardian"]  # C lives alone, nobody entrusted
LATE = _survey("L", "2025-06-02", guardianship__type="entrusted_inadequate")

S, V, FA, RA = "township_supervisor", "village_child_director", "first_assessment", "reassessment"


def at(day: dt.date, hour: int = 18) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=LOCAL_TZ).astimezone(dt.UTC)


def visit(date, risk="unchanged"):
    return "visit", {"visit": {"date": date, "visitor": "D01", "method": "home",
                               "child_seen": True, "risk_change": risk}}


def assess(date, score):
    return "assessment", answer_sheet(date, score=score)  # 14 items: 0 green, 1 yellow, 2 red


def closure(date):
    return "closure", {"closure": {"date": date, "reason": "resolved", "summary": "困境解除",
                                   "closed_by": "D01", "approved_by": "S01"}}


def escalation(date, step, **more):
    return "escalation", {"escalation": {"step": step, "date": date, "recorded_by": "S01",
                                         "approved_by": "C01", **more}}, "S01"


#: date → [(child, form, payload, who)]; ``ack`` acknowledges a task of a kind.
EVENTS: dict[str, list] = {
    "2025-01-06": [("C", *visit("2025-01-06"))],  # the emergency response: seen the same day
    "2025-01-12": [("B", *assess("2025-01-12", 1))],
    "2025-01-13": [("C", *assess("2025-01-13", 2))],
    "2025-01-15": [("A", *assess("2025-01-15", 1))],
    "2025-01-20": [(x, *assess("2025-01-20", 0)) for x in "DEFGHIJK"] + [
        ("C", *visit("2025-01-20"))],
    "2025-01-25": [("I", "plan", {
        "plan": {"date": "2025-01-25", "goals": ["提高学习成绩"], "approved_by": "S01"},
        "measures": [{"service_type": "tutoring", "description": "每周课业辅导",
                      "responsible": "W01", "start": "2025-01-26", "due": "2025-03-31"}]})],
    "2025-02-01": [("D", *closure("2025-02-01"))],
    "2025-02-11": [("B", *visit("2025-02-11"))],
    "2025-02-12": [("C", *assess("2025-02-12", 1))],
    "2025-02-14": [("A", *visit("2025-02-14", "worse"))],
    "2025-02-21": [("A", *assess("2025-02-21", 1))],
    "2025-03-01": [("K", *closure("2025-03-01"))],
    "2025-03-03": [
        ("E", "incident", {"incident": {"discovered_at": "2025-03-03T09:00:00+08:00",
                                        "harm_types": ["sexual_abuse"], "description": "疑似遭受性侵害",
                                        "recorded_by": "D01"}}),
        ("F", "incident", {"incident": {"discovered_at": "2025-03-03T10:00:00+08:00",
                                        "harm_types": ["neglect"], "description": "经常无人做饭",
                                        "recorded_by": "D01"}})],
    "2025-03-05": [("E", "police_report", {"police": {  # reported 03-04 11:00, entered next day
        "reported_at": "2025-03-04T11:00:00+08:00", "reported_by": "X01"}}, "X01")],
    "2025-03-10": [("E", *assess("2025-03-10", 2)), ("F", *assess("2025-03-10", 1))],
    "2025-04-01": [("G", *escalation("2025-04-01", "warning_letter")),
                   ("J", "guardianship", {"guardianship": {
                       "change": "entrusted_care", "date": "2025-04-01", "until": "2025-06-30",
                       "guardian_name": "测试叔", "guardian_relation": "叔父",
                       "recorded_by": "D01", "approved_by": "S01"}})],
    "2025-04-10": [(x, *visit("2025-04-10")) for x in "ABCEF"] + [("E", *assess("2025-04-10", 1))],
    "2025-04-12": [("B", *assess("2025-04-12", 0))],
    "2025-04-20": [(x, *visit("2025-04-20")) for x in "GHIJ"],
    "2025-04-25": [("I", "service", {"service": {
        "date": "2025-04-25", "service_type": "tutoring", "provider": "W01", "measure": 1,
        "measure_completed": True, "content": "课业辅导十次"}}, "W01")],
    "2025-05-01": [("G", *visit("2025-05-01"))],
    "2025-05-05": [("H", *escalation("2025-05-05", "protection_order_application",
                                     applied_at="2025-05-05T10:00:00+08:00", urgent=True))],
    "2025-05-06": [("H", *escalation("2025-05-06", "protection_order", valid_until="2025-08-06",
                                     decided_by="灌南县人民法院"))],
    "2025-05-10": [(x, *visit("2025-05-10")) for x in "ACEF"],
    "2025-05-11": [("H", "ack", "protection_order_review", "S01")],
    "2025-05-13": [("C", *assess("2025-05-13", 0))],
    "2025-05-22": [("A", *assess("2025-05-22", 1))],
    "2025-06-02": [("L", "survey", LATE, "D01")],
    "2025-06-05": [("L", *assess("2025-06-05", 1))],
    "2025-06-08": [("F", *assess("2025-06-08", 0))],
    "2025-06-09": [("E", *visit("2025-06-09"))],
    "2025-06-21": [("A", *visit("2025-06-21"))],
    "2025-06-30": [("J", "guardianship", {"guardianship": {
        "change": "entrusted_care_end", "date": "2025-06-30", "recorded_by": "D01",
        "approved_by": "S01"}})],
    "2025-07-05": [("L", *visit("2025-07-05"))],
    "2025-07-09": [("E", *assess("2025-07-09", 0))],
    "2025-07-11": [("B", *visit("2025-07-11"))],
    "2025-07-19": [(x, *assess("2025-07-19", 0)) for x in "GHIJ"],
    "2025-07-21": [("A", *visit("2025-07-21"))],
    "2025-08-01": [("D", "return_visit", {"return_visit": {
        "date": "2025-08-01", "visitor": "D01", "method": "home", "risk_found": False}})],
    "2025-08-04": [("L", *visit("2025-08-04"))],
    "2025-08-06": [("H", "ack", "protection_order_expiry", "S01")],
    "2025-08-11": [("C", *visit("2025-08-11"))],
    "2025-08-20": [("A", *assess("2025-08-20", 0))],
    "2025-09-01": [("K", "return_visit", {"return_visit": {
        "date": "2025-09-01", "visitor": "D01", "method": "home", "risk_found": True,
        "observations": "父亲返乡后酗酒"}})],
    "2025-09-03": [("L", *assess("2025-09-03", 0))],
    "2025-09-06": [("F", *visit("2025-09-06"))],
    "2025-09-08": [("K", *assess("2025-09-08", 1))],
}

#: (date, hour) → the township's due list (7 days ahead and everything overdue), in the order it
#: is shown: (child, task, due on, owner, overdue).
CHECKS: dict[tuple[str, int], list[tuple[str, str, str, str, bool]]] = {
    ("2025-01-08", 18): [
        ("B", FA, "2025-01-09", S, False),  # poor guardianship: 3 days after the survey
        ("C", FA, "2025-01-09", S, False),
        ("C", "visit", "2025-01-13", V, False)],  # red until assessed: 7 days after 01-06
    ("2025-02-10", 18): [
        ("C", "visit", "2025-01-27", V, True),  # red since 01-13, visited 01-20, then missed
        ("B", "visit", "2025-02-11", V, False),  # yellow: 30 days after 01-12
        ("C", RA, "2025-02-12", S, False),  # red: 30 days after 01-13
        ("A", "visit", "2025-02-14", V, False)],
    ("2025-03-04", 8): [  # before the mandatory report's hour (09:00 the day after discovery)
        ("E", "mandatory_report", "2025-03-04", "D01", False),
        ("E", RA, "2025-03-10", S, False),  # 7 days after the harm report
        ("F", RA, "2025-03-10", S, False)],
    ("2025-03-04", 10): [  # past the hour: overdue on its due day, still first
        ("E", "mandatory_report", "2025-03-04", "D01", True),
        ("E", RA, "2025-03-10", S, False),
        ("F", RA, "2025-03-10", S, False)],
    ("2025-04-09", 18): [
        ("B", "visit", "2025-03-13", V, True),  # 30 days after 02-11, missed
        ("C", "visit", "2025-03-14", V, True),
        ("E", "visit", "2025-03-17", V, True),  # red again on 03-10: 7 days
        ("A", "visit", "2025-03-23", V, True),
        ("I", "measure_due", "2025-03-31", "W01", True),  # the measure's owner
        ("G", "warning_letter_visit", "2025-04-08", V, True),  # day 7 of the letter
        ("E", RA, "2025-04-09", S, False),  # red: 30 days after 03-10
        ("F", "visit", "2025-04-09", V, False),  # yellow: 30 days after 03-10
        ("B", RA, "2025-04-12", S, False)],  # yellow: 90 days after 01-12
    ("2025-06-03", 18): [
        ("L", FA, "2025-06-05", S, False),  # surveyed 06-02, poor guardianship
        ("F", RA, "2025-06-08", S, False),  # yellow: 90 days after 03-10
        ("E", "visit", "2025-06-09", V, False),  # 30 days after 05-10
        ("F", "visit", "2025-06-09", V, False)],
    ("2025-09-02", 18): [
        ("L", RA, "2025-09-03", S, False),  # yellow: 90 days after 06-05
        ("L", "visit", "2025-09-03", V, False),  # 30 days after 08-04
        ("F", "visit", "2025-09-06", V, False),  # green: 90 days after 06-08
        ("K", RA, "2025-09-08", S, False)],  # reopened 09-01: 7 days
    ("2025-10-06", 18): [
        ("E", "visit", "2025-10-07", V, False),  # green: 90 days after 07-09
        ("K", "visit", "2025-10-08", V, False),  # yellow: 30 days after 09-08
        ("B", RA, "2025-10-09", S, False),  # green: 180 days after 04-12
        ("B", "visit", "2025-10-09", V, False)],  # green: 90 days after 07-11
}
#: The social worker's own list on 2025-04-09: the plan measure she owns, overdue.
MINE_W01 = [("I", "measure_due", "2025-03-31", "W01", True)]
#: Where each case ends the year.
END = {"A": ("assessed", "green"), "B": ("assessed", "green"), "C": ("assessed", "green"),
       "D": ("return_visits", "green"), "E": ("assessed", "green"), "F": ("assessed", "green"),
       "G": ("assessed", "green"), "H": ("assessed", "green"), "I": ("review", "green"),
       "J": ("assessed", "green"), "K": ("assessed", "yellow"), "L": ("assessed", "green")}


@pytest.fixture
def town(session, host, tmp_path):
    (tmp_path / "people.csv").write_text(ROSTER, "utf-8")
    import_people(session, host, tmp_path / "people.csv", actor=LOCAL_ADMIN)
    path = write_xlsx(load_form(host, "screening"), SURVEYS, tmp_path / "s.xlsx")
    import_screening(session, host, path, actor="D01")
    return tmp_path


def cases_by_letter(session) -> dict[str, Case]:
    return {name.removeprefix("测试"): case for case, name in session.execute(
        select(Case, Child.name).join(Child, Case.child_id == Child.id))}


def listed(session, letters, day, hour, mine=None):
    items = due_list(session, on=dt.date.fromisoformat(day), now=at(dt.date.fromisoformat(day), hour),
                     mine=mine)
    return [(letters[i.case_no], i.kind, i.due_on.isoformat(), i.owner, i.overdue) for i in items]


def test_a_year_of_casework(session, host, town):
    day, seen = dt.date(2025, 1, 1), {}
    while day.year == 2025:
        for event in EVENTS.get(day.isoformat(), []):
            letter, form, payload, *who = event
            who = who[0] if who else "D01"
            if form == "survey":
                path = write_xlsx(load_form(host, "screening"), [payload], town / f"{letter}.xlsx")
                import_screening(session, host, path, actor=who)
                continue
            case = cases_by_letter(session)[letter]
            if form == "ack":
                acknowledge(session, case, payload, day, actor=who)
            else:
                record_form(session, host, case, form, payload, actor=resolve_actor(session, who),
                            now=at(day))
            session.commit()
        if day.isoformat() == "2025-06-10":  # H went to court, and its order is in force
            h = cases_by_letter(session)["H"]
            with pytest.raises(TransitionRefused, match="已进入司法干预，须由本地管理员、乡镇儿童督导员结案"):
                record_form(session, host, h, *closure("2025-06-10"),
                            actor=resolve_actor(session, "D01"), now=at(day))
            session.rollback()
            with pytest.raises(TransitionRefused, match="人身安全保护令有效期至 2025-08-06，尚未到期"):
                record_form(session, host, h, *closure("2025-06-10"),
                            actor=resolve_actor(session, "S01"), now=at(day))
            session.rollback()
        letters = {c.case_no: x for x, c in cases_by_letter(session).items()}
        for check_day, hour in CHECKS:
            if check_day == day.isoformat():
                seen[check_day, hour] = listed(session, letters, check_day, hour)
        if day.isoformat() == "2025-04-09":
            seen["mine"] = listed(session, letters, "2025-04-09", 18,
                                  mine=resolve_actor(session, "W01"))
        day += dt.timedelta(days=1)
    for key, expected in CHECKS.items():
        assert seen[key] == expected, key
    assert seen["mine"] == MINE_W01
    assert {x: (c.status, c.level) for x, c in cases_by_letter(session).items()} == END
