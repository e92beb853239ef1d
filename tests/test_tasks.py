"""The task rules of :mod:`jianhu.tasks` without a database: labels, owners and the one rule of
lateness, with every due moment written out (Asia/Shanghai is UTC+8 all year)."""

import datetime as dt

import pytest

from jianhu import tasks
from jianhu.tasks import is_overdue, label, owner_of

D = dt.date(2027, 3, 10)
NOON = dt.datetime(2027, 3, 10, 4, 0, tzinfo=dt.UTC)  # 12:00 on D in Shanghai


def utc(day: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2027, 3, day, hour, minute, second, tzinfo=dt.UTC)


def test_labels():
    assert label("mandatory_report") == "强制报告"
    assert label("visit") == "随访"
    assert label("return_visit") == "结案回访"
    assert label("no_such_kind") == "no_such_kind"


def test_owner_is_the_named_person_else_the_kinds_role():
    assert owner_of("visit", "320724100-D01") == "320724100-D01"
    assert owner_of("visit", None) == "village_child_director"
    assert owner_of("visit", "") == "village_child_director"
    assert owner_of("reassessment", None) == "township_supervisor"
    assert owner_of("no_such_kind", None) == ""
    assert owner_of("no_such_kind", "someone") == "someone"


def test_the_tables_read_from_the_kinds():
    assert tasks.ACKNOWLEDGED == ("emergency_response", "protection_order_review",
                                  "protection_order_expiry", "guardianship_review",
                                  "warning_letter_visit", "guardianship_period_end")
    assert tasks.KIND_ORDER["emergency_response"] == 0 and tasks.KIND_ORDER["return_visit"] == 13
    assert [k for k in tasks.KINDS if tasks.KINDS[k].by_hour] == [
        "emergency_response", "mandatory_report", "protection_order_ruling"]


@pytest.mark.parametrize("due_on,on,expected", [
    (D, D - dt.timedelta(days=1), False),
    (D, D, False),  # due on D: not overdue on D
    (D, D + dt.timedelta(days=1), True),  # overdue from D+1
    (D, D + dt.timedelta(days=40), True),
])
def test_a_day_task_is_overdue_from_the_day_after(due_on, on, expected):
    assert is_overdue(due_on, None, on) is expected
    assert is_overdue(due_on, None, on, now=utc(10, 4)) is expected


@pytest.mark.parametrize("now,expected", [
    (None, False),  # without a clock only the day counts
    (utc(9, 16, 0, 0), False),  # 00:00 on D in Shanghai
    (utc(10, 3, 59, 59), False),  # 11:59:59
    (utc(10, 4, 0, 0), True),  # 12:00:00, the instant itself
    (utc(10, 15, 59, 59), True),  # 23:59:59 on D
    (utc(10, 16, 0, 0), True),  # D is over: the list for D was made afterwards
    (utc(9, 15, 59, 59), False),  # still the day before in Shanghai: the list is for a later day
    (utc(8, 4, 0, 0), False),
])
def test_an_hour_task_is_overdue_on_its_day_once_its_instant_has_passed(now, expected):
    assert is_overdue(D, NOON, D, now) is expected


def test_an_hour_task_before_its_day_and_after_it():
    # the day before its day, the instant can have passed only on a wrong clock: not overdue
    assert is_overdue(D, NOON, D - dt.timedelta(days=1), utc(10, 5)) is False
    # after its day it is overdue whatever the clock
    assert is_overdue(D, NOON, D + dt.timedelta(days=1), None) is True
    assert is_overdue(D, NOON, D + dt.timedelta(days=1), utc(9, 0)) is True
