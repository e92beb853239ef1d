"""The follow-up rules of :mod:`jianhu.followups` on a small hand-made workspace: what a grading
schedules (every due day and instant written out, from the default policy: red 7/30 days, orange
14/60, yellow 30/90, green 90/180, a mandatory report within 24 hours), the due list's order and
owners, tasks added, finished and acknowledged, and calendar months. Fast: the database is
upgraded once for the module, each test's writes are rolled back."""

import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from jianhu.db.models import Assessment, AuditEvent, Case, FollowUp, FormRecord
from jianhu.db.session import open_session
from jianhu.default_plugins.policy import DEFAULT_POLICY
from jianhu.errors import JianhuError
from jianhu.followups import (
    DueItem,
    DuePage,
    acknowledge,
    add_months,
    add_task,
    due_list,
    due_page,
    finish,
    pending,
    schedule_after_grading,
)
from jianhu.roles import Actor
from small_workspace import (
    CN_YELLOW,
    DG_NEW,
    DG_ORANGE,
    DIRECTOR,
    MOTHER,
    SUPERVISOR,
    XINAN,
    XJ_CLOSED,
    XJ_RED,
    workspace,
)

SEP_10 = dt.date(2026, 9, 10)
NOW = dt.datetime(2026, 9, 10, 2, 0, tzinfo=dt.UTC)  # 10:00 on 10 September in Shanghai


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    yield from workspace(tmp_path_factory.mktemp("followup-rules"))


@pytest.fixture
def session(ws):
    engine, _ = ws
    with open_session(engine) as s:
        yield s
        s.rollback()


def case(session, case_no: str) -> Case:
    return session.scalar(select(Case).where(Case.case_no == case_no))


def task(session, c: Case, kind: str, due_on: dt.date, status: str = "pending", **kw) -> FollowUp:
    f = FollowUp(id=uuid.uuid4(), case_id=c.id, township_id=c.township_id, kind=kind,
                 due_on=due_on, status=status, **kw)
    session.add(f)
    session.flush()
    return f


def tasks_of(session, c: Case) -> list[tuple[str, str, dt.date, dt.date | None]]:
    session.expire_all()
    return sorted((f.kind, f.status, f.due_on, f.done_on) for f in session.scalars(
        select(FollowUp).where(FollowUp.case_id == c.id)))


def events(session) -> list[tuple[str, str, dict | None, dict | None]]:
    return [(e.action, e.entity_type, e.before, e.after) for e in session.scalars(
        select(AuditEvent).where(AuditEvent.entity_type == "followup").order_by(AuditEvent.id))]


def grade(session, c, assessed_on=SEP_10, emergency=False, now=NOW, reporter=None,
          assessment_id=None):
    return schedule_after_grading(session, c, DEFAULT_POLICY, assessed_on=assessed_on,
                                  assessment_id=assessment_id, emergency=emergency, actor="评估员",
                                  now=now, reporter=reporter)


def assessment(session, c: Case) -> Assessment:
    a = Assessment(case_id=c.id, scale="jianhu-default", scale_version="1", form_version=1,
                   assessed_on=SEP_10, assessor="评估员", answers={}, scores={}, total=24.0,
                   level="red")
    session.add(a)
    session.flush()
    return a


