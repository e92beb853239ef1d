"""The one scoping layer: which cases an actor may see.

- county administrators, trainers and the local administrator of a single-township workspace:
  every township (trainers and county viewers still may not open cases, see :mod:`jianhu.roles`);
- township roles (supervisor, social worker, assessors): their own township;
- village child directors (儿童主任, 民发〔2019〕34号): their own village;
- service providers of the support team: only the cases assigned to them (plan measures they own,
  services they gave, visits they made).

Every query of cases goes through :meth:`Scope.cases`; a case outside the scope is reported as
"not found" so that its existence is not revealed. On PostgreSQL the same township rule is also
enforced by row-level security (:mod:`jianhu.db.rls`), which :func:`scope_for` switches on.
Code the core does not write — a plugin's report — runs inside :func:`confined`, which adds the
scope to every query the session makes, so it cannot read outside the scope even by forgetting
to ask (on SQLite too, where there is no row-level security).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, bindparam, event, or_, select
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from jianhu.db.models import (
    Assessment,
    Case,
    CaseAssignment,
    Child,
    FollowUp,
    FormRecord,
    Person,
    Township,
    Village,
)
from jianhu.db.rls import COUNTY_ROLE, township_role, use_role
from jianhu.errors import JianhuError
from jianhu.roles import ASSIGNED_ONLY, COUNTY_WIDE, Actor


@dataclass(frozen=True)
class Scope:
    """What an actor may see.

    Attributes:
        actor: the actor.
        township_id: the only township visible, or ``None`` for every township.
        village_id: the only village visible (child directors), or ``None``.
        assigned_only: only cases assigned to the actor.
    """

    actor: Actor
    township_id: uuid.UUID | None = None
    village_id: uuid.UUID | None = None
    assigned_only: bool = False

    def cases(self, stmt: Select[Any]) -> Select[Any]:
        """Restrict a select that involves :class:`Case` to the cases in scope."""
        if self.township_id is not None:
            stmt = stmt.where(Case.township_id == self.township_id)
        if self.village_id is not None:
            stmt = stmt.where(Case.village_id == self.village_id)
        if self.assigned_only:
            stmt = stmt.where(Case.id.in_(select(CaseAssignment.case_id).where(
                CaseAssignment.person_code == self.actor.code)))
        return stmt

    def children(self, stmt: Select[Any]) -> Select[Any]:
        """Restrict a select that involves :class:`Child` to the children in scope (those of the
        actor's township or village; a service provider's: those of their assigned cases)."""
        if self.township_id is not None:
            stmt = stmt.where(Child.township_id == self.township_id)
        if self.village_id is not None:
            stmt = stmt.where(Child.village_id == self.village_id)
        if self.assigned_only:
            stmt = stmt.where(Child.id.in_(select(Case.child_id).join(
                CaseAssignment, CaseAssignment.case_id == Case.id).where(
                CaseAssignment.person_code == self.actor.code)))
        return stmt

    def holds(self, township_id: uuid.UUID, village_id: uuid.UUID | None = None) -> bool:
        """Whether a record held by this township (and village) is the actor's to change: the
        rule every write by identity checks before it touches a stored child (handbook:
        儿童身份与个案归属). Service providers change no child's registration."""
        if self.assigned_only:
            return False
        if self.township_id is not None and township_id != self.township_id:
            return False
        return self.village_id is None or village_id == self.village_id

    def find_case(self, session: Session, case_no: str) -> Case:
        """The case with this number, if in scope.

        Raises:
            JianhuError: no such case in scope ("没有个案", the same whether it exists or not).
        """
        case = session.scalar(self.cases(select(Case).where(Case.case_no == case_no)))
        if case is None:
            raise JianhuError(f"没有个案 {case_no}")
        return case


