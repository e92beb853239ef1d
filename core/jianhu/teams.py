"""The plan's teams as data: each township's leading group, each village's working group and 公益社,
the assessment team and the rescue and service team, and who is in them.

The plan (新政发〔2016〕8号 四（一）、（二）) organises the work in four layers: a township leading
group (领导小组), a working group (村工作小组) and a 公益社 in every village, and two teams, one that
assesses (评估小组: civil affairs, women's federation, police, education) and one that helps
(救助服务队: psychologists, tutors, social workers, caring mothers, 五老, student and media
volunteers). The roster (:mod:`jianhu.people`) says what each person's role is; a team says who
works together. The rescue team is proposed first for a plan measure's owner and the assessment
team for an assessor (:func:`proposals`).

Every write checks the actor's permission (``teams:manage``, :mod:`jianhu.roles`) and township
(a supervisor manages the teams of their own township only), is audited, and a team's members are
people of the team's township (and village, for a village's teams). ``jianhu teams
add|add-member|import|list``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jianhu import audit
from jianhu.dates import now_utc
from jianhu.db.models import Person, Team, TeamMember, Township, Village
from jianhu.db.session import unit_of_work
from jianhu.errors import ImportRejected, JianhuError, RowError
from jianhu.forms.fields import fold
from jianhu.jsonfiles import read_json
from jianhu.roles import Actor, role_labels
from jianhu.scope import Scope

#: The kinds of team of the plan and their Chinese names (新政发〔2016〕8号 四（一）、（二）).
TEAM_KINDS: dict[str, str] = {
    "leading_group": "领导小组",
    "village_working_group": "村工作小组",
    "public_welfare_society": "公益社",
    "assessment_team": "评估小组",
    "rescue_team": "救助服务队",
}
#: Other names people write for the kinds (the handbook's and the plan's wordings).
KIND_ALIASES: dict[str, str] = {
    "镇领导小组": "leading_group", "乡镇领导小组": "leading_group",
    "工作小组": "village_working_group", "村（社区）工作小组": "village_working_group",
    "村(社区)工作小组": "village_working_group", "村工作组": "village_working_group",
    "社会组织": "public_welfare_society",
    "评估队伍": "assessment_team", "评估队": "assessment_team",
    "救助队伍": "rescue_team", "救助队": "rescue_team", "服务队": "rescue_team",
}
#: Kinds that belong to one village (新政发〔2016〕8号 四（一）: each village forms a working
#: group and one 公益社).
VILLAGE_KINDS = frozenset({"village_working_group", "public_welfare_society"})
#: Kinds of which a township (or, for village kinds, a village) has one only (新政发〔2016〕8号
#: 四（一）: one leading group; each village one working group and one 公益社).
ONE_PER_PLACE = frozenset({"leading_group", "village_working_group", "public_welfare_society"})
#: How a default name ends where it differs from the kind's name (``测试村工作小组``, not
#: ``测试村村工作小组``).
NAME_SUFFIX: dict[str, str] = {"village_working_group": "工作小组"}
#: A member's role in a team, in the order a list shows them.
MEMBER_ROLES: dict[str, str] = {"leader": "组长", "deputy": "副组长", "member": "成员"}
ROLE_ALIASES: dict[str, str] = {"队长": "leader", "社长": "leader", "负责人": "leader",
                                "副队长": "deputy", "副社长": "deputy",
                                "组员": "member", "队员": "member", "社员": "member"}
#: The team whose members are proposed first for a field naming a person: a plan measure's owner
#: from the rescue and service team, an assessor from the assessment team (新政发〔2016〕8号
#: 四（二）: the assessment team assesses, the rescue team carries out the measures).
PROPOSING_TEAM: dict[str, str] = {"responsible": "rescue_team", "assessor": "assessment_team"}


def kind_code(text: str) -> str:
    """The kind code of a team kind written as its code, Chinese name or another usual name.

    Raises:
        JianhuError: not a kind of team of the plan (Chinese, lists the kinds).
    """
    t = fold(str(text or ""))
    for code, label in TEAM_KINDS.items():
        if t in (code, fold(label)):
            return code
    for alias, code in KIND_ALIASES.items():
        if t == fold(alias):
            return code
    allowed = "、".join(TEAM_KINDS.values())
    raise JianhuError(f"「{text}」不是队伍类别；可选：{allowed}")


def default_name(kind: str, place: str) -> str:
    """A team's name when none is given: the place and the kind (``新安镇评估小组``)."""
    return f"{place}{NAME_SUFFIX.get(kind, TEAM_KINDS[kind])}"


