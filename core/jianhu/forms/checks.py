"""Checks a form's JSON Schema must pass when it loads, so that a mistake in a plugin's form is
told at once, naming the plugin, form and field, instead of surfacing later as a choice nobody
can record (「方式」不是可选项) or a rule that never applies.

- A choice list (``oneOf``/``anyOf`` of ``const`` + ``title``) repeats no code and no title.
- Every name in ``required`` is one of the object's ``properties``.
- Every ``x-`` keyword is one the system reads (:data:`KEYWORDS`), or a plugin's own, written
  with its own prefix ``x-<plugin>-<name>`` (e.g. ``x-csi-code`` of the CSI plugin); a prefix
  that is a core keyword's (``x-column-…``) is not a plugin's, so ``x-column-prefx`` is refused.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

from jianhu.errors import PluginError

#: The ``x-`` keywords the core reads, and what each means (handbook: 开发者参考 → 表单).
KEYWORDS: dict[str, str] = {
    "x-error": "校验不通过时显示的中文提示",
    "x-column-prefix": "该组字段的表格列名前缀",
    "x-column": "该字段的表格列名",
    "x-domain": "量表条目所属的维度",
    "x-domains": "量表维度的中文名",
    "x-reverse": "反向计分的条目",
    "x-form": "是否作为表单注册（false：只是数据格式，如部署清单）",
}


#: First words of the core's keywords: no plugin prefix may be one of them.
RESERVED = frozenset(k.split("-")[1] for k in KEYWORDS)


def known(key: str) -> bool:
    """Whether ``x-`` keyword ``key`` is the core's or carries a plugin's own prefix."""
    parts = key.split("-")
    return key in KEYWORDS or (len(parts) >= 3 and parts[1] not in RESERVED and all(parts[1:]))


def _walk(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Mapping]]:
    if isinstance(node, Mapping):
        yield path, node
        for key, value in node.items():
            if key == "properties" and isinstance(value, Mapping):
                for name, sub in value.items():
                    yield from _walk(sub, (*path, name))
            elif isinstance(value, Mapping | list):
                yield from _walk(value, path)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item, path)


def check_schema(schema: Mapping[str, Any], form_id: str, plugin: str) -> None:
    """Refuse a form schema with a repeated choice, a ``required`` name that is not a property,
    or an ``x-`` keyword nobody reads.

    Raises:
        PluginError: (Chinese) every problem, each naming the plugin, the form and the field.
    """
    problems = []
    for path, node in _walk(schema):
        where = f"插件「{plugin}」的表单「{form_id}」" + (f"字段「{'.'.join(path)}」" if path else "")
        for key in ("oneOf", "anyOf"):
            options = [o for o in node.get(key, []) if isinstance(o, Mapping) and "const" in o]
            for what, values in (("代码", [o["const"] for o in options]),
                                 ("名称", [o.get("title") for o in options if o.get("title")])):
                for value, n in Counter(map(str, values)).items():
                    if n > 1:
                        problems.append(f"{where}：选项{what}「{value}」重复{n}次")
        props = node.get("properties")
        if isinstance(props, Mapping) and isinstance(node.get("required"), list):
            for name in node["required"]:
                if name not in props:
                    problems.append(f"{where}：必填项「{name}」不是该组的字段")
        for key in node:
            if isinstance(key, str) and key.startswith("x-") and not known(key):
                problems.append(f"{where}：未知的关键字「{key}」（插件自己的关键字请写作 x-插件名-名称）")
    if problems:
        raise PluginError("表单定义有误：\n" + "\n".join(dict.fromkeys(problems)))
