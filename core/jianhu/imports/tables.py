"""Reading the rows of a spreadsheet or CSV file, streaming.

XLSX/XLSM/XLS/ODS go through python-calamine (handbook 架构: ~14x openpyxl). CSV is read with the
standard ``csv`` module after the encoding is found: a UTF-8 byte-order mark means UTF-8; otherwise
charset-normalizer chooses between UTF-8 and GB18030 (a superset of GBK and GB2312, the encodings
Excel uses for Chinese CSV).
"""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import charset_normalizer
import python_calamine

from jianhu.errors import JianhuError

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
        total: number of data rows when known in advance (XLSX), else ``None``.
        encoding: the CSV encoding used (``None`` for spreadsheets).
    """

    header: list[str]
    rows: Iterator[tuple[int, list[Any]]]
    total: int | None
    encoding: str | None = None


#: Rows above the header a sheet may have (a title, a unit, a date line) before giving up.
HEADER_SEARCH_ROWS = 10


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
#: size, and ratio of uncompressed to compressed size (real sheets compress about 10–30 times).
MAX_ENTRIES = 1000
MAX_UNCOMPRESSED = 1024 * 1024 * 1024
MAX_RATIO = 200


def check_archive(path: Path) -> None:
    """Refuse a zipped workbook beyond :data:`MAX_ENTRIES`, :data:`MAX_UNCOMPRESSED` or
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
    if len(infos) > MAX_ENTRIES or unpacked > MAX_UNCOMPRESSED or unpacked / packed > MAX_RATIO:
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


def _open_workbook(path: Path, columns: set[str] | None = None,
                   wanted: str | None = None) -> TableFile:
    if path.suffix.lower() in (".xlsx", ".xlsm", ".ods"):
        check_archive(path)
    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
        names = [m.name for m in workbook.sheets_metadata
                 if m.visible == python_calamine.SheetVisibleEnum.Visible] or workbook.sheet_names
    except Exception as exc:  # calamine raises its own error types for broken files
        raise JianhuError(f"无法读取工作簿 {path.name}：文件已损坏或不是 Excel/WPS 工作簿，"
                          "请用 Excel 或 WPS 打开后另存为 .xlsx 再导入") from exc
    if wanted is not None:
        if wanted not in workbook.sheet_names:
            raise JianhuError(f"{path.name} 中没有工作表「{wanted}」；有：{'、'.join(workbook.sheet_names)}")
        names = [wanted]
    if columns:
        from jianhu.forms.fields import fold

        columns = {fold(c) for c in columns}
    for name in names if columns else names[:1]:
        sheet = workbook.get_sheet_by_name(name)
        rows = iter(sheet.iter_rows())
        head = [list(r) for _, r in zip(range(HEADER_SEARCH_ROWS + 1), rows, strict=False)]
        found = _find_header(head, columns) if columns else ((0, [_header_text(c) for c in head[0]])
                                                              if head else None)
        if found is None:
            continue
        end, header = found
        first_row = (sheet.start or (0, 0))[0] + 1
        leftover = head[end + 1:]

        def data(leftover: list[list[Any]] = leftover, rows: Iterator = rows,
                 start: int = first_row + end + 1) -> Iterator[tuple[int, list[Any]]]:
            for i, cells in enumerate([*leftover], start=start):
                if any(c not in ("", None) for c in cells):
                    yield i, list(cells)
            for i, cells in enumerate(rows, start=start + len(leftover)):
                if any(c not in ("", None) for c in cells):
                    yield i, list(cells)

        return TableFile(header, data(), max(sheet.height - end - 1, 0))
    if columns:
        raise JianhuError(f"{path.name} 的前{HEADER_SEARCH_ROWS}行里找不到表头（工作表："
                          f"{'、'.join(names)}）：请用导入模板的列名，或用 --sheet 指定数据所在的工作表")
    raise JianhuError(f"{path.name} 是空表，没有表头")


def detect_encoding(path: Path) -> str:
    """Return the text encoding of a CSV file: ``utf-8-sig``, ``utf-8`` or ``gb18030``.

    Raises:
        JianhuError: the file is neither UTF-8 nor GB18030/GBK.
    """
    with path.open("rb") as fh:
        head = fh.read(3)
    if head == b"\xef\xbb\xbf":
        return "utf-8-sig"
    best = charset_normalizer.from_path(path, cp_isolation=["utf_8", "gb18030"]).best()
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

    return TableFile([_header_text(c) for c in header], data(), None, encoding)


def _header_text(cell: Any) -> str:
    return "" if cell is None else str(cell).strip()
