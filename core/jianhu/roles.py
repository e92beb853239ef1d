"""Roles and what each may do (least privilege; 个人信息保护法 Art 51).

Role codes and their Chinese names are those of ``person.schema.json`` (the roster form), from the
plan's teams (新政发〔2016〕8号 四（二）: 评估队伍 of civil affairs, women's federation, police and
education staff; 救助队伍 of psychologists, tutors, social workers, caring mothers, 五老 elders,
student and media volunteers) and the national roles of 儿童主任 and 儿童督导员 (民发〔2019〕34号).
:data:`PERMISSIONS` maps an action to the roles allowed to do it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from jianhu.errors import JianhuError

ASSESSORS = frozenset({"assessor_civil_affairs", "assessor_womens_federation", "assessor_police",
                       "assessor_education"})
SUPPORT = frozenset({"psychologist", "tutor", "social_worker", "caring_mother", "elder_volunteer",
                     "student_volunteer", "media_volunteer"})
CASEWORKERS = frozenset({"local_admin", "township_supervisor", "village_child_director",
                         "social_worker"})
SUPERVISORS = frozenset({"local_admin", "township_supervisor"})
COUNTY = frozenset({"county_admin", "county_viewer"})
#: Township-level approvers: the child protection supervisor (儿童督导员) and the township's civil
#: affairs (民政) lead of the assessment team (新政发〔2016〕8号 四（二）).
APPROVERS = SUPERVISORS | {"assessor_civil_affairs"}
#: Roles that see every township (the rest see their own township only).
COUNTY_WIDE = frozenset({"county_admin", "county_viewer", "local_admin", "trainer"})
#: Roles that see only the cases assigned to them (service providers of the support team).
ASSIGNED_ONLY = SUPPORT - {"social_worker"}

PERMISSIONS: dict[str, frozenset[str]] = {
    "import:screening": CASEWORKERS | ASSESSORS,
    "import:assessment": CASEWORKERS | ASSESSORS,
    "record:assessment": CASEWORKERS | ASSESSORS,
    "record:plan": CASEWORKERS,
    "record:service": CASEWORKERS | SUPPORT | ASSESSORS,
    "record:visit": CASEWORKERS | SUPPORT,
    "record:incident": CASEWORKERS | SUPPORT | ASSESSORS,
    "record:police_report": CASEWORKERS | ASSESSORS,
    "record:escalation": SUPERVISORS | {"assessor_police", "assessor_civil_affairs"},
    "record:closure": CASEWORKERS,
    "record:return_visit": CASEWORKERS | SUPPORT,
    "record:guardianship": CASEWORKERS | {"assessor_civil_affairs"},
    "record:level_override": CASEWORKERS | ASSESSORS,
    "close:override": SUPERVISORS,
    # Decisions (jianhu.approvals): a township-level role, never the person who asked.
    "approve:plan": APPROVERS,
    "approve:closure": APPROVERS,
    "approve:escalation": APPROVERS,
    "approve:level_override": SUPERVISORS,
    "approve:guardianship_change": APPROVERS,
    "followups:done": CASEWORKERS | ASSESSORS,
    "records:on_behalf": SUPERVISORS,
    "transfer:request": CASEWORKERS,
    "transfer:decide": SUPERVISORS | {"county_admin"},
    "duplicates:list": CASEWORKERS | ASSESSORS | {"county_admin"},
    "duplicates:resolve": SUPERVISORS | {"county_admin"},
    # An edit made on a device from an older copy of a child (jianhu.conflicts).
    "conflicts:resolve": SUPERVISORS,
    "audit:list": SUPERVISORS | {"county_admin"},
    "view:reporter": SUPERVISORS | {"assessor_police"},
    "view:identified": CASEWORKERS | ASSESSORS | SUPPORT | {"county_admin"},
    # Documents print every record whole (IDs, the account of a harm): not for service providers.
    "documents:export": CASEWORKERS | ASSESSORS | {"county_admin"},
    "view:cases": CASEWORKERS | ASSESSORS | SUPPORT | {"county_admin"},
    "report:aggregate": CASEWORKERS | ASSESSORS | COUNTY | {"trainer"},
    "deploy": frozenset({"local_admin", "county_admin"}),
    "backup": frozenset({"local_admin", "county_admin"}),
    "retention:run": frozenset({"local_admin", "county_admin"}),
    "people:import": SUPERVISORS | {"county_admin"},
    "people:list": CASEWORKERS | ASSESSORS,
    "plugins:configure": frozenset({"local_admin", "county_admin"}),
    # The plan's teams and training (新政发〔2016〕8号 四（一）、（二）, 六（三）): the township's
    # supervisor organises them (county administrators and trainers for any township); the
    # people who work on cases may look them up (to pick a measure's owner or an assessor).
    "teams:manage": SUPERVISORS | {"county_admin"},
    "teams:list": CASEWORKERS | ASSESSORS | {"county_admin", "trainer"},
    "training:manage": SUPERVISORS | {"county_admin", "trainer"},
    "training:list": CASEWORKERS | ASSESSORS | {"county_admin", "trainer"},
}
ACTION_LABELS = {
    "import:screening": "导入调查表", "import:assessment": "导入评估表",
    "close:override": "特批结案（等级高于绿色）", "view:reporter": "查看报告人身份",
    "approve:plan": "审批救助方案", "approve:closure": "审批结案", "approve:escalation": "审批干预升级",
    "approve:level_override": "审批等级调整", "approve:guardianship_change": "审批监护变更",
    "view:identified": "查看儿童身份信息", "people:import": "导入人员名册",
    "view:cases": "查看个案", "report:aggregate": "查看汇总报表", "deploy": "部署",
    "backup": "备份与恢复", "followups:done": "办结事项", "retention:run": "到期去标识",
    "record:assessment": "登记评估", "record:plan": "登记救助方案", "record:service": "登记服务",
    "record:visit": "登记随访", "record:incident": "登记侵害事件", "record:police_report":
    "登记向公安机关报告", "record:escalation": "登记干预升级", "record:closure": "结案",
    "record:return_visit": "登记回访", "record:guardianship": "登记监护变更",
    "record:level_override": "申请调整等级",
    "people:list": "查看人员名册", "plugins:configure": "设置插件",
    "records:on_behalf": "代他人导入个案记录", "transfer:request": "申请个案转移",
    "transfer:decide": "接收或退回个案转移", "duplicates:list": "查看疑似重复登记",
    "duplicates:resolve": "核实疑似重复登记", "conflicts:resolve": "处理修改冲突",
    "audit:list": "查看审计日志",
    "documents:export": "生成个案文书",
    "teams:manage": "管理本乡镇的队伍", "teams:list": "查看队伍",
    "training:manage": "登记培训", "training:list": "查看培训记录",
}


@cache
def role_labels() -> dict[str, str]:
    """Role code → Chinese name, read from ``person.schema.json``."""
    schema = json.loads((resources.files("jianhu") / "schemas" / "person.schema.json")
                        .read_text("utf-8"))
    role = schema["properties"]["person"]["properties"]["role"]
    return {o["const"]: o["title"] for o in role["oneOf"]}


@dataclass(frozen=True)
class Actor:
    """Who is acting: a roster person, or the workspace's built-in local administrator.

    Attributes:
        code: the person's roster code (``"local-admin"`` for the built-in administrator).
        name: display name.
        role: a role code.
        township_code: 12-digit code of the person's township (``None``: the whole workspace).
    """

    code: str
    name: str
    role: str
    township_code: str | None = None

    def can(self, action: str) -> bool:
        """Whether this actor's role may do ``action`` (a key of :data:`PERMISSIONS`)."""
        return self.role in PERMISSIONS.get(action, frozenset())

    def require(self, action: str) -> None:
        """Raise :class:`JianhuError` (Chinese) unless the role may do ``action``."""
        if not self.can(action):
            label = ACTION_LABELS.get(action, action.replace("record:", "登记"))
            raise JianhuError(f"{role_labels().get(self.role, self.role)}（{self.code}）无权{label}")


LOCAL_ADMIN = Actor(code="local-admin", name="本地管理员", role="local_admin")
"""The built-in administrator of a single-township workspace (used when nobody is named)."""
