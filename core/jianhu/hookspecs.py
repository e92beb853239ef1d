"""Every hook a plugin can implement. Hook names start with ``jianhu_``.

Registration hooks return lists of the small records in :mod:`jianhu.extensions`; the host merges
them and refuses two records with one name. Core code calls hooks only through
:class:`jianhu.plugins.Host`, always with keyword arguments. Implementations must not give their
arguments default values (pluggy would silently drop them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click
    from sqlalchemy.orm import Session

    from jianhu.extensions import (
        Area,
        CaseEvent,
        FollowupPolicy,
        FormExtension,
        FormMigration,
        FormSpec,
        HandbookPage,
        Report,
        ReportFormat,
        Scale,
        ScaleResult,
        SettingsSchema,
        TargetCategory,
        WebPage,
    )

hookspec = pluggy.HookspecMarker("jianhu")


@hookspec
def jianhu_forms() -> list[FormSpec]:
    """Add forms (JSON Schema documents).

    Returns:
        a list of :class:`~jianhu.extensions.FormSpec`; form ids must be unique across plugins.

    Example::

        @hookimpl
        def jianhu_forms():
            return [FormSpec.from_file("visit-note", Path(__file__).with_name("visit-note.json"))]
    """


@hookspec
def jianhu_form_fields(form_id: str) -> list[FormExtension]:
    """Add local fields to an existing form.

    Args:
        form_id: the form being built, e.g. ``"screening"``.

    Returns:
        a list of :class:`~jianhu.extensions.FormExtension` for that form (empty for others).

    Example::

        @hookimpl
        def jianhu_form_fields(form_id):
            if form_id != "screening":
                return []
            return [FormExtension(form_id="screening", group="local", group_title="本地",
                                  name="xinan-local",
                                  properties={"org": {"type": "string", "title": "公益社"}})]
    """


@hookspec
def jianhu_form_migrations() -> list[FormMigration]:
    """Declare how stored records follow a form whose fields were renamed or removed.

    ``jianhu db upgrade`` applies every declared migration to the records it concerns, with an
    audit event per changed record, so old records keep displaying, printing and counting after
    a field is renamed (see :mod:`jianhu.forms.migrations`).

    Returns:
        a list of :class:`~jianhu.extensions.FormMigration`; names must be unique.

    Example::

        @hookimpl
        def jianhu_form_migrations():
            return [FormMigration(form_id="screening", name="xinan-school-2",
                                  renames={"local.old_school": "local.school"})]
    """


@hookspec
def jianhu_scales() -> list[Scale]:
    """Add assessment instruments.

    Returns:
        a list of :class:`~jianhu.extensions.Scale`; names must be unique across plugins.

    Example::

        @hookimpl
        def jianhu_scales():
            return [Scale(name="sdq", version="2016", title="长处与困难问卷", form_id="sdq",
                          items=ITEMS, score=score_sdq, sets_level=False, source="SDQ manual")]
    """


@hookspec(firstresult=True)
def jianhu_followup_policy(township_code: str) -> FollowupPolicy | None:
    """Give the grading and follow-up policy of a township (first non-``None`` answer wins).

    Args:
        township_code: the 12-digit statistical code of the township.

    Returns:
        a :class:`~jianhu.extensions.FollowupPolicy`, or ``None`` to leave it to other plugins.
        The core default is registered ``trylast`` so any plugin's answer overrides it.

    Example::

        @hookimpl
        def jianhu_followup_policy(township_code):
            if township_code != "320724100000":
                return None
            return FollowupPolicy(name="xinan", levels=(...), mandatory_report_hours=12,
                                  source="新安镇 local rule")
    """


@hookspec
def jianhu_target_categories() -> list[TargetCategory]:
    """Add target-group categories computed from the screening survey.

    Returns:
        a list of :class:`~jianhu.extensions.TargetCategory`; codes must be unique.

    Example::

        @hookimpl
        def jianhu_target_categories():
            return [TargetCategory(code="boarding", label="寄宿儿童", rule="在校寄宿",
                                   source="local rule",
                                   applies=lambda s, on: s["health"].get("boarding") is True)]
    """


@hookspec
def jianhu_areas() -> list[Area]:
    """Add the administrative areas (county and townships) the workspace serves.

    Returns:
        a list of :class:`~jianhu.extensions.Area`; codes must be unique.

    Example::

        @hookimpl
        def jianhu_areas():
            return [Area(code="320724100000", name="新安镇", level="town")]
    """


@hookspec
def jianhu_reports() -> list[Report]:
    """Add reports (``jianhu report NAME``).

    Returns:
        a list of :class:`~jianhu.extensions.Report`; names must be unique.

    Example::

        @hookimpl
        def jianhu_reports():
            return [Report(name="monthly", title="月度统计表", build=build_monthly)]
    """


@hookspec
def jianhu_report_formats() -> list[ReportFormat]:
    """Add file formats reports can be written in (``--format NAME``).

    Returns:
        a list of :class:`~jianhu.extensions.ReportFormat`; names must be unique.

    Example::

        @hookimpl
        def jianhu_report_formats():
            return [ReportFormat(name="ods", suffix=".ods", write=write_ods)]
    """


@hookspec
def jianhu_case_event(session: Session, event: CaseEvent) -> None:
    """React to a case event inside the transaction that made it.

    Called before commit with the open SQLAlchemy session, so an integration can write an
    outbox row that commits or rolls back with the change itself. Must not do network I/O.

    Args:
        session: the session of the change.
        event: the :class:`~jianhu.extensions.CaseEvent`.

    Example::

        @hookimpl
        def jianhu_case_event(session, event):
            session.add(OutboxRow(kind=event.kind, case_no=event.case_no))
    """


@hookspec
def jianhu_settings_schema() -> list[SettingsSchema]:
    """Declare the JSON Schema of a plugin's settings (validated by ``jianhu plugins enable``).

    Returns:
        a list with one :class:`~jianhu.extensions.SettingsSchema` naming the plugin (its
        registration name, e.g. the entry point name).

    Example::

        @hookimpl
        def jianhu_settings_schema():
            return [SettingsSchema(plugin="webhook", schema={
                "type": "object", "required": ["url"],
                "properties": {"url": {"type": "string", "title": "接收地址"}}})]
    """


@hookspec
def jianhu_plan_suggestions(scale: str, result: ScaleResult) -> list[str]:
    """Suggest service types for the assistance plan from an assessment's result.

    Args:
        scale: the name of the scale the result comes from, e.g. ``"csi"``.
        result: its :class:`~jianhu.extensions.ScaleResult`.

    Returns:
        service-type codes of the plan form (``temporary_care``, ``tutoring``, ``counselling``,
        ...); empty when the plugin has nothing to suggest for this scale. Suggestions are shown
        to the worker; they never set a level or record a plan.

    Example::

        @hookimpl
        def jianhu_plan_suggestions(scale, result):
            if scale != "csi":
                return []
            return ["tutoring"] if result.scores.get("performance", 4) <= 2 else []
    """


@hookspec
def jianhu_register_commands(cli: click.Group) -> None:
    """Add commands to the ``jianhu`` command line.

    Args:
        cli: the root click group; add commands or groups to it.

    Example::

        @hookimpl
        def jianhu_register_commands(cli):
            @cli.command(name="hello")
            def hello():
                click.echo("你好")
    """


@hookspec
def jianhu_handbook_pages() -> list[HandbookPage]:
    """Add pages to the operational handbook (操作手册) built by ``jianhu handbook build``.

    Each page appears in the plugin's own section of the site and of the PDF, at
    ``plugins/<plugin name>/<path>``. Write for trainers and staff, in Chinese.

    Returns:
        a list of :class:`~jianhu.extensions.HandbookPage`; paths must be unique within the
        plugin, relative, end in ``.md`` and contain no ``..``.

    Example::

        @hookimpl
        def jianhu_handbook_pages():
            return [HandbookPage(path="local-fields.md", title="新安镇本地字段",
                                 markdown="调查表增加「公益社」一栏，由村儿童主任填写。")]
    """


@hookspec
def jianhu_web_pages() -> list[WebPage]:
    """Add pages, with their menu entries, to the web interface (``jianhu serve``).

    Each page is served at ``/plugins/<path>`` behind the core's sign-in, permission check,
    anti-forgery check and scoping, inside the common layout; ``render`` gets a
    :class:`~jianhu.extensions.WebRequest` (scoped session, user, parameters) and returns an HTML
    fragment or a :class:`~jianhu.extensions.WebDownload`.

    Returns:
        a list of :class:`~jianhu.extensions.WebPage`; paths must be unique across plugins.

    Example::

        @hookimpl
        def jianhu_web_pages():
            def render(request):
                return f"<p>今天是 {request.today:%Y年%m月%d日}。</p>"

            return [WebPage(path="xinan/today", title="新安镇今日", render=render,
                            townships=("320724100000",))]
    """