# ----------------------------------------------------------------------------- grading
def test_a_grading_finishes_the_assessments_due_and_replaces_the_visit(session):
    red, other = case(session, XJ_RED), case(session, CN_YELLOW)
    first = task(session, red, "first_assessment", dt.date(2026, 3, 25))
    review = task(session, red, "guardianship_review", dt.date(2026, 9, 30))
    old_visit = task(session, red, "visit", dt.date(2026, 9, 1))
    task(session, red, "measure_due", dt.date(2026, 9, 5))
    task(session, red, "reassessment", dt.date(2026, 4, 1), status="done", done_on=dt.date(2026, 4, 1))
    due = task(session, red, "reassessment", dt.date(2026, 9, 20))
    task(session, other, "visit", dt.date(2026, 9, 1))
    sheet = assessment(session, red)
    created = grade(session, red, assessment_id=sheet.id)
    assert [(f.kind, f.due_on, f.status, f.case_id, f.township_id, f.due_at, f.assessment_id)
            for f in created] == [
        ("visit", dt.date(2026, 9, 17), "pending", red.id, red.township_id, None, sheet.id),
        ("reassessment", dt.date(2026, 10, 10), "pending", red.id, red.township_id, None, sheet.id)]
    assert tasks_of(session, red) == [
        ("first_assessment", "done", dt.date(2026, 3, 25), SEP_10),
        ("guardianship_review", "done", dt.date(2026, 9, 30), SEP_10),
        ("measure_due", "pending", dt.date(2026, 9, 5), None),
        ("reassessment", "done", dt.date(2026, 4, 1), dt.date(2026, 4, 1)),
        ("reassessment", "done", dt.date(2026, 9, 20), SEP_10),
        ("reassessment", "pending", dt.date(2026, 10, 10), None),
        ("visit", "cancelled", dt.date(2026, 9, 1), None),
        ("visit", "pending", dt.date(2026, 9, 17), None)]
    assert tasks_of(session, other) == [("visit", "pending", dt.date(2026, 9, 1), None)]
    done = {"status": "done", "done_on": "2026-09-10"}
    assert events(session) == [
        ("done", "followup", {"status": "pending"}, done),
        ("done", "followup", {"status": "pending"}, done),
        ("done", "followup", {"status": "pending"}, done),
        ("schedule", "followup", None, {"case_no": XJ_RED, "kind": "visit", "due_on": "2026-09-17"}),
        ("schedule", "followup", None,
         {"case_no": XJ_RED, "kind": "reassessment", "due_on": "2026-10-10"}),
        ("cancel", "followup", {"status": "pending"}, {"status": "cancelled"})]
    rows = session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "followup")
                           .order_by(AuditEvent.id)).all()
    assert [r.entity_id for r in rows] == [str(first.id), str(due.id), str(review.id),
                                           str(created[0].id), str(created[1].id), str(old_visit.id)]
    assert {r.actor for r in rows} == {"评估员"}
    assert [r.at for r in rows[3:]] == [NOW, NOW, NOW]


@pytest.mark.parametrize("case_no,visit,reassessment", [
    (CN_YELLOW, dt.date(2026, 10, 10), dt.date(2026, 12, 9)),  # yellow: 30 and 90 days
    (DG_ORANGE, dt.date(2026, 9, 24), dt.date(2026, 11, 9)),  # orange: 14 and 60
    (DG_NEW, dt.date(2026, 12, 9), dt.date(2027, 3, 9)),  # not graded yet: as green, 90 and 180
])
def test_the_days_come_from_the_level(session, case_no, visit, reassessment):
    assert [(f.kind, f.due_on) for f in grade(session, case(session, case_no))] == [
        ("visit", visit), ("reassessment", reassessment)]


def test_a_level_the_policy_does_not_know_is_refused(session):
    c = case(session, XJ_RED)
    c.level = "purple"
    with pytest.raises(KeyError):
        grade(session, c)


def test_an_emergency_on_the_day_is_reported_within_24_hours_of_now(session, process_zone):
    c = case(session, XJ_RED)
    sheet = assessment(session, c)
    # 01:00 on 11 September in Shanghai (still the 10th in UTC)
    now = dt.datetime(2026, 9, 10, 17, 0, tzinfo=dt.UTC)
    created = grade(session, c, assessed_on=dt.date(2026, 9, 11), emergency=True, now=now,
                    reporter=SUPERVISOR, assessment_id=sheet.id)
    report = created[2]
    assert [f.kind for f in created] == ["visit", "reassessment", "mandatory_report"]
    assert report.assessment_id == sheet.id
    assert report.due_at == dt.datetime(2026, 9, 11, 17, 0, tzinfo=dt.UTC)
    assert report.due_at.utcoffset() == dt.timedelta(0)  # in UTC, whatever the process's zone
    assert report.due_on == dt.date(2026, 9, 12)  # 01:00 on the 12th in Shanghai
    assert (report.owner, report.status, report.case_id) == (SUPERVISOR, "pending", c.id)
    assert events(session)[-1] == ("schedule", "followup", None, {
        "case_no": XJ_RED, "kind": "mandatory_report", "due_on": "2026-09-12"})


def test_a_back_dated_emergency_counts_from_the_start_of_its_day(session):
    created = grade(session, case(session, XJ_RED), assessed_on=dt.date(2026, 9, 8),
                    emergency=True)
    report = created[2]
    # 00:00 on 8 September in Shanghai + 24 h = 00:00 on the 9th = 16:00 UTC on the 8th
    assert report.due_at == dt.datetime(2026, 9, 8, 16, 0, tzinfo=dt.UTC)
    assert report.due_on == dt.date(2026, 9, 9)
    assert report.owner is None


