"""Casework records in a spreadsheet: the layout of a casework template (``jianhu template
visit``) and reading a filled-in one into records for ``jianhu import records``.

A casework template has a first column 个案编号 (the case the record is on) and then its form's
columns. A form holding a list of items — a plan's 措施, a closure's 取消的方案措施 — has the
item's fields as columns too, titled 「列表·栏目」 (``措施·完成期限``), and takes **one row per
item**: the rows of one record share its 个案编号 and its date (a row that leaves the date
blank continues the case's record above it); the record's own columns are filled on its first
row and are left blank, or repeat the same value, on the others. A record
without items (a closure that cancels nothing) is one row with the item columns blank.

A free-text list (a plan's 干预目标) takes one item per line of its cell, or items separated by
「；」 (:meth:`jianhu.forms.fields.Field.parse`). Handbook: 架构 → 一次导入.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jianhu.errors import JianhuError, RowError
from jianhu.forms import Form, load_form
from jianhu.forms.fields import CellError, Field, fold
from jianhu.imports.tables import open_table
from jianhu.plugins import Host

#: The first column of every casework template.
CASE_FIELD = Field("", "case_no", "个案编号", {
    "type": "string", "title": "个案编号", "minLength": 1,
    "description": "记录所属个案的编号，见个案页面或 jianhu cases list",
}, True)
#: The separator of a list's title and an item's field in a column title: 措施·完成期限.
ITEM_SEPARATOR = "·"


@dataclass(frozen=True)
class Items:
    """The list of items a casework form holds, as spreadsheet columns.

    Attributes:
        path: where the list sits in the document: ``("measures",)``, or
            ``("closure", "measures_cancelled")`` inside a group.
        title: its Chinese title (措施).
        fields: one per field of an item; ``group`` is ``""``, ``column`` is 「title·栏目」.
        required: the form needs at least one item.
    """

    path: tuple[str, ...]
    title: str
    fields: list[Field]
    required: bool


@dataclass(frozen=True)
class Layout:
    """The columns of a form's casework template.

    Attributes:
        form: the form.
        record: the form's fields but the list of items.
        items: the list of items, or ``None``.
    """

    form: Form
    record: list[Field]
    items: Items | None

    @property
    def columns(self) -> list[Field]:
        """Every column in template order: 个案编号, the record's fields, the item's fields."""
        return [CASE_FIELD, *self.record, *(self.items.fields if self.items else [])]

    @property
    def date(self) -> Field | None:
        """The record's first date field: with 个案编号 it says which rows are one record."""
        return next((f for f in self.record if f.kind == "date"), None)


