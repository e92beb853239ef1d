"""A form as an XLSForm (ODK Collect, KoboCollect), and a submission back into a form document.

The XLSForm is made from the effective form (:func:`jianhu.forms.load_form`, plugin fields
included): one group per top-level group of the schema, one question per field with its Chinese
title as label and its description as hint, the same choices, ``required`` where the schema
requires the field (in an optional group: once anything of the group is filled in), and the
schema's constraints (pattern, length, range, the citizen ID's shape) as ``constraint``. Forms
recorded on a case start with the case number. The same rows are written to an ``.xlsx`` file
(``jianhu forms export``) and converted to an XForm by pyxform for ODK's form list
(:mod:`jianhu.web.openrosa`). A submission's XML is read back field by field with the same table,
and the server checks the document like any other (handbook 开发者 离线采集 §ODK).
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jianhu import citizen_id
from jianhu.errors import JianhuError
from jianhu.forms import Form
from jianhu.forms.fields import Field

#: The question of the case number on forms recorded on a case.
CASE_NO = "case_no"
#: XLSForm question types by field kind (lists of free text are one text a line).
TYPES = {"date": "date", "integer": "integer", "number": "decimal", "citizen_id": "text",
         "list": "text", "text": "text"}
BOOLEAN_LIST = "yes_no"
KIND_WORDS = {"integer": "整数", "number": "数字", "enum": "可选值之一", "boolean": "「是」或「否」"}


def form_id(form: Form) -> str:
    """The XForm id of a form (``jianhu_<form id>``)."""
    return f"jianhu_{form.id}"


def _groups(form: Form) -> Iterator[tuple[str, list[Field]]]:
    groups: dict[str, list[Field]] = {}
    for f in form.fields:
        groups.setdefault(f.group, []).append(f)
    yield from groups.items()


def _type(f: Field) -> str:
    if f.kind == "boolean":
        return f"select_one {BOOLEAN_LIST}"
    if f.kind == "enum":
        return f"select_one {f.group}_{f.key}"
    if f.kind == "multi" and f.choices:
        return f"select_multiple {f.group}_{f.key}"
    if f.schema.get("format") == "date-time":
        return "dateTime"
    return TYPES.get(f.kind, "text")


def _constraint(f: Field) -> tuple[str, str]:
    """``(XPath constraint, Chinese message)`` from the field's schema, or ``("", "")``."""
    s, parts, says = f.schema, [], []
    if "pattern" in s:
        parts.append(f"regex(., '{s['pattern']}')")
        says.append("格式不对")
    elif f.kind == "citizen_id":
        parts.append(f"regex(., '^({citizen_id.SHAPE})$')")
        says.append("应为18位身份证号（末位可为X）")
    if "maxLength" in s:
        parts.append(f"string-length(.) <= {int(s['maxLength'])}")
        says.append(f"最多 {int(s['maxLength'])} 个字")
    if "minimum" in s:
        parts.append(f". >= {s['minimum']}")
        says.append(f"不能小于 {s['minimum']}")
    if "maximum" in s:
        parts.append(f". <= {s['maximum']}")
        says.append(f"不能大于 {s['maximum']}")
    return " and ".join(parts), "；".join(says)


def rows(form: Form, *, on_case: bool) -> dict[str, list[dict[str, str]]]:
    """The XLSForm's sheets (``survey``, ``choices``, ``settings``) as lists of rows."""
    survey: list[dict[str, str]] = []
    choices: list[dict[str, str]] = [
        {"list_name": BOOLEAN_LIST, "name": "true", "label": "是"},
        {"list_name": BOOLEAN_LIST, "name": "false", "label": "否"}]
    if on_case:
        survey.append({"type": "text", "name": CASE_NO, "label": "个案编号", "required": "yes",
                       "hint": "个案页上方的编号，如 320724100-2026-0001"})
    required_groups = set(form.schema.get("required", ()))
    for group, fields in _groups(form):
        title = str(form.schema.get("properties", {}).get(group, {}).get(
            "title", form.schema_at((group,)).get("title", group)))
        survey.append({"type": "begin_group", "name": group, "label": title})
        anything = "string-length(concat(" + ", ".join(f"../{f.key}" for f in fields) + ")) > 0"
        for f in fields:
            row = {"type": _type(f), "name": f.key, "label": str(f.schema.get("title", f.key))}
            if f.schema.get("description"):
                row["hint"] = str(f.schema["description"])
            if f.kind == "list" and not f.choices:
                row["hint"] = (row.get("hint", "") + "（每行一项）").lstrip()
                row["appearance"] = "multiline"
            if f.required:
                row["required"] = "yes" if group in required_groups or len(fields) == 1 \
                    else anything
                row["required_message"] = "必填"
            constraint, message = _constraint(f)
            if constraint:
                row["constraint"], row["constraint_message"] = constraint, message
            survey.append(row)
            if f.kind in ("enum", "multi") and f.choices:
                choices.extend({"list_name": f"{f.group}_{f.key}", "name": str(v), "label": label}
                               for v, label in f.choices)
        survey.append({"type": "end_group", "name": group})
    settings = [{"form_title": form.title, "form_id": form_id(form), "version": str(form.version),
                 "default_language": "zh"}]
    return {"survey": survey, "choices": choices, "settings": settings}