def test_an_emergency_adds_no_second_pending_report(session):
    c = case(session, XJ_RED)
    task(session, c, "mandatory_report", dt.date(2026, 9, 1), status="done")
    task(session, c, "measure_due", dt.date(2026, 9, 30))  # a pending task of another kind
    assert [f.kind for f in grade(session, c, emergency=True)] == [
        "visit", "reassessment", "mandatory_report"]
    assert [f.kind for f in grade(session, c, assessed_on=dt.date(2026, 9, 12), emergency=True)] == [
        "visit", "reassessment"]
    assert [f.kind for f in grade(session, case(session, CN_YELLOW), emergency=True)] == [
        "visit", "reassessment", "mandatory_report"]  # another case's report does not count


# ----------------------------------------------------------------------------- the due list
OCT_1 = dt.date(2026, 10, 1)
OCT_1_NOON = dt.datetime(2026, 10, 1, 4, 0, tzinfo=dt.UTC)


@pytest.fixture
def due(session):
    """Tasks around 1 October 2026: pending ones listed below, one after the window, a done and
    a cancelled one."""
    red, yellow, orange = case(session, XJ_RED), case(session, CN_YELLOW), case(session, DG_ORANGE)
    closed = case(session, XJ_CLOSED)
    task(session, red, "emergency_response", dt.date(2026, 9, 28),
         due_at=dt.datetime(2026, 9, 27, 16, 0, tzinfo=dt.UTC))
    task(session, red, "mandatory_report", OCT_1, owner=SUPERVISOR,
         due_at=dt.datetime(2026, 10, 1, 6, 0, tzinfo=dt.UTC))  # 14:00: not yet at noon
    task(session, red, "visit", dt.date(2026, 9, 20))
    task(session, yellow, "measure_due", dt.date(2026, 9, 30), owner=MOTHER)
    task(session, yellow, "visit", dt.date(2026, 10, 5))
    task(session, yellow, "reassessment", dt.date(2026, 10, 5))
    task(session, orange, "reassessment", dt.date(2026, 10, 5))
    task(session, closed, "old_kind", dt.date(2026, 10, 6))
    task(session, closed, "return_visit", dt.date(2026, 10, 6))
    task(session, orange, "visit", dt.date(2026, 10, 8), owner="county_viewer")
    task(session, orange, "visit", dt.date(2026, 10, 9))  # after the window
    task(session, red, "reassessment", dt.date(2026, 9, 1), status="done")
    task(session, red, "visit", dt.date(2026, 9, 2), status="cancelled")


def item(case_no, town, village, level, kind, due_on, overdue, days, owner, label, due_at=None):
    return DueItem(case_no, town, village, level, kind, due_on, due_at, overdue, days, owner, label)


EMERGENCY = item(XJ_RED, "新安镇", "新集村", "red", "emergency_response", dt.date(2026, 9, 28), True,
                 3, "township_supervisor", "乡镇儿童督导员", dt.datetime(2026, 9, 27, 16, tzinfo=dt.UTC))
REPORT = item(XJ_RED, "新安镇", "新集村", "red", "mandatory_report", OCT_1, False, 0, SUPERVISOR,
              "督导甲", dt.datetime(2026, 10, 1, 6, tzinfo=dt.UTC))
RED_VISIT = item(XJ_RED, "新安镇", "新集村", "red", "visit", dt.date(2026, 9, 20), True, 11,
                 "village_child_director", "村（居）儿童主任")
MEASURE = item(CN_YELLOW, "新安镇", "城南村", "yellow", "measure_due", dt.date(2026, 9, 30), True, 1,
               MOTHER, "妈妈丁")
YELLOW_REASSESS = item(CN_YELLOW, "新安镇", "城南村", "yellow", "reassessment", dt.date(2026, 10, 5),
                       False, 0, "township_supervisor", "乡镇儿童督导员")
ORANGE_REASSESS = item(DG_ORANGE, "堆沟港镇", "堆沟村", "orange", "reassessment", dt.date(2026, 10, 5),
                       False, 0, "township_supervisor", "乡镇儿童督导员")
