import datetime as dt
import json
from collections import Counter

import pytest
from sqlalchemy import select

from jianhu.assessment import grade
from jianhu.db.models import AuditEvent, Case, FollowUp
from jianhu.followups import due_list, is_overdue
from jianhu.imports.screening import import_screening
from tests_helpers import answer_sheet


@pytest.fixture
def case(session, host, sample_dir):
    import_screening(session, host, sample_dir / "screening.xlsx", actor="t")
    case = session.scalars(select(Case).order_by(Case.opened_on, Case.case_no)).first()
    assert case.opened_on <= dt.date(2026, 9, 1)  # the dates below are after it opened
    return case


def test_red_case_schedule_and_mandatory_report(session, host, case):
    now = dt.datetime(2026, 9, 10, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
    g = grade(session, host, case, answer_sheet("2026-09-10", emergency="violence"), actor="t")
    session.commit()
    assert g.level_after == "red"
    due = {f.kind: f for f in session.scalars(select(FollowUp).where(FollowUp.case_id == case.id))}
    assert due["visit"].due_on == dt.date(2026, 9, 17)
    assert due["reassessment"].due_on == dt.date(2026, 10, 10)
    report = due["mandatory_report"]
    assert report.due_at == dt.datetime(2026, 9, 10, 16, 0, tzinfo=dt.UTC)  # 24 h after 00:00
    assert report.due_on == dt.date(2026, 9, 11)
    items = [i for i in due_list(session, dt.date(2026, 9, 11), now=now)
             if i.case_no == case.case_no]
    assert [i.kind for i in items] == ["mandatory_report", "visit"]  # the first assessment done
    assert not items[0].overdue
    assert (items[0].owner, items[1].owner) == ("t", "village_child_director")


def test_regrading_reschedules_from_the_new_date(session, host, case):
    grade(session, host, case, answer_sheet("2026-09-10", score=3), actor="t")
    grade(session, host, case, answer_sheet("2026-10-01", score=0), actor="t")
    session.commit()
    assert case.level == "green"
    pending = session.scalars(select(FollowUp).where(FollowUp.case_id == case.id,
                                                     FollowUp.status == "pending")).all()
    assert sorted((f.kind, f.due_on) for f in pending) == [
        ("reassessment", dt.date(2027, 3, 30)), ("visit", dt.date(2026, 12, 30))]
    kinds = sorted((f.kind, f.status) for f in session.scalars(
        select(FollowUp).where(FollowUp.case_id == case.id)))
    assert kinds == [("first_assessment", "done"), ("reassessment", "done"),
                     ("reassessment", "pending"), ("visit", "cancelled"), ("visit", "pending")]


def test_an_older_sheet_does_not_regrade(session, host, case):
    grade(session, host, case, answer_sheet("2026-10-01", score=0), actor="t")
    g = grade(session, host, case, answer_sheet("2026-09-02", score=3), actor="t")
    assert (g.level_before, g.level_after) == ("green", "green")


def test_same_day_sheet_replaces_the_assessment(session, host, case):
    grade(session, host, case, answer_sheet("2026-10-01", score=0), actor="t")
    g = grade(session, host, case, answer_sheet("2026-10-01", score=1), actor="t")
    assert not g.created and case.level == "yellow" and g.result.total == 14
    assert session.scalar(select(AuditEvent.action).where(
        AuditEvent.entity_type == "assessment").order_by(AuditEvent.id.desc())) == "update"


def test_due_on_d_is_not_overdue_on_d_and_is_on_d_plus_1():
    d = dt.date(2027, 1, 1)
    assert not is_overdue(d, None, d)
    assert is_overdue(d, None, d + dt.timedelta(days=1))


def test_instant_overdue_on_its_day_once_passed():
    d = dt.date(2027, 1, 1)
    at = dt.datetime(2027, 1, 1, 4, 0, tzinfo=dt.UTC)  # 12:00 Shanghai
    assert not is_overdue(d, at, d, now=dt.datetime(2027, 1, 1, 3, 59, tzinfo=dt.UTC))
    assert is_overdue(d, at, d, now=dt.datetime(2027, 1, 1, 4, 0, tzinfo=dt.UTC))


def test_overdue_boundary_in_another_process_zone(session, host, case, process_zone):
    grade(session, host, case, answer_sheet("2026-09-10", score=0), actor="t")
    session.commit()
    visit_due = dt.date(2026, 12, 9)  # green: 90 days
    # 23:59 on the due day in Shanghai is 05:59 the day before in Honolulu.
    last_minute = dt.datetime(2026, 12, 9, 15, 59, tzinfo=dt.UTC)
    next_day = dt.datetime(2026, 12, 9, 16, 0, tzinfo=dt.UTC)
    [item] = [i for i in due_list(session, None, now=last_minute) if i.case_no == case.case_no
              and i.kind == "visit"]
    assert item.due_on == visit_due and not item.overdue
    [item] = [i for i in due_list(session, None, now=next_day) if i.case_no == case.case_no
              and i.kind == "visit"]
    assert item.overdue and item.days_overdue == 1


def test_followups_due_cli(run, engine, host, sample_dir):
    assert run("import", "screening", str(sample_dir / "screening.xlsx")).exit_code == 0
    assert run("import", "assessment", str(sample_dir / "assessment.xlsx")).exit_code == 0
    result = run("followups", "due", "--on", "2027-01-01", "--json")
    items = json.loads(result.output)["items"]
    # seed 7: every pending task due by 2027-01-08 (on + 7 days), 223 of them
    assert Counter((i["kind"], i["status"]) for i in items) == {
        ("visit", "overdue"): 124, ("visit", "due"): 1, ("reassessment", "overdue"): 68,
        ("reassessment", "due"): 12, ("first_assessment", "overdue"): 12,
        ("emergency_response", "overdue"): 5, ("mandatory_report", "overdue"): 1}
    # the urgent kinds first, then the rest, each overdue before due, then by due date; days
    # overdue counted by hand (2026-09-21 to 2027-01-01: 102 days)
    assert [(i["kind"], i["case_no"], i["due_on"], i["days_overdue"]) for i in items[:7]] == [
        ("emergency_response", "320724107-2026-0017", "2026-09-21", 102),
        ("emergency_response", "320724105-2026-0009", "2026-10-16", 77),
        ("emergency_response", "320724110-2026-0006", "2026-10-17", 76),
        ("emergency_response", "320724102-2026-0008", "2026-10-18", 75),
        ("emergency_response", "320724105-2026-0004", "2026-10-22", 71),
        ("mandatory_report", "320724110-2026-0002", "2026-11-12", 50),
        ("first_assessment", "320724107-2026-0016", "2026-09-16", 107)]
    assert items[0] == {
        "case_no": "320724107-2026-0017", "township": "汤沟镇", "village": "小圩村",
        "level": "red", "kind": "emergency_response", "label": "应急处置", "due_on": "2026-09-21",
        "due_at": "2026-09-20T16:00:00+00:00", "status": "overdue", "days_overdue": 102,
        "owner": "township_supervisor", "owner_label": "乡镇儿童督导员"}
    # the mandatory report is the assessor's (here the importing administrator's)
    assert (items[5]["owner"], items[5]["owner_label"]) == ("local-admin", "local-admin")
    one = run("followups", "due", "--on", "2027-01-01", "--township", "320724101000", "--json")
    one = json.loads(one.output)["items"]
    assert {i["township"] for i in one} == {"堆沟港镇"}
    assert Counter((i["kind"], i["status"]) for i in one) == {
        ("visit", "overdue"): 11, ("reassessment", "overdue"): 3, ("reassessment", "due"): 3}
    bad = run("followups", "due", "--on", "2027-13-01")
    assert bad.exit_code == 2 and "不是有效日期" in bad.output


def _tasks(session, case, rows) -> None:
    """Pending tasks on ``case`` alone: (kind, due_on, due_at UTC or None)."""
    import uuid

    from sqlalchemy import update

    session.execute(update(FollowUp).values(status="done"))  # only these below are pending
    for kind, due_on, due_at in rows:
        session.add(FollowUp(id=uuid.uuid4(), case_id=case.id, township_id=case.township_id,
                             kind=kind, due_on=due_on, due_at=due_at, status="pending"))
    session.commit()


def test_the_due_list_is_ordered_and_paged_by_the_database(session, case):
    """Urgent first, then overdue (a mandatory report whose hour has passed is overdue on its
    day), then by date and kind; the page and the total come from the database."""
    from jianhu.followups import due_page

    day = dt.date(2026, 9, 10)
    _tasks(session, case, [
        ("visit", dt.date(2026, 9, 13), None),
        ("mandatory_report", day, dt.datetime(2026, 9, 10, 10, 0, tzinfo=dt.UTC)),  # 18:00 local
        ("reassessment", day, None),
        ("visit", dt.date(2026, 9, 9), None),
        ("mandatory_report", day, dt.datetime(2026, 9, 10, 1, 0, tzinfo=dt.UTC)),  # 09:00 local
        ("visit", dt.date(2026, 9, 18), None),  # beyond the 7 days
        ("emergency_response", day, None),
    ])
    now = dt.datetime(2026, 9, 10, 4, 0, tzinfo=dt.UTC)  # 12:00 in Shanghai
    found = due_page(session, day, now=now)
    assert found.total == 6
    assert [(i.kind, i.due_on.day, i.overdue) for i in found.items] == [
        ("mandatory_report", 10, True),   # its hour (09:00) has passed
        ("emergency_response", 10, False),  # not overdue: before the report due at 18:00 by kind
        ("mandatory_report", 10, False),  # due at 18:00
        ("visit", 9, True),
        ("reassessment", 10, False),
        ("visit", 13, False)]
    page = due_page(session, day, now=now, limit=2, offset=3)
    assert (page.total, page.offset) == (6, 3)
    assert [(i.kind, i.due_on.day) for i in page.items] == [("visit", 9), ("reassessment", 10)]
    assert due_page(session, day, now=now, limit=50, offset=6).items == []
    # the list of that day made the next morning: both reports' hours are over
    later = due_page(session, day, now=dt.datetime(2026, 9, 11, 1, 0, tzinfo=dt.UTC))
    assert [i.overdue for i in later.items[:2]] == [True, True]
    # made the evening before for that day: only the date counts
    before = due_page(session, day, now=dt.datetime(2026, 9, 9, 12, 0, tzinfo=dt.UTC))
    assert [(i.kind, i.overdue) for i in before.items[:4]] == [
        ("emergency_response", False), ("mandatory_report", False), ("mandatory_report", False),
        ("visit", True)]
    assert due_list(session, day, now=now) == found.items
