"""Small-cell suppression (:func:`jianhu.reports.suppress_small_cells`) on tables written out
here: which counts are hidden as "<5", which others as "*" so that they cannot be worked out by
subtraction, and what is left alone. No database."""

from jianhu.extensions import Column, Table
from jianhu.reports import suppress_small_cells

NOTE = ("「<5」：人数为1至4人，不予显示；「*」：人数可能为5人或以上，"
        "为防止由合计反推出上述小数字而不予显示。")


def column(rows: list[dict], key: str = "n") -> list:
    cols = tuple(Column(k, k) for k in rows[0])
    return [r.get(key) for r in suppress_small_cells(Table("t", cols, rows)).rows]


def towns(*values: int) -> list[dict]:
    """A county-style table: one row per township, the last the total (合计)."""
    names = ["甲镇", "乙镇", "丙镇", "丁镇", "戊镇"]
    return [{"township": names[i], "n": v} for i, v in enumerate(values[:-1])] + [
        {"township": "合计", "n": values[-1]}]


def test_small_cells_cannot_be_worked_out_by_subtraction():
    cols = (Column("township", "乡镇"), Column("open_cases", "在办"), Column("level_red", "红"),
            Column("level_green", "绿"))
    rows = [{"township": "甲镇", "open_cases": 20, "level_red": 3, "level_green": 17},
            {"township": "乙镇", "open_cases": 30, "level_red": 10, "level_green": 20},
            {"township": "丙镇", "open_cases": 12, "level_red": 6, "level_green": 6},
            {"township": "合计", "open_cases": 62, "level_red": 19, "level_green": 43}]
    table = suppress_small_cells(Table("t", cols, rows))
    out = table.rows
    # 甲镇 red 3 is hidden as <5; its row's other level (17) and the columns' next smallest (丙镇
    # 6 and 6) are hidden too, marked * (they are not small: printing <5 would be false)
    assert out == [
        {"township": "甲镇", "open_cases": 20, "level_red": "<5", "level_green": "*"},
        {"township": "乙镇", "open_cases": 30, "level_red": 10, "level_green": 20},
        {"township": "丙镇", "open_cases": 12, "level_red": "*", "level_green": "*"},
        {"township": "合计", "open_cases": 62, "level_red": 19, "level_green": 43}]
    assert table.notes == ("「<5」：人数为1至4人，不予显示；「*」：人数可能为5人或以上，"
                           "为防止由合计反推出上述小数字而不予显示。",)


def test_village_cells_cannot_be_worked_out_from_the_township_subtotal():
    cols = (Column("township", "乡镇"), Column("village", "村"), Column("due", "到期随访"))
    rows = [{"township": "甲镇", "village": "一村", "due": 3},
            {"township": "甲镇", "village": "二村", "due": 9},
            {"township": "甲镇", "village": "三村", "due": 12},
            {"township": "甲镇", "village": "小计", "due": 24},
            {"township": "乙镇", "village": "四村", "due": 0},
            {"township": "乙镇", "village": "小计", "due": 0},
            {"township": "丙镇", "village": "五村", "due": 2},
            {"township": "丙镇", "village": "小计", "due": 2},
            {"township": "合计", "village": "", "due": 26}]
    out = [r["due"] for r in suppress_small_cells(Table("t", cols, rows)).rows]
    # 一村 3 and 丙镇's 2 (village and subtotal) are small; 二村 9 is hidden so that 一村 cannot be
    # worked out from 甲镇's subtotal, and 甲镇's subtotal so that 丙镇's cannot be from the total
    assert out == ["<5", "*", 12, "*", 0, 0, "<5", "<5", 26]


