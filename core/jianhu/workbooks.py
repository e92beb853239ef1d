"""Writing form workbooks: the blank import template and rows of filled-in forms.

Column titles, required marks, allowed values and examples all come from the form's JSON Schema,
so a template always matches what the import accepts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import xlsxwriter
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from jianhu.forms import Form
from jianhu.forms.fields import Field
from jianhu.imports.tables import NOTES_SHEET

KIND_ZH = {
    "date": "日期", "citizen_id": "身份证号", "boolean": "是/否", "integer": "整数",
    "number": "数字", "enum": "单选", "multi": "多选（用顿号分隔）", "string": "文字",
    "list": "多项文字（每项一行，或用；分隔）",
}
REQUIRED_FILL = PatternFill("solid", fgColor="FFF2CC")


def field_help(f: Field) -> dict[str, str]:
    """The notes-sheet line of a field: column, required, type, allowed values, help, example."""
    example = f.schema.get("examples", [""])[0]
    return {
        "column": f.column,
        "required": "必填" if f.required else "选填",
        "type": KIND_ZH.get(f.kind, f.kind),
        "choices": f.choices_text,
        "help": str(f.schema.get("description", "")),
        "example": f.label(example) if f.choices else str(example),
    }


#: What the notes sheet says about rows, unless the template says otherwise.
ONE_CHILD_PER_ROW = "请在第一个工作表中从第2行起每行填写一名儿童，不要改动表头。"


def write_template(form: Form, path: str | Path, columns: list[Field] | None = None,
                   rows_note: str = ONE_CHILD_PER_ROW) -> None:
    """Write the blank import workbook of ``form``.

    Sheet 1 (``form.title``) has only the header row: required columns shaded, each header with a
    comment explaining it, drop-down lists on single-choice columns. Sheet 2 (填表说明) lists every
    column with required/optional, type, allowed values, help text and an example value.

    Args:
        form: the form.
        path: the ``.xlsx`` to write.
        columns: the columns (default: the form's fields; a casework template puts 个案编号 first,
            :mod:`jianhu.imports.casework_sheets`).
        rows_note: the notes sheet's last line, on what one row holds.
    """
    wb = Workbook()
    ws = wb.active
    ws.title = form.title[:31]
    columns = form.fields if columns is None else columns
    helps = [field_help(f) for f in columns]
    ws.append([h["column"] for h in helps])
    for i, (f, h) in enumerate(zip(columns, helps, strict=True), start=1):
        cell = ws.cell(row=1, column=i)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        if f.required:
            cell.fill = REQUIRED_FILL
        text = "；".join(x for x in (h["required"], h["type"], h["choices"], h["help"]) if x)
        cell.comment = Comment(text, "jianhu")
        letter = get_column_letter(i)
        ws.column_dimensions[letter].width = max(10, min(2 * len(f.column) + 2, 30))
        if f.kind == "enum" or f.kind == "boolean":
            labels = [label for _, label in f.choices] if f.kind == "enum" else ["是", "否"]
            formula = '"' + ",".join(labels) + '"'
            if len(formula) <= 255:
                dv = DataValidation(type="list", formula1=formula, allow_blank=True)
                dv.add(f"{letter}2:{letter}10000")
                ws.add_data_validation(dv)
    ws.freeze_panes = "A2"
    notes = wb.create_sheet(NOTES_SHEET)
    notes.append(["列名", "是否必填", "类型", "可选值", "说明", "示例"])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for h in helps:
        notes.append([h["column"], h["required"], h["type"], h["choices"], h["help"], h["example"]])
    for letter, width in zip("ABCDEF", (22, 8, 16, 40, 60, 20), strict=True):
        notes.column_dimensions[letter].width = width
    notes.append([])
    notes.append([f"表单：{form.title}（{form.id}，第{form.version}版）。{rows_note}"])
    wb.save(path)


def cell_value(f: Field, value: Any) -> Any:
    """The cell a person would write for a stored value: labels for choices, 是/否 for booleans."""
    if value is None:
        return None
    if f.choices or isinstance(value, bool):
        return f.label(value)
    return value


def write_rows(form: Form, docs: Iterable[Mapping[str, Any]], path: str | Path,
               cell: Any = cell_value) -> int:
    """Write filled-in forms as a workbook one row per document, streaming (XlsxWriter's
    ``constant_memory`` mode: each row is written out as it comes, and several times faster than
    openpyxl's write-only mode, which matters for the demo's 100,000 surveys).

    Cells are written as their Python type (text as text, never as a formula or a link; dates
    as dates in ``yyyy-mm-dd``).

    Args:
        form: the form (its fields give the columns).
        docs: nested form documents.
        path: the ``.xlsx`` to write.
        cell: ``cell(field, value) -> cell value``; the default writes labels.

    Returns:
        the number of rows written.
    """
    wb = xlsxwriter.Workbook(str(path), {
        "constant_memory": True, "default_date_format": "yyyy-mm-dd",
        "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False})
    ws = wb.add_worksheet(form.title[:31])
    fields = form.fields
    ws.write_row(0, 0, [f.column for f in fields])
    n = 0
    for doc in docs:
        n += 1
        ws.write_row(n, 0, [cell(f, doc.get(f.group, {}).get(f.key)) for f in fields])
    wb.close()
    return n