def scope_for(session: Session, actor: Actor) -> Scope:
    """Build the actor's scope and, on PostgreSQL, switch the session to its database role.

    Raises:
        JianhuError: a township role whose person has no township on the roster.
    """
    if actor.role in COUNTY_WIDE:
        use_role(session, COUNTY_ROLE if actor.role.startswith("county") else None)
        session.info["jianhu_scope"] = scope = Scope(actor)
        return scope
    row = session.execute(select(Person.township_id, Person.village_id, Township.code)
                          .join(Township, Person.township_id == Township.id)
                          .where(Person.code == actor.code)).first()
    if row is None:
        raise JianhuError(f"人员「{actor.code}」没有所属乡镇，不能查看个案")
    village = row.village_id if actor.role == "village_child_director" else None
    if actor.role == "village_child_director" and village is None:
        raise JianhuError(f"儿童主任「{actor.code}」在名册中没有负责的村（社区）")
    use_role(session, township_role(row.code))
    scope = Scope(actor, row.township_id, village, actor.role in ASSIGNED_ONLY)
    session.info["jianhu_scope"] = scope
    return scope


def current(session: Session) -> Scope | None:
    """The scope set on ``session`` by :func:`scope_for` (``None``: the whole workspace)."""
    return session.info.get("jianhu_scope")


def restrict(session: Session, stmt: Select[Any]) -> Select[Any]:
    """Apply the scope set on ``session`` by :func:`scope_for` (none: the whole workspace, as
    for the local administrator and for deployment tasks)."""
    scope = session.info.get("jianhu_scope")
    return stmt if scope is None else scope.cases(stmt)


@contextmanager
def confined(session: Session) -> Iterator[None]:
    """While the block runs, every ORM query of ``session`` sees only the scope set by
    :func:`scope_for`: its township and villages, its cases, their children, follow-ups,
    assessments and form records, whatever code builds the query. Used around a plugin's report
    (:func:`jianhu.reports.build`). Nothing changes for a scope that sees every township."""
    scope = current(session)
    if scope is None or (scope.township_id is None and not scope.assigned_only):
        yield
        return
    on_case, on_child = [], []
    if scope.township_id is not None:
        on_case.append(Case.township_id == scope.township_id)
        on_child.append(Child.township_id == scope.township_id)
    if scope.village_id is not None:
        on_case.append(Case.village_id == scope.village_id)
        on_child.append(Child.village_id == scope.village_id)
    if scope.assigned_only:
        assigned = select(CaseAssignment.case_id).where(
            CaseAssignment.person_code == scope.actor.code)
        on_case.append(Case.id.in_(assigned))
        on_child.append(Child.id.in_(select(Case.child_id).where(Case.id.in_(assigned))))
    case_ids = select(Case.id).where(*on_case)
    child_ids = select(Child.id).where(*on_child)
    options = [
        with_loader_criteria(Case, and_(*on_case), include_aliases=True),
        with_loader_criteria(Child, and_(*on_child), include_aliases=True),
        with_loader_criteria(FollowUp, FollowUp.case_id.in_(case_ids), include_aliases=True),
        with_loader_criteria(Assessment, Assessment.case_id.in_(case_ids), include_aliases=True),
        with_loader_criteria(FormRecord, or_(FormRecord.subject_id.in_(case_ids),
                                             FormRecord.subject_id.in_(child_ids)),
                             include_aliases=True),
    ]
    if scope.township_id is not None:
        options.append(with_loader_criteria(Township, Township.id == scope.township_id,
                                            include_aliases=True))
        village = (Village.id == scope.village_id if scope.village_id is not None
                   else Village.township_id == scope.township_id)
        options.append(with_loader_criteria(Village, village, include_aliases=True))

    def add_scope(state: ORMExecuteState) -> None:
        if state.is_select:
            state.statement = state.statement.options(*options)

    event.listen(session, "do_orm_execute", add_scope)
    try:
        yield
    finally:
        event.remove(session, "do_orm_execute", add_scope)


#: :func:`assign`'s statement, built once.
_ASSIGNED = select(CaseAssignment.person_code).where(CaseAssignment.case_id == bindparam("case_id"))


def assign(session: Session, case: Case, codes: list[str]) -> None:
    """Record that these people work on ``case`` (idempotent). Reads without flushing the
    session's other changes first: the assignments not yet flushed are in ``session.new``."""
    with session.no_autoflush:
        have = set(session.scalars(_ASSIGNED, {"case_id": case.id}))
    have.update(o.person_code for o in session.new
                if isinstance(o, CaseAssignment) and o.case_id == case.id)
    have.difference_update(o.person_code for o in session.deleted
                           if isinstance(o, CaseAssignment) and o.case_id == case.id)
    for code in sorted(set(codes) - have):
        session.add(CaseAssignment(case_id=case.id, person_code=code))
