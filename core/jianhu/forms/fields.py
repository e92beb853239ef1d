"""A form's leaf fields as spreadsheet columns, and reading one cell into a JSON value.

A form is an object of *groups* (objects), each holding *fields* (leaves). A field's column title
is ``x-column`` when given, else the group's ``x-column-prefix`` (default: the group title)
followed by the field title, e.g. group 父亲 + field 姓名 = column 父亲姓名.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from jianhu import citizen_id
from jianhu.dates import parse_date, written_instant

TRUE_WORDS = {"是", "有", "y", "yes", "true", "1", "√", "对"}
FALSE_WORDS = {"否", "无", "n", "no", "false", "0", "×", "不是", "没有"}
_MULTI_SPLIT = re.compile(r"[、,，;；/|\s]+")
#: What separates the items of a free-text list in one cell: a line break (Alt+Enter in Excel) or a
#: semicolon, as the web form and ODK take one item per line.
_LIST_SPLIT = re.compile(r"[\r\n;；]+")


class CellError(ValueError):
    """A cell cannot be read as its field's type; ``str(err)`` is the Chinese reason."""


@lru_cache(maxsize=65536)  # the same townships, villages and labels on every row of a file
def fold(text: str) -> str:
    """Normalise a header or label for matching: NFKC (full-width to half-width), no spaces."""
    return "".join(unicodedata.normalize("NFKC", text).split())