def _is_item_list(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "array" and isinstance(schema.get("items"), dict) \
        and schema["items"].get("type") == "object"


def layout(form: Form) -> Layout:
    """The casework template of ``form``.

    Raises:
        JianhuError: the form holds more than one list of items (a spreadsheet row can carry
            only one; such a form is imported from JSON Lines).
    """
    lists: list[tuple[tuple[str, ...], dict[str, Any], bool]] = []
    top_required = set(form.schema.get("required", ()))
    for group, gschema in form.schema.get("properties", {}).items():
        gschema = {**form.resolve(gschema["$ref"]), **gschema} if "$ref" in gschema else gschema
        if _is_item_list(gschema):
            lists.append(((group,), gschema, group in top_required))
            continue
        inner_required = set(gschema.get("required", ())) if group in top_required else set()
        for key, fschema in gschema.get("properties", {}).items():
            if _is_item_list(fschema):
                lists.append(((group, key), fschema, key in inner_required))
    if len(lists) > 1:
        names = "、".join(str(s.get("title", p[-1])) for p, s, _ in lists)
        raise JianhuError(f"「{form.title}」有多个列表（{names}），不能用表格导入：请用 JSON Lines 文件")
    nested = {p for p, _, _ in lists if len(p) == 2}
    record = [f for f in form.fields if (f.group, f.key) not in nested]
    if not lists:
        return Layout(form, record, None)
    path, schema, required = lists[0]
    title = str(schema.get("title", path[-1]))
    item = schema["items"]
    required = required and bool(schema.get("minItems"))
    # an optional list's columns are optional (its items' own fields are checked by the form)
    needed = set(item.get("required", ())) if required else set()
    fields = [Field("", key, f"{title}{ITEM_SEPARATOR}{fs.get('title', key)}", fs, key in needed)
              for key, fs in item.get("properties", {}).items()]
    return Layout(form, record, Items(path, title, fields, required))


@dataclass
class SheetRecord:
    """One record read from a casework sheet.

    Attributes:
        row: the row it starts on.
        case_no: the case it is on.
        payload: the form document.
        item_rows: the row of each of its items, in order.
    """

    row: int
    case_no: str
    payload: dict[str, Any]
    item_rows: list[int] = field(default_factory=list)

    def where(self, column: str) -> tuple[int, str]:
        """The row and column of a problem :meth:`Form.problems` names, e.g. 「措施第2项·完成期限」
        → the second item's row and column 措施·完成期限."""
        m = re.fullmatch(r"(.+?)第(\d+)项·(.+)", column)
        if m and 0 < int(m.group(2)) <= len(self.item_rows):
            title = m.group(1).rpartition("·")[2]  # 结案·取消的方案措施 → 取消的方案措施
            return self.item_rows[int(m.group(2)) - 1], f"{title}{ITEM_SEPARATOR}{m.group(3)}"
        return self.row, column


@dataclass
class CaseworkSheet:
    """A casework sheet opened and read: its form, its records, and the problems of its cells.

    Attributes:
        form: the form its header names.
        rows: data rows read.
        records: the records whose cells all read, in file order.
        errors: the header's and the cells' problems.
    """

    form: Form
    rows: int = 0
    records: list[SheetRecord] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def write_casework_template(form: Form, path: str | Path) -> int:
    """Write the blank casework template of ``form`` (:func:`jianhu.workbooks.write_template` with
    the columns of its :func:`layout`); returns the number of columns.

    Raises:
        JianhuError: the form cannot be laid out in one sheet (:func:`layout`).
    """
    from jianhu.workbooks import write_template

    lay = layout(form)
    note = "请在第一个工作表中从第2行起每行填写一条记录，第一栏填个案编号，不要改动表头。"
    if lay.items is not None:
        note += (f"每项{lay.items.title}占一行：同一份{form.title}的各行填相同的个案编号和"
                 f"{lay.date.column if lay.date else '日期'}，{form.title}本身的栏目填在第一行，"
                 "其余行留空或填相同内容。")
    write_template(form, path, lay.columns, note)
    return len(lay.columns)


def casework_layouts(host: Host, form_ids: list[str]) -> dict[str, Layout]:
    """The layouts of the casework forms ``form_ids`` (those with more than one list left out)."""
    out = {}
    for form_id in form_ids:
        try:
            out[form_id] = layout(load_form(host, form_id))
        except JianhuError:
            continue
    return out


def _choose(header: list[str], layouts: dict[str, Layout], form_id: str | None) -> Layout:
    if form_id is not None:
        if form_id not in layouts:
            raise JianhuError(f"「{form_id}」不是可以用表格导入的个案记录表单；可选："
                              + "、".join(f"{k}（{v.form.title}）" for k, v in layouts.items()))
        return layouts[form_id]
    titles = {fold(t) for t in header if t}
    fits = [lay for lay in layouts.values() if titles <= {fold(f.column) for f in lay.columns}]
    if len(fits) == 1:
        return fits[0]
    if not fits:
        raise JianhuError("表头与任何个案记录模板都对不上：请用 jianhu template FORM 生成的模板，"
                          "或用 --form 指明表单")
    raise JianhuError("表头可能是以下表单之一：" + "、".join(f"{lay.form.id}（{lay.form.title}）"
                                                  for lay in fits) + "；请用 --form 指明表单")


def read_casework_sheet(host: Host, path: str | Path, form_ids: list[str],
                        form_id: str | None = None) -> CaseworkSheet:
    """Read a filled-in casework template (XLSX or CSV).

    Args:
        host: loaded plugins.
        path: the file.
        form_ids: the casework forms a sheet may hold.
        form_id: the form it holds; ``None``: the one form whose template has every column of the
            header.

    Returns:
        a :class:`CaseworkSheet`; its records are not checked against their form yet (the
        import does, record by record).

    Raises:
        JianhuError: the file cannot be read, or which form it holds is not clear.
    """
    layouts = casework_layouts(host, form_ids)
    columns = {f.column for lay in layouts.values() for f in lay.columns}
    table = open_table(path, columns)
    lay = _choose(table.header, layouts, form_id)
    sheet = CaseworkSheet(lay.form)
    by_column = {fold(f.column): f for f in lay.columns}
    fields: list[Field | None] = []
    seen: set[str] = set()
    for title in table.header:
        f = by_column.get(fold(title)) if title else None
        if title and f is None:
            sheet.errors.append(RowError(1, title, f"未知的列：「{lay.form.title}」模板中没有这一列"))
        elif f is not None and f.column in seen:
            sheet.errors.append(RowError(1, title, "这一列重复出现"))
            f = None
        elif f is not None:
            seen.add(f.column)
        fields.append(f)
    needed = [f for f in lay.columns if f.required]
    sheet.errors += [RowError(1, f.column, "缺少必填列") for f in needed if f.column not in seen]
    if sheet.errors:
        return sheet
    item_keys = {id(f) for f in lay.items.fields} if lay.items else set()
    date = lay.date
    # the records of a form with items, gathered by (case, date) in the order first met: a
    # township's casework file is small (a sheet of a month's plans), kept whole in memory
    groups: dict[tuple[str, Any], tuple[SheetRecord, dict, list[dict[str, Any]]]] = {}
    order: list[tuple[str, Any]] = []
    latest: dict[str, Any] = {}  # case → the date of its record on the last row that named one
    single: dict[tuple[str, str], int] = {}  # a one-row record → its row (a row given twice)
    for number, cells in table.rows:
        sheet.rows += 1
        problems: list[RowError] = []
        record: dict[tuple[str, str], Any] = {}
        item: dict[str, Any] = {}
        for f, cell in zip(fields, cells, strict=False):
            if f is None:
                continue
            try:
                value = f.parse(cell)
            except CellError as exc:
                problems.append(RowError(number, f.column, str(exc)))
                continue
            if value is None:
                continue
            if id(f) in item_keys:
                item[f.key] = value
            else:
                record[f.group, f.key] = value
        case_no = str(record.pop(("", "case_no"), "") or "").strip()
        if not case_no and not any(e.column == CASE_FIELD.column for e in problems):
            problems.append(RowError(number, CASE_FIELD.column, "必填：记录所属个案的编号"))
        if problems:
            sheet.errors += problems
            continue
        if lay.items is None:
            key = (case_no, repr(sorted(record.items())))
            if key in single:
                sheet.errors.append(RowError(number, "", f"与第{single[key]}行完全相同：请删去重复的一行"))
            else:
                single[key] = number
                sheet.records.append(SheetRecord(number, case_no, _nest(record)))
            continue
        on = record.get((date.group, date.key)) if date else number
        if on is None and case_no in latest:  # a further item of the case's record above
            on = latest[case_no]
        key = (case_no, on)
        latest[case_no] = on
        if key not in groups:
            groups[key] = (SheetRecord(number, case_no, {}), {}, [])
            order.append(key)
        rec, values, items = groups[key]
        for path, value in record.items():
            if path not in values:
                values[path] = (value, number)
            elif values[path][0] != value:
                problems.append(RowError(number, lay.form.by_path[path].column,
                                         f"与第{values[path][1]}行不同：同一{lay.form.title}的各行，"
                                         "这一栏应相同或留空"))
        if item and item in items:
            problems.append(RowError(number, "", f"与第{rec.item_rows[items.index(item)]}行是同一项"
                                                 f"{lay.items.title}：请删去重复的一行"))
        if problems:
            sheet.errors += problems
        elif item:
            rec.item_rows.append(number)
            items.append(item)
    for key in order:
        rec, values, items = groups[key]
        rec.payload = _nest({path: value for path, (value, _) in values.items()})
        if items:
            _place(rec.payload, lay.items.path, items)
        sheet.records.append(rec)
    return sheet


def _place(doc: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Put ``value`` at ``path`` of ``doc`` (groups created as needed)."""
    for part in path[:-1]:
        doc = doc.setdefault(part, {})
    doc[path[-1]] = value


def _nest(flat: dict[tuple[str, str], Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for (group, key), value in flat.items():
        doc.setdefault(group, {})[key] = value
    return doc
