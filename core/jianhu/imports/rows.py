"""Turning spreadsheet rows into form documents, with every problem named by row and column."""

from __future__ import annotations

import sqlite3
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
        facts: see below.
    """

    row: int
    doc: dict[str, Any]
    errors: list[RowError]
    #: What the import works out of a good row alone, where the row is read (in the reading
    #: process when there is one, :mod:`jianhu.imports.ahead`); ``None`` until then.
    facts: Any = None


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
    read = [(i, f, f.parse, f.group, f.key) for i, f in enumerate(fields) if f is not None]
    for number, cells in table.rows:
        doc: dict[str, Any] = {g: {} for g in required_groups}
        errors: list[RowError] = []
        width = len(cells)
        for i, f, parse, group, key in read:
            if i >= width:
                break
            cell = cells[i]
            if cell is None or cell == "":  # empty (Field.parse would say None), the usual cell
                continue
            try:
                value = parse(cell)
            except CellError as exc:
                errors.append(RowError(number, f.column, str(exc)))
                continue
            if value is not None:
                values = doc.get(group)
                if values is None:
                    values = doc[group] = {}
                values[key] = value
        problems = form.problems(doc)
        if problems:
            bad_columns = {e.column for e in errors}
            errors += [RowError(number, col, msg) for col, msg in problems
                       if col not in bad_columns]
        yield ParsedRow(number, doc, errors)


class FirstRows:
    """The first row of a file on which each key (a child's identity) was met, kept in a private
    temporary SQLite database on disk (the standard ``sqlite3`` module, whatever database the
    import writes to), so that memory does not grow with the file. Close it when done."""

    def __init__(self) -> None:
        self._db = sqlite3.connect("", isolation_level=None)  # "": a temporary file, removed on close
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("CREATE TABLE seen (key TEXT PRIMARY KEY, row INTEGER NOT NULL) WITHOUT ROWID")

    def earlier(self, keyed: list[tuple[str, int]]) -> dict[int, int]:
        """For a batch of ``(key, row)`` in file order, ``{row: first row}`` of the rows whose key was
        met on an earlier row (of an earlier batch or of this one); the batch's keys are kept."""
        first: dict[str, int] = {}
        for key, row in keyed:
            first.setdefault(key, row)
        known: dict[str, int] = {}
        keys = list(first)
        for start in range(0, len(keys), 500):
            part = keys[start:start + 500]
            known.update(self._db.execute(
                f"SELECT key, row FROM seen WHERE key IN ({','.join('?' * len(part))})", part))
        self._db.executemany("INSERT INTO seen VALUES (?, ?)",
                             [(k, r) for k, r in first.items() if k not in known])
        out = {}
        for key, row in keyed:
            was = known.get(key, first[key])
            if was != row:
                out[row] = was
        return out

    def close(self) -> None:
        self._db.close()
