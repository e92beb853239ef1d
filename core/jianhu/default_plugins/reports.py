"""Default reports: the summary (汇总表) and the county roll-up (县级汇总表), and the upward
paperwork of :mod:`jianhu.paperwork`: the quarterly update (季度更新), the village roster
(花名册), the work ledger (工作台账) and the mandatory report register (强制报告登记簿)."""

from __future__ import annotations

from jianhu import hookimpl
from jianhu.extensions import Report


@hookimpl
def jianhu_reports() -> list[Report]:
    """Register ``summary`` (by village), ``county`` (by township, small cells always
    suppressed), ``quarterly``, ``roster`` and ``register`` (identified: they name children) and
    ``ledger`` (staff and their work, no child)."""
    from jianhu.paperwork import ledger_table, quarterly_report, register_table, roster_table
    from jianhu.reports import county_table, summary_table

    return [Report(name="summary", title="儿童家庭监护干预汇总表", build=summary_table),
            Report(name="county", title="儿童家庭监护干预县级汇总表", build=county_table,
                   small_cells="always"),
            quarterly_report(),
            Report(name="roster", title="村（社区）关爱保护儿童花名册", build=roster_table,
                   identified=True, small_cells="never"),
            Report(name="ledger", title="儿童关爱保护工作台账", build=ledger_table,
                   small_cells="never"),
            Report(name="register", title="强制报告登记簿", build=register_table, identified=True,
                   small_cells="never")]