@dataclass(frozen=True)
class Field:
    """One leaf of a form.

    Attributes:
        group: the top-level property holding it, e.g. ``"father"``.
        key: its property name, e.g. ``"status"``.
        column: the column title in spreadsheets, e.g. ``"父亲状况"``.
        schema: the field's subschema (``$ref`` resolved).
        required: required whenever its group is present (conditional requirements excluded).
    """

    group: str
    key: str
    column: str
    schema: Mapping[str, Any]
    required: bool

    @cached_property
    def kind(self) -> str:
        """The field's kind, see :func:`field_kind`."""
        return field_kind(self.schema)

    @cached_property
    def choices(self) -> list[tuple[Any, str]]:
        """``(value, Chinese label)`` pairs of an enum or multi field (empty for others)."""
        return field_choices(self.schema)

    @cached_property
    def choices_text(self) -> str:
        """The labels of the choices for a person to read: joined by 、, or by ； when a label
        holds a 、 itself (so where one ends stays clear)."""
        labels = [label for _, label in self.choices]
        return ("；" if any("、" in label for label in labels) else "、").join(labels)

    def label(self, value: Any) -> str:
        """Return the Chinese label of a stored value (lists joined with 、)."""
        if isinstance(value, list):
            return "、".join(self.label(v) for v in value)
        for v, label in self.choices:
            if v == value:
                return label
        if isinstance(value, bool):
            return "是" if value else "否"
        return "" if value is None else str(value)

    def parse(self, cell: Any) -> Any:
        """Read a spreadsheet cell into this field's JSON value.

        Args:
            cell: what the reader gave: ``str``, ``int``, ``float``, ``bool``, ``date``,
                ``datetime`` or ``None``.

        Returns:
            the JSON value (dates as ISO strings), or ``None`` for an empty cell.

        Raises:
            CellError: the cell cannot be read as this field's type (Chinese message).
        """
        if cell is None:
            return None
        if isinstance(cell, str):
            if not cell or cell.isspace():
                return None
            if "\x00" in cell:  # PostgreSQL stores no NUL in text
                raise CellError("含有无法识别的字符")
        return self._reader(cell)

    @cached_property
    def _reader(self) -> Any:
        """The reading of a non-empty cell for this field's kind (see :meth:`parse`)."""
        kind = self.kind
        if kind in ("integer", "number"):
            return lambda cell: _number(cell, kind)
        if kind == "string" and self.schema.get("format") == "date-time":
            return _instant
        if kind == "string" and not ({"pattern", "format"} & set(self.schema)):
            return _narrative
        return {"date": _date, "citizen_id": _citizen_id, "enum": self._choice,
                "multi": self._multi, "list": self._list, "boolean": _boolean}.get(kind, _string)

    def _multi(self, cell: Any) -> list[Any]:
        """Choices separated by 、 (or , ; / | spaces). A label that holds a separator itself
        (「多处损伤、严重营养不良、意识不清」) is found whole first, the longest labels first, so
        it is not cut into pieces that are no choice."""
        text = unicodedata.normalize("NFKC", str(cell))
        found: list[tuple[int, Any]] = []
        for value, label in self._split_labels:
            at = text.find(label)
            while at >= 0:
                found.append((at, value))
                text = text[:at] + " " * len(label) + text[at + len(label):]
                at = text.find(label)
        for m in re.finditer(r"[^、,，;；/|\s]+", text):
            found.append((m.start(), self._choice(m.group())))
        return [value for _, value in sorted(found, key=lambda f: f[0])]

    @cached_property
    def _split_labels(self) -> list[tuple[Any, str]]:
        """The choices whose label holds a separator of :meth:`_multi`, longest label first."""
        labels = [(v, unicodedata.normalize("NFKC", label)) for v, label in self.choices]
        return sorted(((v, label) for v, label in labels if _MULTI_SPLIT.search(label)),
                      key=lambda c: -len(c[1]))

    def _list(self, cell: Any) -> list[Any]:
        """A free-text list: one item per line of the cell, or items separated by 「；」."""
        items = self.schema.get("items", {})
        if isinstance(cell, int | float) and not isinstance(cell, bool):
            parts: list[Any] = [cell]
        else:
            parts = [p.strip() for p in _LIST_SPLIT.split(str(cell)) if p.strip()]
        if items.get("type") in ("integer", "number"):
            return [_number(p, str(items["type"])) for p in parts]
        return [_narrative(p) for p in parts]

    @cached_property
    def _by_text(self) -> dict[str, Any]:
        """Folded label or value text → value, for reading choice cells."""
        lookup: dict[str, Any] = {}
        for value, label in self.choices:
            lookup.setdefault(fold(str(value)), value)
            lookup[fold(label)] = value
        return lookup

    def _choice(self, cell: Any) -> Any:
        if isinstance(cell, float) and cell.is_integer():
            cell = int(cell)
        text = cell if isinstance(cell, str) and cell in self._by_text else fold(str(cell))
        try:
            return self._by_text[text]
        except KeyError:
            allowed = self.choices_text
            raise CellError(f"「{cell}」不是可选项，可选：{allowed}") from None


def _date(cell: Any) -> str:
    try:
        return _date_iso(cell) if isinstance(cell, str) else parse_date(cell).isoformat()
    except ValueError as exc:
        raise CellError(str(exc)) from None


@lru_cache(maxsize=16384)  # the same days recur in a survey file
def _date_iso(text: str) -> str:
    return parse_date(text).isoformat()


def _citizen_id(cell: Any) -> str:
    if isinstance(cell, int | float) and not isinstance(cell, bool) and abs(cell) >= 1e15:
        raise CellError("身份证号被存成了数字（Excel 会丢掉末几位）：请把这一列设为文本后重新填写")
    return citizen_id.normalize(cell)


def _instant(cell: Any) -> str:
    """A date and time: a zone-less one is Beijing time (:func:`jianhu.dates.written_instant`)."""
    if isinstance(cell, dt.date) and not isinstance(cell, dt.datetime):
        raise CellError(f"「{cell}」只有日期，请同时填写时间（如 {cell} 09:30）")
    return written_instant(cell if isinstance(cell, dt.datetime) else _string(cell))


def _narrative(cell: Any) -> str:
    """Free text (a name, a note, a summary) as the person typed it: full-width punctuation and
    digits kept, as the web form keeps them; only the spaces around it are taken off."""
    if isinstance(cell, str):
        text = cell.strip()
        if text.startswith("="):
            raise CellError(f"「{text[:20]}」像是 Excel 公式，请填写文字本身")
        return text
    return _string(cell)


