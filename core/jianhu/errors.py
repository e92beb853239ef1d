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
        errors: the bad rows found, in file order (list of :class:`RowError`); a large file keeps
            only the problems of its first bad rows (:class:`RowProblems`).
        rows_read: data rows read from the file.
        total: problems found in all (``len(errors)`` unless some were left out).
        bad_rows: rows with a problem.
    """

    def __init__(self, errors: list[RowError], rows_read: int, *, total: int | None = None,
                 bad_rows: int | None = None):
        self.errors = errors
        self.rows_read = rows_read
        self.total = len(errors) if total is None else total
        self.bad_rows = len({e.row for e in errors}) if bad_rows is None else bad_rows
        super().__init__(
            f"导入被拒绝：共{rows_read}行，其中{self.bad_rows}行有错误，未写入任何数据。"
        )


class RowProblems:
    """The problems of an import's rows, kept for the first :attr:`keep` problems in file order
    and counted for the rest, so a large bad file is refused in bounded memory.

    Attributes:
        total: problems found.
        rows: rows with a problem.
    """

    def __init__(self, keep: int = 1000):
        self.keep = keep
        self.total = 0
        self.rows = 0
        self._kept: list[RowError] = []

    def __bool__(self) -> bool:
        return self.total > 0

    def add(self, errors: list[RowError]) -> None:
        """Count ``errors`` (all the problems of the rows they name, which no earlier call named)."""
        if not errors:
            return
        self.total += len(errors)
        self.rows += len({e.row for e in errors})
        self._kept.extend(errors)
        if len(self._kept) > 2 * self.keep:
            self._kept = self.first()

    def first(self) -> list[RowError]:
        """The kept problems, in row order."""
        return sorted(self._kept, key=lambda e: e.row)[:self.keep]

    def rejected(self, rows_read: int) -> ImportRejected:
        """The :class:`ImportRejected` that refuses the file."""
        return ImportRejected(self.first(), rows_read, total=self.total, bad_rows=self.rows)


class PluginError(JianhuError):
    """A plugin is broken or two plugins claim the same name."""
