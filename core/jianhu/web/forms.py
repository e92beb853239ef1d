"""HTML forms from the JSON Schemas, and submitted fields back into a form document.

The form a page shows is the effective form (:func:`jianhu.forms.load_form`: base schema plus
plugin fields), laid out group by group: each leaf field (:class:`jianhu.forms.fields.Field`)
becomes one input named ``group.key`` with its title as label, its ``description`` as help text,
a required mark, a ``<select>`` for choices, check boxes for multiple choices, a text area (one
entry a line) for free-text lists. The plan's list of measures (an array of objects) gets
:data:`MEASURE_ROWS` rows of inputs named ``measures.<i>.<key>``.

Cells are read with the same rules as imports (:meth:`Field.parse`); the document is then checked
by :meth:`jianhu.forms.Form.problems`, and each Chinese message is put beside the input it is
about. No rule of the forms lives here.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jianhu import citizen_id
from jianhu.dates import written_instant
from jianhu.forms import Form
from jianhu.forms.fields import CellError, Field
from jianhu.records import DONE_BY, ENTERED_BY

#: Rows of measures shown on the plan form (a plan with more measures is recorded in two steps
#: or through the API).
MEASURE_ROWS = 3
#: Groups a page does not show: the assessment sheet's ``subject`` finds the child in imports;
#: on a case page the case is known.
HIDDEN_GROUPS: dict[str, frozenset[str]] = {"assessment": frozenset({"subject"})}


@dataclass
class Widget:
    """One input of a form page.

    Attributes:
        name: the input name, ``group.key`` or ``measures.<i>.<key>``.
        field: the form field it fills.
        control: ``"select"``, ``"checkboxes"``, ``"lines"``, ``"textarea"``, ``"date"``,
            ``"datetime"``, ``"number"`` or ``"text"``.
        choices: ``(value as text, Chinese label)`` for selects and check boxes.
        value: the text to show (a list of values for check boxes).
        error: the Chinese problem to show beside it, if any.
    """

    name: str
    field: Field
    control: str
    choices: list[tuple[str, str]] = field(default_factory=list)
    value: Any = ""
    error: str = ""
    #: People proposed for a field naming a person (``(value, label)``, a ``<datalist>``): the
    #: field's team first (:func:`offer_people`).
    suggestions: list[tuple[str, str]] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The field's title."""
        return str(self.field.schema.get("title", self.field.key))

    @property
    def help(self) -> str:
        """The field's description (help text), or ``""``."""
        return str(self.field.schema.get("description", ""))

    @property
    def required(self) -> bool:
        """Whether the field is required when its group is filled in."""
        return self.field.required

    @property
    def value_type(self) -> str:
        """The JSON type of the value (of each value, for check boxes): ``"integer"``,
        ``"number"``, ``"boolean"`` or ``"string"`` (the offline app builds the document with it)."""
        if self.field.kind == "boolean":
            return "boolean"
        if self.field.kind in ("integer", "number"):
            return self.field.kind
        if self.choices and all(isinstance(v, int) and not isinstance(v, bool)
                                for v, _ in self.field.choices):
            return "integer"
        return "string"

    @property
    def constraints(self) -> dict[str, str]:
        """HTML constraint attributes from the field's schema (``pattern``, ``maxlength``,
        ``min``, ``max``): the browser checks them before saving; the server checks again."""
        s, out = self.field.schema, {}
        if "pattern" in s and self.control == "text":
            # browsers compile the attribute with the ``v`` flag: a literal ``-`` at the edge of a
            # character class must be escaped there
            pattern = str(s["pattern"]).removeprefix("^").removesuffix("$")
            out["pattern"] = pattern.replace("-]", "\\-]").replace("[-", "[\\-")
        elif self.field.kind == "citizen_id":
            out["pattern"] = citizen_id.SHAPE
        if "maxLength" in s and self.control in ("text", "textarea"):
            out["maxlength"] = str(s["maxLength"])
        if self.control == "number":
            for key, attr in (("minimum", "min"), ("maximum", "max")):
                if key in s:
                    out[attr] = str(s[key])
        return out

    @property
    def dom_id(self) -> str:
        """An HTML id for the input."""
        return "f-" + self.name.replace(".", "-")


@dataclass
class Section:
    """A group of inputs (a fieldset): a group of the form or one row of measures.

    Attributes:
        title: the legend.
        help: the group's description.
        widgets: its inputs.
    """

    title: str
    help: str
    widgets: list[Widget]