def member_role(text: str | None) -> str:
    """A member role written as its code or Chinese name (empty: ``member``).

    Raises:
        JianhuError: not a role in a team.
    """
    t = fold(str(text or ""))
    if not t:
        return "member"
    for code, label in MEMBER_ROLES.items():
        if t in (code, label):
            return code
    if t in ROLE_ALIASES:
        return ROLE_ALIASES[t]
    raise JianhuError(f"「{text}」不是组内职务；可选：{'、'.join(MEMBER_ROLES.values())}")


def township_for(session: Session, scope: Scope, township: str | None, what: str = "队伍") -> Township:
    """The township a write is about: ``township`` (code, 9-digit code or name), else the actor's.

    Raises:
        JianhuError: no such township, none given by a county-wide actor, or another township
            than the actor's (a write outside the actor's scope is refused).
    """
    from jianhu.cases import resolve_township

    if township:
        code = resolve_township(session, township)
        town = session.scalar(select(Township).where(Township.code == code))
    elif scope.township_id is not None:
        town = session.get(Township, scope.township_id)
    else:
        raise JianhuError("请用 --township 指明乡镇（12位代码、9位代码或乡镇名称）")
    assert town is not None
    if scope.township_id is not None and town.id != scope.township_id:
        raise JianhuError(f"无权管理其他乡镇（{town.name}）的{what}")
    return town


def _village(session: Session, town: Township, name: str) -> Village:
    for v in session.scalars(select(Village).where(Village.township_id == town.id)):
        if fold(v.name) == fold(name):
            return v
    raise JianhuError(f"{town.name}没有村（社区）「{name}」")


def add_team(session: Session, actor: Actor, scope: Scope, *, township: str | None, kind: str,
             name: str | None = None, village: str | None = None,
             context: dict[str, Any] | None = None) -> Team:
    """Add a team to a township (audited); the caller commits.

    Rules (新政发〔2016〕8号 四（一）): a village's working group and 公益社 name their village, the
    other kinds belong to the township; a township has one leading group and a village one working
    group and one 公益社; team names are unique in a township. The name defaults to the place and
    the kind (``新安镇评估小组``, ``测试村公益社``).

    Raises:
        JianhuError: not allowed, another township, unknown kind or village, a second team of a
            kind there is one of, or a name already used.
    """
    actor.require("teams:manage")
    town = township_for(session, scope, township)
    code = kind_code(kind)
    label = TEAM_KINDS[code]
    place: Village | None = None
    if code in VILLAGE_KINDS:
        if not (village or "").strip():
            raise JianhuError(f"{label}属于一个村（社区）：请写明村（社区）")
        place = _village(session, town, village.strip())  # type: ignore[union-attr]
    elif (village or "").strip():
        raise JianhuError(f"{label}是乡镇的队伍，不属于某个村（社区）：请不要写村（社区）")
    name = (name or "").strip() or default_name(code, place.name if place else town.name)
    if len(name) > 100:
        raise JianhuError("队伍名称不能超过100个字")
    if session.scalar(select(Team.id).where(Team.township_id == town.id, Team.name == name)):
        raise JianhuError(f"{town.name}已有队伍「{name}」")
    if code in ONE_PER_PLACE:
        same = session.scalar(select(Team).where(
            Team.township_id == town.id, Team.kind == code,
            Team.village_id == place.id if place else Team.village_id.is_(None)))
        if same is not None:
            raise JianhuError(f"{place.name if place else town.name}已有{label}「{same.name}」")
    now = now_utc()
    team = Team(id=uuid.uuid4(), township_id=town.id, village_id=place.id if place else None,
                kind=code, name=name, created_at=now, updated_at=now)
    session.add(team)
    session.flush()
    audit.record(session, actor=actor.code, action="create", entity_type="team", entity_id=team.id,
                 after={"township": town.code, "village": place.name if place else None,
                        "kind": code, "name": name}, context=context)
    return team


