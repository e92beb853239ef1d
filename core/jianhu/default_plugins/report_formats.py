"""Default report formats: CSV (UTF-8 with BOM, so Excel in Chinese opens it), XLSX and JSON."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from jianhu import hookimpl
from jianhu.extensions import ReportFormat, Table

#: What a spreadsheet may read as the start of a formula (OWASP, "CSV Injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """A cell value that a spreadsheet will not run: text that could start a formula (a village
    named ``-2+3+cmd|' /C calc'!A0``) gets a leading apostrophe; numbers are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_csv(table: Table, path: Path) -> None:
    """Write the header (Chinese titles) and rows as CSV in UTF-8 with a byte-order mark, then,
    after one empty line, the table's notes one per line (the date, and what ``<5`` and ``*``
    mean where cells are suppressed), as a sheet prints them below the figures."""
    with Path(path).open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([safe_cell(c.title) for c in table.columns])
        for row in table.rows:
            writer.writerow([safe_cell(row.get(c.key, "")) for c in table.columns])
        if table.notes:
            writer.writerow([])
            for note in table.notes:
                writer.writerow([safe_cell(note)])


def write_xlsx(table: Table, path: Path) -> None:
    """Write a titled sheet: title row, header row, data rows, notes below."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = table.title[:31]
    width = len(table.columns)
    ws.append([table.title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.append([c.title for c in table.columns])
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")
    for row in table.rows:
        ws.append([safe_cell(row.get(c.key, "")) for c in table.columns])
    ws.append([])
    for note in table.notes:
        ws.append([note])
    for i, col in enumerate(table.columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(8, min(2 * len(col.title) + 2, 24))
    ws.freeze_panes = "C3"
    wb.save(path)


def write_json(table: Table, path: Path) -> None:
    """Write ``{"title", "columns": [{"key", "title"}], "rows": [...], "notes"}`` as UTF-8 JSON."""
    doc = {
        "title": table.title,
        "columns": [{"key": c.key, "title": c.title} for c in table.columns],
        "rows": table.rows,
        "notes": list(table.notes),
    }
    Path(path).write_text(json.dumps(doc, ensure_ascii=False, indent=2, default=str), "utf-8")


@hookimpl
def jianhu_report_formats() -> list[ReportFormat]:
    """Register ``csv``, ``xlsx`` and ``json``."""
    return [
        ReportFormat(name="csv", suffix=".csv", write=write_csv),
        ReportFormat(name="xlsx", suffix=".xlsx", write=write_xlsx),
        ReportFormat(name="json", suffix=".json", write=write_json),
    ]
