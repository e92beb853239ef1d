"""Report format ``xinan-monthly-xlsx``: a report as an XLSX laid out like a Chinese government form.

Layout, top to bottom (the usual shape of a 统计报表 sent up to the county):

1. the title, merged across the table, in bold;
2. 填报单位（盖章）： on the left, 统计时段： in the middle, 单位：人 on the right;
3. the header, several rows deep: a column title ``"在办个案｜风险等级｜红"`` puts 在办个案 over
   风险等级 over 红, and equal leading levels of neighbouring columns are merged into one cell
   (:func:`header_grid`); a column with fewer levels is merged down to the bottom header row;
4. the figures, thin borders, the 合计/小计 rows in bold;
5. the notes (说明);
6. the signature and date line: 负责人、填表人、联系电话、填报日期 (left blank to be signed by hand).

Print setup: A4 landscape, fitted to one page wide, header rows repeated on every page,
horizontally centred. Works for any :class:`~jianhu.extensions.Table`; the extra lines of a
:class:`jianhu_xinan.monthly.FormTable` (填报单位, 统计时段, 单位) are printed when present.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from jianhu.extensions import Table
from jianhu_xinan.monthly import SEP

FORMAT_NAME = "xinan-monthly-xlsx"
SHEET_TITLE = "月报表"
BODY_FONT = "宋体"
TITLE_FONT = "黑体"
THIN = Side(style="thin", color="000000")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
#: Rows above the header: title, then the 填报单位 / 统计时段 / 单位 line.
HEADER_TOP = 3
SIGNATURES: tuple[str, ...] = ("负责人：", "填表人：", "联系电话：", "填报日期：      年    月    日")
TOTAL_LABELS = frozenset({"合计", "小计", "总计"})


@dataclass(frozen=True)
class HeaderCell:
    """One cell of the header grid, possibly merged.

    Attributes:
        text: the label.
        row, col: 0-based position of its top-left corner in the header grid.
        rows, cols: how many header rows and columns it spans.
    """

    text: str
    row: int
    col: int
    rows: int
    cols: int


def header_grid(titles: Sequence[str], sep: str = SEP) -> tuple[int, list[HeaderCell]]:
    """Lay out a multi-level header from column titles whose levels are joined by ``sep``.

    Neighbouring columns that share their leading levels share one merged cell for each shared
    level; the last level of a title is its own cell, merged down to the bottom header row.

    Args:
        titles: one title per column, e.g. ``["序号", "在办个案｜合计", "在办个案｜风险等级｜红"]``.
        sep: the level separator.

    Returns:
        ``(depth, cells)``: the number of header rows and the cells in row then column order.

    Example: ``["A", "B｜x", "B｜y"]`` gives depth 2 and cells A (2 rows × 1 col),
    B (1 × 2), x (1 × 1), y (1 × 1).
    """
    paths = [[p.strip() for p in t.split(sep)] for t in titles]
    depth = max((len(p) for p in paths), default=1)
    cells: list[HeaderCell] = []
    for level in range(depth):
        j = 0
        while j < len(paths):
            path = paths[j]
            if len(path) <= level:
                j += 1
                continue
            if len(path) == level + 1:  # the column's own title: down to the bottom row
                cells.append(HeaderCell(path[level], level, j, depth - level, 1))
                j += 1
                continue
            k = j + 1
            while (k < len(paths) and len(paths[k]) > level + 1
                   and paths[k][: level + 1] == path[: level + 1]):
                k += 1
            cells.append(HeaderCell(path[level], level, j, 1, k - j))
            j = k
    cells.sort(key=lambda c: (c.row, c.col))
    return depth, cells


def _merge(ws: Worksheet, row: int, col: int, rows: int, cols: int) -> None:
    """Merge the ``rows`` × ``cols`` block at (``row``, ``col``) when it is more than one cell."""
    if rows > 1 or cols > 1:
        ws.merge_cells(start_row=row, start_column=col, end_row=row + rows - 1,
                       end_column=col + cols - 1)


def _spread(width: int, parts: int) -> list[tuple[int, int]]:
    """Split ``width`` columns into ``parts`` consecutive ``(first column, span)`` blocks (1-based)."""
    out, first = [], 1
    for i in range(parts):
        span = width // parts + (1 if i < width % parts else 0)
        if span:
            out.append((first, span))
        first += span
    return out


def _width(title: str) -> float:
    """Column width for a leaf header text (CJK characters count about two units)."""
    return max(5.0, min(2.0 * len(title) + 1.0, 14.0))


def write_gov_xlsx(table: Table, path: Path) -> None:
    """Write ``table`` to ``path`` as a government-style XLSX (see the module docstring).

    Args:
        table: any :class:`~jianhu.extensions.Table`; titles with :data:`SEP` give header levels.
            A :class:`jianhu_xinan.monthly.FormTable` also gives 填报单位, 统计时段 and 单位.
        path: the ``.xlsx`` file to write (overwritten).

    Raises:
        OSError: the file cannot be written.
    """
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET_TITLE
    titles = [c.title for c in table.columns]
    width = max(len(titles), 1)
    body = Font(name=BODY_FONT, size=10)

    # 1. title
    ws.cell(row=1, column=1, value=table.title).font = Font(name=TITLE_FONT, size=16, bold=True)
    ws.cell(row=1, column=1).alignment = Alignment(horizontal="center", vertical="center")
    _merge(ws, 1, 1, 1, width)
    ws.row_dimensions[1].height = 32

    # 2. reporting unit, period, unit
    unit_name = getattr(table, "reporting_unit", "")
    period = getattr(table, "period", "")
    unit = getattr(table, "unit", "人")
    line = [f"填报单位（盖章）：{unit_name}", f"统计时段：{period}" if period else "",
            f"单位：{unit}"]
    aligns = ("left", "center", "right")
    for (first, span), text, align in zip(_spread(width, 3), line, aligns, strict=False):
        cell = ws.cell(row=2, column=first, value=text or None)
        cell.font = body
        cell.alignment = Alignment(horizontal=align, vertical="center")
        _merge(ws, 2, first, 1, span)
    ws.row_dimensions[2].height = 20

    # 3. header
    depth, cells = header_grid(titles)
    for r in range(HEADER_TOP, HEADER_TOP + depth):
        for c in range(1, width + 1):
            cell = ws.cell(row=r, column=c)
            cell.border = BOX
            cell.font = Font(name=BODY_FONT, size=10, bold=True)
            cell.alignment = CENTER
        ws.row_dimensions[r].height = 30
    for hc in cells:
        ws.cell(row=HEADER_TOP + hc.row, column=hc.col + 1, value=hc.text)
        _merge(ws, HEADER_TOP + hc.row, hc.col + 1, hc.rows, hc.cols)
    first_data = HEADER_TOP + depth

    # 4. figures
    keys = [c.key for c in table.columns]
    r = first_data
    for row in table.rows:
        is_total = any(str(row.get(k, "")) in TOTAL_LABELS for k in keys[:3])
        for c, key in enumerate(keys, start=1):
            value = row.get(key, "")
            cell = ws.cell(row=r, column=c, value=None if value == "" else value)
            cell.border = BOX
            cell.font = Font(name=BODY_FONT, size=10, bold=is_total)
            left = isinstance(value, str) and c > 1 and value not in TOTAL_LABELS
            cell.alignment = Alignment(horizontal="left" if left else "center", vertical="center")
        ws.row_dimensions[r].height = 18
        r += 1

    # 5. notes
    if table.notes:
        r += 1
        for i, note in enumerate(table.notes, start=1):
            text = ("说明：" if i == 1 else "　　　") + f"{i}. {note}"
            cell = ws.cell(row=r, column=1, value=text)
            cell.font = Font(name=BODY_FONT, size=9)
            cell.alignment = Alignment(horizontal="left", vertical="center", wrap_text=True)
            _merge(ws, r, 1, 1, width)
            r += 1

    # 6. signatures and date
    r += 1
    for (first, span), text in zip(_spread(width, len(SIGNATURES)), SIGNATURES, strict=False):
        cell = ws.cell(row=r, column=first, value=text)
        cell.font = body
        cell.alignment = Alignment(horizontal="left", vertical="center")
        _merge(ws, r, first, 1, span)
    ws.row_dimensions[r].height = 24

    # column widths: from the leaf titles; the name column wider
    leaf = {hc.col: hc.text for hc in cells if hc.row + hc.rows == depth and hc.cols == 1}
    for c in range(width):
        w = _width(leaf.get(c, ""))
        if keys[c] in ("village", "township"):
            w = 14.0
        ws.column_dimensions[get_column_letter(c + 1)].width = w

    # print setup: A4 landscape, one page wide, header repeated, centred
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.print_title_rows = f"{HEADER_TOP}:{first_data - 1}"
    ws.print_area = f"A1:{get_column_letter(width)}{r}"
    ws.freeze_panes = ws.cell(row=first_data, column=3 if width >= 3 else 1)
    wb.save(path)