def find_team(session: Session, scope: Scope, name: str, township: str | None = None) -> Team:
    """The team named ``name`` (in ``township`` when given; in the actor's township if any).

    Raises:
        JianhuError: no such team in scope, or the name is used in several townships.
    """
    from jianhu.cases import resolve_township

    stmt = select(Team).where(Team.name == name.strip())
    if township:
        stmt = stmt.join(Township, Team.township_id == Township.id).where(
            Township.code == resolve_township(session, township))
    if scope.township_id is not None:
        stmt = stmt.where(Team.township_id == scope.township_id)
    found = session.scalars(stmt).all()
    if not found:
        raise JianhuError(f"没有队伍「{name}」（用 jianhu teams list 查看）")
    if len(found) > 1:
        raise JianhuError(f"多个乡镇都有队伍「{name}」：请用 --township 指明乡镇")
    return found[0]


def add_member(session: Session, actor: Actor, scope: Scope, team: Team, code: str,
               role: str | None = None, context: dict[str, Any] | None = None) -> str:
    """Put roster person ``code`` in ``team`` with ``role`` (组长/副组长/成员), or change their role
    there (audited); the caller commits. Returns ``"added"``, ``"updated"`` or ``"unchanged"``.

    Rule: a team's members are active people of the team's township and, for a village's working
    group or 公益社, of that village (新政发〔2016〕8号 四（一）: each village's own group and
    公益社, formed mainly of its village committee).

    Raises:
        JianhuError: not allowed, another township's team, unknown role, or a person who is not
            an active member of the team's township (village) roster.
    """
    actor.require("teams:manage")
    town = session.get(Township, team.township_id)
    assert town is not None
    if scope.township_id is not None and team.township_id != scope.township_id:
        raise JianhuError(f"无权管理其他乡镇（{town.name}）的队伍")
    role_code = member_role(role)
    person = session.scalar(select(Person).where(Person.code == code.strip()))
    if person is None or not person.active or person.township_id != team.township_id:
        raise JianhuError(f"「{code}」不是{town.name}人员名册中的在岗人员，不能加入「{team.name}」")
    if team.village_id is not None and person.village_id != team.village_id:
        village = session.get(Village, team.village_id)
        raise JianhuError(f"「{code}」（{person.name}）不是{village.name if village else ''}的人员，"
                          f"不能加入{TEAM_KINDS[team.kind]}「{team.name}」")
    member = session.get(TeamMember, (team.id, person.id))
    ctx = {"team": team.name, "person": person.code, **(context or {})}
    if member is None:
        session.add(TeamMember(team_id=team.id, person_id=person.id, role=role_code,
                               added_at=now_utc()))
        audit.record(session, actor=actor.code, action="create", entity_type="team_member",
                     entity_id=team.id, after={"person": person.code, "role": role_code},
                     context=ctx)
        return "added"
    if member.role == role_code:
        return "unchanged"
    audit.record(session, actor=actor.code, action="update", entity_type="team_member",
                 entity_id=team.id, before={"person": person.code, "role": member.role},
                 after={"person": person.code, "role": role_code}, context=ctx)
    member.role = role_code
    return "updated"


@dataclass
class TeamView:
    """A team as lists and the handbook show it."""

    id: str
    township_code: str
    township: str
    village: str | None
    kind: str
    name: str
    members: list[dict[str, Any]] = field(default_factory=list)

    @property
    def kind_label(self) -> str:
        """The kind's Chinese name."""
        return TEAM_KINDS.get(self.kind, self.kind)

    def as_dict(self) -> dict[str, Any]:
        """JSON of ``jianhu teams list --json``."""
        return {"id": self.id, "township_code": self.township_code, "township": self.township,
                "village": self.village, "kind": self.kind, "kind_label": self.kind_label,
                "name": self.name, "members": self.members}


