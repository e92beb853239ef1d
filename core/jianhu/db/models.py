"""The tables. One ``Base`` with a constraint naming convention (stable names for migrations).

UUID primary keys everywhere except the audit trail (an ordered integer sequence); cases also have
a human case number. Form payloads are JSON; the columns queries filter on (township, village,
level, status, due date) are real indexed columns (handbook 架构, 存储).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from jianhu.dates import now_utc
from jianhu.db.types import JSONType, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every table."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSONType, list[Any]: JSONType, dt.datetime: UTCDateTime}


def _uuid() -> uuid.UUID:
    return uuid.uuid4()


class Township(Base):
    """A township (乡镇) or sub-district of the county, identified by its 12-digit code."""

    __tablename__ = "townships"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=_uuid)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    county_code: Mapped[str] = mapped_column(String(6), index=True)


class Village(Base):
    """A village (村) or residents' community (社区) of a township."""

    __tablename__ = "villages"
    __table_args__ = (UniqueConstraint("township_id", "name"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=_uuid)
    township_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("townships.id"))
    name: Mapped[str] = mapped_column(String(50))
    code: Mapped[str | None] = mapped_column(String(12))


class Child(Base):
    """A child found in screening. Identity: citizen ID, else name + birth date + village."""

    __tablename__ = "children"
    __table_args__ = (Index("ix_children_identity", "village_id", "name", "birth_date"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=_uuid)
    township_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("townships.id"), index=True)
    village_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("villages.id"))
    name: Mapped[str] = mapped_column(String(50))
    sex: Mapped[str] = mapped_column(String(6))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    citizen_id: Mapped[str | None] = mapped_column(String(18), unique=True)
    #: The name's toneless pinyin, syllables sorted (:func:`jianhu.duplicates.name_key`).
    name_key: Mapped[str | None] = mapped_column(String(200), index=True)
    #: Legal basis of processing (:data:`jianhu.retention.LEGAL_BASES`) and, when it is consent,
    #: who consented, when and how (``{"by", "date", "method"}``).
    legal_basis: Mapped[str] = mapped_column(String(20), default="statutory_duty",
                                             server_default="statutory_duty")
    consent: Mapped[dict[str, Any] | None]
    #: The day its personal data was de-identified at the end of retention (:mod:`jianhu.retention`).
    deidentified_on: Mapped[dt.date | None] = mapped_column(Date)
    #: Raised by one at every change of the child's or guardians' fields: an edit made on a
    #: device from an older version is held as a conflict (:mod:`jianhu.conflicts`).
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    updated_at: Mapped[dt.datetime] = mapped_column(default=now_utc)


class Guardian(Base):
    """A parent or entrusted guardian of a child (role ``father``, ``mother`` or ``entrusted``)."""

    __tablename__ = "guardians"
    __table_args__ = (UniqueConstraint("child_id", "role"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=_uuid)
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("children.id"))
    role: Mapped[str] = mapped_column(String(20))
    name: Mapped[str | None] = mapped_column(String(50))
    citizen_id: Mapped[str | None] = mapped_column(String(18))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str | None] = mapped_column(String(30))
    relation: Mapped[str | None] = mapped_column(String(20))
    phone: Mapped[str | None] = mapped_column(String(20))


