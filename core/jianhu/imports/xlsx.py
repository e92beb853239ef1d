"""Reading the rows of an XLSX/XLSM sheet as a stream, in memory that does not grow with the sheet.

python-calamine (used for XLS and ODS, :mod:`jianhu.imports.tables`) reads a whole sheet into
memory before giving its first row (about 4 KB per survey row: 800 MB for 200,000 rows), and
openpyxl's read-only mode, which streams, reads about 500 survey rows a second. So the sheet's
XML is read here straight out of the archive with the standard library's expat parser, a row at
a time, and only the small parts of the workbook are read whole: the workbook (sheet names and
visibility, the 1904 date system), its relationships, the styles (which cells are dates) and
the shared strings. The shared strings are kept as one UTF-8 buffer with an offset per string,
about 8 bytes plus the text per distinct string (files written by Excel keep every distinct text
there; files written in streaming mode, like the templates and samples, keep none).

Cells are given as python-calamine gives them: text as ``str``, numbers as ``float``, booleans as
``bool``, cells with a date format as ``datetime.date`` (``datetime.datetime`` with a time of day,
``datetime.time`` for a time alone), empty and error cells as ``None``; numbers formats are told
apart with openpyxl's own rules (:func:`openpyxl.styles.numbers.is_date_format`). Like the
``defusedxml`` package (used for the small parts), a part declaring a DTD or an entity is refused.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import zipfile
import zlib
from array import array
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import IO, Any
from xml.parsers import expat

from defusedxml import ElementTree as SafeTree
from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

#: Number formats Excel builds in that show dates: ids 14–22 and 45–47, and the East Asian ones
#: (27–36, 50–58: 2016年3月8日 and the like), whose codes depend on the language of Excel.
BUILTIN_DATE_IDS = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])
_REL = "relationships"
_DIGITS = "0123456789"
CHUNK = 1 << 16


class XlsxError(Exception):
    """The file is not a readable XLSX workbook (not a zip, a part missing or malformed)."""


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _attr(el: Any, name: str) -> str | None:
    """An attribute by local name, whatever its namespace (``r:id`` of either OOXML flavour)."""
    for key, value in el.attrib.items():
        if _local(key) == name and (name != "id" or _REL in key):
            return value
    return None


def _refuse_dtd(*_: Any) -> None:
    raise XlsxError("the part declares a DTD or an entity")


def _parser() -> Any:
    """An expat parser that refuses DTDs and entity declarations (as ``defusedxml`` does)."""
    p = expat.ParserCreate()
    p.StartDoctypeDeclHandler = _refuse_dtd
    p.EntityDeclHandler = _refuse_dtd
    p.UnparsedEntityDeclHandler = _refuse_dtd
    p.ExternalEntityRefHandler = _refuse_dtd
    p.buffer_text = True
    p.buffer_size = CHUNK
    return p


class SharedStrings:
    """The workbook's shared strings, compact: one UTF-8 buffer and an offset per string."""

    def __init__(self) -> None:
        self._data = bytearray()
        self._ends = array("Q")

    def append(self, text: str) -> None:
        self._data += text.encode("utf-8")
        self._ends.append(len(self._data))

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, i: int) -> str:
        ends = self._ends
        return self._data[ends[i - 1] if i else 0:ends[i]].decode("utf-8")

    @classmethod
    def read(cls, stream: IO[bytes]) -> SharedStrings:
        """Read ``xl/sharedStrings.xml``: each ``<si>``'s text (its runs joined; phonetic
        ``<rPh>`` readings left out)."""
        out = cls()
        p = _parser()
        parts: list[str] = []
        state = {"in_t": False, "rph": 0}

        def start(name: str, _attrs: Any) -> None:
            local = name.rpartition(":")[2]
            if local == "t":
                state["in_t"] = not state["rph"]
            elif local == "si":
                parts.clear()
            elif local == "rPh":
                state["rph"] += 1

        def end(name: str) -> None:
            local = name.rpartition(":")[2]
            if local == "t":
                state["in_t"] = False
            elif local == "si":
                out.append("".join(parts))
            elif local == "rPh":
                state["rph"] -= 1

        def text(data: str) -> None:
            if state["in_t"]:
                parts.append(data)

        p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = start, end, text
        while chunk := stream.read(CHUNK):
            p.Parse(chunk, False)
        p.Parse(b"", True)
        out._data = bytes(out._data)  # type: ignore[assignment]
        return out


_COLUMNS: dict[str, int] = {}


def column_index(letters: str) -> int:
    """0-based index of a column by its letters (``A`` → 0, ``AB`` → 27)."""
    index = _COLUMNS.get(letters)
    if index is None:
        index = 0
        for ch in letters.upper():
            index = index * 26 + ord(ch) - 64
        index -= 1
        _COLUMNS[letters] = index
    return index