YELLOW_VISIT = item(CN_YELLOW, "新安镇", "城南村", "yellow", "visit", dt.date(2026, 10, 5), False, 0,
                    "village_child_director", "村（居）儿童主任")
RETURN_VISIT = item(XJ_CLOSED, "新安镇", "新集村", "green", "return_visit", dt.date(2026, 10, 6), False,
                    0, "village_child_director", "村（居）儿童主任")
#: a kind no longer in jianhu.tasks: no owner role, after the known kinds of its day
OLD_KIND = item(XJ_CLOSED, "新安镇", "新集村", "green", "old_kind", dt.date(2026, 10, 6), False, 0, "", "")
#: an owner named but not on the roster is shown by its code, even one that reads like a role's
ORANGE_VISIT = item(DG_ORANGE, "堆沟港镇", "堆沟村", "orange", "visit", dt.date(2026, 10, 8), False, 0,
                    "county_viewer", "county_viewer")


def test_the_due_list_in_its_order(session, due):
    # urgent kinds first; then overdue before upcoming; then by day, kind (the order of
    # jianhu.tasks.TASK_KINDS: reassessment before visit) and case number
    assert due_list(session, OCT_1, now=OCT_1_NOON) == [
        EMERGENCY, REPORT, RED_VISIT, MEASURE, YELLOW_REASSESS, ORANGE_REASSESS, YELLOW_VISIT,
        RETURN_VISIT, OLD_KIND, ORANGE_VISIT]


def test_the_report_is_overdue_once_its_hour_has_passed(session, due):
    later = dt.datetime(2026, 10, 1, 6, 0, tzinfo=dt.UTC)  # 14:00, the report's hour
    first_two = due_list(session, OCT_1, now=later)[:2]
    assert [(i.kind, i.overdue, i.days_overdue) for i in first_two] == [
        ("emergency_response", True, 3), ("mandatory_report", True, 0)]


def test_today_is_shanghais_date(session, due):
    # 01:00 on 1 October in Shanghai, still 30 September in UTC
    assert due_list(session, now=dt.datetime(2026, 9, 30, 17, 0, tzinfo=dt.UTC)) == [
        EMERGENCY, REPORT, RED_VISIT, MEASURE, YELLOW_REASSESS, ORANGE_REASSESS, YELLOW_VISIT,
        RETURN_VISIT, OLD_KIND, ORANGE_VISIT]


def test_the_window_and_the_township(session, due):
    assert due_list(session, OCT_1, window_days=3, now=OCT_1_NOON) == [
        EMERGENCY, REPORT, RED_VISIT, MEASURE]
    assert due_list(session, OCT_1, window_days=8, now=OCT_1_NOON)[-1].due_on == dt.date(2026, 10, 9)
    assert due_list(session, OCT_1, township_code="320724101000", now=OCT_1_NOON) == [
        ORANGE_REASSESS, ORANGE_VISIT]
    assert len(due_list(session, OCT_1, township_code=XINAN, now=OCT_1_NOON)) == 8


def test_my_tasks_come_before_my_roles(session, due):
    me = Actor(SUPERVISOR, "督导甲", "township_supervisor")
    assert due_list(session, OCT_1, now=OCT_1_NOON, mine=me) == [
        REPORT, EMERGENCY, YELLOW_REASSESS, ORANGE_REASSESS]
    director = Actor(DIRECTOR, "主任乙", "village_child_director")
    assert due_list(session, OCT_1, now=OCT_1_NOON, mine=director) == [
        RED_VISIT, YELLOW_VISIT, RETURN_VISIT]
    mother = Actor(MOTHER, "妈妈丁", "caring_mother")
    assert due_list(session, OCT_1, now=OCT_1_NOON, mine=mother) == [MEASURE]


