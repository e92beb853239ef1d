"""Reading the audit trail: who did or read what, for supervisors and county staff.

Every change and every identified read writes an audit event (:mod:`jianhu.audit`). A supervisor
sees the events about the cases, children, tasks and records of their township; county staff see
all (handbook: 儿童信息保护). On PostgreSQL row-level security applies the same rule to the table
itself, and application roles may only append to it (:mod:`jianhu.db.rls`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from jianhu.dates import LOCAL_TZ
from jianhu.db.models import AuditEvent, Case, Child, FollowUp, FormRecord, Person
from jianhu.scope import Scope

#: Entity types whose events a township sees (those tied to one of its cases or children).
CASE_BOUND = ("case", "child", "followup", "form_record")
ACTION_LABELS = {"read": "查看", "read_confidential": "查看报告人", "read_list": "查看列表（含姓名）",
                 "create": "新增", "update": "修改", "open": "开案", "grade": "定级",
                 "transition": "状态变更", "refused": "越权写入被拒", "move": "迁移",
                 "transfer_request": "申请转移", "transfer_accepted": "接收转移",
                 "transfer_refused": "退回转移", "export": "导出文书", "search": "按姓名查询",
                 "schedule": "排期", "migrate": "表单数据迁移", "record": "登记记录",
                 "done": "办结", "cancelled": "取消", "cancel": "取消", "cancel_measure": "取消方案措施",
                 "approval": "提交审批", "decide": "审批决定", "escalate": "升级干预",
                 "reclassify": "重新分类", "resolve": "核实疑似重复", "import": "导入文件",
                 "backup": "备份", "restore": "恢复", "restore_refused": "恢复被拒",
                 "deidentify": "到期去标识", "configure": "设置插件", "login": "登录",
                 "login_failed": "登录失败", "lock": "锁定", "throttle": "限制设备登录",
                 "set_password": "设置密码", "outbox_retry": "重新推送"}
#: Entity types as users say them.
ENTITY_LABELS = {"case": "个案", "child": "儿童", "followup": "待办", "form_record": "记录",
                 "assessment": "评估", "person": "人员", "approval": "审批", "database": "数据库",
                 "file": "文件", "village": "村（社区）", "township": "乡镇", "case_list": "列表",
                 "address": "设备", "plugin": "插件", "outbox": "推送队列", "transfer": "转移"}


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _own_staff(session: Session, scope: Scope) -> set[str]:
    """Roster codes of the scope's township: their events stay visible to it wherever the child
    went afterwards (a transfer)."""
    if scope.township_id is None:
        return set()
    return set(session.scalars(select(Person.code).where(Person.township_id == scope.township_id)))


def _visible_ids(session: Session, scope: Scope, events: list[AuditEvent]) -> set[str]:
    """The entity ids among ``events`` that belong to a case or child in ``scope``."""
    wanted: dict[str, set[uuid.UUID]] = {}
    for e in events:
        if e.entity_type in CASE_BOUND and (u := _uuid(e.entity_id)) is not None:
            wanted.setdefault(e.entity_type, set()).add(u)
    cases = select(Case.id)
    cases = scope.cases(cases)
    children = scope.children(select(Child.id))
    out: set[uuid.UUID] = set()
    if wanted.get("case"):
        out |= set(session.scalars(cases.where(Case.id.in_(wanted["case"]))))
    if wanted.get("child"):
        out |= set(session.scalars(children.where(Child.id.in_(wanted["child"]))))
    if wanted.get("followup"):
        out |= set(session.scalars(select(FollowUp.id).where(
            FollowUp.id.in_(wanted["followup"]), FollowUp.case_id.in_(cases))))
    if wanted.get("form_record"):
        out |= set(session.scalars(select(FormRecord.id).where(
            FormRecord.id.in_(wanted["form_record"]),
            or_(FormRecord.subject_id.in_(cases), FormRecord.subject_id.in_(children)))))
    return {str(u) for u in out}


def events(session: Session, scope: Scope, *, case: Case | None = None,
           person: str | None = None, since: dt.date | None = None,
           limit: int = 500) -> list[dict[str, Any]]:
    """The latest audit events in scope, newest first, filtered by case, acting person and date.

    Args:
        case: only events about this case, its child, its tasks and its records.
        person: only events by this roster code.
        since: only events on or after this local date (from 00:00 Beijing time).
        limit: at most this many events.
    """
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc())
    if case is not None:
        ids = [str(case.id), str(case.child_id)]
        ids += [str(i) for i in session.scalars(select(FollowUp.id).where(
            FollowUp.case_id == case.id))]
        ids += [str(i) for i in session.scalars(select(FormRecord.id).where(
            FormRecord.subject_id.in_([case.id, case.child_id])))]
        stmt = stmt.where(AuditEvent.entity_type.in_(CASE_BOUND), AuditEvent.entity_id.in_(ids))
    if person:
        stmt = stmt.where(AuditEvent.actor == person)
    if since is not None:  # from the start of that day, Beijing time
        stmt = stmt.where(AuditEvent.at >= dt.datetime.combine(since, dt.time(), LOCAL_TZ))
    out: list[AuditEvent] = []
    county_wide = scope.township_id is None and scope.village_id is None \
        and not scope.assigned_only
    staff = set() if county_wide or scope.village_id is not None else _own_staff(session, scope)
    offset = 0
    while len(out) < limit:  # read in pages, keeping the events in scope
        page = session.scalars(stmt.offset(offset).limit(limit)).all()
        if not page:
            break
        offset += len(page)
        keep = None if county_wide else _visible_ids(session, scope, page)
        out += [e for e in page if keep is None or e.entity_id in keep or e.actor in staff]
    return [{"id": e.id, "at": e.at.astimezone(LOCAL_TZ).isoformat(), "actor": e.actor,
             "action": e.action,
             "action_label": ACTION_LABELS.get(e.action, e.action),
             "entity_label": ENTITY_LABELS.get(e.entity_type, e.entity_type),
             "entity_type": e.entity_type, "entity_id": e.entity_id, "context": e.context,
             "case_no": (e.context or {}).get("case_no") or (e.after or {}).get("case_no")}
            for e in out[:limit]]