class Case(Base):
    """A child's intervention case (个案), with its grading and target-group categories."""

    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_scope", "township_id", "status", "level"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=_uuid)
    case_no: Mapped[str] = mapped_column(String(24), unique=True)
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("children.id"), index=True)
    township_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("townships.id"))
    village_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("villages.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="registered")
    level: Mapped[str | None] = mapped_column(String(10))
    categories: Mapped[list[Any]] = mapped_column(default=list)
    guardianship_rating: Mapped[str] = mapped_column(String(10))
    escalation: Mapped[str | None] = mapped_column(String(20))
    opened_on: Mapped[dt.date] = mapped_column(Date)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    updated_at: Mapped[dt.datetime] = mapped_column(default=now_utc)


class CaseCounter(Base):
    """Last case-number sequence used per township and year."""

    __tablename__ = "case_counters"
    township_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("townships.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


def payload_hash(payload: dict[str, Any]) -> str:
    """SHA-256 of a payload's canonical JSON (sorted keys, no spaces, UTF-8):
    :attr:`FormRecord.payload_hash`, to tell a record already stored from a changed one.

    orjson writes it four times as fast as the standard library and writes the same text for
    what forms hold (text, integers, decimals, lists, objects); the standard library writes what
    orjson refuses (an integer beyond 64 bits, a key that is not text). A number written with an
    exponent (beyond 10¹⁶ or below 10⁻⁴) is the one value the two spell differently."""
    try:
        text = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError
        text = json.dumps(payload, sort_keys=True, ensure_ascii=False,
                          separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(text).hexdigest()


class FormRecord(Base):
    """One filled-in form: schema id and version beside its JSON payload."""

    __tablename__ = "form_records"
    __table_args__ = (Index("ix_form_records_subject", "subject_type", "subject_id"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=_uuid)
    form_id: Mapped[str] = mapped_column(String(50))
    form_version: Mapped[int] = mapped_column(Integer)
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[uuid.UUID]
    payload: Mapped[dict[str, Any]]
    payload_hash: Mapped[str] = mapped_column(String(64))
    recorded_on: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    created_by: Mapped[str] = mapped_column(String(100))


class Assessment(Base):
    """A scale applied to a case on a date: answers, scores and the level it gives."""

    __tablename__ = "assessments"
    __table_args__ = (UniqueConstraint("case_id", "scale", "assessed_on"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=_uuid)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"))
    scale: Mapped[str] = mapped_column(String(50))
    scale_version: Mapped[str] = mapped_column(String(20))
    form_version: Mapped[int] = mapped_column(Integer)
    assessed_on: Mapped[dt.date] = mapped_column(Date)
    assessor: Mapped[str] = mapped_column(String(50))
    answers: Mapped[dict[str, Any]]
    scores: Mapped[dict[str, Any]]
    total: Mapped[float | None]
    level: Mapped[str | None] = mapped_column(String(10))
    emergency: Mapped[list[Any]] = mapped_column(default=list)
    bands: Mapped[dict[str, Any] | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)


class FollowUp(Base):
    """A task on a case that falls due: a visit, a re-assessment or a mandatory report.

    ``due_on`` is a local date (Asia/Shanghai); ``due_at`` an exact instant where the law sets
    hours (a mandatory report). ``status`` is ``pending``, ``done`` or ``cancelled``.
    """

    __tablename__ = "followups"
    # covering: the due list reads every column it needs from the index (migration 0017)
    __table_args__ = (Index("ix_followups_due", "township_id", "status", "due_on", "kind", "due_at",
                            "owner", "case_id", "id"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=_uuid)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    township_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("townships.id"))
    kind: Mapped[str] = mapped_column(String(30))
    due_on: Mapped[dt.date] = mapped_column(Date)
    due_at: Mapped[dt.datetime | None]
    status: Mapped[str] = mapped_column(String(12), default="pending")
    done_on: Mapped[dt.date | None] = mapped_column(Date)
    assessment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("assessments.id"))
    record_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("form_records.id"))
    ref: Mapped[str | None] = mapped_column(String(50))
    #: The roster code of the person whose task it is; ``None``: the kind's owner role in the
    #: case's township (see :data:`jianhu.tasks.TASK_KINDS`).
    owner: Mapped[str | None] = mapped_column(String(40), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)


class Approval(Base):
    """A decision asked of an approver: an assistance plan, a closure, an escalation, a level
    override or a guardianship change (see :mod:`jianhu.approvals`).

    ``decision`` is ``pending``, ``approved`` or ``rejected``; ``record_id`` is the form record
    the decision is about.
    """

    __tablename__ = "approvals"
    __table_args__ = (Index("ix_approvals_pending", "township_id", "decision"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=_uuid)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    township_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("townships.id"))
    subject: Mapped[str] = mapped_column(String(30))
    record_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("form_records.id"))
    requested_by: Mapped[str] = mapped_column(String(40))
    requested_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    decided_by: Mapped[str | None] = mapped_column(String(40))
    decision: Mapped[str] = mapped_column(String(12), default="pending")
    reason: Mapped[str | None] = mapped_column(String(1000))
    decided_at: Mapped[dt.datetime | None]


class DuplicateAlert(Base):
    """A possible double registration for a person to check (see :mod:`jianhu.identity` and
    :mod:`jianhu.duplicates`).

    ``kind`` is ``held_elsewhere`` (a write met a child whose record another township or village
    holds; the write was refused) or ``similar`` (a new child resembles a registered one).
    ``child_id`` is the registered child and ``township_id`` the township holding it;
    ``other_child_id`` is the new child of a ``similar`` pair; ``from_township_id`` is the
    township of the write. ``status`` is ``open``, ``same`` (one child) or ``different``.
    """

    __tablename__ = "duplicate_alerts"
    __table_args__ = (Index("ix_duplicate_alerts_open", "township_id", "status"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=_uuid)
    kind: Mapped[str] = mapped_column(String(20))
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("children.id"), index=True)
    township_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("townships.id"))
    other_child_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("children.id"))
    from_township_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("townships.id"))
    score: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(200))
    row: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="open")
    note: Mapped[str | None] = mapped_column(String(500))
    decided_by: Mapped[str | None] = mapped_column(String(40))
    decided_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)


