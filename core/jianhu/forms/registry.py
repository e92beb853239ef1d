"""Building a form as a township runs it: the base schema plus plugin fields.

:func:`load_form` merges every :class:`~jianhu.extensions.FormExtension` into the base schema
from the ``jianhu_forms`` hook and compiles both validators once per process.
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import referencing
import referencing.jsonschema

from jianhu.errors import JianhuError, PluginError
from jianhu.forms.checks import check_schema
from jianhu.forms.fields import Field, fold, form_fields
from jianhu.forms.validation import explain, fast_validator, reference_validator

if TYPE_CHECKING:
    from jianhu.plugins import Host


@dataclass
class Form:
    """A form ready to use.

    Attributes:
        id: form id, e.g. ``"screening"``.
        version: the base schema's integer version, stored with every record.
        schema: the effective JSON Schema (base plus plugin fields).
        extensions: names of the plugin extensions merged in.
    """

    id: str
    version: int
    schema: dict[str, Any]
    extensions: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        """The form's Chinese title."""
        return str(self.schema.get("title", self.id))

    @cached_property
    def _resolver(self) -> referencing.Resolver:
        resource = referencing.jsonschema.DRAFT202012.create_resource(self.schema)
        return referencing.Registry().with_resource("urn:form", resource).resolver("urn:form")

    def resolve(self, ref: str) -> Mapping[str, Any]:
        """Return the subschema a local ``$ref`` (e.g. ``#/$defs/parent``) points to."""
        return self._resolver.lookup(ref).contents

    def with_codes(self, doc: Any, schema: Mapping[str, Any] | None = None) -> Any:
        """``doc`` with every choice written as its Chinese label (``"入户"``) replaced by its
        code (``"home"``), so people may type what the form shows them; anything else is left
        for validation to judge."""
        schema = self.schema if schema is None else schema
        if "$ref" in schema:
            schema = {**self.resolve(schema["$ref"]), **schema}
        if isinstance(doc, dict):
            props = schema.get("properties", {})
            return {k: self.with_codes(v, props[k]) if k in props else v for k, v in doc.items()}
        if isinstance(doc, list):
            items = schema.get("items")
            return [self.with_codes(v, items) for v in doc] if isinstance(items, Mapping) else doc
        options = [o for o in schema.get("oneOf", ()) if isinstance(o, Mapping) and "const" in o]
        if isinstance(doc, str) and options and doc not in {o["const"] for o in options}:
            by_title = {o.get("title"): o["const"] for o in options}
            return by_title.get(doc.strip(), doc)
        return doc

    @cached_property
    def fields(self) -> list[Field]:
        """Leaf fields in document order (see :mod:`jianhu.forms.fields`)."""
        return form_fields(self.schema, self.resolve)

    @cached_property
    def by_column(self) -> dict[str, Field]:
        """Fields keyed by folded column title (see :func:`~jianhu.forms.fields.fold`)."""
        return {fold(f.column): f for f in self.fields}

    @cached_property
    def by_path(self) -> dict[tuple[str, str], Field]:
        """Fields keyed by ``(group, key)``."""
        return {(f.group, f.key): f for f in self.fields}

    @cached_property
    def fast(self) -> Any:
        """The compiled jsonschema-rs validator."""
        return fast_validator(self.schema)

    @cached_property
    def reference(self) -> Any:
        """The reference jsonschema validator."""
        return reference_validator(self.schema)

    def is_valid(self, doc: Mapping[str, Any]) -> bool:
        """Fast check of a whole document."""
        return bool(self.fast.is_valid(doc))

    def problems(self, doc: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Return ``[(column title, Chinese message), ...]`` for ``doc``; empty when valid.

        The fast validator decides; the reference validator explains (see
        :mod:`jianhu.forms.validation`).
        """
        if self.is_valid(doc):
            return []

        def column_of(path: tuple[str, ...]) -> str:
            f = self.by_path.get(tuple(path[:2]))  # type: ignore[arg-type]
            if f is not None and len(path) <= 2:
                return f.column
            return self.title_at(path)

        found = list(explain(self.reference, doc, column_of, self.schema_at))
        return found or [("", "不符合表单要求")]

    def schema_at(self, path: tuple[str, ...]) -> Mapping[str, Any]:
        """The subschema at a JSON path (``$ref`` and list items followed); ``{}`` if none."""
        node: Mapping[str, Any] = self.schema
        for segment in path:
            if "$ref" in node:
                node = {**self.resolve(node["$ref"]), **node}
            if segment.isdigit() and "items" in node:
                node = node["items"]
            else:
                node = node.get("properties", {}).get(segment, {})
        if "$ref" in node:
            node = {**self.resolve(node["$ref"]), **node}
        return node

    def title_at(self, path: tuple[str, ...]) -> str:
        """A readable Chinese name for a JSON path, e.g. ``("measures", "0", "due")`` →
        ``"措施第1项·完成期限"`` (titles along the path; list positions counted from 1)."""
        node: Mapping[str, Any] = self.schema
        parts: list[str] = []
        for segment in path:
            if "$ref" in node:
                node = {**self.resolve(node["$ref"]), **node}
            if segment.isdigit() and "items" in node:
                node = node["items"]
                parts[-1:] = [f"{parts[-1] if parts else ''}第{int(segment) + 1}项"]
                continue
            node = node.get("properties", {}).get(segment, {})
            parts.append(str(node.get("title", segment)))
        return "·".join(p for p in parts if p)

    def validate(self, doc: Mapping[str, Any]) -> None:
        """Raise :class:`JianhuError` listing every problem of ``doc`` in Chinese, if any."""
        problems = self.problems(doc)
        if problems:
            lines = [f"「{col}」{msg}" if col else msg for col, msg in problems]
            raise JianhuError(f"{self.title}填写有误：\n" + "\n".join(lines))


_cache: weakref.WeakKeyDictionary[Host, dict[tuple, Form]] = weakref.WeakKeyDictionary()


def _owner(host: Host, hook: str, name: str) -> str:
    try:
        return host.owner(hook, name)
    except KeyError:
        return "?"


def load_form(host: Host, form_id: str, township_code: str | None = None) -> Form:
    """Return the effective form ``form_id`` for the plugins loaded in ``host`` (cached): with
    the fields of every plugin, or, for ``township_code``, of the plugins that apply to that
    township (:meth:`jianhu.plugins.Host.applies`).

    Raises:
        JianhuError: no plugin provides the form.
        PluginError: an extension names a group that is not an object, or reuses a field name.
    """
    forms = _cache.setdefault(host, {})
    key = (form_id, township_code, tuple(sorted(host.enablement.items())))
    if key in forms:
        return forms[key]
    spec = host.forms.get(form_id)
    if spec is None:
        raise JianhuError(f"没有名为「{form_id}」的表单；已安装：{'、'.join(sorted(host.forms))}")
    schema = copy.deepcopy(dict(spec.schema))
    check_schema(schema, form_id, _owner(host, "jianhu_forms", form_id))
    names = []
    owners = {id(ext): plugin for plugin, ext in host.form_extension_owners(form_id)}
    for ext in host.form_extensions(form_id, township_code):
        props = schema.setdefault("properties", {})
        group = props.setdefault(
            ext.group,
            {"type": "object", "title": ext.group_title, "additionalProperties": False,
             "properties": {}},
        )
        if group.get("type") != "object" or "$ref" in group:
            raise PluginError(f"扩展「{ext.name}」不能向「{ext.group}」添加字段")
        clash = set(ext.properties) & set(group.setdefault("properties", {}))
        if clash:
            raise PluginError(f"扩展「{ext.name}」的字段与已有字段重名：{'、'.join(sorted(clash))}")
        check_schema({"properties": dict(ext.properties), "required": list(ext.required or [])},
                     form_id, owners.get(id(ext), ext.name or ext.group))
        group["properties"].update(copy.deepcopy(dict(ext.properties)))
        if ext.required:
            group.setdefault("required", []).extend(ext.required)
        names.append(ext.name or ext.group)
    form = Form(form_id, spec.version, schema, tuple(names))
    forms[key] = form
    return form
