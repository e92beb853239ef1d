"""Reading the rows of a spreadsheet or CSV file, streaming.

XLSX/XLSM sheets are read a row at a time straight from the archive (:mod:`jianhu.imports.xlsx`),
in memory that does not grow with the sheet; XLS and ODS go through python-calamine, which reads
a sheet whole (XLS sheets end at 65,536 rows). CSV is read with the standard ``csv`` module after
the encoding is found: a UTF-8 byte-order mark means UTF-8; otherwise charset-normalizer chooses
between UTF-8 and GB18030 (a superset of GBK and GB2312, the encodings Excel uses for Chinese
CSV) from the file's first megabyte.
"""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import charset_normalizer
import python_calamine

from jianhu.errors import JianhuError
from jianhu.imports.xlsx import XlsxBook, XlsxError

SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods"}
#: Longest cell a CSV may have (characters); longer ones are refused with a clear message.
CSV_FIELD_LIMIT = 100_000
csv.field_size_limit(CSV_FIELD_LIMIT)
CSV_SUFFIXES = {".csv", ".txt"}


@dataclass
class TableFile:
    """An opened table: its header and a one-pass iterator over its data rows.

    Attributes:
        header: header cells as text (row 1 of the file).
        rows: yields ``(row_number, cells)``; ``row_number`` is 1-based as a spreadsheet shows it
            (first data row is 2); fully empty rows are skipped.
        encoding: the CSV encoding used (``None`` for spreadsheets).
        count: returns the number of data rows (a workbook's, from its size or by reading it
            once more), or ``None`` when unknown (CSV); see :attr:`total`.
    """

    header: list[str]
    rows: Iterator[tuple[int, list[Any]]]
    encoding: str | None = None
    count: Callable[[], int | None] | None = None

    @cached_property
    def total(self) -> int | None:
        """Number of data rows when a workbook tells it (counted on first use), else ``None``."""
        return self.count() if self.count is not None else None


#: Rows above the header a sheet may have (a title, a unit, a date line) before giving up.
HEADER_SEARCH_ROWS = 10
#: The sheet of a template that explains its columns (:func:`jianhu.workbooks.write_template`):
#: it lists column titles, and is never the data, wherever a person moves it.
NOTES_SHEET = "填表说明"


def open_table(path: str | Path, columns: set[str] | None = None,
               sheet: str | None = None) -> TableFile:
    """Open ``path`` (XLSX, XLSM, XLS, ODS or CSV) and read its header.

    Files are taken as offices keep them (handbook: 入户摸排). With ``columns`` (the column
    titles the form knows) a workbook's data sheet and header row are found: the first visible
    sheet — or ``sheet`` — whose first :data:`HEADER_SEARCH_ROWS` rows hold a row naming at
    least two known columns, title rows above it skipped, and a two-row header of merged group
    cells over field cells (``父亲`` over ``状况``) read as one (``父亲状况``). A CSV separated by
    semicolons or tabs is read with its separator.

    Raises:
        JianhuError: missing file, unknown suffix, unreadable workbook, no such sheet, unknown
            encoding, or no header row.
    """
    path = Path(path)
    if not path.is_file():
        raise JianhuError(f"找不到文件：{path}")
    suffix = path.suffix.lower()
    if suffix in SPREADSHEET_SUFFIXES:
        return _open_workbook(path, columns, sheet)
    if suffix in CSV_SUFFIXES:
        return _open_csv(path)
    raise JianhuError(f"不支持的文件类型「{suffix}」：请用 .xlsx 或 .csv")


#: Limits checked before a zipped workbook (XLSX, XLSM, ODS) is parsed, so a "zip bomb" posing as
#: a spreadsheet is refused instead of filling the server's memory: entries, total uncompressed
#: size of what is read whole (all of an ODS; an XLSX's parts but its sheets, which are streamed),
#: total uncompressed size of everything, and ratio of uncompressed to compressed size (real
#: sheets compress about 10–30 times).
MAX_ENTRIES = 1000
MAX_UNCOMPRESSED = 1024 * 1024 * 1024
MAX_STREAMED = 8 * 1024 * 1024 * 1024
MAX_RATIO = 200


