import datetime as dt
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jianhu.dates import (
    age_on,
    form_date,
    form_instant,
    local_date,
    local_today,
    now_utc,
    parse_date,
    written_instant,
)


@pytest.mark.parametrize("text", ["2016-03-08", "2016/3/8", "2016年3月8日", "2016.3.8",
                                  "20160308", "２０１６年３月８日", " 2016 / 03 / 08 ",
                                  dt.date(2016, 3, 8), dt.datetime(2016, 3, 8, 0, 0), 42437,
                                  20160308, 20160308.0, 42437.0])
def test_dates_as_people_write_them(text):
    assert parse_date(text) == dt.date(2016, 3, 8)


@pytest.mark.parametrize("text", ["2016年3月", "3/8/2016", "2016-02-30", "明天", "2016-3"])
def test_partial_or_impossible_dates_are_refused(text):
    with pytest.raises(ValueError) as err:
        parse_date(text)
    assert "日期" in str(err.value) or "不是有效日期" in str(err.value)


def test_left_behind_age_boundary_arithmetic():
    assert age_on(dt.date(2010, 3, 8), dt.date(2026, 3, 7)) == 15
    assert age_on(dt.date(2010, 3, 8), dt.date(2026, 3, 8)) == 16


def test_today_is_the_shanghai_date_whatever_the_process_zone(process_zone):
    # 16:30 UTC on 1 January is 00:30 on 2 January in Shanghai, 06:30 on 1 January in Honolulu.
    instant = dt.datetime(2027, 1, 1, 16, 30, tzinfo=dt.UTC)
    assert time.localtime(instant.timestamp()).tm_mday == 1
    assert local_today(instant) == dt.date(2027, 1, 2)
    assert local_today(dt.datetime(2027, 1, 1, 15, 59, tzinfo=dt.UTC)) == dt.date(2027, 1, 1)


def test_naive_now_is_refused():
    with pytest.raises(ValueError):
        local_today(dt.datetime(2027, 1, 1, 12, 0))


FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2199, 12, 31)))
def test_every_spelling_the_docstring_promises_reads_the_same_date(day):
    y, m, d = day.year, day.month, day.day
    spellings = [day.isoformat(), f"{y}/{m}/{d}", f"{y}.{m}.{d}", f"{y}年{m}月{d}日",
                 f"{y}{m:02d}{d:02d}", f"{y}年{m}月{d}日".translate(FULL_WIDTH),
                 f" {y} / {m:02d} / {d:02d} ", int(f"{y}{m:02d}{d:02d}"),
                 float(f"{y}{m:02d}{d:02d}"), (day - dt.date(1899, 12, 30)).days,
                 dt.datetime(y, m, d, 13, 45), day]
    assert [parse_date(s) for s in spellings] == [day] * len(spellings)


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2199, 12, 31)))
def test_a_date_without_its_day_is_refused(day):
    for partial in (f"{day.year}年{day.month}月", f"{day.year}-{day.month}", f"{day.year}{day.month:02d}"):
        with pytest.raises(ValueError):
            parse_date(partial)


def test_naive_now_is_refused_with_its_reason():
    with pytest.raises(ValueError, match="^now must be timezone-aware$"):
        local_today(dt.datetime(2027, 1, 1, 12, 0))


def test_now_is_aware_utc_and_today_is_shanghais():
    now = now_utc()
    assert now.tzinfo is dt.UTC
    assert abs(now - dt.datetime.now(dt.UTC)) < dt.timedelta(seconds=5)
    assert local_today() in {(dt.datetime.now(dt.UTC) + dt.timedelta(hours=8, seconds=s)).date()
                             for s in (-5, 0)}  # Shanghai is UTC+8 all year


def test_local_date_of_an_instant(process_zone):
    assert local_date(dt.datetime(2027, 1, 1, 16, 30, tzinfo=dt.UTC)) == dt.date(2027, 1, 2)
    assert local_date(dt.datetime(2027, 1, 1, 15, 59, tzinfo=dt.UTC)) == dt.date(2027, 1, 1)