# ----------------------------------------------------------------------------- tasks
def test_add_task_schedules_one_pending_task(session):
    c = case(session, XJ_RED)
    at = dt.datetime(2026, 9, 12, 1, 0, tzinfo=dt.UTC)
    record = FormRecord(form_id="escalation", form_version=1, subject_type="case", subject_id=c.id,
                        payload={}, payload_hash="0" * 64, recorded_on=dt.date(2026, 9, 11),
                        created_by="督导")
    session.add(record)
    session.flush()
    t = add_task(session, c, "protection_order_ruling", dt.date(2026, 9, 12), actor="督导",
                 due_at=at, record_id=record.id, ref="令1", owner=SUPERVISOR)
    session.flush()
    session.expire_all()
    got = session.get(FollowUp, t.id)
    assert (got.case_id, got.township_id, got.kind, got.due_on, got.due_at, got.status, got.ref,
            got.owner, got.record_id) == (c.id, c.township_id, "protection_order_ruling",
                                          dt.date(2026, 9, 12), at, "pending", "令1", SUPERVISOR,
                                          record.id)
    [event] = session.scalars(select(AuditEvent).where(AuditEvent.entity_id == str(t.id))).all()
    assert (event.actor, event.action, event.entity_type, event.before, event.after) == (
        "督导", "schedule", "followup", None,
        {"case_no": XJ_RED, "kind": "protection_order_ruling", "due_on": "2026-09-12",
         "ref": "令1", "owner": SUPERVISOR})


def test_add_task_refuses_an_unknown_kind(session):
    with pytest.raises(KeyError, match="unknown task kind 'nap' \\(see jianhu.tasks.TASK_KINDS\\)"):
        add_task(session, case(session, XJ_RED), "nap", SEP_10, actor="t")


def test_pending_tasks_earliest_first(session):
    c = case(session, XJ_RED)
    late = task(session, c, "visit", dt.date(2026, 9, 20),
                created_at=dt.datetime(2026, 9, 1, tzinfo=dt.UTC))
    early = task(session, c, "visit", dt.date(2026, 9, 10), ref="a")
    same_day_older = task(session, c, "measure_due", dt.date(2026, 9, 20), ref="a",
                          created_at=dt.datetime(2026, 8, 1, tzinfo=dt.UTC))
    task(session, c, "visit", dt.date(2026, 9, 1), status="done")
    task(session, case(session, CN_YELLOW), "visit", dt.date(2026, 9, 5))
    assert pending(session, c, ("visit",)) == [early, late]
    assert pending(session, c, ("visit", "measure_due")) == [early, same_day_older, late]
    assert pending(session, c, ("visit", "measure_due"), ref="a") == [early, same_day_older]
    assert pending(session, c, ("reassessment",)) == []


def test_finish_marks_done_on_a_day_or_cancelled(session):
    c = case(session, XJ_RED)
    a, b = task(session, c, "visit", SEP_10), task(session, c, "reassessment", SEP_10)
    finish(session, [a], status="done", on=dt.date(2026, 9, 11), actor="主任")
    finish(session, [b], status="cancelled", on=dt.date(2026, 9, 11), actor="主任")
    assert (a.status, a.done_on, b.status, b.done_on) == (
        "done", dt.date(2026, 9, 11), "cancelled", None)
    assert events(session) == [
        ("done", "followup", {"status": "pending"}, {"status": "done", "done_on": "2026-09-11"}),
        ("cancelled", "followup", {"status": "pending"}, {"status": "cancelled", "done_on": None})]


ALLOWED = ("emergency_response（应急处置）、protection_order_review（保护令复议期限）、"
           "protection_order_expiry（保护令到期）、guardianship_review（临时监护评估）、"
           "warning_letter_visit（告诫书查访）、guardianship_period_end（监护期限届满）")


@pytest.mark.parametrize("kind", ["emergency_response", "应急处置"])
def test_acknowledge_finishes_the_earliest_by_code_or_label(session, kind):
    c = case(session, XJ_RED)
    later = task(session, c, "emergency_response", dt.date(2026, 9, 12))
    first = task(session, c, "emergency_response", dt.date(2026, 9, 11))
    assert acknowledge(session, c, kind, dt.date(2026, 9, 13), actor="督导") is first
    assert (first.status, first.done_on, later.status) == ("done", dt.date(2026, 9, 13), "pending")
    assert events(session) == [("done", "followup", {"status": "pending"},
                                {"status": "done", "done_on": "2026-09-13"})]


@pytest.mark.parametrize("kind,message", [
    ("nap", f"没有「nap」这种事项；可直接办结的事项：{ALLOWED}"),
    ("visit", f"「随访」由登记随访（办结最早一项并排下一次）完成；可直接办结的事项：{ALLOWED}"),
    ("随访", f"「随访」由登记随访（办结最早一项并排下一次）完成；可直接办结的事项：{ALLOWED}"),
    ("guardianship_review", f"个案 {XJ_RED} 没有未办的「临时监护评估」"),
])
def test_acknowledge_refuses(session, kind, message):
    c = case(session, XJ_RED)
    task(session, c, "visit", SEP_10)
    task(session, c, "guardianship_review", SEP_10, status="done")
    with pytest.raises(JianhuError) as err:
        acknowledge(session, c, kind, SEP_10, actor="t")
    assert str(err.value) == message