@dataclass
class FormPage:
    """A form ready to render: sections of inputs and the problems not tied to one input.

    Attributes:
        form: the effective form.
        sections: the sections in order.
        errors: Chinese problems of the whole form (shown above it).
    """

    form: Form
    sections: list[Section]
    errors: list[str] = field(default_factory=list)

    @property
    def widgets(self) -> list[Widget]:
        """Every input, in order."""
        return [w for s in self.sections for w in s.widgets]

    @property
    def field_errors(self) -> dict[str, str]:
        """Input name → problem, for the inputs that have one."""
        return {w.name: w.error for w in self.widgets if w.error}


def _control(f: Field) -> str:
    s = f.schema
    if f.kind in ("multi", "list"):
        return "checkboxes" if f.choices else "lines"
    if f.kind in ("enum", "boolean"):
        return "select"
    if f.kind == "date":
        return "date"
    if s.get("format") == "date-time":
        return "datetime"
    if f.kind in ("integer", "number"):
        return "number"
    if int(s.get("maxLength", 0)) > 200:
        return "textarea"
    return "text"


def _choices(f: Field) -> list[tuple[str, str]]:
    if f.kind == "boolean":
        return [("true", "是"), ("false", "否")]
    return [(str(v), label) for v, label in f.choices]


def _shown(value: Any, control: str) -> Any:
    """A stored JSON value as the text an input shows."""
    if value is None:
        return [] if control == "checkboxes" else ""
    if control == "checkboxes":
        return [str(v) for v in value]
    if control == "lines":
        return "\n".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if control == "datetime" and isinstance(value, str):
        return value[:16]
    return str(value)


def _measure_fields(form: Form) -> list[Field]:
    """The fields of one measure (the items of the plan's ``measures`` array)."""
    items = form.schema_at(("measures", "0"))
    required = set(items.get("required", ()))
    return [Field("measures", key, str(s.get("title", key)), s, key in required)
            for key, s in items.get("properties", {}).items()]


def has_measures(form: Form) -> bool:
    """Whether the form has a list of measures (an array of objects named ``measures``)."""
    node = form.schema.get("properties", {}).get("measures", {})
    return node.get("type") == "array" and isinstance(node.get("items"), Mapping)


def build_page(form: Form, doc: Mapping[str, Any] | None = None,
               raw: Mapping[str, Any] | None = None) -> FormPage:
    """Lay out ``form`` for a page.

    Args:
        form: the effective form.
        doc: a document whose values the inputs show (e.g. defaults), or ``None``.
        raw: the submitted texts by input name (shown again after an error), or ``None``.

    Returns:
        a :class:`FormPage` without errors.
    """
    doc = doc or {}
    hidden = HIDDEN_GROUPS.get(form.id, frozenset())
    sections: list[Section] = []
    by_group: dict[str, list[Field]] = {}
    for f in form.fields:
        if f.group not in hidden:
            by_group.setdefault(f.group, []).append(f)
    props = form.schema.get("properties", {})
    for group, fields in by_group.items():
        gschema = form.schema_at((group,))
        widgets = []
        for f in fields:
            control = _control(f)
            name = f"{f.group}.{f.key}"
            value = raw[name] if raw is not None and name in raw else _shown(
                doc.get(group, {}).get(f.key), control)
            widgets.append(Widget(name, f, control, _choices(f), value))
        sections.append(Section(str(props.get(group, {}).get("title", gschema.get("title", group))),
                                str(gschema.get("description", "")), widgets))
    if has_measures(form):
        fields = _measure_fields(form)
        measures = doc.get("measures", [])
        for i in range(MEASURE_ROWS):
            widgets = []
            for f in fields:
                control = _control(f)
                name = f"measures.{i}.{f.key}"
                stored = measures[i].get(f.key) if i < len(measures) else None
                value = raw[name] if raw is not None and name in raw else _shown(stored, control)
                widgets.append(Widget(name, f, control, _choices(f), value))
            title = form.title_at(("measures", str(i)))
            help_ = "至少填写第1项；不用的行留空。" if i == 0 else ""
            sections.append(Section(title, help_, widgets))
    return FormPage(form, sections)


def offer_people(page: FormPage,
                 people: Callable[[str], list[tuple[str, str, str]]]) -> None:
    """Propose people for the inputs naming one: a plan measure's owner (``responsible``, a roster
    code) and an assessor (``assessor``, a name). ``people(key)`` gives ``(code, name, note)``
    with the members of the field's team first (:func:`jianhu.teams.proposals`: the rescue and
    service team for measures, the assessment team for assessors, 新政发〔2016〕8号 四（二）)."""
    from jianhu.teams import PROPOSING_TEAM

    found: dict[str, list[tuple[str, str, str]]] = {}
    for w in page.widgets:
        key = w.field.key
        if key not in PROPOSING_TEAM or w.control != "text":
            continue
        if key not in found:
            found[key] = people(key)
        w.suggestions = [(code, f"{name}（{note}）") if key == "responsible"
                         else (name, f"{code}（{note}）") for code, name, note in found[key]]