class Transfer(Base):
    """A request to move a child and the child's cases to another township or village, and its
    decision (see :mod:`jianhu.transfers`). ``status`` is ``pending``, ``accepted`` or
    ``refused``; the row stays as the sending side's read-only trace."""

    __tablename__ = "transfers"
    __table_args__ = (Index("ix_transfers_pending", "to_township_id", "status"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    case_no: Mapped[str] = mapped_column(String(24))
    from_township_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("townships.id"))
    from_village_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("villages.id"))
    to_township_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("townships.id"))
    to_village_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("villages.id"))
    reason: Mapped[str] = mapped_column(String(500))
    requested_by: Mapped[str] = mapped_column(String(40))
    requested_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    decided_by: Mapped[str | None] = mapped_column(String(40))
    decided_at: Mapped[dt.datetime | None]
    decision_note: Mapped[str | None] = mapped_column(String(500))


class Person(Base):
    """A member of staff or a volunteer on the roster, acting under one role.

    Roles are the codes of ``person.schema.json`` (see :mod:`jianhu.roles`).
    """

    __tablename__ = "people"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=_uuid)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    role: Mapped[str] = mapped_column(String(40))
    township_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("townships.id"))
    village_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("villages.id"))
    organisation: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    #: Consecutive failed sign-ins since the last success or lock (see :mod:`jianhu.web.auth`).
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Sign-in refused until this instant (UTC) after too many failures; ``None``: not locked.
    locked_until: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    updated_at: Mapped[dt.datetime] = mapped_column(default=now_utc)


