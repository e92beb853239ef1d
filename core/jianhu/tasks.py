"""The task model: every kind of task a case can owe, in one table, and when a task is overdue.

A task (a :class:`~jianhu.db.models.FollowUp` row) is something a named person or a role of the
township must do on a case by a date: assess a child found at screening, respond to an emergency,
report to the police, visit, re-assess, deliver a plan measure, decide an approval, watch a legal
deadline. :data:`TASK_KINDS` says, for each kind, its Chinese label, what creates it, how its due
moment is computed (from the township's :class:`~jianhu.extensions.FollowupPolicy` and the legal
constants below), what completes it (a form, or an acknowledgement with ``jianhu followups
done``), which permission completes it, whose task it is when no person is named, and its
source. The due list, the summary and county reports, the web, the handbook and the sample all
read this table; :func:`is_overdue` is the one rule of lateness (handbook: 开发者手册 → 期限与待办).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from jianhu.dates import local_date
from jianhu.extensions import FollowupPolicy

#: 反家庭暴力法 Art 28: a protection order is ruled on within 72 hours, within 24 hours when urgent.
ORDER_RULING_HOURS = {True: 24, False: 72}
#: 反家庭暴力法 Art 30: a protection order is valid for at most six months.
ORDER_MAX_MONTHS = 6
#: 反家庭暴力法 Art 31: a request for review may be made within five days of receiving the ruling.
ORDER_REVIEW_DAYS = 5
#: Days ahead the due list shows (the project's default).
WINDOW_DAYS = 7


@dataclass(frozen=True)
class TaskKind:
    """One kind of task.

    Attributes:
        code: the kind stored on the task, e.g. ``"first_assessment"``.
        label: Chinese label shown to users.
        made_when: Chinese: what creates a task of this kind.
        due_rule: ``due_rule(policy)`` → Chinese: how the due moment is computed, with the
            township policy's figures.
        completed_by: Chinese: what completes it.
        completing_forms: form ids whose recording completes it (empty: acknowledged only).
        acknowledged: whether ``jianhu followups done`` may complete it.
        permission: the permission (:mod:`jianhu.roles`) of whoever completes it.
        owner_role: the role whose task it is when no person is named on the task.
        source: the legal or plan source of the deadline, or "项目默认值" for a policy figure.
        by_hour: the deadline is an instant (hours), not only a day.
    """

    code: str
    label: str
    made_when: str
    due_rule: Callable[[FollowupPolicy], str]
    completed_by: str
    completing_forms: tuple[str, ...]
    acknowledged: bool
    permission: str
    owner_role: str
    source: str
    by_hour: bool = False


TASK_KINDS: tuple[TaskKind, ...] = (
    TaskKind(
        "emergency_response", "应急处置",
        "调查表显示儿童处于《未成年人保护法》第92条的情形（无人照料、监护人下落不明或无力监护、"
        "需要紧急安置），开案时即产生；个案在评估前显示为红色",
        lambda p: f"调查后{p.emergency_response_hours}小时内到场核实，落实临时照料或临时监护",
        "登记随访（到场查看）或干预升级（如民政部门临时监护）；或确认办结（jianhu followups done）",
        ("visit", "escalation"), True, "followups:done", "township_supervisor",
        "《未成年人保护法》第92条；小时数为项目默认值", by_hour=True),
    TaskKind(
        "mandatory_report", "强制报告",
        "评估紧急筛查有「是」；或侵害事件报告属于强制报告情形（勾选了情形，或侵害类型本身即是，"
        "如不满14周岁女童遭受性侵害、遗弃）而未同时登记报案",
        lambda p: f"须立即向公安机关报告；超过{p.mandatory_report_hours}小时仍未登记报案即显示逾期",
        "jianhu record police_report（或在侵害事件报告中同时填写报案情况）",
        ("police_report",), False, "record:police_report", "village_child_director",
        "高检发〔2020〕9号第2—4条；《未成年人保护法》第11条", by_hour=True),
    TaskKind(
        "first_assessment", "首次评估",
        "调查后开案（登记后尚未评估）",
        lambda p: (f"监护状况为「差」的，调查后{p.first_assessment_days_poor}日内；"
                   f"其他个案{p.first_assessment_days}日内"),
        "登记评估（评估定级）",
        ("assessment",), False, "record:assessment", "township_supervisor",
        "新政发〔2016〕8号 四（二）（综合测评）；天数为项目默认值"),
    TaskKind(
        "approval", "待审批",
        "救助方案、结案、干预升级、等级调整或监护变更提交审批而尚未决定",
        lambda p: "提交后3日内",
        "审批人作出决定（jianhu approvals decide）",
        (), False, "approve", "township_supervisor",
        "新政发〔2016〕8号 四（三）（方案经评估小组审定）；天数为项目默认值"),
    TaskKind(
        "protection_order_ruling", "保护令裁定期限",
        "登记升级步骤「申请人身安全保护令」",
        lambda p: (f"法院应在受理申请后{ORDER_RULING_HOURS[False]}小时内作出裁定，"
                   f"紧急情况{ORDER_RULING_HOURS[True]}小时内"),
        "登记升级步骤「人身安全保护令裁定」",
        ("escalation",), False, "record:escalation", "township_supervisor",
        "《反家庭暴力法》第28条", by_hour=True),
    TaskKind(
        "protection_order_review", "保护令复议期限",
        "登记升级步骤「人身安全保护令裁定」",
        lambda p: f"当事人可在裁定后{ORDER_REVIEW_DAYS}日内申请复议",
        "到期提醒，由督导员确认办结",
        (), True, "followups:done", "township_supervisor",
        "《反家庭暴力法》第31条"),
    TaskKind(
        "protection_order_expiry", "保护令到期",
        "登记升级步骤「人身安全保护令裁定」",
        lambda p: f"到裁定写明的有效期；有效期最长{ORDER_MAX_MONTHS}个月（登记更长会被拒绝）",
        "到期提醒，由督导员确认办结；保护令有效期内不能结案",
        (), True, "followups:done", "township_supervisor",
        "《反家庭暴力法》第30条"),
    TaskKind(
        "guardianship_review", "临时监护评估",
        "登记升级步骤「民政部门临时监护」",
        lambda p: (f"临时监护后{p.guardianship_review_days}日内评估能否送回监护人（期限为政策数值，"
                   "法律未规定天数）"),
        "登记评估；或确认办结",
        ("assessment",), True, "followups:done", "township_supervisor",
        "《未成年人保护法》第92—93条"),
    TaskKind(
        "warning_letter_visit", "告诫书查访",
        "登记升级步骤「告诫书」",
        lambda p: (f"出具告诫书后第{'、'.join(str(d) for d in p.warning_letter_visit_days)}日由"
                   "村（居）委会和派出所查访（天数为政策数值，法律未规定）"),
        "登记随访；或确认办结",
        ("visit",), True, "followups:done", "village_child_director",
        "《反家庭暴力法》第17条"),
    TaskKind(
        "guardianship_period_end", "监护期限届满",
        "登记委托照护或民政部门临时监护并写明期限",
        lambda p: "到监护变更记录写明的「期限至」",
        "登记新的监护变更（续签委托、终止委托、临时监护结束或转为长期监护）；或确认办结",
        ("guardianship",), True, "followups:done", "village_child_director",
        "《未成年人保护法》第22条（委托照护）、第92—94条（国家监护）"),
    TaskKind(
        "measure_due", "方案措施到期",
        "登记救助方案（每项措施一项待办，归该措施的责任人）",
        lambda p: "按方案中该措施的「完成期限」；重新登记方案时旧的措施待办取消",
        "登记服务时填写「对应方案措施序号」并勾选「该措施已完成」；结案时须逐项写明已完成或取消理由",
        ("service",), False, "record:service", "village_child_director",
        "新政发〔2016〕8号 四（三）（责任到人）"),
    TaskKind(
        "reassessment", "再评估",
        "每次评估定级；随访发现风险恶化；侵害事件报告；重新开案",
        lambda p: (f"按等级的再评估间隔（见分级与随访政策）；随访发现恶化、回访发现风险后"
                   f"{p.worse_visit_reassess_days}日内；侵害事件报告后{p.incident_reassess_days}日内"),
        "登记新的评估（同时重新排期）",
        ("assessment",), False, "record:assessment", "township_supervisor",
        "新政发〔2016〕8号 四（六）；间隔为政策数值"),
    TaskKind(
        "visit", "随访",
        "每次评估定级；每次登记随访",
        lambda p: "按等级的随访间隔（见分级与随访政策），从评估日或上次随访日起算",
        "登记随访（办结最早一项并排下一次）",
        ("visit",), False, "record:visit", "village_child_director",
        "新政发〔2016〕8号 四（六）；间隔为政策数值"),
    TaskKind(
        "return_visit", "结案回访",
        "结案",
        lambda p: (f"结案后每{p.return_visit_months}个月一次，共{p.return_visit_count}次"
                   "（方案要求每年不少于两次）"),
        "登记回访；回访发现风险即重新开案，其余回访取消",
        ("return_visit",), False, "record:return_visit", "village_child_director",
        "新政发〔2016〕8号 四（六）"),
)
#: Kind code → :class:`TaskKind`.
KINDS: dict[str, TaskKind] = {k.code: k for k in TASK_KINDS}
#: Kind code → Chinese label.
KIND_LABELS: dict[str, str] = {k.code: k.label for k in TASK_KINDS}
#: Kind code → position in lists (the order of :data:`TASK_KINDS`).
KIND_ORDER: dict[str, int] = {k.code: i for i, k in enumerate(TASK_KINDS)}
#: Kinds that ``jianhu followups done`` may complete.
ACKNOWLEDGED: tuple[str, ...] = tuple(k.code for k in TASK_KINDS if k.acknowledged)
#: Kinds done by going to see the child (a follow-up visit, the police warning letter's visit, a
#: return visit after closure): what the summary's 到期随访 column counts (:mod:`jianhu.reports`).
VISIT_KINDS: tuple[str, ...] = ("visit", "warning_letter_visit", "return_visit")
#: Kinds that come first in every list, whatever their date (a child may be in danger now).
URGENT: tuple[str, ...] = ("mandatory_report", "emergency_response")


def label(kind: str) -> str:
    """Chinese label of a task kind (the code itself when unknown)."""
    return KIND_LABELS.get(kind, kind)


def owner_of(kind: str, owner: str | None) -> str:
    """Whose task it is: the person named on the task, else the kind's owner role code."""
    if owner:
        return owner
    return KINDS[kind].owner_role if kind in KINDS else ""


def is_overdue(due_on: dt.date, due_at: dt.datetime | None, on: dt.date,
               now: dt.datetime | None = None) -> bool:
    """Whether a pending task is overdue on local date ``on`` (Asia/Shanghai).

    Due on D, a task is not overdue on D and is overdue from D+1 (handbook 领域规则 §7, handbook 期限与待办).
    A task with an instant (``due_at``, e.g. a mandatory report) is also overdue on its due day
    once that instant has passed: when ``now`` falls on ``on``, once ``now >= due_at``; when
    ``now`` is after ``on`` (a list made for a past day), the day is over and it is overdue.

    Args:
        due_on: the local due date.
        due_at: the exact due instant (aware), or ``None``.
        on: the local date the question is asked for.
        now: the current instant (aware); ``None``: only the day counts.
    """
    if due_on < on:
        return True
    if due_at is None or due_on > on or now is None:
        return False
    today = local_date(now)
    return today > on or (today == on and now >= due_at)