def listing(session: Session, scope: Scope | None, township_code: str | None = None,
            kind: str | None = None) -> list[TeamView]:
    """The teams in scope (``None``: every township), by township, kind order, village, name;
    members leaders first."""
    stmt = (select(Team, Township.code, Township.name, Village.name)
            .join(Township, Team.township_id == Township.id)
            .outerjoin(Village, Team.village_id == Village.id))
    if scope is not None and scope.township_id is not None:
        stmt = stmt.where(Team.township_id == scope.township_id)
    if township_code:
        stmt = stmt.where(Township.code == township_code)
    if kind:
        stmt = stmt.where(Team.kind == kind_code(kind))
    order = list(TEAM_KINDS)
    rows = sorted(session.execute(stmt).all(), key=lambda r: (
        r[1], order.index(r[0].kind) if r[0].kind in order else 99, r[3] or "", r[0].name))
    views = [TeamView(str(t.id), code, town, village, t.kind, t.name)
             for t, code, town, village in rows]
    by_id = {v.id: v for v in views}
    if by_id:
        labels, ranks = role_labels(), list(MEMBER_ROLES)
        members = session.execute(
            select(TeamMember.team_id, TeamMember.role, Person.code, Person.name, Person.role)
            .join(Person, TeamMember.person_id == Person.id)
            .where(TeamMember.team_id.in_([uuid.UUID(i) for i in by_id])))
        for team_id, role, code, name, roster_role in sorted(
                members, key=lambda m: (ranks.index(m[1]) if m[1] in ranks else 9, m[2])):
            by_id[str(team_id)].members.append({
                "code": code, "name": name, "role": role,
                "role_label": MEMBER_ROLES.get(role, role),
                "roster_role": roster_role, "roster_role_label": labels.get(roster_role, roster_role)})
    return views


def proposals(session: Session, township_id: uuid.UUID, field_key: str) -> list[tuple[str, str, str]]:
    """People to propose for a field naming a person (``responsible``: a plan measure's owner,
    ``assessor``): ``(code, name, note)`` of the members of the field's team
    (:data:`PROPOSING_TEAM`) in the township first, leaders first, then the township's other
    active people by code. The note names the team, or the person's roster role
    (新政发〔2016〕8号 四（二）: the assessment team assesses, the rescue team carries out the
    plan's measures)."""
    labels = role_labels()
    people = session.execute(select(Person.id, Person.code, Person.name, Person.role).where(
        Person.township_id == township_id, Person.active.is_(True)).order_by(Person.code)).all()
    first: list[tuple[str, str, str]] = []
    seen: set[uuid.UUID] = set()
    kind = PROPOSING_TEAM.get(field_key)
    if kind:
        ranks = list(MEMBER_ROLES)
        rows = session.execute(
            select(Person.id, Person.code, Person.name, TeamMember.role, Team.name)
            .join(TeamMember, TeamMember.person_id == Person.id)
            .join(Team, Team.id == TeamMember.team_id)
            .where(Team.township_id == township_id, Team.kind == kind, Person.active.is_(True)))
        for pid, code, name, role, team in sorted(
                rows, key=lambda r: (ranks.index(r[3]) if r[3] in ranks else 9, r[1])):
            if pid not in seen:
                seen.add(pid)
                first.append((code, name, f"{team}{MEMBER_ROLES.get(role, role)}"))
    rest = [(code, name, labels.get(role, role)) for pid, code, name, role in people
            if pid not in seen]
    return first + rest


# ---------------------------------------------------------------------------- import

#: Columns of a teams file (one row per member; a row without a person only makes the team).
COLUMNS: dict[str, tuple[str, ...]] = {
    "township": ("乡镇", "township"),
    "village": ("村（社区）", "村", "village"),
    "kind": ("类别", "队伍类别", "kind"),
    "name": ("队伍名称", "名称", "name"),
    "person": ("人员编号", "编号", "person", "code"),
    "role": ("组内职务", "职务", "role"),
}


class _ItemError(RowError):
    """A problem in one team of a JSON file (numbered as the file lists them)."""

    def __str__(self) -> str:
        where = f"第{self.row}个队伍" + (f"「{self.column}」" if self.column else "")
        return f"{where}：{self.message}"


@dataclass
class TeamsImport:
    """What :func:`import_teams` did (or would do, ``dry_run``)."""

    rows: int = 0
    teams_created: int = 0
    members_added: int = 0
    members_updated: int = 0
    dry_run: bool = False