@pytest.mark.parametrize("value,expected", [
    (1, dt.date(1899, 12, 31)),  # Excel's first serial day
    (2958465, dt.date(9999, 12, 31)),  # its last
    (42437.0, dt.date(2016, 3, 8)),
    (10_000_101, dt.date(1000, 1, 1)),  # eight digits are a written date, not a serial day
    (99_991_231, dt.date(9999, 12, 31)),
])
def test_number_cells_at_the_edges(value, expected):
    assert parse_date(value) == expected


@pytest.mark.parametrize("value,message", [
    (0, "「0」不是日期"),
    (-3, "「-3」不是日期"),
    (2958466, "「2958466」不是日期"),  # past 9999-12-31 as a serial day
    (16.5, "「16.5」不是日期"),
    (10_000_000, "「10000000」不是有效日期"),  # read as the digits 1000-00-00
    (99_999_999, "「99999999」不是有效日期"),  # 9999-99-99
    (100_000_000, "「100000000」不是日期"),  # nine digits: neither
    (True, "日期「True」无法识别，请写作 2016-03-08、2016/3/8 或 2016年3月8日"),
])
def test_number_cells_that_are_not_dates(value, message):
    with pytest.raises(ValueError) as err:
        parse_date(value)
    assert str(err.value) == message


@pytest.mark.parametrize("value,expected", [
    ("2026-03-08", dt.date(2026, 3, 8)),
    ("1900-01-01", dt.date(1900, 1, 1)),
    ("2200-12-31", dt.date(2200, 12, 31)),
    ("1899-12-31", None),  # before FIRST_YEAR: a typing error
    ("2201-01-01", None),
    ("2026-02-30", None),
    ("2026-3-8", None),
    ("2026-03-08T10:00", None),
    (" 2026-03-08", None),
    (20260308, None),
    (dt.date(2026, 3, 8), None),
    (None, None),
])
def test_form_dates(value, expected):
    assert form_date(value) == expected


PLUS_8 = dt.timezone(dt.timedelta(hours=8))


@pytest.mark.parametrize("value,expected", [
    ("2026-03-08T10:00:00+08:00", dt.datetime(2026, 3, 8, 10, 0, tzinfo=PLUS_8)),
    ("2026-03-08T10:00Z", dt.datetime(2026, 3, 8, 10, 0, tzinfo=dt.UTC)),
    ("2026-03-08t10:00:00z", dt.datetime(2026, 3, 8, 10, 0, tzinfo=dt.UTC)),
    ("2026-03-08 10:00:00.5-05:00",
     dt.datetime(2026, 3, 8, 10, 0, 0, 500000, tzinfo=dt.timezone(dt.timedelta(hours=-5)))),
    ("1900-01-01T00:00Z", dt.datetime(1900, 1, 1, tzinfo=dt.UTC)),
    ("2200-12-31T23:59:59+08:00", dt.datetime(2200, 12, 31, 23, 59, 59, tzinfo=PLUS_8)),
    ("1899-12-31T23:00Z", None),
    ("2201-01-01T00:00Z", None),
    ("2026-03-08T10:00:00", None),  # no offset: the instant would be a guess
    ("2026-02-30T10:00Z", None),
    ("2026-03-08T25:00Z", None),
    ("2026-03-08", None),
    (dt.datetime(2026, 3, 8, tzinfo=dt.UTC), None),
    (None, None),
])
def test_form_instants(value, expected):
    result = form_instant(value)
    assert result == expected
    if expected is not None:
        assert result.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(("written", "instant"), [
    ("2026-09-15 09:00", "2026-09-15T09:00:00+08:00"),
    ("2026-09-15T09:00:30", "2026-09-15T09:00:30+08:00"),
    ("２０２６-09-15 09:00", "2026-09-15T09:00:00+08:00"),
    (dt.datetime(2026, 9, 15, 23, 5), "2026-09-15T23:05:00+08:00"),  # a spreadsheet cell
    (dt.datetime(2026, 9, 15, 1, 0, tzinfo=dt.UTC), "2026-09-15T01:00:00+00:00"),
    ("2026-09-15T09:00:00+00:00", "2026-09-15T09:00:00+00:00"),  # an offset is kept
    ("明天上午", "明天上午"),  # left for the form's validation to refuse
])
def test_a_time_written_without_a_zone_is_beijing_time(written, instant):
    assert written_instant(written) == instant
