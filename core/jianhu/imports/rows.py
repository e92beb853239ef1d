"""Turning spreadsheet rows into form documents, with every problem named by row and column."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from jianhu.errors import RowError
from jianhu.forms import Form
from jianhu.forms.fields import CellError, Field, fold
from jianhu.imports.tables import TableFile


@dataclass
class ParsedRow:
    """One data row read against a form.

    Attributes:
        row: 1-based spreadsheet row number.
        doc: the nested form document (groups of fields); empty cells are left out.
        errors: every problem found in the row (cell reading and schema validation).
    """

    row: int
    doc: dict[str, Any]
    errors: list[RowError]


def map_header(header: list[str], form: Form) -> tuple[list[Field | None], list[RowError]]:
    """Match header titles to the form's fields (full-width/half-width and spaces ignored).

    Returns:
        ``(fields, errors)``: one field per header cell (``None`` for a blank header), and the
        header's problems as row-1 errors: unknown titles, repeated titles, and required columns
        that are missing.
    """
    fields: list[Field | None] = []
    errors: list[RowError] = []
    seen: set[str] = set()
    for title in header:
        if not title:
            fields.append(None)
            continue
        f = form.by_column.get(fold(title))
        if f is None:
            errors.append(RowError(1, title, "未知的列：模板中没有这一列，请用 jianhu template 生成的模板"))
        elif f.column in seen:
            errors.append(RowError(1, title, "这一列重复出现"))
            f = None
        else:
            seen.add(f.column)
        fields.append(f)
    for f in form.fields:
        if f.required and f.column not in seen:
            errors.append(RowError(1, f.column, "缺少必填列"))
    return fields, errors


def parse_rows(table: TableFile, fields: list[Field | None], form: Form) -> Iterator[ParsedRow]:
    """Read every data row of ``table`` into a document and check it against ``form``.

    Cells are read by field type (:meth:`Field.parse`); a document whose cells all read is then
    validated against the schema, and each problem becomes a :class:`RowError` naming the column.
    """
    required_groups = form.schema.get("required", ())
    for number, cells in table.rows:
        doc: dict[str, Any] = {g: {} for g in required_groups}
        errors: list[RowError] = []
        for f, cell in zip(fields, cells, strict=False):
            if f is None:
                continue
            try:
                value = f.parse(cell)
            except CellError as exc:
                errors.append(RowError(number, f.column, str(exc)))
                continue
            if value is not None:
                doc.setdefault(f.group, {})[f.key] = value
        bad_columns = {e.column for e in errors}
        errors += [
            RowError(number, col, msg)
            for col, msg in form.problems(doc)
            if col not in bad_columns
        ]
        yield ParsedRow(number, doc, errors)