def test_one_to_four_are_hidden_zero_and_five_are_not():
    cols = (Column("township", "乡镇"), Column("village", "村"), Column("n", "人数"), Column("m", "人数"),
            Column("note", "备注"))
    rows = [{"township": "甲镇", "village": "一村", "n": 0, "m": 5, "note": "x"},
            {"township": "甲镇", "village": "二村", "n": 1, "m": 4, "note": None},
            {"township": "乙镇", "village": "三村", "n": 6, "m": "—"}]
    table = Table("汇总", cols, rows, notes=("统计日期：2026-10-01",))
    out = suppress_small_cells(table)
    # no subtotal and no total: nothing to work a cell out from, only the small ones are hidden
    assert out.rows == [{"township": "甲镇", "village": "一村", "n": 0, "m": 5, "note": "x"},
                        {"township": "甲镇", "village": "二村", "n": "<5", "m": "<5", "note": None},
                        {"township": "乙镇", "village": "三村", "n": 6, "m": "—"}]
    assert (out.title, out.columns, out.notes) == ("汇总", cols, ("统计日期：2026-10-01", NOTE))
    assert rows[1] == {"township": "甲镇", "village": "二村", "n": 1, "m": 4, "note": None}  # not changed


def test_a_table_without_small_cells_is_left_as_it_is():
    table = Table("汇总", (Column("township", "乡镇"), Column("n", "人数")), towns(0, 5, 12, 17),
                  notes=("统计日期：2026-10-01",))
    out = suppress_small_cells(table)
    assert (out.rows, out.notes) == (towns(0, 5, 12, 17), ("统计日期：2026-10-01",))


def test_the_smallest_other_non_zero_cell_is_hidden_with_a_small_one():
    assert column(towns(3, 8, 6, 0, 17)) == ["<5", 8, "*", 0, 17]
    assert column(towns(3, 7, 7, 17)) == ["<5", "*", 7, 17]  # of equal ones, the first
    assert column(towns(3, 0, 0, 3)) == ["<5", 0, 0, "<5"]  # the total is small too: hidden


def test_two_hidden_cells_of_a_sum_need_no_third():
    assert column(towns(2, 3, 10, 15)) == ["<5", "<5", 10, 15]
    assert column(towns(1, 3, 0, 4)) == ["<5", "<5", 0, "<5"]


def test_a_rows_levels_add_up_to_its_open_cases():
    row = {"township": "甲镇", "open_cases": 12, "level_red": 3, "level_orange": 9, "level_none": 0}
    assert suppress_small_cells(Table("t", tuple(Column(k, k) for k in row), [row])).rows == [
        {"township": "甲镇", "open_cases": 12, "level_red": "<5", "level_orange": "*", "level_none": 0}]
    # without the open cases, or without levels, there is no such sum
    levels = {"township": "甲镇", "level_red": 3, "level_orange": 9}
    assert suppress_small_cells(Table("t", tuple(Column(k, k) for k in levels), [levels])).rows == [
        {"township": "甲镇", "level_red": "<5", "level_orange": 9}]
    cats = {"township": "甲镇", "open_cases": 12, "cat_orphan": 3}
    assert suppress_small_cells(Table("t", tuple(Column(k, k) for k in cats), [cats])).rows == [
        {"township": "甲镇", "open_cases": 12, "cat_orphan": "<5"}]


def test_subtotals_without_a_total():
    rows = [{"township": "甲镇", "village": "一村", "n": 3},
            {"township": "甲镇", "village": "二村", "n": 9},
            {"township": "甲镇", "village": None, "n": 6},  # not a village: no part of the sum
            {"township": "甲镇", "village": "", "n": 5},
            {"township": "甲镇", "village": "小计", "n": 12},
            {"township": "乙镇", "village": "三村", "n": 7},
            {"township": "乙镇", "village": "小计", "n": 7}]
    assert column(rows) == ["<5", "*", 6, 5, 12, 7, 7]


def test_a_subtotal_hidden_for_the_total_hides_a_village_in_turn():
    rows = [{"township": "甲镇", "village": "一村", "n": 6},
            {"township": "甲镇", "village": "二村", "n": 9},
            {"township": "甲镇", "village": "小计", "n": 15},
            {"township": "乙镇", "village": "三村", "n": 2},
            {"township": "乙镇", "village": "小计", "n": 2},
            {"township": "合计", "village": "", "n": 17}]
    # 乙镇's 2 is small (village and subtotal); 甲镇's subtotal is hidden so that 乙镇's cannot be
    # worked out from the total; then 一村 so that 甲镇's subtotal cannot be from its villages
    assert column(rows) == ["*", 9, "*", "<5", "<5", 17]
