"""Import of lifecycle records, all or nothing, from a JSON Lines file or a filled-in casework
template.

Each line of a JSON Lines file is one record::

    {"form": "visit", "as": "320724100-D01",
     "child": {"citizen_id": "..."} | {"name": ..., "birth_date": ..., "township": ..., "village": ...},
     "payload": {...the form document...}}

The child's case is its open case, else its latest closed one (for return visits). A casework
template (``jianhu template visit``, XLSX or CSV) names the case in its column 个案编号 instead,
one record per row (one item per row for a plan's measures: :mod:`jianhu.imports.casework_sheets`).

Records are applied in file order through :func:`jianhu.records.record_form`, so every role,
schema and lifecycle rule applies exactly as for ``jianhu record``. Any bad record rolls the whole
file back and every problem is reported with its line, or row and column. A record already on the
case with the same form and content (its date included) is not recorded again: importing a file
twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jianhu import identity
from jianhu.db.models import Case, Township, Village
from jianhu.errors import JianhuError, RowError
from jianhu.forms import load_form
from jianhu.forms.fields import fold
from jianhu.identity import find_children
from jianhu.imports.casework_sheets import CASE_FIELD, SheetRecord, read_casework_sheet
from jianhu.imports.runner import ImportSummary, all_or_nothing
from jianhu.people import resolve_actor
from jianhu.plugins import Host
from jianhu.records import HANDLERS, record_digest, record_form, recorded_digests
from jianhu.roles import Actor
from jianhu.scope import restrict

#: The suffixes of a JSON Lines file; any other is read as a spreadsheet (XLSX, CSV...).
JSON_LINES_SUFFIXES = {".jsonl", ".ndjson", ".json"}


@dataclass
class _Entry:
    """One record to apply: its line or first row, its form, its document, and whom it is about
    (a JSON line's child and ``as``, or the sheet record naming its case)."""

    row: int
    form: str
    payload: Any
    who: str | None = None
    child: dict[str, Any] | None = None
    sheet: SheetRecord | None = None


def _json_lines(path: Path, summary: ImportSummary, errors: list[RowError]) -> Iterator[_Entry]:
    with path.open(encoding="utf-8-sig") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            summary.rows += 1
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                errors.append(RowError(number, "", f"不是有效的 JSON：{exc.msg}"))
                continue
            if not isinstance(item, dict) or not {"form", "child", "payload"} <= set(item):
                form = item.get("form", "") if isinstance(item, dict) else ""
                errors.append(RowError(number, str(form), "每行应为含 form、child、payload 的 JSON 对象"))
                continue
            if not isinstance(item["child"], dict):
                errors.append(RowError(number, str(item["form"]),
                                       "child 须有 citizen_id，或 name、birth_date、township、village"))
                continue
            yield _Entry(number, str(item["form"]), item["payload"], who=item.get("as"),
                         child=item["child"])


def _sheet(host: Host, path: Path, form_id: str | None, summary: ImportSummary,
           errors: list[RowError]) -> Iterator[_Entry]:
    sheet = read_casework_sheet(host, path, list(HANDLERS), form_id)
    summary.rows = sheet.rows
    errors += sheet.errors
    for rec in sheet.records:
        yield _Entry(rec.row, sheet.form.id, rec.payload, sheet=rec)


def _numbered_case(session: Session, case_no: str) -> Case:
    """The case numbered ``case_no`` in the actor's scope (the same answer whether a case outside
    it exists or not)."""
    case = session.scalar(restrict(session, select(Case).where(Case.case_no == case_no)))
    if case is None:
        raise JianhuError(f"没有个案 {case_no}")
    return case


def _child_key(child: dict[str, Any], towns: dict, villages: dict) -> dict[str, Any]:
    """The identity a JSON line's ``child`` names (:func:`jianhu.identity.find_children`)."""
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
    return key


class _Lookups:
    """The children, cases and stored records the lines of a file name, read a chunk of lines
    at a time (a few statements for :data:`CHUNK` lines instead of several for each).

    Records add no child and no case, and a case's state is read from its object in the session
    (which the records change), so what a chunk looked up stays right while its lines are
    applied; the records stored are added to :attr:`recorded` as each one is kept.
    """

    def __init__(self, session: Session, towns: dict, villages: dict):
        self.session, self.towns, self.villages = session, towns, villages
        self.keys: dict[int, dict[str, Any] | JianhuError] = {}  # by line
        self.found: dict[tuple, Any] = {}
        self.held: dict[str, identity.Holder] = {}
        self.cases: dict[Any, list[Case]] = {}  # child id -> its cases in scope, newest first
        #: ``(case id, form, payload hash)`` of the records on the cases looked up.
        self.recorded: set[tuple[Any, str, str]] = set()
        self._with_records: set[Any] = set()

    def load(self, entries: list[_Entry]) -> None:
        """Look up what the JSON lines ``entries`` name."""
        keys = []
        for e in entries:
            if e.child is None:
                continue
            try:
                self.keys[e.row] = key = _child_key(e.child, self.towns, self.villages)
            except JianhuError as exc:
                self.keys[e.row] = exc
                continue
            keys.append(key)
        if not keys:
            return
        found = find_children(self.session, keys)
        self.found.update(found)
        unseen = [k["citizen_id"] for k in keys if k["citizen_id"] and _lookup(k) not in found]
        if unseen:
            self.held.update(identity.holders(self.session, unseen))
        new = list(dict.fromkeys(r.id for r in found.values() if r.id not in self.cases))
        for start in range(0, len(new), 500):
            part = new[start:start + 500]
            for child_id in part:
                self.cases[child_id] = []
            for case in self.session.scalars(restrict(self.session, select(Case).where(
                    Case.child_id.in_(part)))):
                self.cases[case.child_id].append(case)
        for child_id in new:
            self.cases[child_id].sort(key=lambda c: (c.opened_on, c.created_at), reverse=True)
        self.with_records([c.id for child_id in new for c in self.cases[child_id]])

    def with_records(self, case_ids: list[Any]) -> None:
        """Read the records stored on these cases (once each) into :attr:`recorded`."""
        new = [i for i in dict.fromkeys(case_ids) if i not in self._with_records]
        if new:
            self.recorded |= recorded_digests(self.session, new)
            self._with_records.update(new)

    def case_for(self, entry: _Entry, *, alerts: list[dict[str, Any]], actor: str,
                 source: str) -> Case:
        """The case a line is about: the child's active case (else latest), in the actor's
        scope; a child held outside it is refused with an alert (:mod:`jianhu.identity`)."""
        key = self.keys[entry.row]
        if isinstance(key, JianhuError):
            raise key
        row = self.found.get(_lookup(key))
        holder = self.held.get(key["citizen_id"]) if row is None and key["citizen_id"] else None
        problem = identity.conflict(self.session, holder, None, None) if holder else None
        if problem is not None:
            if problem[1]:
                alerts.append(identity.alert_row(self.session, holder, actor=actor, source=source,
                                                 row=entry.row, from_township_id=None))
            raise JianhuError(problem[0])
        if row is None:
            raise JianhuError("找不到这名儿童：请先导入基本情况调查表")
        cases = self.cases.get(row.id)
        if not cases:
            raise JianhuError("这名儿童没有个案")
        active = [c for c in cases if c.status not in ("closed", "return_visits")]
        return (active or cases)[0]


def _lookup(key: dict[str, Any]) -> tuple:
    """Where :func:`jianhu.identity.find_children` files the child of ``key``."""
    return (("id", key["citizen_id"]) if key["citizen_id"] else
            ("nv", key["village_id"], key["name"], key["birth_date"]))


#: Lines looked up together (:class:`_Lookups`).
CHUNK = 500


def import_records(session: Session, host: Host, path: str | Path, *, actor: Actor,
                   form_id: str | None = None, dry_run: bool = False) -> ImportSummary:
    """Apply every record of a file in order, committing only if all succeed.

    Args:
        session: an open session on a current schema.
        host: loaded plugins.
        path: a JSON Lines file (``.jsonl``, one record per line), or a filled-in casework
            template (XLSX or CSV, :mod:`jianhu.imports.casework_sheets`).
        actor: who acts (for JSON lines without ``"as"``).
        form_id: the form a spreadsheet holds; ``None``: the one whose template has every column
            of its header.
        dry_run: apply, count, then roll back.

    Returns:
        an :class:`~jianhu.imports.runner.ImportSummary` (``created`` = records applied,
        ``unchanged`` = records already on their case).

    Raises:
        ImportRejected: any bad line or row (not JSON, a cell that does not read, unknown child or
            case, refused transition, bad form...); ``errors`` name each line or row and column.
            Nothing is written.
        JianhuError: the file cannot be read, or which form a spreadsheet holds is not clear.
    """
    path = Path(path)
    if not path.is_file():
        raise JianhuError(f"找不到文件：{path}")
    towns = {fold(t.name): t for t in session.scalars(select(Township))}
    villages = {(v.township_id, fold(v.name)): v.id for v in session.scalars(select(Village))}
    actors: dict[str | None, Actor] = {None: actor, actor.code: actor}
    with all_or_nothing(session, actor=actor.code, file=path.name, dry_run=dry_run) as job:
        summary, alerts = job.summary, job.alerts
        errors: list[RowError] = []  # of a line or a row each, added to the job's problems
        reader = _json_lines(path, summary, errors) if path.suffix.lower() in JSON_LINES_SUFFIXES \
            else _sheet(host, path, form_id, summary, errors)
        lookups = _Lookups(session, towns, villages)
        for chunk in _chunks(reader, CHUNK):
            lookups.load(chunk)
            for entry in chunk:
                _apply(session, host, entry, lookups, actors, actor, summary, errors,
                       alerts=alerts, source=path.name)
        job.problems.add(errors)
        job.after = {"records": summary.created}
    return summary


def _chunks(entries: Iterator[_Entry], size: int) -> Iterator[list[_Entry]]:
    chunk: list[_Entry] = []
    for entry in entries:
        chunk.append(entry)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _apply(session: Session, host: Host, entry: _Entry, lookups: _Lookups,
           actors: dict[str | None, Actor], actor: Actor, summary: ImportSummary,
           errors: list[RowError], *, alerts: list[dict[str, Any]], source: str) -> None:
    """Apply one record in a savepoint of its own (a refused one is undone and checking goes
    on), or add its problems to ``errors``."""
    try:
        who = entry.who
        if who not in actors:
            actors[who] = _on_behalf(session, actor, who)
        with session.begin_nested():
            if entry.sheet is not None:
                try:
                    case = _numbered_case(session, entry.sheet.case_no)
                except JianhuError as exc:
                    errors.append(RowError(entry.row, CASE_FIELD.column, str(exc)))
                    return
                form = load_form(host, entry.form)
                problems = form.problems(entry.payload)
                if problems:
                    errors.extend(RowError(*entry.sheet.where(col), msg) for col, msg in problems)
                    return
            else:
                case = lookups.case_for(entry, alerts=alerts, actor=actor.code, source=source)
            digest = record_digest(host, entry.form, entry.payload) \
                if isinstance(entry.payload, dict) else None
            if digest is not None:
                lookups.with_records([case.id])
                if (case.id, entry.form, digest) in lookups.recorded:
                    summary.unchanged += 1  # the same file imported again
                    return
            record_form(session, host, case, entry.form, entry.payload, actor=actors[who])
        if digest is not None:  # kept: a later line with the same record is unchanged
            lookups.recorded.add((case.id, entry.form, digest))
        summary.created += 1
    except JianhuError as exc:
        errors.append(RowError(entry.row, "" if entry.sheet else entry.form, str(exc)))


def _on_behalf(session: Session, actor: Actor, who: str) -> Actor:
    """The person a JSON line records for (``"as"``): only a supervisor may, for a person of their
    own township."""
    if not actor.can("records:on_behalf"):
        raise JianhuError(f"只有乡镇督导员可以代他人导入记录（本行 as：{who}）")
    outside = JianhuError(f"「{who}」不是本乡镇的人员，不能代其导入记录")
    try:
        other = resolve_actor(session, who)
    except JianhuError:  # on PostgreSQL another township's people are not even visible
        if actor.township_code is None:
            raise
        raise outside from None
    if actor.township_code is not None and other.township_code != actor.township_code:
        raise outside
    return other
