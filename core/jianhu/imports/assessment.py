"""Import of assessment answer sheets: find each child's open case and grade it, all or nothing.

Same rules as the survey import (:mod:`jianhu.imports.screening`): every row checked, every
problem reported by row and column in Chinese, nothing written when any row is bad. The child is
found by citizen ID, else by name + birth date + township + village.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jianhu import identity
from jianhu.assessment import grade, level_scale
from jianhu.cases import OPEN_STATUSES
from jianhu.dates import local_today
from jianhu.db.models import Case, Township, Village
from jianhu.errors import ImportRejected, RowError
from jianhu.forms import load_form
from jianhu.forms.fields import fold
from jianhu.identity import find_children
from jianhu.imports.ahead import read_ahead
from jianhu.imports.rows import ParsedRow, map_header, parse_rows
from jianhu.imports.runner import ImportSummary, all_or_nothing
from jianhu.imports.tables import open_table
from jianhu.plugins import Host
from jianhu.scope import restrict

BATCH = 500


def import_assessments(
    session: Session,
    host: Host,
    path: str | Path,
    *,
    actor: str,
    scale_name: str | None = None,
    dry_run: bool = False,
    progress: Callable[[int | None], Callable[[int], None] | None] | None = None,
) -> ImportSummary:
    """Import answer sheets from an XLSX or CSV file and grade each child's open case.

    Args:
        session: an open session on a current schema.
        host: loaded plugins.
        path: the file; header titles are the assessment form's column titles.
        actor: who is importing.
        scale_name: the level-setting scale (default: the default scale).
        dry_run: grade, count, then roll back.
        progress: called once with the file's number of data rows (``None`` when unknown);
            returns a function called with the rows read since its last call (or ``None``).

    Returns:
        an :class:`~jianhu.imports.runner.ImportSummary` (``created``: new assessments,
        ``updated``: re-imported ones, ``cases_updated``: cases whose level changed).

    Raises:
        ImportRejected: any bad row; nothing is written.
        JianhuError: the file cannot be read, or the scale cannot set levels.
    """
    scale = level_scale(host, scale_name) if scale_name else level_scale(host)
    form = load_form(host, scale.form_id)
    table = open_table(path, {f.column for f in form.fields})
    advance = progress(table.total) if progress is not None else None
    fields, errors = map_header(table.header, form)
    if errors:
        raise ImportRejected(errors, 0)
    townships = {fold(t.name): t for t in session.scalars(select(Township))}
    villages = {(v.township_id, fold(v.name)): v.id for v in session.scalars(select(Village))}
    seen: dict[tuple, int] = {}
    today = local_today()
    source = Path(path).name

    def subject(parsed: ParsedRow) -> tuple[dict[str, Any] | None, list[RowError]]:
        sub = parsed.doc.get("subject", {})
        col = form.by_path
        if sub.get("citizen_id"):
            return {"citizen_id": sub["citizen_id"], "village_id": None, "name": None,
                    "birth_date": None}, []
        missing = [col["subject", k].column for k in ("name", "birth_date", "township", "village")
                   if not sub.get(k)]
        if missing:
            return None, [RowError(parsed.row, "", "没有身份证号时，须填写" + "、".join(missing))]
        township = townships.get(fold(sub["township"]))
        vid = villages.get((township.id, fold(sub["village"]))) if township else None
        if vid is None:
            return None, [RowError(parsed.row, col["subject", "village"].column,
                                   f"{sub['township']}{sub['village']}没有登记过儿童")]
        return {"citizen_id": None, "village_id": vid, "name": sub["name"],
                "birth_date": dt.date.fromisoformat(sub["birth_date"])}, []

    def write(batch: list[tuple[ParsedRow, dict[str, Any]]], apply: bool) -> list[RowError]:
        """Find each row's child and open case; grade them all when ``apply`` and all found."""
        found = find_children(session, [key for _, key in batch])
        child_ids = [r.id for r in found.values()]
        cases = {c.child_id: c for c in session.scalars(restrict(session, select(Case).where(
            Case.child_id.in_(child_ids), Case.status.in_(OPEN_STATUSES))))}
        unseen = [k["citizen_id"] for _, k in batch
                  if k["citizen_id"] and ("id", k["citizen_id"]) not in found]
        held = identity.holders(session, unseen) if unseen else {}
        problems, todo = [], []
        for parsed, key in batch:
            lookup = (("id", key["citizen_id"]) if key["citizen_id"] else
                      ("nv", key["village_id"], key["name"], key["birth_date"]))
            child = found.get(lookup)
            holder = held.get(key["citizen_id"]) if child is None else None
            problem = identity.conflict(session, holder, None, None) if holder else None
            if problem is not None:
                problems.append(RowError(parsed.row, form.by_path["subject", "citizen_id"].column,
                                         problem[0]))
                if problem[1]:
                    alerts.append(identity.alert_row(session, holder, actor=actor, source=source,
                                                     row=parsed.row, from_township_id=None))
            elif child is None:
                problems.append(RowError(parsed.row, "", "找不到这名儿童：请先导入基本情况调查表"))
            elif child.id not in cases:
                problems.append(RowError(parsed.row, "", "这名儿童没有在办个案，不能评估"))
            else:
                on = dt.date.fromisoformat(parsed.doc["assessment"]["date"])
                sub = parsed.doc.get("subject", {})
                if on < cases[child.id].opened_on:
                    problems.append(RowError(parsed.row, form.by_path["assessment", "date"].column,
                                             f"评估日期早于开案日期 {cases[child.id].opened_on}"))
                elif sub.get("name") and sub["name"].strip() != child.name:
                    problems.append(RowError(parsed.row, form.by_path["subject", "name"].column,
                                             "儿童姓名与身份证号对应的儿童不一致，请核对"))
                elif sub.get("birth_date") and dt.date.fromisoformat(sub["birth_date"]) != \
                        child.birth_date:
                    problems.append(RowError(parsed.row,
                                             form.by_path["subject", "birth_date"].column,
                                             "出生日期与身份证号对应的儿童不一致，请核对"))
                else:
                    todo.append((parsed, cases[child.id]))
        if apply and not problems:
            for parsed, case in todo:
                g = grade(session, host, case, parsed.doc, actor=actor, scale=scale,
                          validate=False, context={"file": source, "row": parsed.row})
                summary.created += g.created
                summary.updated += not g.created
                summary.cases_updated += g.level_before != g.level_after
        return problems

    batch: list[tuple[ParsedRow, dict[str, Any]]] = []
    with all_or_nothing(session, actor=actor, file=source, dry_run=dry_run) as job:
        summary, alerts, errors = job.summary, job.alerts, job.problems
        job.context = {"form": form.id}
        for parsed in read_ahead(parse_rows(table, fields, form)):
            summary.rows += 1
            problems = list(parsed.errors)
            key = None
            if not problems:
                key, problems = subject(parsed)
                on = parsed.doc["assessment"]["date"]
                if dt.date.fromisoformat(on) > today:
                    problems.append(RowError(parsed.row, form.by_path["assessment", "date"].column,
                                             "评估日期晚于今天"))
                ident = (tuple(sorted(key.items())) if key else None, on)
                if key and ident in seen:
                    problems.append(RowError(parsed.row, "",
                                             f"与第{seen[ident]}行是同一名儿童同一天的评估"))
                elif key:
                    seen[ident] = parsed.row
            if problems:
                errors.add(problems)
            else:
                batch.append((parsed, key))
                if len(batch) >= BATCH:
                    errors.add(write(batch, apply=not errors))
                    batch = []
            if advance is not None:
                advance(1)
        if batch:
            errors.add(write(batch, apply=not errors))
        job.after = {"rows": summary.rows, "created": summary.created, "updated": summary.updated}
    return summary