class Team(Base):
    """A team of the plan's organisation (新政发〔2016〕8号 四（一）、（二）): the township's leading
    group, a village's working group or 公益社, the assessment team or the rescue and service team
    (``kind``: a code of :data:`jianhu.teams.TEAM_KINDS`). Village teams name their village."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("township_id", "name"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=_uuid)
    township_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("townships.id"), index=True)
    village_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("villages.id"))
    kind: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    updated_at: Mapped[dt.datetime] = mapped_column(default=now_utc)


class TeamMember(Base):
    """A roster person in a team, with a role in it (``leader`` 组长, ``deputy`` 副组长,
    ``member`` 成员; :data:`jianhu.teams.MEMBER_ROLES`)."""

    __tablename__ = "team_members"
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), primary_key=True,
                                                 index=True)
    role: Mapped[str] = mapped_column(String(20), default="member")
    added_at: Mapped[dt.datetime] = mapped_column(default=now_utc)


class TrainingSession(Base):
    """A training held for a township's staff and volunteers (新政发〔2016〕8号 六（三）
    加强有关人员能力建设): when, on what, by whom, and the handbook chapters used."""

    __tablename__ = "training_sessions"
    __table_args__ = (Index("ix_training_sessions_township", "township_id", "held_on"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=_uuid)
    township_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("townships.id"))
    held_on: Mapped[dt.date] = mapped_column(Date)
    topic: Mapped[str] = mapped_column(String(200))
    trainer: Mapped[str] = mapped_column(String(100))
    #: Titles of the handbook chapters used (:func:`jianhu.trainings.handbook_chapters`).
    materials: Mapped[list[Any]] = mapped_column(default=list)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)


class TrainingAttendance(Base):
    """A roster person who attended a training session."""

    __tablename__ = "training_attendance"
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("training_sessions.id"),
                                                  primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), primary_key=True,
                                                 index=True)


class CaseAssignment(Base):
    """A person working on a case (a plan measure's owner, a service provider, a visitor):
    service providers see only the cases assigned to them."""

    __tablename__ = "case_assignments"
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    person_code: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)


class ConfidentialRecord(Base):
    """The confidential part of a form record (an incident's reporter), kept apart from the
    record so that timelines, reports and exports cannot show it by mistake (反家庭暴力法 Art 14)."""

    __tablename__ = "confidential_records"
    record_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("form_records.id"), primary_key=True)
    payload: Mapped[dict[str, Any]]


class OutboxMessage(Base):
    """A message for a partner system, written in the transaction of the change it reports
    (transactional outbox) and delivered later by ``jianhu outbox deliver``.

    ``id`` is the event id receivers use to drop duplicates (delivery is at least once).
    ``lease_until``: a worker has claimed it until then (:func:`jianhu.outbox.claim`);
    ``parked_at``: it failed too often and waits for someone to look (``jianhu outbox retry``).
    ``township_code``: the township the message is about; a township's database role sees only
    its own messages (:mod:`jianhu.db.rls`).
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "destination", "delivered_at", "next_attempt_at"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=_uuid)
    destination: Mapped[str] = mapped_column(String(50))
    kind: Mapped[str] = mapped_column(String(50))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    delivered_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    lease_until: Mapped[dt.datetime | None]
    parked_at: Mapped[dt.datetime | None]
    township_code: Mapped[str | None] = mapped_column(String(12))


class PluginSetting(Base):
    """Whether a plugin is enabled for a township (``township_code`` ``"*"``: every township),
    and its settings, validated against the JSON Schema the plugin declares."""

    __tablename__ = "plugin_settings"
    plugin: Mapped[str] = mapped_column(String(100), primary_key=True)
    township_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(default=now_utc)


class RevokedSession(Base):
    """A web session ended by signing out, kept until its cookie would have expired anyway, so
    the cookie stays dead across restarts and across server processes (jianhu.web.auth)."""

    __tablename__ = "revoked_sessions"
    sid: Mapped[str] = mapped_column(String(40), primary_key=True)
    revoked_at: Mapped[dt.datetime] = mapped_column(default=now_utc, index=True)


class SignInThrottle(Base):
    """Failed sign-ins from one network address (kept as a keyed digest, not the address), so
    that one address cannot try many codes or lock a worker out (jianhu.web.auth)."""

    __tablename__ = "sign_in_throttle"
    address_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[dt.datetime] = mapped_column(default=now_utc)
    blocked_until: Mapped[dt.datetime | None] = mapped_column(index=True)


class Submission(Base):
    """A write sent with an idempotency key (the record's id made on the device): the key, who
    sent what, and the answer given, so the same key sent again gets the same answer and writes
    nothing (:mod:`jianhu.submissions`)."""

    __tablename__ = "submissions"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    actor: Mapped[str] = mapped_column(String(100))
    township_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("townships.id"))
    endpoint: Mapped[str] = mapped_column(String(120))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc, index=True)


class EditConflict(Base):
    """An edit of a child's or guardians' fields made from an older version than the stored one,
    held for a supervisor instead of being applied (:mod:`jianhu.conflicts`)."""

    __tablename__ = "edit_conflicts"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=_uuid)
    township_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("townships.id"), index=True)
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("children.id"))
    form_id: Mapped[str] = mapped_column(String(50))
    payload: Mapped[dict[str, Any]]
    base_version: Mapped[int] = mapped_column(Integer)
    stored_version: Mapped[int] = mapped_column(Integer)
    #: ``[{"field", "stored", "proposed"}]``: what the edit would change.
    changes: Mapped[list[Any]]
    submitted_by: Mapped[str] = mapped_column(String(100))
    submitted_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    #: ``open``, ``applied`` (the edit was recorded) or ``dismissed`` (the stored values stay).
    status: Mapped[str] = mapped_column(String(12), default="open")
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    resolved_at: Mapped[dt.datetime | None]


class AuditEvent(Base):
    """One change: who, when, what, and the values before and after."""

    __tablename__ = "audit_events"
    # No RETURNING on insert: a township role may append events it then cannot read (jianhu.db.rls).
    __table_args__ = (Index("ix_audit_events_entity", "entity_type", "entity_id"),
                      {"implicit_returning": False})
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(30))
    entity_type: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[str] = mapped_column(String(36))
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    context: Mapped[dict[str, Any] | None]
