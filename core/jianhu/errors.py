"""Errors a user sees. Messages are in Chinese; the CLI prints them without a traceback."""

from __future__ import annotations

from dataclasses import dataclass


class JianhuError(Exception):
    """A failure the user can act on; ``str(err)`` is a Chinese message for the user."""


@dataclass(frozen=True)
class RowError:
    """One problem in one row of an imported file.

    Attributes:
        row: 1-based row number as the spreadsheet shows it (the header is row 1).
        column: the column's Chinese title as written in the file header (or ``""`` for the row).
        message: what is wrong, in Chinese.
    """

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"第{self.row}行" + (f"「{self.column}」" if self.column else "")
        return f"{where}：{self.message}"


class ImportRejected(JianhuError):
    """An import found bad rows and wrote nothing.

    Attributes:
        errors: every bad row found, in file order (list of :class:`RowError`).
        rows_read: data rows read from the file.
    """

    def __init__(self, errors: list[RowError], rows_read: int):
        self.errors = errors
        self.rows_read = rows_read
        super().__init__(
            f"导入被拒绝：共{rows_read}行，其中{len({e.row for e in errors})}行有错误，未写入任何数据。"
        )


class PluginError(JianhuError):
    """A plugin is broken or two plugins claim the same name."""
