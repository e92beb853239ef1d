"""Default grading and follow-up policy (the project's own defaults, documented as such).

No national or provincial text sets visit intervals per risk level (handbook 领域规则 §4, §7). The figures
below are Jianhu's defaults, chosen around Jiangsu 2024 practice of a visit a month (yellow) with
closer visits for higher levels; a township replaces them with its own ``jianhu_followup_policy``.
The mandatory report must be made immediately (高检发〔2020〕9号 Art 2–4; 未保法 Art 11); the
system flags it overdue after ``MANDATORY_REPORT_HOURS``. After closure, return visits every 6
months for 2 years meet the plan's "at least two a year" (新政发〔2016〕8号 四（六））. The law sets no
interval for visits after a police warning letter (反家庭暴力法 Art 17) or for the assessment after
temporary guardianship (未保法 Art 93): 7 and 30 days, and 30 days, are project defaults.
"""

from __future__ import annotations

from jianhu import hookimpl
from jianhu.extensions import FollowupPolicy, LevelPolicy

MANDATORY_REPORT_HOURS = 24

DEFAULT_POLICY = FollowupPolicy(
    name="jianhu-default",
    levels=(
        LevelPolicy(level="red", visit_days=7, reassess_days=30),
        LevelPolicy(level="orange", visit_days=14, reassess_days=60),
        LevelPolicy(level="yellow", visit_days=30, reassess_days=90),
        LevelPolicy(level="green", visit_days=90, reassess_days=180),
    ),
    mandatory_report_hours=MANDATORY_REPORT_HOURS,
    return_visit_months=6,
    return_visit_count=4,
    warning_letter_visit_days=(7, 30),
    guardianship_review_days=30,
    worse_visit_reassess_days=7,
    source="Jianhu 项目默认值（江苏2024年实践：每月走访一次）；强制报告：高检发〔2020〕9号第2—4条",
)


@hookimpl(trylast=True)
def jianhu_followup_policy(township_code: str) -> FollowupPolicy:
    """Answer for every township, after any plugin that answers first."""
    return DEFAULT_POLICY
