"""新安镇 local grading and follow-up policy (本地随访政策).

**These figures are local choices of 新安镇, not law.** No national or Jiangsu text sets visit
intervals per risk level (handbook 领域规则 §4, §7); the core's defaults
(:mod:`jianhu.default_plugins.policy`) are the project's own. This plugin sets closer
follow-up for the town, which runs the provincial pilot of 新政发〔2016〕8号; the town's
leading group (试点工作领导小组, 四（一）) may change any figure here. What the law or the
plan does fix is kept as a floor:

- mandatory report: the law says *immediately* (高检发〔2020〕9号 第2—4条; 未保法 第11条); the
  hours below only decide when the system flags a report as overdue, and are shorter than the
  core's 24 hours;
- return visits after closure: at least two a year (新政发〔2016〕8号 四（六））; the town visits
  every 3 months for 2 years;
- visits after a police warning letter (反家庭暴力法 第17条) and the assessment after temporary
  guardianship by civil affairs (未保法 第93条) have no legal interval; the town's are below.
"""

from __future__ import annotations

from jianhu.extensions import FollowupPolicy, LevelPolicy

#: 12-digit statistical code of 新安镇, 灌南县 (national statistical division codes, 2023).
TOWNSHIP_CODE = "320724100000"
TOWNSHIP_NAME = "新安镇"

XINAN_POLICY = FollowupPolicy(
    name="xinan",
    levels=(
        LevelPolicy(level="red", visit_days=5, reassess_days=30),
        LevelPolicy(level="orange", visit_days=10, reassess_days=45),
        LevelPolicy(level="yellow", visit_days=20, reassess_days=60),
        LevelPolicy(level="green", visit_days=60, reassess_days=120),
    ),
    mandatory_report_hours=12,
    return_visit_months=3,
    return_visit_count=8,
    warning_letter_visit_days=(3, 15, 30),
    guardianship_review_days=15,
    worse_visit_reassess_days=3,
    source="新安镇本地选择（非法律规定，由镇领导小组确定，可修改）；强制报告须立即报告："
           "高检发〔2020〕9号第2—4条、未保法第11条；结案后每年至少回访两次：新政发〔2016〕8号四（六）",
)


def followup_policy(township_code: str) -> FollowupPolicy | None:
    """Return 新安镇's local policy for its own code, ``None`` for every other township.

    Args:
        township_code: the 12-digit statistical code of a township.

    Returns:
        :data:`XINAN_POLICY` when ``township_code`` is ``"320724100000"`` (新安镇), else ``None``
        so the next plugin (ultimately the core default) answers.

    These intervals are local choices of 新安镇, not law (see the module docstring for the
    legal floors they keep).
    """
    return XINAN_POLICY if township_code == TOWNSHIP_CODE else None