def _rows(path: Path) -> tuple[list[tuple[int, dict[str, Any]]], type[RowError]]:
    """``(row number, {column key: value})`` of a teams file (XLSX/CSV, or JSON)."""
    if path.suffix.lower() == ".json":
        raw = read_json(path)
        teams = raw.get("teams") if isinstance(raw, dict) else raw
        if not isinstance(teams, list) or not all(isinstance(t, dict) for t in teams):
            raise JianhuError(f"{path.name} 应为队伍的列表（或 {{\"teams\": [...]}}）")
        out: list[tuple[int, dict[str, Any]]] = []
        for n, t in enumerate(teams, start=1):
            base = {k: t.get(k) for k in ("township", "village", "kind", "name")}
            members = t.get("members") or []
            if not isinstance(members, list):
                members = [None]
            out.append((n, base))
            for m in members:
                if isinstance(m, str):
                    m = {"code": m}
                if not isinstance(m, dict):
                    out.append((n, {**base, "person": object()}))
                    continue
                out.append((n, {**base, "person": m.get("code"), "role": m.get("role")}))
        return out, _ItemError
    from jianhu.imports.tables import open_table

    table = open_table(path, {c for names in COLUMNS.values() for c in names})
    index: dict[str, int] = {}
    for i, head in enumerate(table.header):
        for key, names in COLUMNS.items():
            if fold(str(head)) in {fold(n) for n in names} and key not in index:
                index[key] = i
    missing = [COLUMNS[k][0] for k in ("township", "kind") if k not in index]
    if missing:
        raise ImportRejected([RowError(1, c, "缺少这一列") for c in missing], 0)
    rows = []
    for number, cells in table.rows:
        rows.append((number, {k: (str(cells[i]).strip() if i < len(cells) and cells[i] is not None
                                  else "") for k, i in index.items()}))
    return rows, RowError


def import_teams(session: Session, actor: Actor, scope: Scope, path: str | Path, *,
                 dry_run: bool = False) -> TeamsImport:
    """Import teams and their members from a file: XLSX/CSV, one row a member (乡镇, 村（社区）,
    类别, 队伍名称, 人员编号, 组内职务; a row without 人员编号 makes the team only), or JSON
    (``[{"township", "village", "kind", "name", "members": [{"code", "role"}]}]``).

    A team of the file not yet stored is added (:func:`add_team`); its members are added or get
    their new role (:func:`add_member`), the same rules of the plan applying (新政发〔2016〕8号
    四（一）、（二）). All or nothing: any bad row
    (named with its problem in Chinese) and nothing is written.

    Raises:
        ImportRejected: bad rows; nothing written.
        JianhuError: not allowed, or the file cannot be read.
    """
    actor.require("teams:manage")
    path = Path(path)
    rows, error_class = _rows(path)
    summary = TeamsImport(dry_run=dry_run)
    errors: list[RowError] = []
    made: dict[tuple[str, str], Team] = {}
    counted: set[int] = set()
    with unit_of_work(session, keep=not dry_run):
        for number, row in rows:
            if number not in counted:
                counted.add(number)
                summary.rows += 1
            try:
                town = township_for(session, scope, str(row.get("township") or "").strip() or None)
                code = kind_code(str(row.get("kind") or ""))
                village = str(row.get("village") or "").strip() or None
                place = village if code in VILLAGE_KINDS else None
                name = str(row.get("name") or "").strip() or default_name(code, place or town.name)
                team = made.get((town.code, name)) or session.scalar(select(Team).where(
                    Team.township_id == town.id, Team.name == name))
                if team is None:
                    team = add_team(session, actor, scope, township=town.code, kind=code,
                                    name=name, village=village,
                                    context={"file": path.name, "row": number})
                    summary.teams_created += 1
                elif team.kind != code:
                    raise JianhuError(f"队伍「{name}」已登记为{TEAM_KINDS[team.kind]}，"
                                      f"不是{TEAM_KINDS[code]}")
                made[town.code, name] = team
                person = row.get("person")
                if person is not None and not isinstance(person, str):
                    raise JianhuError("成员应写人员编号")
                if person:
                    done = add_member(session, actor, scope, team, person, row.get("role"),
                                      context={"file": path.name, "row": number})
                    summary.members_added += done == "added"
                    summary.members_updated += done == "updated"
            except JianhuError as exc:
                problem = error_class(number, "", str(exc))
                if problem not in errors:  # a team's error once, not once per member
                    errors.append(problem)
        if errors:
            raise ImportRejected(errors, summary.rows)
    return summary
