"""Jianhu plugin of 新安镇 (灌南县, township code 320724100000).

What it adds, each through a hook of :mod:`jianhu.hookspecs`:

- ``jianhu_form_fields``: local fields on the screening survey (跟进公益社、爱心妈妈编号、
  爱心妈妈结对日期、五老志愿者编号、监护人参加家长学校), all optional (:mod:`jianhu_xinan.fields`);
- ``jianhu_followup_policy``: the town's own visit intervals, for 新安镇 only; these are local
  choices of 新安镇, not law (:mod:`jianhu_xinan.policy`);
- ``jianhu_reports``: report ``xinan-monthly``, the monthly statistics the town sends to the county
  (:mod:`jianhu_xinan.monthly`);
- ``jianhu_report_formats``: format ``xinan-monthly-xlsx``, a report as an XLSX laid out like a
  government form (:mod:`jianhu_xinan.govform`);
- ``jianhu_web_pages``: the monthly report page of the web interface, ``/plugins/xinan/monthly``
  (:mod:`jianhu_xinan.web`).

Command line::

    jianhu report xinan-monthly --format xinan-monthly-xlsx --on 2026-10-31 --out 新安镇10月.xlsx

Source of the work itself: 新政发〔2016〕8号 (新安镇人民政府, 2016-03-08).
"""

from __future__ import annotations

from jianhu import hookimpl
from jianhu.extensions import FollowupPolicy, FormExtension, Report, ReportFormat, WebPage
from jianhu_xinan import fields, policy

# The report, its spreadsheet and its web page load SQLAlchemy and openpyxl: they are imported by
# the hooks that give them, so that loading the plugin (which every jianhu command does, --help
# included) stays fast.

__version__ = "0.1.0"

__all__ = ["__version__", "jianhu_followup_policy", "jianhu_form_fields", "jianhu_report_formats",
           "jianhu_reports", "jianhu_web_pages"]


@hookimpl
def jianhu_form_fields(form_id: str) -> list[FormExtension]:
    """Add 新安镇's local fields to the screening form.

    Args:
        form_id: the form being built.

    Returns:
        one :class:`~jianhu.extensions.FormExtension` (group ``local``, 本地) for ``"screening"``;
        an empty list for other forms. Source: 新政发〔2016〕8号 (see :mod:`jianhu_xinan.fields`).
    """
    return fields.form_fields(form_id)


@hookimpl
def jianhu_followup_policy(township_code: str) -> FollowupPolicy | None:
    """Give 新安镇's local follow-up policy, and nothing for other townships.

    Args:
        township_code: 12-digit statistical code of the township.

    Returns:
        :data:`jianhu_xinan.policy.XINAN_POLICY` for ``"320724100000"``, else ``None`` (the next
        plugin or the core default answers). The intervals are local choices of 新安镇, not law.
    """
    return policy.followup_policy(township_code)


@hookimpl
def jianhu_reports() -> list[Report]:
    """Register report ``xinan-monthly`` (新安镇儿童家庭监护干预工作月报表).

    Returns:
        one :class:`~jianhu.extensions.Report` whose ``build(session, host, on)`` gives the
        figures of the month of ``on`` (see :func:`jianhu_xinan.monthly.build_monthly`).
    """
    from jianhu_xinan import monthly

    return [Report(name=monthly.REPORT_NAME, title=monthly.REPORT_TITLE, build=monthly.build_monthly)]


@hookimpl
def jianhu_report_formats() -> list[ReportFormat]:
    """Register format ``xinan-monthly-xlsx`` (government-form XLSX).

    Returns:
        one :class:`~jianhu.extensions.ReportFormat` writing with
        :func:`jianhu_xinan.govform.write_gov_xlsx`.
    """
    from jianhu_xinan import govform

    return [ReportFormat(name=govform.FORMAT_NAME, suffix=".xlsx", write=govform.write_gov_xlsx)]


@hookimpl
def jianhu_web_pages() -> list[WebPage]:
    """Add the monthly report page (新安镇月报) to the web interface.

    Returns:
        one :class:`~jianhu.extensions.WebPage` at ``xinan/monthly`` for 新安镇's users (see
        :mod:`jianhu_xinan.web`).
    """
    from jianhu_xinan import web

    return web.web_pages()
