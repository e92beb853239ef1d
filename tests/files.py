"""Writing survey files in the formats people send, for import tests."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from jianhu.workbooks import cell_value, write_rows


def rows_of(form, docs) -> list[list[Any]]:
    """Header plus one row of cells per document, as a person fills the template."""
    out = [[f.column for f in form.fields]]
    for doc in docs:
        out.append([cell_value(f, doc.get(f.group, {}).get(f.key)) for f in form.fields])
    return out


def write_csv(form, docs, path: Path, encoding: str = "utf-8") -> Path:
    """Write documents as CSV in ``encoding`` (``utf-8``, ``utf-8-sig``, ``gbk``...)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    for row in rows_of(form, docs):
        writer.writerow(["" if v is None else v for v in row])
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def write_xlsx(form, docs, path: Path) -> Path:
    """Write documents as a workbook with Chinese labels."""
    write_rows(form, docs, path)
    return path
