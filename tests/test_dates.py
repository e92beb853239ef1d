import datetime as dt
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jianhu.dates import age_on, local_today, parse_date


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
