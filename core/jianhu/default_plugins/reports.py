"""Default reports: the summary (汇总表) and the county roll-up (县级汇总表)."""

from __future__ import annotations

from jianhu import hookimpl
from jianhu.extensions import Report
from jianhu.reports import county_table, summary_table


@hookimpl
def jianhu_reports() -> list[Report]:
    """Register ``summary`` (by village) and ``county`` (by township, with small-cell
    suppression)."""
    return [Report(name="summary", title="儿童家庭监护干预汇总表", build=summary_table),
            Report(name="county", title="儿童家庭监护干预县级汇总表", build=county_table)]