def _string(cell: Any) -> str:
    text = _text(cell)
    if text.startswith("="):
        raise CellError(f"「{text[:20]}」像是 Excel 公式，请填写文字本身")
    return text


def _text(cell: Any) -> str:
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    if isinstance(cell, dt.datetime | dt.date):
        return cell.isoformat()
    return unicodedata.normalize("NFKC", str(cell)).strip()


def _boolean(cell: Any) -> bool:
    if isinstance(cell, bool):
        return cell
    text = fold(str(cell)).lower()
    if text.endswith(".0"):
        text = text[:-2]
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise CellError(f"「{cell}」应填「是」或「否」")


def _number(cell: Any, kind: str) -> int | float:
    if isinstance(cell, bool):
        raise CellError(f"「{cell}」不是数字")
    if isinstance(cell, int | float):
        value = cell
    else:
        text = fold(str(cell))
        try:
            value = float(text)
        except ValueError:
            raise CellError(f"「{cell}」不是数字") from None
    if not math.isfinite(value):  # "nan", "inf": no count or measure; JSON has no such number
        raise CellError(f"「{cell}」不是数字")
    if kind == "integer":
        if not float(value).is_integer():
            raise CellError(f"「{cell}」应为整数")
        return int(value)
    return value


def field_choices(schema: Mapping[str, Any]) -> list[tuple[Any, str]]:
    """``(value, Chinese label)`` pairs a field (or the items of an array field) allows, from
    ``oneOf`` of ``const``/``title`` or a plain ``enum``; empty when the field is free."""
    s = schema.get("items", schema) if schema.get("type") == "array" else schema
    if "oneOf" in s:
        return [(o.get("const"), o.get("title", str(o.get("const")))) for o in s["oneOf"]]
    return [(v, str(v)) for v in s.get("enum", [])]


def field_kind(schema: Mapping[str, Any]) -> str:
    """A field's kind: ``"date"``, ``"citizen_id"``, ``"boolean"``, ``"integer"``, ``"number"``,
    ``"enum"``, ``"multi"`` (array of choices), ``"list"`` (array of free values), ``"object"``
    or ``"string"``."""
    if schema.get("type") == "array":
        return "multi" if field_choices(schema) else "list"
    if "oneOf" in schema or "enum" in schema:
        return "enum"
    if schema.get("format") == "date":
        return "date"
    if schema.get("format") == "cn-citizen-id":
        return "citizen_id"
    return str(schema.get("type", "string"))


def form_fields(schema: Mapping[str, Any], resolve: Any) -> list[Field]:
    """List the leaf fields of a two-level form schema in document order.

    Args:
        schema: the form schema (top-level object of group objects).
        resolve: function from a ``$ref`` string to the subschema it names.

    Returns:
        the :class:`Field` list.

    Raises:
        ValueError: two fields share a column title (columns must be unique to import).
    """
    fields: list[Field] = []
    top_required = set(schema.get("required", ()))
    for group, gschema in schema.get("properties", {}).items():
        title = gschema.get("title", group)
        if "$ref" in gschema:
            gschema = {**resolve(gschema["$ref"]), **{k: v for k, v in gschema.items() if k != "$ref"}}
        prefix = gschema.get("x-column-prefix", title)
        required = set(gschema.get("required", ())) if group in top_required else set()
        for key, fschema in gschema.get("properties", {}).items():
            column = fschema.get("x-column", f"{prefix}{fschema.get('title', key)}")
            fields.append(Field(group, key, column, fschema, key in required))
    seen: dict[str, Field] = {}
    for f in fields:
        if fold(f.column) in seen:
            raise ValueError(f"column title {f.column!r} is used twice")
        seen[fold(f.column)] = f
    return fields