@pytest.mark.parametrize("day,months,expected", [
    (dt.date(2026, 3, 15), 6, dt.date(2026, 9, 15)),
    (dt.date(2026, 9, 15), 6, dt.date(2027, 3, 15)),
    (dt.date(2026, 12, 1), 1, dt.date(2027, 1, 1)),
    (dt.date(2026, 1, 15), -1, dt.date(2025, 12, 15)),
    (dt.date(2026, 1, 31), 0, dt.date(2026, 1, 31)),
    (dt.date(2026, 5, 31), 1, dt.date(2026, 6, 30)),  # clipped to the 30th
    (dt.date(2024, 1, 31), 1, dt.date(2024, 2, 29)),  # the 29th of a leap February
    (dt.date(2026, 1, 30), 1, dt.date(2026, 2, 28)),
    (dt.date(2026, 1, 29), 1, dt.date(2026, 2, 28)),
    (dt.date(2026, 8, 31), 24, dt.date(2028, 8, 31)),
])
def test_add_months(day, months, expected):
    assert add_months(day, months) == expected


def test_the_due_list_a_page_at_a_time(session, due):
    page = due_page(session, OCT_1, now=OCT_1_NOON, limit=3, offset=2)
    assert page == DuePage(total=10, offset=2, items=[RED_VISIT, MEASURE, YELLOW_REASSESS])
    assert due_page(session, OCT_1, now=OCT_1_NOON, offset=8) == DuePage(
        total=10, offset=8, items=[OLD_KIND, ORANGE_VISIT])
    assert due_page(session, OCT_1, township_code="320724101000", now=OCT_1_NOON).total == 2
    me = Actor(SUPERVISOR, "督导甲", "township_supervisor")
    assert due_page(session, OCT_1, now=OCT_1_NOON, mine=me, limit=1) == DuePage(
        total=4, offset=0, items=[REPORT])


def test_a_list_for_a_past_day_counts_its_hours_as_over(session, due):
    # an emergency response due on the day with no hour: not overdue on the day
    task(session, case(session, XJ_RED), "emergency_response", OCT_1)
    noon = [(i.kind, i.overdue) for i in due_list(session, OCT_1, now=OCT_1_NOON)[:3]]
    assert noon == [("emergency_response", True), ("emergency_response", False),
                    ("mandatory_report", False)]
    next_day = dt.datetime(2026, 10, 2, 4, 0, tzinfo=dt.UTC)  # the list of 1 October, made on the 2nd
    late = [(i.kind, i.overdue) for i in due_list(session, OCT_1, now=next_day)[:3]]
    assert late == [("emergency_response", True), ("mandatory_report", True),
                    ("emergency_response", False)]
    at_the_hour = dt.datetime(2026, 10, 1, 6, 0, tzinfo=dt.UTC)  # the report's hour, 14:00
    assert [(i.kind, i.overdue) for i in due_list(session, OCT_1, now=at_the_hour)[:3]] == late
    day_before = dt.datetime(2026, 9, 30, 4, 0, tzinfo=dt.UTC)  # made the day before
    early = [(i.kind, i.overdue) for i in due_list(session, OCT_1, now=day_before)[:3]]
    assert early == noon


def test_of_two_like_tasks_the_one_with_an_hour_comes_first(session):
    c = case(session, XJ_CLOSED)
    task(session, c, "warning_letter_visit", dt.date(2026, 10, 3))
    task(session, c, "warning_letter_visit", dt.date(2026, 10, 3),
         due_at=dt.datetime(2026, 10, 3, 1, 0, tzinfo=dt.UTC))
    assert [i.due_at for i in due_list(session, OCT_1, now=OCT_1_NOON)] == [
        dt.datetime(2026, 10, 3, 1, 0, tzinfo=dt.UTC), None]
    # a township without a task: an empty page, counted 0
    assert due_page(session, OCT_1, township_code="320724101000", now=OCT_1_NOON) == DuePage(0, 0, [])