def check_archive(path: Path, streamed: bool = False) -> None:
    """Refuse a zipped workbook beyond :data:`MAX_ENTRIES`, :data:`MAX_UNCOMPRESSED` (what is
    read whole; with ``streamed`` an XLSX's sheets are not, up to :data:`MAX_STREAMED` in all) or
    :data:`MAX_RATIO` (Chinese message); a file that is not a zip is left to the reader.

    Raises:
        JianhuError: the archive is over a limit.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError):
        return
    packed = max(sum(i.compress_size for i in infos), 1)
    unpacked = sum(i.file_size for i in infos)
    whole = sum(i.file_size for i in infos
                if not (streamed and i.filename.startswith("xl/worksheets/")))
    if len(infos) > MAX_ENTRIES or whole > MAX_UNCOMPRESSED or unpacked > MAX_STREAMED \
            or unpacked / packed > MAX_RATIO:
        raise JianhuError(f"{path.name} 解压后过大或结构异常（{len(infos)}个部件，解压后约"
                          f"{unpacked // (1024 * 1024)} MB），不像是正常的调查表，未读取")


def _score(header: list[str], columns: set[str]) -> int:
    from jianhu.forms.fields import fold

    return sum(1 for h in header if h and fold(h) in columns)


def _find_header(cells: list[list[Any]], columns: set[str]) -> tuple[int, list[str]] | None:
    """``(index of the header's last row, header)`` among the first rows, or ``None``."""
    best: tuple[int, int, list[str]] | None = None
    for i, row in enumerate(cells[:HEADER_SEARCH_ROWS]):
        header = [_header_text(c) for c in row]
        candidates = [(i, header)]
        if i + 1 < len(cells):  # a group row (merged: its text in the first cell) over fields
            group, combined = "", []
            below = [_header_text(c) for c in cells[i + 1]]
            below += [""] * (len(header) - len(below))  # a row ends at its last written cell
            for j, field in enumerate(below):
                top = header[j] if j < len(header) else ""
                group = top or group
                combined.append(group + field if field and field != group else (field or top))
            candidates.append((i + 1, combined))
        for end, h in candidates:
            score = _score(h, columns)
            if score >= 2 and (best is None or score > best[0]):
                best = (score, end, h)
        if best is not None and best[0] >= max(2, len([h for h in header if h]) // 2):
            break
    return (best[1], best[2]) if best else None


def _broken(path: Path) -> JianhuError:
    return JianhuError(f"无法读取工作簿 {path.name}：文件已损坏或不是 Excel/WPS 工作簿，"
                       "请用 Excel 或 WPS 打开后另存为 .xlsx 再导入")


class _Sheets:
    """The sheets of a workbook, each as ``(row number, cells)`` rows that have a cell, and its last
    row number: an XLSX/XLSM streamed (:class:`~jianhu.imports.xlsx.XlsxBook`), others read whole
    by python-calamine."""

    def __init__(self, path: Path):
        self.path = path
        self.xlsx: XlsxBook | None = None
        try:
            if path.suffix.lower() in (".xlsx", ".xlsm"):
                self.xlsx = XlsxBook(path)
                self.names = [name for name, _ in self.xlsx.sheets]
                self.visible = [name for name, shown in self.xlsx.sheets if shown] or self.names
            else:
                self.calamine = python_calamine.CalamineWorkbook.from_path(str(path))
                self.names = self.calamine.sheet_names
                self.visible = [m.name for m in self.calamine.sheets_metadata
                                if m.visible == python_calamine.SheetVisibleEnum.Visible] or self.names
        except Exception as exc:  # calamine raises its own error types for broken files
            raise _broken(path) from exc

    def rows(self, name: str) -> tuple[Iterator[tuple[int, list[Any]]], Callable[[], int]]:
        """``(rows, last)``: the sheet's rows and a function giving its last row number."""
        if self.xlsx is not None:
            stream = self.xlsx.rows(name)

            def read() -> Iterator[tuple[int, list[Any]]]:
                try:
                    yield from stream
                except XlsxError as exc:
                    raise _broken(self.path) from exc

            return read(), lambda: stream.last_row or stream.count()
        try:
            sheet = self.calamine.get_sheet_by_name(name)
        except Exception as exc:
            raise _broken(self.path) from exc
        first = (sheet.start or (0, 0))[0] + 1
        numbered = ((i, list(cells)) for i, cells in enumerate(sheet.iter_rows(), start=first)
                    if any(c not in ("", None) for c in cells))
        return numbered, lambda: first + sheet.height - 1


def _open_workbook(path: Path, columns: set[str] | None = None,
                   wanted: str | None = None) -> TableFile:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".ods"):
        check_archive(path, streamed=suffix != ".ods")
    book = _Sheets(path)
    names = book.visible
    if wanted is not None:
        if wanted not in book.names:
            raise JianhuError(f"{path.name} 中没有工作表「{wanted}」；有：{'、'.join(book.names)}")
        names = [wanted]
    elif columns:
        names = [n for n in names if n != NOTES_SHEET] or names
    if columns:
        from jianhu.forms.fields import fold

        columns = {fold(c) for c in columns}
    for name in names if columns else names[:1]:
        rows, last = book.rows(name)
        head = [r for _, r in zip(range(HEADER_SEARCH_ROWS + 1), rows, strict=False)]
        cells = [c for _, c in head]
        found = _find_header(cells, columns) if columns else ((0, [_header_text(c) for c in cells[0]])
                                                               if head else None)
        if found is None:
            continue
        end, header = found
        header_row = head[end][0]

        def data(leftover: list[tuple[int, list[Any]]] = head[end + 1:],
                 rows: Iterator = rows) -> Iterator[tuple[int, list[Any]]]:
            for number, cells in leftover:
                if any(c not in ("", None) for c in cells):
                    yield number, cells
            for number, cells in rows:
                if any(c not in ("", None) for c in cells):
                    yield number, cells

        return TableFile(header, data(),
                         count=lambda last=last, header_row=header_row: max(last() - header_row, 0))
    if columns:
        raise JianhuError(f"{path.name} 的前{HEADER_SEARCH_ROWS}行里找不到表头（工作表："
                          f"{'、'.join(names)}）：请用导入模板的列名，或用 --sheet 指定数据所在的工作表")
    raise JianhuError(f"{path.name} 是空表，没有表头")


#: Bytes of a CSV the encoding is told from (its header and first thousands of rows): a file of
#: a million rows is not read into memory for it. A later row in another encoding is refused
#: when it is read, naming its line.
ENCODING_SAMPLE = 1024 * 1024


def detect_encoding(path: Path) -> str:
    """Return the text encoding of a CSV file: ``utf-8-sig``, ``utf-8`` or ``gb18030``, told from
    its first :data:`ENCODING_SAMPLE` bytes.

    Raises:
        JianhuError: the file is neither UTF-8 nor GB18030/GBK.
    """
    with path.open("rb") as fh:
        sample = fh.read(ENCODING_SAMPLE)
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    cut = len(sample) == ENCODING_SAMPLE  # the sample may end in a character cut in two
    for end in (0, -1, -2, -3) if cut else (0,):
        best = charset_normalizer.from_bytes(sample[:end or None],
                                             cp_isolation=["utf_8", "gb18030"]).best()
        if best is not None:
            break
    if best is None:
        raise JianhuError(f"{path.name} 的编码无法识别：请另存为 UTF-8 或 GBK 编码的 CSV")
    return "utf-8" if best.encoding in ("utf_8", "ascii") else "gb18030"


def _delimiter(path: Path, encoding: str) -> str:
    """The CSV's separator: a comma unless the first line is split by semicolons or tabs."""
    with path.open(encoding=encoding, newline="", errors="replace") as fh:
        first = fh.readline()
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _open_csv(path: Path) -> TableFile:
    encoding = detect_encoding(path)
    fh = path.open(encoding=encoding, newline="")
    reader = csv.reader(fh, delimiter=_delimiter(path, encoding))
    try:
        header = next(reader, None)
    except UnicodeDecodeError:
        fh.close()
        raise JianhuError(f"{path.name} 表头的编码有误：请另存为 UTF-8 或 GBK 编码的 CSV") from None
    except csv.Error as exc:
        fh.close()
        raise JianhuError(f"{path.name} 的表头无法读取（单元格超过{CSV_FIELD_LIMIT}字或引号不成对）："
                          f"{exc}") from None
    if header is None:
        fh.close()
        raise JianhuError(f"{path.name} 是空文件，没有表头")

    def data() -> Iterator[tuple[int, list[Any]]]:
        with fh:
            try:
                for number, cells in enumerate(reader, start=2):
                    if any(c.strip() for c in cells):
                        yield number, cells
            except UnicodeDecodeError:
                raise JianhuError(
                    f"{path.name} 第{reader.line_num}行附近的文字编码有误"
                    f"（按 {encoding} 读取）：请整体另存为 UTF-8 或 GBK"
                ) from None
            except csv.Error as exc:
                raise JianhuError(f"{path.name} 第{reader.line_num}行附近无法读取"
                                  f"（单元格超过{CSV_FIELD_LIMIT}字或引号不成对）：{exc}") from None

    return TableFile([_header_text(c) for c in header], data(), encoding)


def _header_text(cell: Any) -> str:
    return "" if cell is None else str(cell).strip()