def form_defaults(form: Form, today: dt.date, code: str) -> dict[str, dict[str, Any]]:
    """What an empty form to record on a case starts with: its dates today, and the fields naming
    who entered it or did it (登记人, 随访人, 服务人员…; :data:`jianhu.records.ENTERED_BY`,
    :data:`~jianhu.records.DONE_BY`) the signed-in person, who may change them."""
    defaults: dict[str, dict[str, Any]] = {f.group: {} for f in form.fields}
    for f in form.fields:
        if f.kind == "date" and f.key == "date":
            defaults[f.group][f.key] = today.isoformat()
        elif f.key in ENTERED_BY or (f.key in DONE_BY and f.key != "approved_by"):
            defaults[f.group][f.key] = code
    return defaults


def _read(f: Field, control: str, values: Sequence[str]) -> Any:
    """One input's submitted texts as the field's JSON value (``None`` when empty).

    Raises:
        CellError: the text cannot be read as the field's type (Chinese message).
    """
    if control == "checkboxes":
        chosen = [v for v in values if v.strip()]
        return f.parse("、".join(chosen)) if chosen else None
    text = values[-1] if values else ""
    if any("\x00" in v for v in values):
        raise CellError("含有无法识别的字符")
    if control == "lines":
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return lines or None
    text = text.strip()
    if not text:
        return None
    if control == "datetime":
        text = written_instant(text)
    if control in ("text", "textarea", "datetime"):
        return unicodedata.normalize("NFKC", text) if "pattern" in f.schema else text
    return f.parse(text)


def read_submission(form: Form, data: Mapping[str, Sequence[str]]) -> tuple[dict[str, Any],
                                                                           FormPage]:
    """Turn submitted inputs into a form document and check it with the form's schema.

    Groups the form requires are always present (so a missing field is reported beside its
    input); an optional group is present when any of its inputs is filled in. The first row of
    measures is always present, other rows only when filled in.

    Args:
        form: the effective form.
        data: input name → submitted texts (as from a multi-dict's ``getlist``).

    Returns:
        ``(document, page)``: the page shows the submitted texts with every problem in Chinese
        beside its input (or above the form when it concerns no single input); no problem means
        the document passes the form's schema.
    """
    raw: dict[str, Any] = {}
    page = build_page(form)
    required_groups = set(form.schema.get("required", ()))
    doc: dict[str, Any] = {}
    parse_errors: dict[str, str] = {}
    measures: dict[int, dict[str, Any]] = {}
    for w in page.widgets:
        values = list(data.get(w.name, ()))
        raw[w.name] = [v for v in values if v] if w.control == "checkboxes" else (
            values[-1] if values else "")
        try:
            value = _read(w.field, w.control, values)
        except CellError as exc:
            parse_errors[w.name] = str(exc)
            value = None
        parts = w.name.split(".")
        if parts[0] == "measures":
            row = measures.setdefault(int(parts[1]), {})
            if value is not None:
                row[parts[2]] = value
            elif w.name in parse_errors:
                row.setdefault("__touched__", True)
            continue
        group = doc.setdefault(parts[0], {})
        if value is not None:
            group[parts[1]] = value
        elif w.name in parse_errors:
            group.setdefault("__touched__", True)
    for group in list(doc):
        touched = doc[group].pop("__touched__", False)
        if not doc[group] and not touched and group not in required_groups:
            del doc[group]
    if has_measures(form):
        rows = []
        for i in sorted(measures):
            row = measures[i]
            touched = row.pop("__touched__", False)
            if row or touched or i == 0:
                rows.append((i, row))
        doc["measures"] = [row for _, row in rows]
        positions = {n: i for n, (i, _) in enumerate(rows)}
    else:
        positions = {}
    page = build_page(form, raw=raw)
    names = {w.field.column: w.name for w in page.widgets if not w.name.startswith("measures.")}
    for n, i in positions.items():
        for f in _measure_fields(form):
            names[form.title_at(("measures", str(n), f.key))] = f"measures.{i}.{f.key}"
    errors = dict(parse_errors)
    for column, message in form.problems(doc):
        name = names.get(column)
        if name is None:
            page.errors.append(f"「{column}」{message}" if column else message)
        else:
            errors.setdefault(name, message)
    for w in page.widgets:
        w.error = errors.get(w.name, "")
    return doc, page

