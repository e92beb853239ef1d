"""Import of lifecycle records from a JSON Lines file, all or nothing.

Each line is one record::

    {"form": "visit", "as": "320724100-D01",
     "child": {"citizen_id": "..."} | {"name": ..., "birth_date": ..., "township": ..., "village": ...},
     "payload": {...the form document...}}

Lines are applied in file order through :func:`jianhu.records.record_form`, so every role,
schema and lifecycle rule applies exactly as for ``jianhu record``. The child's case is its open
case, else its latest closed one (for return visits). Any bad line rolls the whole file back and
every problem is reported with its line number. A record already on the case with the same form and
content (its date included) is not recorded again: importing a file twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jianhu import audit, identity
from jianhu.db.models import Case, Township, Village
from jianhu.db.session import unit_of_work
from jianhu.errors import ImportRejected, JianhuError, RowError
from jianhu.forms.fields import fold
from jianhu.identity import find_children
from jianhu.imports.screening import ImportSummary
from jianhu.people import resolve_actor
from jianhu.plugins import Host
from jianhu.records import is_recorded, record_form
from jianhu.roles import Actor
from jianhu.scope import restrict


def _case_for(session: Session, child: dict[str, Any], towns: dict, villages: dict, *,
              alerts: list[dict[str, Any]], actor: str, source: str, number: int) -> Case:
    """The case a line is about: the child's active case (else latest), in the actor's scope; a
    child held outside it is refused with an alert (:mod:`jianhu.identity`)."""
    key: dict[str, Any] = {"citizen_id": child.get("citizen_id"), "village_id": None,
                           "name": child.get("name"), "birth_date": None}
    if not key["citizen_id"]:
        town = towns.get(fold(str(child.get("township", ""))))
        key["village_id"] = villages.get((town.id, fold(str(child.get("village", ""))))) if town \
            else None
        try:
            key["birth_date"] = dt.date.fromisoformat(str(child.get("birth_date")))
        except ValueError:
            raise JianhuError("child 须有 citizen_id，或 name、birth_date、township、village") from None
    found = find_children(session, [key])
    row = next(iter(found.values()), None)
    holder = identity.holders(session, [key["citizen_id"]]).get(key["citizen_id"]) \
        if row is None and key["citizen_id"] else None
    problem = identity.conflict(session, holder, None, None) if holder else None
    if problem is not None:
        if problem[1]:
            alerts.append(identity.alert_row(session, holder, actor=actor, source=source,
                                             row=number, from_township_id=None))
        raise JianhuError(problem[0])
    if row is None:
        raise JianhuError("找不到这名儿童：请先导入基本情况调查表")
    cases = session.scalars(restrict(session, select(Case).where(Case.child_id == row.id))
                            .order_by(Case.opened_on.desc(), Case.created_at.desc())).all()
    if not cases:
        raise JianhuError("这名儿童没有个案")
    active = [c for c in cases if c.status not in ("closed", "return_visits")]
    return (active or cases)[0]


def import_records(session: Session, host: Host, path: str | Path, *, actor: Actor,
                   dry_run: bool = False) -> ImportSummary:
    """Apply every record of a JSON Lines file in order, committing only if all succeed.

    Args:
        session: an open session on a current schema.
        host: loaded plugins.
        path: the ``.jsonl`` file.
        actor: who acts for lines without ``"as"``.
        dry_run: apply, count, then roll back.

    Returns:
        an :class:`~jianhu.imports.screening.ImportSummary` (``created`` = records applied).

    Raises:
        ImportRejected: any bad line (not JSON, unknown child, refused transition, bad form...);
            ``errors`` name each line (``row`` = line number). Nothing is written.
        JianhuError: the file cannot be read.
    """
    path = Path(path)
    if not path.is_file():
        raise JianhuError(f"找不到文件：{path}")
    towns = {fold(t.name): t for t in session.scalars(select(Township))}
    villages = {(v.township_id, fold(v.name)): v.id for v in session.scalars(select(Village))}
    summary = ImportSummary(dry_run=dry_run)
    errors: list[RowError] = []
    actors: dict[str | None, Actor] = {None: actor, actor.code: actor}
    alerts: list[dict[str, Any]] = []
    with unit_of_work(session, keep=not dry_run):
        with path.open(encoding="utf-8-sig") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                summary.rows += 1
                item: Any = None
                try:
                    item = json.loads(line)
                    if not isinstance(item, dict) or not {"form", "child", "payload"} <= set(item):
                        raise JianhuError("每行应为含 form、child、payload 的 JSON 对象")
                    who = item.get("as")
                    if who not in actors:
                        if not actor.can("records:on_behalf"):
                            raise JianhuError(f"只有乡镇督导员可以代他人导入记录（本行 as：{who}）")
                        outside = JianhuError(f"「{who}」不是本乡镇的人员，不能代其导入记录")
                        try:
                            other = resolve_actor(session, who)
                        except JianhuError:  # on PostgreSQL another township's people are
                            if actor.township_code is None:  # not even visible
                                raise
                            raise outside from None
                        if actor.township_code is not None and \
                                other.township_code != actor.township_code:
                            raise outside
                        actors[who] = other
                    # A savepoint per line: a refused line is undone and checking goes on.
                    with session.begin_nested():
                        case = _case_for(session, item["child"], towns, villages, alerts=alerts,
                                         actor=actor.code, source=path.name, number=number)
                        if isinstance(item["payload"], dict) and is_recorded(
                                session, host, case, item["form"], item["payload"]):
                            summary.unchanged += 1  # the same file imported again
                            continue
                        record_form(session, host, case, item["form"], item["payload"],
                                    actor=actors[who])
                    summary.created += 1
                except json.JSONDecodeError as exc:
                    errors.append(RowError(number, "", f"不是有效的 JSON：{exc.msg}"))
                except JianhuError as exc:
                    form = item.get("form", "") if isinstance(item, dict) else ""
                    errors.append(RowError(number, str(form), str(exc)))
        if errors:
            identity.report(session, alerts)
            raise ImportRejected(errors, summary.rows)
        if not dry_run:
            audit.record(session, actor=actor.code, action="import", entity_type="file",
                         entity_id=path.name, after={"records": summary.created},
                         context={"file": path.name})
    return summary
