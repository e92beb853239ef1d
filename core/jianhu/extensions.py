"""The small named records that plugins return from registration hooks.

Each record has a ``name`` (or ``id``/``code``); the plugin host rejects two records of one kind with
the same name and names both plugins (see :mod:`jianhu.plugins`). Records are frozen dataclasses so a
plugin cannot change another plugin's record after registration.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jianhu.levels import LEVEL_LABELS, LEVEL_RANK, LEVELS, level_label  # noqa: F401  (the records' levels)


@dataclass(frozen=True)
class FormSpec:
    """A form: one JSON Schema (draft 2020-12) document.

    Attributes:
        id: short form id used in commands and stored beside each record, e.g. ``"screening"``.
        schema: the JSON Schema as a dict. Its ``title`` is the Chinese form title and its
            ``version`` (an integer) is stored with every record made with it.
    """

    id: str
    schema: Mapping[str, Any]

    @property
    def name(self) -> str:
        """The form id (records are de-duplicated by ``name``)."""
        return self.id

    @property
    def version(self) -> int:
        """The schema's integer ``version`` keyword (1 when absent)."""
        return int(self.schema.get("version", 1))

    @property
    def title(self) -> str:
        """The form's Chinese title."""
        return str(self.schema.get("title", self.id))

    @classmethod
    def from_file(cls, form_id: str, path: Path | Any) -> FormSpec:
        """Load a form from a ``*.schema.json`` file (a path or an importlib.resources Traversable).

        Raises:
            ValueError: the file is not valid JSON.
        """
        import json

        return cls(id=form_id, schema=json.loads(path.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class FormExtension:
    """Extra fields a plugin adds to a form.

    The fields go into a top-level object property ``group`` of the form (created when absent,
    with title ``group_title``). Field titles become spreadsheet column titles, so they must be
    unique in the form.

    Attributes:
        form_id: the form extended, e.g. ``"screening"``.
        group: the top-level property holding the fields, e.g. ``"local"``.
        group_title: its Chinese title, e.g. ``"本地字段"``; also the column title prefix.
        properties: JSON Schema properties to add, ``{name: subschema}``.
        required: names among ``properties`` that must be filled in.
        name: a unique name for this extension, e.g. ``"xinan-local-fields"``.
    """

    form_id: str
    group: str
    group_title: str
    properties: Mapping[str, Any]
    required: Sequence[str] = ()
    name: str = ""


@dataclass(frozen=True)
class FormMigration:
    """A declared change of a form's fields, applied to the stored records by
    ``jianhu db upgrade`` (see :mod:`jianhu.forms.migrations`).

    Paths are dotted (``"group.field"``). A rename moves the old value to the new path when the
    record has the old one and not the new; a removal drops the path. Applying a migration twice
    changes nothing, so it may stay declared for good.

    Attributes:
        form_id: the form whose records change, e.g. ``"screening"``.
        name: a unique name, e.g. ``"xinan-local-school-2"``.
        renames: ``{old path: new path}``.
        removes: paths no longer in the form (their values are dropped, and kept in the audit).
        version: the form version the changed records are stamped with (``None``: the form's
            current version).
    """

    form_id: str
    name: str
    renames: Mapping[str, str] = field(default_factory=dict)
    removes: Sequence[str] = ()
    version: int | None = None


@dataclass(frozen=True)
class ScaleItem:
    """One item of an assessment instrument.

    Attributes:
        id: item key in the answer sheet, e.g. ``"care_meals"``.
        title: the question in Chinese.
        domain: the domain key the item scores into (``"emergency"`` for emergency-screen items).
        choices: allowed answers as ``(value, Chinese label)`` pairs.
    """

    id: str
    title: str
    domain: str
    choices: tuple[tuple[Any, str], ...]


@dataclass(frozen=True)
class ScaleResult:
    """What a scale makes of one answer sheet.

    Attributes:
        scores: score per domain or subscale, ``{domain: number}``.
        total: the total score, or ``None`` when the instrument has none.
        level: a risk level code from :data:`LEVELS`, or ``None`` when the scale does not grade.
        emergency: ids of emergency-screen items answered yes (empty when none).
        bands: optional named bands per score, ``{score_name: band_label}``.
    """

    scores: Mapping[str, float]
    total: float | None
    level: str | None
    emergency: tuple[str, ...] = ()
    bands: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Scale:
    """An assessment instrument a plugin adds.

    Attributes:
        name: unique instrument name, e.g. ``"jianhu-default"``.
        version: version of the instrument's scoring rules, stored with each assessment.
        title: Chinese title.
        form_id: the form (JSON Schema) its answer sheet uses.
        items: the items in answer-sheet order.
        score: function from the answer mapping ``{item_id: value}`` to a :class:`ScaleResult`.
        sets_level: whether the scale may set a case's risk level. Needs-profile instruments such
            as the CSI must be registered with ``False``.
        source: where the items and thresholds come from (manual, standard or "project default").
        thresholds: the level thresholds as data, for the handbook, e.g.
            ``[{"level": "red", "min_total": 30}, ...]``.
    """

    name: str
    version: str
    title: str
    form_id: str
    items: tuple[ScaleItem, ...]
    score: Callable[[Mapping[str, Any]], ScaleResult]
    sets_level: bool
    source: str
    thresholds: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class LevelPolicy:
    """What a risk level means for follow-up.

    Attributes:
        level: a code of :data:`LEVELS`.
        visit_days: days between follow-up visits (the first is due this many days after the
            assessment date).
        reassess_days: days from an assessment to the next re-assessment.
    """

    level: str
    visit_days: int
    reassess_days: int


@dataclass(frozen=True)
class FollowupPolicy:
    """A township's grading and follow-up policy.

    Attributes:
        name: policy name, e.g. ``"jianhu-default"``.
        levels: one :class:`LevelPolicy` per level of :data:`LEVELS`.
        mandatory_report_hours: hours after which an open mandatory report is overdue.
        source: where the figures come from.
        return_visit_months: months between return visits after closure.
        return_visit_count: return visits scheduled at closure.
        warning_letter_visit_days: days after a police warning letter on which follow-up
            visits by the village committee and police station fall due.
        guardianship_review_days: days after temporary guardianship by civil affairs on which the
            assessment before returning the child falls due.
        worse_visit_reassess_days: days after a visit that finds things worse on which a
            re-assessment falls due (when the scheduled one is later).
        first_assessment_days: days from the survey date to the first assessment of a case
            opened at screening.
        first_assessment_days_poor: the same when the survey rates guardianship poor (差).
        emergency_response_hours: hours after the survey within which a child the survey shows
            in a situation of 未保法 Art 92 must be seen to (应急处置).
        incident_reassess_days: days after a harm report within which the case is re-assessed.
    """

    name: str
    levels: tuple[LevelPolicy, ...]
    mandatory_report_hours: int
    source: str
    return_visit_months: int = 6
    return_visit_count: int = 4
    warning_letter_visit_days: tuple[int, ...] = (7, 30)
    guardianship_review_days: int = 30
    worse_visit_reassess_days: int = 7
    first_assessment_days: int = 15
    first_assessment_days_poor: int = 3
    emergency_response_hours: int = 24
    incident_reassess_days: int = 7

    def for_level(self, level: str) -> LevelPolicy:
        """Return the :class:`LevelPolicy` of ``level``.

        Raises:
            KeyError: the policy has no entry for ``level``.
        """
        for lp in self.levels:
            if lp.level == level:
                return lp
        raise KeyError(level)


@dataclass(frozen=True)
class TargetCategory:
    """A target-group category a child can have (several at once).

    Attributes:
        code: stable code used in data, e.g. ``"left_behind"``.
        label: Chinese label, e.g. ``"农村留守儿童"``.
        rule: the rule in words (Chinese), for the handbook.
        source: the document and article the rule comes from.
        applies: ``applies(survey, on)`` takes the screening payload (nested dict as validated by
            ``screening.schema.json``) and the survey date, and says whether the child is in the
            category.
        order: sort position in reports (lower first).
    """

    code: str
    label: str
    rule: str
    source: str
    applies: Callable[[Mapping[str, Any], dt.date], bool]
    order: int = 100

    @property
    def name(self) -> str:
        """The category code (records are de-duplicated by ``name``)."""
        return self.code


@dataclass(frozen=True)
class Area:
    """An administrative area known to the workspace (GB/T 2260 + statistical division codes).

    Attributes:
        code: 12-digit statistical code (6-digit county + 3-digit township + 3-digit village).
        name: Chinese name.
        level: ``"county"``, ``"town"``, ``"township"`` or ``"subdistrict"``.
    """

    code: str
    name: str
    level: str

    @property
    def short_code(self) -> str:
        """The 9-digit township code (county + township), used in case numbers."""
        return self.code[:9]


@dataclass(frozen=True)
class Column:
    """One column of a report table: ``key`` in row dicts, Chinese ``title`` for headers."""

    key: str
    title: str


@dataclass(frozen=True)
class Table:
    """A report's content, independent of file format.

    Attributes:
        title: Chinese title of the report.
        columns: the columns in order.
        rows: one dict per row keyed by :attr:`Column.key`.
        notes: lines printed under the table (date of the figures, rules applied).
    """

    title: str
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportFormat:
    """A file format reports can be written in.

    Attributes:
        name: format name used with ``--format``, e.g. ``"csv"``.
        suffix: file suffix, e.g. ``".csv"``.
        write: ``write(table, path)`` writes the :class:`Table` to ``path``.
    """

    name: str
    suffix: str
    write: Callable[[Table, Path], None]


@dataclass(frozen=True)
class Report:
    """A report a plugin offers.

    Attributes:
        name: report name used on the command line, e.g. ``"summary"``.
        title: Chinese title.
        build: ``build(session, host, on)`` returns a :class:`Table` of figures as of local date
            ``on`` (Asia/Shanghai).
        identified: the table names children (a roster, a register): only roles that may export
            identified data build it, each build is audited as an ``export``, and its cells are
            never suppressed (see :func:`jianhu.reports.build`, the one place of these rules).
        small_cells: for a table of counts, when small cells are suppressed
            (:func:`jianhu.reports.suppress_small_cells`): ``"readers"`` (default) for roles that
            may not open cases, ``"always"`` (a county roll-up), ``"never"`` (the figures do not
            count children, e.g. a work ledger's records per person).
    """

    name: str
    title: str
    build: Callable[..., Table]
    identified: bool = False
    small_cells: str = "readers"


@dataclass(frozen=True)
class SettingsSchema:
    """The settings a plugin accepts.

    Attributes:
        plugin: the plugin's registration name (entry point name), e.g. ``"webhook"``.
        schema: a JSON Schema (draft 2020-12) object with Chinese ``title`` on each property.
    """

    plugin: str
    schema: Mapping[str, Any]

    @property
    def name(self) -> str:
        """The plugin name (records are de-duplicated by ``name``)."""
        return self.plugin


@dataclass(frozen=True)
class CaseEvent:
    """Something that happened to a case, for partner integrations.

    Attributes:
        kind: ``"case_opened"``, ``"level_changed"`` (more kinds come with the lifecycle).
        case_id: the case's UUID as a string.
        case_no: the human case number.
        township_code: 12-digit code of the case's township.
        at: when it happened (timezone-aware UTC).
        data: kind-specific details without personal data, e.g. ``{"from": "yellow", "to": "red"}``.
    """

    kind: str
    case_id: str
    case_no: str
    township_code: str
    at: dt.datetime
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HandbookPage:
    """A page a plugin adds to the operational handbook (操作手册, ``jianhu handbook build``).

    The page is published under the plugin's own section, at
    ``plugins/<plugin name>/<path>`` in the site and in the PDF.

    Attributes:
        path: where the page goes, relative and ending in ``.md``, e.g. ``"local-fields.md"`` or
            ``"guide/visits.md"``; no ``..`` parts. Unique within one plugin.
        title: the page's Chinese title (used in the navigation and the PDF table of contents).
        markdown: the page body in Markdown (MkDocs flavour: tables, admonitions). A first-level
            heading is added from ``title`` when the body has none.
    """

    path: str
    title: str
    markdown: str

    @property
    def name(self) -> str:
        """The page path (records are de-duplicated by ``name``)."""
        return self.path


@dataclass(frozen=True)
class WebRequest:
    """What the web interface gives a plugin page's ``render`` function (see :class:`WebPage`).

    The user is signed in, has the page's permission, and ``session`` is already in the user's
    scope (:func:`jianhu.scope.scope_for`; on PostgreSQL, row-level security is on): queries that
    go through ``scope.cases(...)`` see only what the user may see.

    Attributes:
        session: the SQLAlchemy session of this request, in the user's scope. The web layer
            commits after a POST that returns without error and rolls back otherwise.
        host: the loaded plugins (:class:`jianhu.plugins.Host`).
        actor: the signed-in user (:class:`jianhu.roles.Actor`).
        scope: the user's :class:`jianhu.scope.Scope`.
        today: today's local date (Asia/Shanghai).
        method: ``"GET"`` or ``"POST"``.
        params: the query string, plus the form fields on a POST (last value of each name).
        csrf_field: a hidden ``<input>`` carrying the anti-forgery token; put it in every
            ``<form method="post">`` the page renders (POSTs without it are refused).
    """

    session: Any
    host: Any
    actor: Any
    scope: Any
    today: dt.date
    method: str
    params: Mapping[str, str]
    csrf_field: str


@dataclass(frozen=True)
class WebDownload:
    """A file a plugin page returns instead of HTML (the browser downloads it).

    Attributes:
        filename: the file name offered to the browser, e.g. ``"新安镇月报-2026-10.xlsx"``.
        content: the file's bytes.
        media_type: its MIME type, e.g. ``"text/csv; charset=utf-8"``.
    """

    filename: str
    content: bytes
    media_type: str = "application/octet-stream"


@dataclass(frozen=True)
class WebPage:
    """A page a plugin adds to the web interface (``jianhu serve``), with its menu entry.

    The page is served at ``/plugins/<path>`` behind the same sign-in, permission check,
    anti-forgery check and scoping as the core's pages, inside the common layout.

    Attributes:
        path: where the page goes under ``/plugins/``, e.g. ``"xinan/monthly"``: lower-case
            letters, digits, ``-``, ``_`` and ``/`` between non-empty parts. Unique across plugins.
        title: the page's Chinese title (heading, browser title and menu label).
        render: ``render(request)`` takes a :class:`WebRequest` and returns the page body as an
            HTML fragment (``str``; escape any data put into it, e.g. with
            ``markupsafe.escape``) or a :class:`WebDownload`. A
            :class:`~jianhu.errors.JianhuError` it raises is shown to the user (status 422).
        permission: the action of :data:`jianhu.roles.PERMISSIONS` a user needs to open it.
        menu: whether the page has an entry in the navigation menu.
        townships: 12-digit codes of the townships whose users may open it; empty: every
            township. County-wide roles (:data:`jianhu.roles.COUNTY_WIDE`) always may.
        methods: HTTP methods it answers: ``("GET",)`` or ``("GET", "POST")``.
    """

    path: str
    title: str
    render: Callable[[WebRequest], Any]
    permission: str = "view:cases"
    menu: bool = True
    townships: tuple[str, ...] = ()
    methods: tuple[str, ...] = ("GET",)

    @property
    def name(self) -> str:
        """The page path (records are de-duplicated by ``name``)."""
        return self.path