def write(form: Form, out: Path, *, on_case: bool) -> None:
    """Write the form as an XLSForm workbook (``survey``, ``choices``, ``settings`` sheets)."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for sheet, items in rows(form, on_case=on_case).items():
        ws = wb.create_sheet(sheet)
        header = list(dict.fromkeys(k for item in items for k in item))
        ws.append(header)
        for item in items:
            ws.append([item.get(k, "") for k in header])
    wb.save(out)


@functools.lru_cache(maxsize=64)
def _xform(sheets: tuple[tuple[str, tuple[tuple[tuple[str, str], ...], ...]], ...],
           name: str) -> str:
    """pyxform's conversion of the sheets, kept per content (a form changes with its plugins)."""
    from pyxform.xls2xform import convert

    data = {sheet: [dict(r) for r in items] for sheet, items in sheets}
    return convert(xlsform=data, form_name=name).xform


def xform(form: Form, *, on_case: bool) -> tuple[str, str]:
    """The form as XForm XML (pyxform) and its ``md5:`` hash for the form list."""
    sheets = rows(form, on_case=on_case)
    frozen = tuple((sheet, tuple(tuple(sorted(r.items())) for r in items))
                   for sheet, items in sheets.items())
    xml = _xform(frozen, form_id(form))
    return xml, "md5:" + hashlib.md5(xml.encode(), usedforsecurity=False).hexdigest()


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _value(f: Field, text: str) -> Any:
    if f.kind == "boolean":
        if text not in ("true", "false"):
            raise ValueError(text)
        return text == "true"
    if f.kind == "multi" and f.choices:
        kinds = {type(v) for v, _ in f.choices}
        return [int(v) if kinds == {int} else v for v in text.split()]
    if f.kind == "list":
        return [line.strip() for line in text.splitlines() if line.strip()]
    if f.kind == "integer":
        return int(text)
    if f.kind == "number":
        return float(text)
    if f.kind == "enum" and all(isinstance(v, int) for v, _ in f.choices):
        return int(text)
    return text


_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*encoding=[\"']([A-Za-z0-9_.-]+)[\"'][^>]*\?>")


def _utf8(xml: bytes) -> bytes:
    """The submission as UTF-8 (a declared GBK or GB18030 file decoded first: the XML parser
    reads single-byte and UTF encodings only).

    Raises:
        ValueError: an unknown encoding, or bytes not in the declared one.
    """
    match = _DECLARATION.match(xml)
    if match is None or match[1].decode().lower().replace("_", "-") in ("utf-8", "utf8"):
        return xml
    try:
        text = xml[match.end():].decode(match[1].decode())
    except LookupError:
        raise ValueError(match[1]) from None
    return text.encode("utf-8")


def read(forms: dict[str, Form], xml: bytes) -> tuple[Form, str, str | None, dict[str, Any]]:
    """Read a submission: ``(form, instanceID, case number or None, document)``.

    Raises:
        JianhuError: not XML, not one of ``forms``, no instanceID, or a value that is not of its
            field's type (Chinese message; nothing is written).
    """
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    try:
        root = ElementTree.fromstring(_utf8(xml))
    except (ElementTree.ParseError, DefusedXmlException, ValueError):
        raise JianhuError("提交的内容不是有效的 XML") from None
    by_xform = {form_id(f): f for f in forms.values()}
    form = by_xform.get(root.get("id", ""))
    if form is None:
        raise JianhuError(f"没有表单「{root.get('id', '')}」：请在 ODK Collect 中重新获取空白表单")
    children = {_local(c.tag): c for c in root}
    meta = children.get("meta")
    instance = None
    if meta is not None:
        instance = next((c.text for c in meta if _local(c.tag) == "instanceID"), None)
    if not instance:
        raise JianhuError("提交缺少 instanceID")
    case_no = (children[CASE_NO].text or "").strip() or None if CASE_NO in children else None
    doc: dict[str, Any] = {}
    required = set(form.schema.get("required", ()))
    for group, fields in _groups(form):
        node = children.get(group)
        values = {_local(c.tag): (c.text or "").strip() for c in node} if node is not None else {}
        out = {}
        for f in fields:
            text = values.get(f.key, "")
            if not text:
                continue
            try:
                out[f.key] = _value(f, text)
            except ValueError:
                raise JianhuError(f"「{f.column}」的值「{text}」不是{KIND_WORDS.get(f.kind, '有效值')}") \
                    from None
        if out or group in required:
            doc[group] = out
    return form, instance, case_no, doc
