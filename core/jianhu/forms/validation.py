"""Two validators for one schema, and Chinese messages.

``jsonschema-rs`` checks every document fast (handbook 架构: ~170x ``jsonschema``); only
documents it rejects are explained by ``jsonschema``, the reference implementation, whose errors
are turned into ``(column title, Chinese message)`` pairs. Both validators assert formats
(``date`` and the project's ``cn-citizen-id``); ``tests/test_forms.py`` shows they agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jsonschema
import jsonschema_rs

from jianhu import citizen_id
from jianhu.dates import FIRST_YEAR, LAST_YEAR, form_date, form_instant

TYPE_ZH = {
    "string": "文字",
    "integer": "整数",
    "number": "数字",
    "boolean": "是或否",
    "object": "一组字段",
    "array": "列表",
    "null": "空",
}


def _citizen_id_ok(value: object) -> bool:
    return not isinstance(value, str) or citizen_id.is_valid(value)


def _date_ok(value: object) -> bool:
    return not isinstance(value, str) or form_date(value) is not None


def _instant_ok(value: object) -> bool:
    return not isinstance(value, str) or form_instant(value) is not None


#: The formats both validators assert in the project's own way: the citizen ID's checksum, and
#: dates a person can mean (a real day, years 1900–2200: :func:`jianhu.dates.form_date`).
FORMATS: dict[str, Callable[[object], bool]] = {"cn-citizen-id": _citizen_id_ok, "date": _date_ok,
                                               "date-time": _instant_ok}

_format_checker = jsonschema.FormatChecker()
for _name, _check in FORMATS.items():
    _format_checker.checks(_name)(_check)


def fast_validator(schema: Mapping[str, Any]) -> Any:
    """Compile ``schema`` with jsonschema-rs, asserting formats; use ``.is_valid(doc)``."""
    return jsonschema_rs.validator_for(
        dict(schema), formats=FORMATS, validate_formats=True, ignore_unknown_formats=True
    )


def reference_validator(schema: Mapping[str, Any]) -> jsonschema.protocols.Validator:
    """Build the reference ``jsonschema`` validator for ``schema``, asserting formats.

    Raises:
        jsonschema.SchemaError: the schema itself is not valid draft 2020-12.
    """
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    cls.check_schema(schema)
    return cls(schema, format_checker=_format_checker)


def explain(
    validator: jsonschema.protocols.Validator,
    doc: Mapping[str, Any],
    column_of: Callable[[tuple[str, ...]], str],
    field_schema: Callable[[tuple[str, ...]], Mapping[str, Any]],
) -> Iterator[tuple[str, str]]:
    """Yield ``(column title, Chinese message)`` for each problem in ``doc``.

    Args:
        validator: the reference validator.
        doc: the document that failed the fast pass.
        column_of: maps a JSON path ``(group, key)`` to the column title (``""`` if none).
        field_schema: maps a JSON path to the field's subschema (``{}`` if none).
    """
    seen: set[tuple[str, str]] = set()
    for error in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.path))):
        for path, message in _messages(error, field_schema):
            item = (column_of(path), message)
            if item not in seen:
                seen.add(item)
                yield item


def _messages(
    error: jsonschema.ValidationError,
    field_schema: Callable[[tuple[str, ...]], Mapping[str, Any]],
) -> Iterator[tuple[tuple[str, ...], str]]:
    path = tuple(str(p) for p in error.path)
    kind = error.validator
    value = error.validator_value
    if kind == "required":
        for name in value:
            if isinstance(error.instance, dict) and name not in error.instance:
                yield path + (name,), "必填，不能为空"
        return
    if kind == "allOf":  # conditional requirements report through their own sub-errors
        for sub in error.context or ():
            yield from _messages(sub, field_schema)
        return
    fschema = field_schema(path)
    if "x-error" in fschema and kind in ("pattern", "format"):
        yield path, str(fschema["x-error"])
        return
    if kind == "type":
        yield path, f"应为{TYPE_ZH.get(str(value), str(value))}"
    elif kind == "oneOf" and all("required" in s and "const" not in s for s in value):
        keys = "、".join(k for s in value for k in s["required"])
        yield path, f"须填写且只填写其中一项：{keys}"
    elif kind in ("oneOf", "enum", "const"):
        choices = fschema.get("items", fschema).get("oneOf", [])
        allowed = "、".join(o.get("title", str(o.get("const"))) for o in choices)
        if not allowed and "enum" in fschema:
            allowed = "、".join(map(str, fschema["enum"]))
        yield path, f"不是可选项，可选：{allowed}" if allowed else "不是允许的值"
    elif kind == "format" and value == "date":
        yield path, (f"「{error.instance}」不是有效日期（应为YYYY-MM-DD，"
                     f"{FIRST_YEAR}—{LAST_YEAR}年之间）")
    elif kind == "format" and value == "date-time":
        yield path, f"「{error.instance}」不是带时区的时间（应写成 2026-10-01T09:30:00+08:00）"
    elif kind == "minItems":
        yield path, f"至少填写{value}项"
    elif kind == "format" and value == "cn-citizen-id":
        yield path, citizen_id.problem(str(error.instance)) or "身份证号无效"
    elif kind == "minLength":
        yield path, "不能为空" if value == 1 else f"至少{value}个字"
    elif kind == "maxLength":
        yield path, f"不能超过{value}个字"
    elif kind == "minimum":
        yield path, f"不能小于{value}"
    elif kind == "maximum":
        yield path, f"不能大于{value}"
    elif kind == "pattern":
        yield path, "格式不对"
    elif kind == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        yield path, f"表中没有这些字段：{'、'.join(extra)}"
    elif kind == "uniqueItems":
        yield path, "选项重复"
    else:
        yield path, f"不符合表单要求（{kind}）"
