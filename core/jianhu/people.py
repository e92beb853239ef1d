"""The roster of staff and volunteers, and resolving who is acting.

``jianhu people import FILE`` reads the ``person`` form (XLSX or CSV, same rules as every import:
all or nothing, every bad row named) and adds or updates people by code.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from jianhu import audit
from jianhu.dates import now_utc
from jianhu.db.models import Person, Township, Village
from jianhu.errors import ImportRejected, JianhuError, RowError
from jianhu.forms import load_form
from jianhu.forms.fields import fold
from jianhu.imports.rows import map_header, parse_rows
from jianhu.imports.runner import ImportSummary, all_or_nothing
from jianhu.imports.tables import open_table
from jianhu.plugins import Host
from jianhu.roles import LOCAL_ADMIN, Actor
from jianhu.villages import ensure_townships

PERSON_COLUMNS = ("name", "role", "organisation", "phone", "active")


def resolve_actor(session: Session | None, code: str | None) -> Actor:
    """Return the :class:`Actor` for roster code ``code`` (``None``/``local-admin``: built-in admin).

    Raises:
        JianhuError: no active person has that code.
    """
    if not code or code == LOCAL_ADMIN.code:
        return LOCAL_ADMIN
    if session is None:
        raise JianhuError("需要数据库才能确认操作人")
    row = session.execute(
        select(Person.code, Person.name, Person.role, Person.active, Township.code)
        .outerjoin(Township, Person.township_id == Township.id).where(Person.code == code)
    ).first()
    if row is None or not row.active:
        raise JianhuError(f"人员名册中没有在岗人员「{code}」（用 --as 或 JIANHU_USER 指定操作人）")
    return Actor(code=row[0], name=row[1], role=row[2], township_code=row[4])


#: :func:`require_people`'s statement, built once.
_PEOPLE = select(Person).where(Person.code.in_(bindparam("codes", expanding=True)))


def require_people(session: Session, codes: list[str]) -> dict[str, Person]:
    """Return the active people with these codes.

    Raises:
        JianhuError: a code is not on the roster or the person is not active (Chinese, names
            every missing code).
    """
    wanted = sorted(set(codes))
    found = {p.code: p for p in session.scalars(_PEOPLE, {"codes": wanted})}
    missing = [c for c in wanted if c not in found or not found[c].active]
    if missing:
        raise JianhuError(f"人员名册中没有在岗人员：{'、'.join(missing)}")
    return found


def import_people(session: Session, host: Host, path: str | Path, *, actor: Actor,
                  dry_run: bool = False) -> ImportSummary:
    """Import the roster from an XLSX or CSV file, adding or updating people by code.

    Returns:
        an :class:`~jianhu.imports.runner.ImportSummary` (created / updated / unchanged).

    Raises:
        ImportRejected: a bad row (unknown township, bad role, repeated code...); nothing is
            written. A village not yet registered is registered (audited).
        JianhuError: the actor may not import the roster, or the file cannot be read.
    """
    actor.require("people:import")
    form = load_form(host, "person")
    table = open_table(path, {f.column for f in form.fields})
    fields, errors = map_header(table.header, form)
    if errors:
        raise ImportRejected(errors, 0)
    townships = ensure_townships(session, host, actor.code)
    villages = {(v.township_id, fold(v.name)): v.id for v in session.scalars(select(Village))}
    existing = {p.code: p for p in session.scalars(select(Person))}
    seen: dict[str, int] = {}
    now = now_utc()
    with all_or_nothing(session, actor=actor.code, file=Path(path).name, dry_run=dry_run) as job:
        summary, errors = job.summary, job.problems
        for parsed in parse_rows(table, fields, form):
            summary.rows += 1
            row_errors = list(parsed.errors)
            p = parsed.doc.get("person", {})
            town = townships.get(fold(p.get("township", "")))
            col = form.by_path
            if p.get("township") and town is None:
                row_errors.append(RowError(parsed.row, col["person", "township"].column,
                                           f"「{p['township']}」不是本县的乡镇"))
            village_id = None
            if town is not None and p.get("village"):
                village_id = villages.get((town.id, fold(p["village"])))
                if village_id is None:  # a village the survey has not reached yet
                    village = Village(id=uuid.uuid4(), township_id=town.id, name=p["village"])
                    session.add(village)
                    session.flush()  # before the people living there (no relationship orders them)
                    audit.record(session, actor=actor.code, action="create", entity_type="village",
                                 entity_id=village.id, after={"name": village.name},
                                 context={"file": Path(path).name, "row": parsed.row})
                    village_id = villages[town.id, fold(p["village"])] = village.id
            if p.get("code") in seen:
                row_errors.append(RowError(parsed.row, col["person", "code"].column,
                                           f"编号与第{seen[p['code']]}行重复"))
            elif p.get("code"):
                seen[p["code"]] = parsed.row
            if row_errors:
                errors.add(row_errors)
                continue
            values = {"name": p["name"], "role": p["role"], "organisation": p.get("organisation"),
                      "phone": p.get("phone"), "active": p.get("active", True),
                      "township_id": town.id, "village_id": village_id}
            person = existing.get(p["code"])
            if person is None:
                person = Person(id=uuid.uuid4(), code=p["code"], created_at=now, updated_at=now,
                                **values)
                session.add(person)
                existing[p["code"]] = person
                summary.created += 1
                audit.record(session, actor=actor.code, action="create", entity_type="person",
                             entity_id=person.id, after={"code": p["code"], **values},
                             context={"file": Path(path).name, "row": parsed.row})
                continue
            before = {k: getattr(person, k) for k in values}
            if before == values:
                summary.unchanged += 1
                continue
            old, new = audit.diff(before, values)
            for k, v in values.items():
                setattr(person, k, v)
            person.updated_at = now
            summary.updated += 1
            audit.record(session, actor=actor.code, action="update", entity_type="person",
                         entity_id=person.id, before=old, after=new,
                         context={"file": Path(path).name, "row": parsed.row})
    return summary