class XlsxBook:
    """An XLSX/XLSM workbook opened for streaming its sheets (see the module).

    Attributes:
        sheets: ``(name, visible)`` of each sheet, in the workbook's order.

    Raises:
        XlsxError: not a zip, or the workbook part is missing or malformed.
    """

    def __init__(self, path: str | Path):
        try:
            self._zip = zipfile.ZipFile(path)
            self._names = set(self._zip.namelist())
            main = self._target("", "_rels/.rels", "officeDocument") or "xl/workbook.xml"
            book = self._xml(main)
        except (zipfile.BadZipFile, OSError, KeyError, SafeTree.ParseError, ValueError,
                XlsxError) as exc:
            raise XlsxError(str(exc)) from exc
        folder = posixpath.dirname(main)
        rels = posixpath.join(folder, "_rels", posixpath.basename(main) + ".rels")
        targets = self._relationships(folder, rels)
        self.date1904 = False
        self.sheets: list[tuple[str, bool]] = []
        self._paths: dict[str, str] = {}
        for el in book.iter():
            local = _local(el.tag)
            if local == "workbookPr":
                self.date1904 = el.get("date1904", "0").lower() in ("1", "true")
            elif local == "sheet":
                name, rid = el.get("name", ""), _attr(el, "id")
                path = targets.get(rid or "", (None, None))
                if path[1] is None or not path[1].endswith("/worksheet"):
                    continue  # a chart sheet or a dialog sheet: no rows
                self.sheets.append((name, el.get("state", "visible") == "visible"))
                self._paths[name] = path[0]
        kinds = {kind.rpartition("/")[2]: target for target, kind in targets.values()}
        self._strings_path = kinds.get("sharedStrings")
        self._strings: SharedStrings | None = None
        self.date_styles = self._date_styles(kinds.get("styles"))

    # ------------------------------------------------------------------ parts
    def _xml(self, part: str) -> Any:
        with self._zip.open(part) as fh:
            return SafeTree.parse(fh).getroot()

    def _relationships(self, folder: str, part: str) -> dict[str, tuple[str, str]]:
        """``{id: (part path, type)}`` of a relationships part (absent: none)."""
        if part not in self._names:
            return {}
        out = {}
        for el in self._xml(part):
            target = el.get("Target", "")
            if el.get("TargetMode") == "External":
                continue
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
                posixpath.join(folder, target))
            out[el.get("Id", "")] = (path, el.get("Type", ""))
        return out

    def _target(self, folder: str, rels: str, kind: str) -> str | None:
        for path, typ in self._relationships(folder, rels).values():
            if typ.endswith("/" + kind):
                return path
        return None

    def _date_styles(self, part: str | None) -> frozenset[int]:
        """Indexes of the cell formats (``s`` of a cell) whose number format shows a date."""
        if part is None or part not in self._names:
            return frozenset()
        try:
            root = self._xml(part)
        except SafeTree.ParseError:
            return frozenset()
        codes: dict[int, str] = {}
        out = set()
        for el in root:
            if _local(el.tag) == "numFmts":
                for fmt in el:
                    codes[int(fmt.get("numFmtId", "0"))] = fmt.get("formatCode", "")
            elif _local(el.tag) == "cellXfs":
                for i, xf in enumerate(el):
                    fid = int(xf.get("numFmtId", "0"))
                    code = codes.get(fid, BUILTIN_FORMATS.get(fid))
                    if (fid in BUILTIN_DATE_IDS and fid not in codes) or is_date_format(code):
                        out.add(i)
        return frozenset(out)

    def strings(self) -> SharedStrings:
        """The shared strings, read on first use."""
        if self._strings is None:
            self._strings = SharedStrings()
            if self._strings_path and self._strings_path in self._names:
                with self._zip.open(self._strings_path) as fh:
                    self._strings = SharedStrings.read(fh)
        return self._strings

    def close(self) -> None:
        self._zip.close()

    # ------------------------------------------------------------------ rows
    def rows(self, name: str) -> SheetRows:
        """The rows of sheet ``name``, streaming (see :class:`SheetRows`)."""
        return SheetRows(self, self._paths[name])


