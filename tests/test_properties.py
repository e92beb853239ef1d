"""Properties where inputs are open-ended (hypothesis): due dates seen from any time zone, small-cell
suppression that leaves nothing to subtract, and a survey import that writes nothing whichever
row is bad. (Citizen IDs and date spellings: test_citizen_id.py, test_dates.py.)"""

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import count
from files import write_csv
from jianhu.db.models import Case, Child, FollowUp
from jianhu.errors import ImportRejected
from jianhu.extensions import Column, Table
from jianhu.forms import load_form
from jianhu.imports.screening import import_screening
from jianhu.reports import SMALL_CELL, suppress_small_cells
from jianhu.tasks import is_overdue
from surveys import survey

SHANGHAI = dt.timezone(dt.timedelta(hours=8))  # China has kept +08:00 all year since 1992

instants = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1),
                        timezones=st.just(dt.UTC))
offsets = st.integers(min_value=-12 * 60, max_value=14 * 60).map(
    lambda m: dt.timezone(dt.timedelta(minutes=m)))


@given(now=instants, zone=offsets, due=st.dates(min_value=dt.date(2000, 1, 1),
                                                max_value=dt.date(2100, 1, 1)))
def test_a_day_is_overdue_by_the_beijing_calendar_whatever_zone_the_clock_is_read_in(now, zone, due):
    """Due on D: not overdue until 00:00 Beijing time on D+1, whichever zone the server's clock
    gives its instant in (handbook 领域规则 §7)."""
    seen = now.astimezone(zone)
    beijing_day = now.astimezone(SHANGHAI).date()
    assert is_overdue(due, None, beijing_day, seen) == (due < beijing_day)


@given(due_at=instants, now=instants, zone=offsets)
def test_an_hour_is_overdue_once_it_has_passed_on_its_beijing_day(due_at, now, zone):
    due_on = due_at.astimezone(SHANGHAI).date()
    on = now.astimezone(SHANGHAI).date()
    overdue = is_overdue(due_on, due_at.astimezone(zone), on, now.astimezone(zone))
    assert overdue == (due_on < on or (due_on == on and now >= due_at))


@st.composite
def county_tables(draw):
    """A township-by-level table with its row sums (在办) and column sums (合计)."""
    towns = draw(st.integers(min_value=2, max_value=6))
    levels = draw(st.integers(min_value=2, max_value=4))
    cells = [[draw(st.integers(min_value=0, max_value=12)) for _ in range(levels)]
             for _ in range(towns)]
    keys = [f"level_{n}" for n in range(levels)]
    rows = [{"township": f"镇{t}", "open_cases": sum(r), **dict(zip(keys, r, strict=True))}
            for t, r in enumerate(cells)]
    rows.append({"township": "合计", "open_cases": sum(sum(r) for r in cells),
                 **{k: sum(r[i] for r in cells) for i, k in enumerate(keys)}})
    return rows, keys


@given(county_tables())
def test_no_hidden_cell_can_be_worked_out_by_subtraction(table):
    """Every sum the table prints (a row's levels = its open cases, a column's townships = its
    total) has no hidden cell, or two or more: one alone would be the sum minus the others."""
    rows, keys = table
    columns = (Column("township", "乡镇"), Column("open_cases", "在办"),
               *(Column(k, k) for k in keys))
    out = suppress_small_cells(Table("t", columns, rows)).rows
    hidden = {(i, k) for i, r in enumerate(out) for k, v in r.items() if v in (f"<{SMALL_CELL}", "*")}
    assert all(isinstance(v, int) or (i, k) in hidden for i, r in enumerate(out)
               for k, v in r.items() if k != "township")
    assert {(i, k) for i, r in enumerate(rows) for k, v in r.items()
            if isinstance(v, int) and 0 < v < SMALL_CELL} <= hidden  # every small count
    sums = [[(i, k) for k in [*keys, "open_cases"]] for i in range(len(rows))]
    sums += [[(i, k) for i in range(len(rows))] for k in [*keys, "open_cases"]]
    for cells in sums:
        assert len(hidden & set(cells)) != 1, (cells, out)


BAD_CELLS = {"child__sex": "未知", "child__birth_date": "2014-13-01",
             "child__citizen_id": "320724201406010029", "residence__township": "花果山镇"}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bad_row=st.integers(min_value=0, max_value=11), bad=st.sampled_from(sorted(BAD_CELLS)))
def test_one_bad_row_anywhere_writes_nothing(session, host, tmp_path, bad_row, bad):
    """Twelve good surveys and one made bad at a random row, in a random way: refused, naming
    that row, and nothing is in the database."""
    form = load_form(host, "screening")
    docs = [survey(child__name=f"测试{n}", child__citizen_id=None,
                   child__birth_date=f"2014-06-{n + 1:02d}") for n in range(12)]
    group, key = bad.split("__")
    docs[bad_row] = {**docs[bad_row], group: {**docs[bad_row][group], key: BAD_CELLS[bad]}}
    path = write_csv(form, docs, tmp_path / f"surveys-{bad_row}-{bad}.csv")
    with pytest.raises(ImportRejected) as err:
        import_screening(session, host, path, actor="t")
    assert {e.row for e in err.value.errors} == {bad_row + 2}
    assert (count(session, Child), count(session, Case), count(session, FollowUp)) == (0, 0, 0)
