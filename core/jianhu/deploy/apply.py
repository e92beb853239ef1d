"""Applying a checked manifest to a database: idempotent, and saying what changed.

Creates or upgrades the schema (Alembic), registers townships and villages (and their database
roles on PostgreSQL), creates missing users with a one-time password (printed once, stored as an
Argon2id hash), updates users whose name, role, township or village changed, and enables or
disables plugins per township with their settings. Applying the same manifest twice changes
nothing; every change is audited under the actor ``deploy``.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from jianhu import audit
from jianhu.dates import now_utc
from jianhu.db.models import Person, PluginSetting, Township, Village
from jianhu.db.rls import ensure_township_roles
from jianhu.db.session import open_session, upgrade
from jianhu.errors import JianhuError
from jianhu.plugins import Host
from jianhu.settings import enable
from jianhu.villages import VillageBook

ACTOR = "deploy"
_hasher = PasswordHasher()


@dataclass
class Applied:
    """What applying a manifest did.

    Attributes:
        changes: one Chinese line per change, in order.
        passwords: ``(user code, one-time password)`` for users created now (shown once).
        schema: ``(revision before, revision after)``.
    """

    changes: list[str] = field(default_factory=list)
    passwords: list[tuple[str, str]] = field(default_factory=list)
    schema: tuple[str | None, str | None] = (None, None)


def hash_password(password: str) -> str:
    """Argon2id hash of ``password`` (argon2-cffi defaults, RFC 9106)."""
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash``."""
    try:
        return _hasher.verify(stored_hash, password)
    except Exception:
        return False


def apply(engine: Engine, host: Host, manifest: dict[str, Any]) -> Applied:
    """Apply a manifest already checked by :func:`jianhu.deploy.manifest.check`.

    Returns:
        an :class:`Applied`; ``changes`` is empty when the database already matched.
    """
    result = Applied()
    result.schema = upgrade(engine)
    if result.schema[0] != result.schema[1]:
        result.changes.append(f"数据库结构：{result.schema[0] or '空库'} → {result.schema[1]}")
    with open_session(engine) as session:
        towns = _townships(session, manifest, result)
        _users(session, manifest, towns, result)
        _plugins(session, host, manifest, result)
        session.commit()
    return result


def _townships(session: Session, manifest: dict[str, Any], result: Applied) -> dict[str, Township]:
    county = manifest["county"]["code"]
    towns = {t.code: t for t in session.scalars(select(Township))}
    for t in manifest["townships"]:
        town = towns.get(t["code"])
        if town is None:
            town = Township(id=uuid.uuid4(), code=t["code"], name=t["name"], county_code=county)
            session.add(town)
            towns[t["code"]] = town
            audit.record(session, actor=ACTOR, action="create", entity_type="township",
                         entity_id=town.id, after={"code": t["code"], "name": t["name"]})
            result.changes.append(f"新增乡镇：{t['name']}（{t['code']}）")
        elif town.name != t["name"]:
            audit.record(session, actor=ACTOR, action="update", entity_type="township",
                         entity_id=town.id, before={"name": town.name}, after={"name": t["name"]})
            result.changes.append(f"乡镇改名：{town.name} → {t['name']}（{t['code']}）")
            town.name = t["name"]
    session.flush()
    ensure_township_roles(session.connection(), sorted(towns))
    book = VillageBook.load(session)
    have = {(v.township_id, v.name): v for v in session.scalars(select(Village))}
    for t in manifest["townships"]:
        town = towns[t["code"]]
        for entry in t.get("villages", []):
            given = entry if isinstance(entry, str) else entry["name"]
            name, code, problem = book.resolve(town.id, town.code, town.name, given,
                                               None if isinstance(entry, str) else entry.get("code"))
            if problem:
                raise JianhuError(f"部署清单中{t['name']}的村（社区）「{given}」：{problem}")
            village = have.get((town.id, name))
            if village is None:
                village = have[town.id, name] = Village(id=uuid.uuid4(), township_id=town.id,
                                                        name=name, code=code)
                session.add(village)
                audit.record(session, actor=ACTOR, action="create", entity_type="village",
                             entity_id=village.id,
                             after={"township": t["code"], "name": name, "code": code})
                result.changes.append(f"新增村（社区）：{t['name']}{name}" + (f"（{code}）" if code else ""))
            elif code and village.code is None:
                village.code = code
                audit.record(session, actor=ACTOR, action="update", entity_type="village",
                             entity_id=village.id, before={"code": None}, after={"code": code})
                result.changes.append(f"登记村（社区）代码：{t['name']}{name}（{code}）")
    session.flush()
    return towns


def _users(session: Session, manifest: dict[str, Any], towns: dict[str, Township],
           result: Applied) -> None:
    villages = {}
    for v in session.scalars(select(Village)):  # a user's village by its name or its code
        villages[v.township_id, v.name] = v.id
        if v.code:
            villages[v.township_id, v.code] = v.id
    people = {p.code: p for p in session.scalars(select(Person))}
    now = now_utc()
    for u in manifest.get("users", []):
        town = towns.get(u.get("township", ""))
        values = {"name": u["name"], "role": u["role"],
                  "township_id": town.id if town else None,
                  "village_id": villages.get((town.id, u["village"])) if town and u.get("village")
                  else None}
        person = people.get(u["code"])
        if person is None:
            password = secrets.token_urlsafe(12)
            person = Person(id=uuid.uuid4(), code=u["code"], active=True, created_at=now,
                            updated_at=now, password_hash=hash_password(password), **values)
            session.add(person)
            result.passwords.append((u["code"], password))
            audit.record(session, actor=ACTOR, action="create", entity_type="person",
                         entity_id=person.id, after={"code": u["code"], **values})
            result.changes.append(f"新增用户：{u['code']}（{u['name']}）")
            continue
        before = {k: getattr(person, k) for k in values}
        if before != values:
            old, new = audit.diff(before, values)
            for k, v in values.items():
                setattr(person, k, v)
            person.updated_at = now
            audit.record(session, actor=ACTOR, action="update", entity_type="person",
                         entity_id=person.id, before=old, after=new)
            result.changes.append(f"更新用户：{u['code']}（{'、'.join(sorted(new))}）")


def _plugins(session: Session, host: Host, manifest: dict[str, Any], result: Applied) -> None:
    rows = {(r.plugin, r.township_code): r for r in session.scalars(select(PluginSetting))}
    wanted: set[tuple[str, str]] = set()
    for t in manifest["townships"]:
        for name in t.get("plugins", []):
            settings = t.get("plugin_settings", {}).get(name, {})
            wanted.add((name, t["code"]))
            row = rows.get((name, t["code"]))
            if row is not None and row.enabled and row.settings == settings:
                continue
            enable(session, host, name, t["code"], settings, actor=ACTOR)
            result.changes.append(f"启用插件：{name} → {t['name']}")
    codes = {t["code"] for t in manifest["townships"]}
    for (name, code), row in rows.items():
        if code in codes and row.enabled and (name, code) not in wanted:
            enable(session, host, name, code, {}, actor=ACTOR, enabled=False)
            result.changes.append(f"停用插件：{name} → {code}")
