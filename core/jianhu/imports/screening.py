"""Import of basic situation surveys (基本情况调查表): children, guardians, survey records, cases.

All or nothing: every row is read and checked; rows are written in batches inside one
transaction while the file is good, and the first bad row stops the writing (checking goes on so
that every bad row is reported); at the end a file with any bad row is rolled back whole and
:class:`~jianhu.errors.ImportRejected` lists every problem. Re-importing a file updates the
children it names instead of adding them again; the identity of a child is the citizen ID, else
name + birth date + village (issue 2).

Memory does not grow with the file: rows stream in batches of :data:`BATCH`; the identity key of
each row (to report a child listed twice) is kept on disk (:class:`~jianhu.imports.rows.FirstRows`);
only the first :data:`~jianhu.imports.runner.KEEP` problems and warnings are kept, the others counted.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from jianhu import audit, citizen_id, duplicates, identity
from jianhu.cases import (
    EMERGENCY_SITUATIONS,
    OPEN_STATUSES,
    allocate_case_numbers,
    classify,
    emergency_situations,
    guardianship_rating,
    needs_case,
)
from jianhu.dates import LOCAL_TZ, age_on, form_date, local_date, local_today, now_utc
from jianhu.db.models import (
    Case,
    Child,
    DuplicateAlert,
    FollowUp,
    FormRecord,
    Guardian,
    Township,
    Village,
    payload_hash,
)
from jianhu.db.session import unit_of_work
from jianhu.errors import ImportRejected, JianhuError, RowError, RowProblems
from jianhu.extensions import CaseEvent
from jianhu.forms import load_form
from jianhu.forms.fields import fold
from jianhu.imports import runner
from jianhu.imports.ahead import read_ahead
from jianhu.imports.rows import FirstRows, ParsedRow, map_header, parse_rows
from jianhu.imports.runner import ImportSummary, all_or_nothing
from jianhu.imports.tables import open_table
from jianhu.lifecycle import CLOSED
from jianhu.plugins import Host
from jianhu.villages import CODE, VillageBook, ensure_townships

BATCH = 2000
GUARDIAN_ROLES = {"father": "father", "mother": "mother", "entrusted_guardian": "entrusted"}


def processing_basis(survey: dict[str, Any]) -> dict[str, Any]:
    """The child's legal basis of processing from the survey (handbook: 儿童信息保护): a statutory
    duty unless the township relies on the guardian's consent, which is then kept with it."""
    if survey.get("legal_basis") == "consent":
        return {"legal_basis": "consent", "consent": {
            "by": survey["consent_by"], "date": survey["consent_date"],
            "method": survey["consent_method"]}}
    return {"legal_basis": "statutory_duty", "consent": None}


def emergency_due(policy: Any, surveyed: dt.date, now: dt.datetime) -> dt.datetime:
    """When an emergency response found by a survey of ``surveyed`` is due:
    ``policy.emergency_response_hours`` after it was recorded, or after the start of the survey
    day when it is back-dated (未保法 Art 92; the hours are the township's policy)."""
    start = now if surveyed >= local_date(now) else dt.datetime.combine(surveyed, dt.time(), LOCAL_TZ)
    return (start + dt.timedelta(hours=policy.emergency_response_hours)).astimezone(dt.UTC)


@dataclass(frozen=True)
class SurveyFacts:
    """What writing a good survey row needs that the row alone decides
    (:meth:`ScreeningImport.facts`): worked out where the row is read, so in the reading process
    when there is one (:mod:`jianhu.imports.ahead`).

    Attributes:
        digest: :func:`~jianhu.db.models.payload_hash` of the survey.
        name_key: the child's name as :func:`jianhu.duplicates.name_key` files it.
        surveyed: the survey date.
        codes / rating / emergency: :func:`~jianhu.cases.classify`,
            :func:`~jianhu.cases.guardianship_rating` and
            :func:`~jianhu.cases.emergency_situations` of the survey on that date.
    """

    digest: str
    name_key: str
    surveyed: dt.date
    codes: list[str]
    rating: str
    emergency: list[str]


class StaleEdit(Exception):
    """A survey would change a child stored since at a newer version than the one it was
    filled in from (an offline device's copy): it is held, not applied (:mod:`jianhu.conflicts`).

    Attributes:
        child_id / township_id: the child.
        stored_version: the child's version now.
        before / after: the child's fields the survey would change, stored and proposed (the
            guardians and other answers change too when only ``survey_hash`` differs).
    """

    def __init__(self, child_id: uuid.UUID, township_id: uuid.UUID, stored_version: int,
                 before: dict[str, Any], after: dict[str, Any]):
        super().__init__("该儿童的信息在本次调查表填写之后已被他人修改")
        self.child_id, self.township_id, self.stored_version = child_id, township_id, stored_version
        self.before, self.after = before, after


