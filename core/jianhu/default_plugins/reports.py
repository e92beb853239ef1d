"""Default reports: the summary (汇总表)."""

from __future__ import annotations

from jianhu import hookimpl
from jianhu.extensions import Report
from jianhu.reports import summary_table


@hookimpl
def jianhu_reports() -> list[Report]:
    """Register ``summary``."""
    return [Report(name="summary", title="儿童家庭监护干预汇总表", build=summary_table)]