class SheetRows:
    """The rows of one sheet: iterate for ``(row number, cells)``, 1-based as a spreadsheet shows
    it, cells from column A (``None`` where nothing is written); rows with no cell are skipped.

    Attributes:
        last_row: the sheet's last row number as its ``<dimension>`` gives it (known once the first
            row is read), else ``None``.
    """

    def __init__(self, book: XlsxBook, part: str):
        self.book, self.part = book, part
        self.last_row: int | None = None

    def count(self) -> int:
        """The number of the sheet's last row, from a quick pass over its XML (the row tags
        counted, the last one's ``r`` read), for a sheet whose writer gave no ``<dimension>``."""
        rows, tail, tag = 0, b"", b""
        with self.book._zip.open(self.part) as fh:
            while chunk := fh.read(CHUNK * 16):
                data = tail + chunk
                if not tag:
                    root = _ROOT.search(data)
                    tag = b"<" + ((root.group(1) or b"") if root else b"") + b"row"
                new = max(len(tail) - len(tag), 0)  # tags ending in the tail are counted
                rows += data.count(tag + b" ", new) + data.count(tag + b">", new)
                tail = data[-CHUNK:]
        numbers = _ROW_NUMBER.findall(tail)
        return int(numbers[-1]) if numbers else rows

    def __iter__(self) -> Iterator[tuple[int, list[Any]]]:
        book = self.book
        dates = {str(i) for i in book.date_styles}
        epoch = CALENDAR_MAC_1904 if book.date1904 else CALENDAR_WINDOWS_1900
        strings: SharedStrings | None = None
        done: list[tuple[int, list[Any]]] = []
        cells: list[Any] = []
        number = 0  # the row's number
        col, kind, style, text = 0, None, None, None  # the cell being read
        formula: str | None = None  # its formula, kept for a cell saved without its result
        reading = phonetic = in_formula = False  # inside <v> or <t> (not of a phonetic reading), <f>
        C = V = T = F = ROW = RPH = DIM = ""
        p = _parser()

        def root(name: str, _attrs: Any) -> None:
            nonlocal C, V, T, F, ROW, RPH, DIM
            prefix = name[:len(name) - len("worksheet")]  # "x:" when the writer names one
            C, V, T, F, ROW, RPH, DIM = (prefix + t for t in ("c", "v", "t", "f", "row", "rPh",
                                                               "dimension"))
            p.StartElementHandler = start

        def start(name: str, attrs: dict[str, str]) -> None:
            nonlocal col, kind, style, text, reading, number, cells, phonetic, formula, in_formula
            if name == C:
                ref = attrs.get("r")
                col = column_index(ref.rstrip(_DIGITS)) if ref else len(cells)
                kind, style, text, formula = attrs.get("t"), attrs.get("s"), None, None
            elif name == F:
                in_formula, formula = True, ""
            elif name == V:
                reading = True
            elif name == T:
                reading = not phonetic
            elif name == ROW:
                r = attrs.get("r")
                number = int(r) if r else number + 1
                cells = []
            elif name == RPH:
                phonetic = True
            elif name == DIM:
                last = attrs.get("ref", "").rpartition(":")[2].lstrip("$ABCDEFGHIJKLMNOPQRSTUVWXYZ")
                self.last_row = int(last) if last.isdigit() else None

        def end(name: str) -> None:
            nonlocal strings, reading, phonetic, in_formula
            if name == C:
                if text is None and not formula:
                    return
                if text is None:  # a formula saved without its result (not by Excel): read as
                    value: Any = f"={formula}"  # its text, refused like a CSV's formula
                elif kind is None or kind == "n":
                    value = float(text)
                    if style is not None and style in dates:
                        value = _date(value, epoch)
                elif kind == "s":
                    if strings is None:
                        strings = book.strings()
                    value = strings[int(text)]
                elif kind == "inlineStr" or kind == "str":
                    value = text
                elif kind == "b":
                    value = text.strip() in ("1", "true")
                elif kind == "d":
                    value = _iso_date(text)
                else:  # "e": an error (#N/A, #DIV/0!), read as empty
                    return
                n = len(cells)
                if col == n:
                    cells.append(value)
                elif col > n:
                    cells.extend([None] * (col - n))
                    cells.append(value)
                else:
                    cells[col] = value
            elif name == V or name == T:
                reading = False
            elif name == F:
                in_formula = False
            elif name == ROW:
                if cells:
                    done.append((number, cells))
            elif name == RPH:
                phonetic = False

        def chars(data: str) -> None:
            nonlocal text, formula
            if reading:
                text = data if text is None else text + data
            elif in_formula:
                formula = (formula or "") + data

        p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = root, end, chars
        try:
            with book._zip.open(self.part) as fh:
                while chunk := fh.read(CHUNK):
                    p.Parse(chunk, False)
                    if done:
                        yield from done
                        done.clear()
                p.Parse(b"", True)
        except (expat.ExpatError, zipfile.BadZipFile, KeyError, ValueError, IndexError,
                OSError, EOFError, zlib.error) as exc:
            raise XlsxError(f"{self.part}: {exc}") from exc
        yield from done


@lru_cache(maxsize=4096)
def _date(serial: float, epoch: dt.datetime) -> Any:
    """A date cell as python-calamine gives it: a date, a date and time, or a time of day
    (openpyxl's :func:`~openpyxl.utils.datetime.from_excel`; the same days recur in a survey)."""
    value = from_excel(serial, epoch)
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date()
    return value


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}")
_ROOT = re.compile(rb"<(\w+:)?worksheet\b")
_ROW_NUMBER = re.compile(rb"<(?:\w+:)?row\s[^>]*?\br=\"(\d+)\"")


def _iso_date(text: str) -> Any:
    """A cell of type ``d`` (an ISO 8601 date and time, written by some programs)."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return text
    return value.date() if value.time() == dt.time() and _ISO.match(text) else value