class ScreeningImport:
    """One run of a screening import into an open session (see :func:`import_screening`)."""

    def __init__(self, session: Session, host: Host, actor: str, source: str):
        self.session = session
        self.host = host
        self.actor = actor
        self.source = source
        self.form = load_form(host, "screening")
        self.local_fields = host.form_extension_owners("screening")
        self.categories = host.target_categories
        self.policies: dict[str, Any] = {}
        self.townships = ensure_townships(session, host, actor)
        self.villages: dict[tuple[uuid.UUID, str], uuid.UUID] = {
            (v.township_id, fold(v.name)): v.id for v in session.scalars(select(Village))
        }
        self.book = VillageBook.load(session)
        scope = session.info.get("jianhu_scope")
        self.scope_township = scope.township_id if scope is not None else None
        self.scope_village = scope.village_id if scope is not None else None
        self.today = local_today()
        self.import_id = str(uuid.uuid4())
        self.summary = ImportSummary()
        self.alerts: list[dict[str, Any]] = []
        #: The child's version the survey was filled in from (a device's copy), or ``None``: a
        #: change of a child stored since at a newer version is refused (:class:`StaleEdit`).
        self.based_on: int | None = None

    # ------------------------------------------------------------------ checks
    def check(self, parsed: ParsedRow) -> list[RowError]:
        """Checks beyond the schema: known township, ID consistent with birth date and sex, dates
        in order, under 18 on the survey date (the same child listed twice: :meth:`repeated`).
        """
        doc, row = parsed.doc, parsed.row
        col = self.form.by_path
        errors: list[RowError] = []
        child = doc.get("child", {})
        township = doc.get("residence", {}).get("township")
        errors += self.village_of(parsed)
        if township is not None and fold(township) not in self.townships:
            names = "、".join(t.name for t in self.townships.values())
            errors.append(RowError(row, col["residence", "township"].column,
                                   f"「{township}」不是本县的乡镇，可选：{names}"))
        elif township is not None and self.scope_township is not None and \
                self.townships[fold(township)].id != self.scope_township:
            errors.append(RowError(row, col["residence", "township"].column,
                                   f"「{township}」不是你所在的乡镇，不能导入"))
        elif township is not None and self.scope_village is not None:
            village = doc.get("residence", {}).get("village", "")
            vid = self.villages.get((self.townships[fold(township)].id, fold(village)))
            if vid != self.scope_village:
                errors.append(RowError(row, col["residence", "village"].column,
                                       f"「{village}」不是你负责的村（社区），不能导入"
                                       "（新的村名须由乡镇督导员导入）"))
        if township is not None and fold(township) in self.townships:
            errors += self.foreign_fields(parsed, self.townships[fold(township)].code)
        number, born = child.get("citizen_id"), child.get("birth_date")
        survey_date = doc.get("survey", {}).get("date")
        id_column = col["child", "citizen_id"].column
        if number and born and all(e.column != id_column for e in parsed.errors):
            # no error on the ID column: the schema's format check has found it valid
            if citizen_id.birth_date(number).isoformat() != born:
                errors.append(RowError(row, col["child", "citizen_id"].column,
                                       f"身份证号中的出生日期与「出生日期」列（{born}）不一致"))
            if child.get("sex") and citizen_id.sex(number) != child["sex"]:
                errors.append(RowError(row, col["child", "citizen_id"].column,
                                       "身份证号中的性别与「性别」列不一致"))
        on = form_date(survey_date)  # None: not a date (the schema's error says so)
        birth = form_date(born)
        if on is not None:
            if on > self.today:
                errors.append(RowError(row, col["survey", "date"].column, "调查日期晚于今天"))
            if birth is not None:
                if birth > on:
                    errors.append(RowError(row, col["child", "birth_date"].column,
                                           "出生日期晚于调查日期"))
                elif age_on(birth, on) >= 18:
                    errors.append(RowError(row, col["child", "birth_date"].column,
                                           "调查时已满18周岁，不属于本表登记范围"))
            for group in GUARDIAN_ROLES:  # a parent or guardian born later than the child
                adult = (doc.get(group) or {}).get("birth_date")
                adult_on = form_date(adult)
                if adult_on is None or (group, "birth_date") not in col:
                    continue
                if adult_on > on:
                    errors.append(RowError(row, col[group, "birth_date"].column,
                                           "出生日期晚于调查日期"))
                elif birth is not None and adult_on >= birth:
                    errors.append(RowError(row, col[group, "birth_date"].column,
                                           f"出生日期（{adult}）不早于儿童的出生日期（{born}）"))
        return errors

    def facts(self, doc: dict[str, Any]) -> SurveyFacts:
        """The :class:`SurveyFacts` of a survey that passed :meth:`check`."""
        surveyed = dt.date.fromisoformat(doc["survey"]["date"])
        return SurveyFacts(payload_hash(doc), duplicates.name_key(doc["child"]["name"]), surveyed,
                           classify(self.categories, doc, surveyed), guardianship_rating(doc),
                           emergency_situations(doc, surveyed))

    def repeated(self, seen: FirstRows, chunk: list[tuple[ParsedRow, list[RowError]]]) -> None:
        """Add to each row's problems in ``chunk`` (rows in file order) that it names a child an
        earlier row of the file named (``seen``: the rows before the chunk)."""
        keyed = []
        for parsed, _ in chunk:
            key = self.identity(parsed.doc)
            if key is not None:
                keyed.append(("\x1f".join(key), parsed.row))
        earlier = seen.earlier(keyed)
        if earlier:
            for parsed, problems in chunk:
                if parsed.row in earlier:
                    problems.append(RowError(parsed.row, "", f"与第{earlier[parsed.row]}行是同一名儿童，"
                                             "请合并为一行"))

    def village_of(self, parsed: ParsedRow) -> list[RowError]:
        """The row's village given by name or by its code (:mod:`jianhu.villages`): a code in the
        village cell is replaced by the village's name, and the code column is checked against
        the codes registered."""
        res = parsed.doc.get("residence")
        town = self.townships.get(fold(res.get("township") or "")) if isinstance(res, dict) else None
        village = res.get("village") if town is not None else None
        if not isinstance(village, str) or not village.strip():
            return []
        name, code, problem = self.book.resolve(town.id, town.code, town.name, village,
                                                res.get("village_code"))
        if problem:
            where = "village" if CODE.fullmatch(village.strip()) else "village_code"
            return [RowError(parsed.row, self.form.by_path["residence", where].column, problem)]
        res["village"] = name
        if code:
            res["village_code"] = code
        return []

    def register_codes(self, pairs: list[tuple[uuid.UUID, str | None]]) -> None:
        """Store the code of a registered village that had none (checked by :meth:`village_of`),
        with an audit event."""
        wanted = {vid: code for vid, code in pairs if code}
        if not wanted:
            return
        for village in self.session.scalars(select(Village).where(
                Village.id.in_(wanted), Village.code.is_(None))):
            village.code = wanted[village.id]
            audit.record(self.session, actor=self.actor, action="update", entity_type="village",
                         entity_id=village.id, before={"code": None},
                         after={"code": village.code}, context=self.context())

    def foreign_fields(self, parsed: ParsedRow, township_code: str) -> list[RowError]:
        """Local fields filled in for a township whose plugin does not apply there (handbook:
        插件按乡镇启用): refused, so another township's rules never reach this child."""
        out = []
        for plugin, ext in self.local_fields:
            if self.host.applies(plugin, township_code):
                continue
            group = parsed.doc.get(ext.group) or {}
            filled = [k for k in ext.properties if group.get(k) not in (None, "", [])]
            if filled:
                towns = "、".join(sorted(self.host.areas[c].name if c in self.host.areas else c
                                        for c in self.host.enablement.get(plugin, ())))
                out.append(RowError(parsed.row, self.form.by_path[ext.group, filled[0]].column,
                                    f"「{ext.group_title}」各栏只适用于{towns}，本行的乡镇不填"))
        return out

    @staticmethod
    def identity(doc: dict[str, Any]) -> tuple | None:
        """The identity key of a row: citizen ID, else (township, village, name, birth date)."""
        child, res = doc.get("child", {}), doc.get("residence", {})
        if child.get("citizen_id"):
            return ("id", child["citizen_id"])
        parts = (res.get("township"), res.get("village"), child.get("name"), child.get("birth_date"))
        return None if None in parts else ("nv", *(fold(str(p)) for p in parts))

    # ------------------------------------------------------------------ writing
    def village_id(self, township: Township, name: str, code: str | None,
                   pending: list[dict]) -> uuid.UUID:
        """Return the id of a village, registering it (with its code, and an audit event) when
        new."""
        key = (township.id, fold(name))
        vid = self.villages.get(key)
        if vid is None:
            vid = uuid.uuid4()
            self.villages[key] = vid
            pending.append({"id": vid, "township_id": township.id, "name": name.strip(),
                            "code": code})
            self.summary.villages_created += 1
        return vid

    def write(self, batch: list[ParsedRow], apply: bool = True) -> list[RowError]:
        """Look up the children of one batch of good rows and, when ``apply`` and no row meets a
        child held elsewhere (:mod:`jianhu.identity`), write them: children, guardians, survey
        records, cases, audit. Returns the rows refused for identity."""
        s = self.session
        new_villages: list[dict] = []
        prepared = []
        for parsed in batch:
            doc = parsed.doc
            township = self.townships[fold(doc["residence"]["township"])]
            key = (township.id, fold(doc["residence"]["village"]))
            vid = self.villages.get(key) if not apply else self.village_id(
                township, doc["residence"]["village"], doc["residence"].get("village_code"),
                new_villages)
            c = doc["child"]
            if parsed.facts is None:  # not read by an import (a form on the web)
                parsed.facts = self.facts(doc)
            columns = {
                "township_id": township.id, "village_id": vid, "name": c["name"],
                "sex": c["sex"], "birth_date": dt.date.fromisoformat(c["birth_date"]),
                "citizen_id": c.get("citizen_id"), "name_key": parsed.facts.name_key,
                **processing_basis(doc["survey"]),
            }
            prepared.append((parsed, township, columns, parsed.facts.digest))
        refused = self.refused(prepared)
        if refused or not apply:
            for v in new_villages:  # not written: forget them
                del self.villages[v["township_id"], fold(v["name"])]
            self.summary.villages_created -= len(new_villages)
            return refused
        if new_villages:
            s.execute(insert(Village.__table__), new_villages)
            audit.record_many(s, [
                audit.event_row(actor=self.actor, action="create", entity_type="village",
                                entity_id=v["id"], after={"name": v["name"], "code": v["code"]},
                                context=self.context())
                for v in new_villages
            ])
        self.register_codes([(cols["village_id"], p.doc["residence"].get("village_code"))
                             for p, _, cols, _ in prepared])

        existing = self.find_existing([cols for _, _, cols, _ in prepared])
        known_ids = [row.id for row in existing.values()]
        latest_hash = self.latest_survey_hashes(known_ids)
        open_cases = {
            c.child_id: c for c in s.execute(
                select(Case.id, Case.child_id, Case.case_no, Case.categories,
                       Case.guardianship_rating)
                .where(Case.child_id.in_(known_ids), Case.status.in_(OPEN_STATUSES))
            )
        } if known_ids else {}
        closed_cases = dict(s.execute(
            select(Case.child_id, Case.id).where(Case.child_id.in_(known_ids),
                                                 Case.status.in_(CLOSED))
            .order_by(Case.opened_on)).all()) if known_ids else {}

        now = now_utc()
        child_inserts, child_updates, guardians, records, audits = [], [], [], [], []
        case_candidates: list[tuple[ParsedRow, Township, uuid.UUID, list[str], str, list[str]]] = []
        case_updates = []
        resurveyed: list[tuple[uuid.UUID, Township, dt.date, str, list[str], bool]] = []
        replaced_guardians: list[uuid.UUID] = []
        new_rows: dict[uuid.UUID, int] = {}
        for parsed, township, columns, digest in prepared:
            found = existing.get(self.lookup_key(columns))
            ctx = self.context(parsed.row)
            if found is not None:
                if columns["citizen_id"] is None:  # a re-survey without the ID keeps it
                    columns["citizen_id"] = found.citizen_id
                if "legal_basis" not in parsed.doc["survey"]:  # nor a consent recorded before
                    columns["legal_basis"], columns["consent"] = found.legal_basis, found.consent
                before = {k: getattr(found, k) for k in columns}
                if before == columns and latest_hash.get(found.id) == digest:
                    self.summary.unchanged += 1
                    continue
                child_id = found.id
                old, new = audit.diff(before, columns)
                if self.based_on is not None and found.version > self.based_on:
                    raise StaleEdit(child_id, found.township_id, found.version, old, new)
                new["survey_hash"], old["survey_hash"] = digest, latest_hash.get(found.id)
                child_updates.append({"id": child_id, **columns, "updated_at": now,
                                      "version": found.version + 1})
                replaced_guardians.append(child_id)
                audits.append(audit.event_row(actor=self.actor, action="update",
                                              entity_type="child", entity_id=child_id,
                                              before=old, after=new, context=ctx, at=now))
                self.summary.updated += 1
            else:
                child_id = uuid.uuid4()
                child_inserts.append({"id": child_id, **columns, "created_at": now,
                                      "updated_at": now})
                new_rows[child_id] = parsed.row
                audits.append(audit.event_row(actor=self.actor, action="create",
                                              entity_type="child", entity_id=child_id,
                                              after={**columns, "survey_hash": digest},
                                              context=ctx, at=now))
                self.summary.created += 1
            guardians.extend(self.guardian_rows(child_id, parsed.doc))
            survey_on, codes, rating = (parsed.facts.surveyed, parsed.facts.codes,
                                        parsed.facts.rating)
            records.append({
                "id": uuid.uuid4(), "form_id": self.form.id, "form_version": self.form.version,
                "subject_type": "child", "subject_id": child_id, "payload": parsed.doc,
                "payload_hash": digest, "recorded_on": survey_on, "created_at": now,
                "created_by": self.actor,
            })
            case = open_cases.get(child_id)
            if case is not None:
                if list(case.categories) != codes or case.guardianship_rating != rating:
                    case_updates.append({"id": case.id, "categories": codes,
                                         "guardianship_rating": rating, "updated_at": now})
                    audits.append(audit.event_row(
                        actor=self.actor, action="reclassify", entity_type="case",
                        entity_id=case.id,
                        before={"categories": case.categories, "rating": case.guardianship_rating},
                        after={"categories": codes, "rating": rating}, context=ctx, at=now))
                    self.summary.cases_updated += 1
                emergency = parsed.facts.emergency
                if emergency:
                    resurveyed.append((case.id, township, survey_on, rating, emergency, False))
            else:
                emergency = parsed.facts.emergency
                if not needs_case(codes, parsed.doc, emergency):
                    continue
                if child_id in closed_cases:  # one file per child: the closed case reopens
                    resurveyed.append((closed_cases[child_id], township, survey_on, rating,
                                       emergency, True))
                    case_updates.append({"id": closed_cases[child_id], "categories": codes,
                                         "guardianship_rating": rating, "updated_at": now})
                else:
                    case_candidates.append((parsed, township, child_id, codes, rating, emergency))

        if child_inserts:
            s.execute(insert(Child.__table__), child_inserts)
            self.flag_similar(child_inserts, new_rows, now)
        if child_updates:
            s.execute(update(Child), child_updates)
        if replaced_guardians:
            s.execute(delete(Guardian).where(Guardian.child_id.in_(replaced_guardians)))
        if guardians:
            s.execute(insert(Guardian.__table__), guardians)
        if records:
            s.execute(insert(FormRecord.__table__), records)
        if case_updates:
            s.execute(update(Case), case_updates)
        audits.extend(self.open_cases(case_candidates, now))
        audit.record_many(s, audits)
        self.act_on_resurvey(resurveyed, now)
        return []

    def act_on_resurvey(self, found: list[tuple[uuid.UUID, Township, dt.date, str, list[str], bool]],
                        now: dt.datetime) -> None:
        """Act on what a later survey finds about a child who already has a case (handbook:
        入户摸排 → 再次调查).

        - A closed case of a child the survey shows in need again reopens (one file per child,
          新政发〔2016〕8号 四（六）) with a re-assessment due as a first assessment would be
          (:meth:`first_tasks`); its remaining return visits are cancelled.
        - A survey showing a situation of 未保法 Art 92 makes the case red, with the reason in
          the level history, and opens an emergency response (unless one is pending).
        """
        from jianhu.assessment import raise_level
        from jianhu.followups import add_task, finish, pending
        from jianhu.lifecycle import transition

        for case_id, township, surveyed, rating, emergency, reopen in found:
            case = self.session.get(Case, case_id)
            policy = self.policy(township)
            if reopen:
                finish(self.session, pending(self.session, case, ("return_visit",)),
                       status="cancelled", on=None, actor=self.actor)
                transition(self.session, case, "reopen", actor=self.actor,
                           reason="再次调查发现需要干预", on=surveyed)
                days = (policy.first_assessment_days_poor if rating == "poor"
                        else policy.first_assessment_days)
                add_task(self.session, case, "reassessment", surveyed + dt.timedelta(days=days),
                         actor=self.actor)
                self.summary.cases_reopened += 1
            if emergency:
                if not pending(self.session, case, ("emergency_response",)):
                    due_at = emergency_due(policy, surveyed, now)
                    add_task(self.session, case, "emergency_response", local_date(due_at),
                             due_at=due_at, actor=self.actor)
                raise_level(self.session, self.host, case, "red", actor=self.actor, now=now,
                            reason="调查发现：" + "；".join(EMERGENCY_SITUATIONS[e] for e in emergency))
                self.summary.emergencies += 1

    def policy(self, township: Township) -> Any:
        """The township's follow-up policy (asked of the plugins once per import)."""
        if township.code not in self.policies:
            self.policies[township.code] = self.host.followup_policy(township.code)
        return self.policies[township.code]

    def flag_similar(self, inserted: list[dict[str, Any]], rows: dict[uuid.UUID, int],
                     now: dt.datetime) -> None:
        """Warn about, and keep alerts for, new children resembling registered ones
        (:mod:`jianhu.duplicates`); the rows are not refused."""
        new = [{**c, "row": rows[c["id"]]} for c in inserted]
        matches = duplicates.find_similar(self.session, new)
        if not matches:
            return
        town_of = {c["id"]: c["township_id"] for c in inserted}
        names = dict(self.session.execute(select(Village.id, Village.name).where(
            Village.id.in_({m.other_village_id for m in matches}))).all())
        for m in matches:
            if len(self.summary.warnings) < runner.KEEP:
                self.summary.warnings.append(RowError(
                    m.row, self.form.by_path["child", "name"].column,
                    duplicates.warning(self.session, m, names)))
            self.session.execute(insert(DuplicateAlert.__table__), duplicates.alert_rows(
                [m], actor=self.actor, source=self.source,
                from_township_id=town_of[m.child_id]))
        self.summary.possible_duplicates += len(matches)

    def refused(self, prepared: list[tuple[ParsedRow, Township, dict[str, Any], str]]
                ) -> list[RowError]:
        """The rows whose citizen ID is held in another township or village, or outside the
        actor's scope (:func:`jianhu.identity.conflict`); alerts for :func:`identity.report`
        are kept in ``self.alerts``."""
        ids = [cols["citizen_id"] for _, _, cols, _ in prepared if cols["citizen_id"]]
        held = identity.holders(self.session, ids) if ids else {}
        out = []
        for parsed, township, cols, _ in prepared:
            holder = held.get(cols["citizen_id"])
            if holder is None:
                continue
            village = cols["village_id"] or uuid.uuid4()  # a village not yet registered
            problem = identity.conflict(self.session, holder, township.id, village)
            if problem is None:
                continue
            message, alert = problem
            out.append(RowError(parsed.row, self.form.by_path["child", "citizen_id"].column,
                                message))
            if alert:
                self.alerts.append(identity.alert_row(
                    self.session, holder, actor=self.actor, source=self.source, row=parsed.row,
                    from_township_id=township.id))
        return out

    def open_cases(self, candidates: list, now: dt.datetime) -> list[dict]:
        """Insert cases for ``(row, township, child_id, categories, rating, emergency)``
        candidates, numbered in file order per township and year, with their first tasks
        (:meth:`first_tasks`); emit ``case_opened``; return their audit rows."""
        if not candidates:
            return []
        groups: dict[tuple[uuid.UUID, int], list] = defaultdict(list)
        for cand in candidates:
            groups[cand[1].id, int(cand[0].doc["survey"]["date"][:4])].append(cand)
        rows, tasks, audits = [], [], []
        for (_, year), members in groups.items():
            numbers = allocate_case_numbers(self.session, members[0][1], year, len(members))
            for (parsed, township, child_id, codes, rating, emergency), case_no in zip(
                    members, numbers, strict=True):
                case_id = uuid.uuid4()
                opened = dt.date.fromisoformat(parsed.doc["survey"]["date"])
                rows.append({
                    "id": case_id, "case_no": case_no, "child_id": child_id,
                    "township_id": township.id,
                    "village_id": self.villages[township.id, fold(parsed.doc["residence"]["village"])],
                    "status": "registered", "level": "red" if emergency else None,
                    "categories": codes, "guardianship_rating": rating, "opened_on": opened,
                    "created_at": now, "updated_at": now,
                })
                ctx = self.context(parsed.row)
                audits.append(audit.event_row(
                    actor=self.actor, action="open", entity_type="case", entity_id=case_id,
                    after={"case_no": case_no, "categories": codes, "rating": rating,
                           "status": "registered"}, context=ctx, at=now))
                if emergency:
                    audits.append(audit.event_row(
                        actor=self.actor, action="grade", entity_type="case", entity_id=case_id,
                        before={"level": None}, after={"level": "red", "reason": "调查发现：" + "；".join(
                            EMERGENCY_SITUATIONS[e] for e in emergency)}, context=ctx, at=now))
                for task in self.first_tasks(township, case_id, opened, rating, emergency, now):
                    tasks.append(task)
                    audits.append(audit.event_row(
                        actor=self.actor, action="schedule", entity_type="followup",
                        entity_id=task["id"], after={"case_no": case_no, "kind": task["kind"],
                                                     "due_on": task["due_on"]}, at=now))
                self.summary.by_township[township.name] = (
                    self.summary.by_township.get(township.name, 0) + 1)
        self.session.execute(insert(Case.__table__), rows)
        self.session.execute(insert(FollowUp.__table__), tasks)
        code_of = {t.id: t.code for t in self.townships.values()}
        for row in rows:
            self.host.emit(self.session, CaseEvent(
                kind="case_opened", case_id=str(row["id"]), case_no=row["case_no"],
                township_code=code_of[row["township_id"]], at=now,
                data={"categories": row["categories"], "rating": row["guardianship_rating"],
                      "level": row["level"]}))
        self.summary.cases_opened += len(rows)
        self.summary.emergencies += sum(1 for r in rows if r["level"] == "red")
        return audits

    def first_tasks(self, township: Township, case_id: uuid.UUID, surveyed: dt.date,
                    rating: str, emergency: list[str], now: dt.datetime) -> list[dict]:
        """The tasks a case opened at screening starts with (handbook: 期限与待办).

        - ``first_assessment``: due ``policy.first_assessment_days_poor`` days after the survey
          when guardianship is rated poor (差), else ``policy.first_assessment_days`` (project
          defaults 3 and 15, a township policy replaces them);
        - ``emergency_response`` when the survey shows a situation of 未保法 Art 92
          (:func:`jianhu.cases.emergency_situations`): due ``policy.emergency_response_hours``
          after the survey was recorded (after the start of the survey day when back-dated).
        """
        policy = self.policy(township)
        days = policy.first_assessment_days_poor if rating == "poor" else policy.first_assessment_days
        base = {"case_id": case_id, "township_id": township.id, "status": "pending",
                "owner": None, "created_at": now, "due_at": None}
        out = [{**base, "id": uuid.uuid4(), "kind": "first_assessment",
                "due_on": surveyed + dt.timedelta(days=days)}]
        if emergency:
            due_at = emergency_due(policy, surveyed, now)
            out.append({**base, "id": uuid.uuid4(), "kind": "emergency_response",
                        "due_on": local_date(due_at), "due_at": due_at})
        return out

    @staticmethod
    def guardian_rows(child_id: uuid.UUID, doc: dict[str, Any]) -> list[dict[str, Any]]:
        """Guardian rows (father, mother, entrusted guardian) of one survey."""
        out = []
        for group, role in GUARDIAN_ROLES.items():
            g = doc.get(group)
            if not g:
                continue
            born = g.get("birth_date")
            out.append({
                "id": uuid.uuid4(), "child_id": child_id, "role": role, "name": g.get("name"),
                "citizen_id": g.get("citizen_id"),
                "birth_date": dt.date.fromisoformat(born) if born else None,
                "status": g.get("status"), "relation": g.get("relation"), "phone": g.get("phone"),
            })
        return out

    @staticmethod
    def lookup_key(columns: dict[str, Any]) -> tuple:
        """The key :func:`find_children` files a child under for these child columns."""
        if columns["citizen_id"]:
            return ("id", columns["citizen_id"])
        return ("nv", columns["village_id"], columns["name"], columns["birth_date"])

    def find_existing(self, batch: list[dict[str, Any]]) -> dict[tuple, Any]:
        """See :func:`jianhu.identity.find_children`."""
        return identity.find_children(self.session, batch)


    def latest_survey_hashes(self, child_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
        """The payload hash of each child's latest survey record."""
        if not child_ids:
            return {}
        stmt = (select(FormRecord.subject_id, FormRecord.payload_hash)
                .where(FormRecord.form_id == self.form.id, FormRecord.subject_type == "child",
                       FormRecord.subject_id.in_(child_ids))
                .order_by(FormRecord.created_at))
        return {sid: h for sid, h in self.session.execute(stmt)}

    def context(self, row: int | None = None) -> dict[str, Any]:
        """Audit context of this import (and of one row of it when ``row`` is given)."""
        ctx: dict[str, Any] = {"import": self.import_id, "file": self.source}
        if row is not None:
            ctx["row"] = row
        return ctx


def checked(run: ScreeningImport, rows: Iterator[ParsedRow]
            ) -> Iterator[tuple[ParsedRow, list[RowError]]]:
    """Each row with all its problems but the repeated child (:meth:`ScreeningImport.check`), and
    a good row's facts (:meth:`ScreeningImport.facts`): what the rows alone decide, done where they
    are read."""
    for parsed in rows:
        problems = parsed.errors + run.check(parsed)
        if not problems:
            parsed.facts = run.facts(parsed.doc)
        yield parsed, problems


def import_screening(
    session: Session,
    host: Host,
    path: str | Path,
    *,
    actor: str,
    dry_run: bool = False,
    progress: Callable[[int | None], Callable[[int], None] | None] | None = None,
    sheet: str | None = None,
) -> ImportSummary:
    """Import a survey workbook or CSV into ``session`` and commit, all or nothing.

    Args:
        session: an open session on a current schema.
        host: the loaded plugins (form, categories, areas, case events).
        path: an XLSX/XLS/ODS or CSV (UTF-8, UTF-8 with BOM, GBK/GB18030) file whose header
            titles are the form's column titles.
        actor: who is importing (recorded in the audit trail).
        dry_run: check and count, then roll back.
        progress: called once with the file's number of data rows (``None`` when unknown);
            returns a function called with the rows read since its last call (or ``None``).

    Returns:
        an :class:`ImportSummary`.

    Raises:
        ImportRejected: any row (or the header) is bad; ``errors`` lists every problem with row
            number, column title and a Chinese message. Nothing is written.
        JianhuError: the file cannot be opened or read.
    """
    run = ScreeningImport(session, host, actor, Path(path).name)
    table = open_table(path, {f.column for f in run.form.fields}, sheet)
    advance = progress(table.total) if progress is not None else None
    fields, header_errors = map_header(table.header, run.form)
    if header_errors:
        session.rollback()
        raise ImportRejected(header_errors, 0)
    seen = FirstRows()

    def take(chunk: list[tuple[ParsedRow, list[RowError]]], errors: RowProblems) -> None:
        """Check a chunk of rows for children listed twice, then write its good rows while the
        file is good (still looked up after a bad row, to report every refusal)."""
        run.repeated(seen, chunk)
        good = []
        for parsed, problems in chunk:
            if problems:
                errors.add(problems)
            else:
                good.append(parsed)
        if good:
            errors.add(run.write(good, apply=not errors))

    try:
        with all_or_nothing(session, actor=actor, file=run.source, dry_run=dry_run,
                            summary=run.summary) as job:
            job.alerts, job.entity_id, job.context = run.alerts, run.import_id, run.context()
            chunk: list[tuple[ParsedRow, list[RowError]]] = []
            for parsed, problems in read_ahead(checked(run, parse_rows(table, fields, run.form))):
                run.summary.rows += 1
                chunk.append((parsed, problems))
                if len(chunk) >= BATCH:
                    take(chunk, job.problems)
                    chunk = []
                if advance is not None:
                    advance(1)
            if chunk:
                take(chunk, job.problems)
            if run.summary.rows == 0:
                raise JianhuError(f"{Path(path).name} 只有表头，没有数据行：没有导入任何儿童")
    finally:
        seen.close()
    return run.summary


def record_survey(session: Session, host: Host, doc: dict[str, Any], *,
                  actor: str, based_on: int | None = None,
                  commit: bool = True) -> ImportSummary:
    """Record one survey filled in on a form (the web page) and commit: exactly the checks and
    effects of a one-row import (:func:`import_screening`), so a child already registered is
    updated, not added again, and a case is opened when the rules say so.

    Args:
        based_on: the child's version the survey was filled in from (an offline device's copy),
            or ``None`` (the form was filled in on the stored child).
        commit: commit (rolled back on any error); ``False``: leave both to the caller (who
            stores more in the same transaction).

    Raises:
        ImportRejected: the survey fails the form or the import's checks; ``errors`` name the
            column titles (row 1). Nothing is written.
        StaleEdit: ``based_on`` is older than the stored child and the survey would change it.
            Nothing is written.
    """
    run = ScreeningImport(session, host, actor, "网页录入")
    run.based_on = based_on
    parsed = ParsedRow(1, doc, [RowError(1, col, msg) for col, msg in run.form.problems(doc)])
    with unit_of_work(session) if commit else nullcontext(session):
        try:
            beyond = run.check(parsed)
        except (TypeError, ValueError, AttributeError, KeyError):
            if not parsed.errors:  # a document the schema passed must pass through the checks
                raise
            beyond = []  # a document of the wrong shape (an API call): the schema's errors say so
        problems = parsed.errors + beyond
        if problems:
            raise ImportRejected(problems, 1)
        run.summary.rows = 1
        problems = run.write([parsed])
        if problems:
            identity.report(session, run.alerts)
            raise ImportRejected(problems, 1)
        audit.record(session, actor=actor, action="import", entity_type="file",
                     entity_id=run.import_id, after=run.summary.counts(), context=run.context())
    return run.summary
