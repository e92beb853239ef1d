"""Stored records follow their form when its fields are renamed or removed.

A form's JSON Schema may change between releases of the core or of a plugin. A record keeps the
payload it was saved with (and its ``form_version``), so a renamed field would leave old records
with a key the display, documents and reports no longer know. A change that renames or removes a
field therefore ships a :class:`~jianhu.extensions.FormMigration` (hook
``jianhu_form_migrations``); ``jianhu db upgrade`` applies every declared migration to the
records it concerns, in one transaction, with an audit event per changed record holding the
values before and after (handbook: 表单变更与旧记录). Migrations are idempotent, so a declared one
may stay in the plugin for good; records a migration does not concern are left as they are.
"""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from jianhu import audit
from jianhu.db.models import FormRecord
from jianhu.extensions import FormMigration
from jianhu.plugins import Host

_MISSING = object()


def _take(payload: dict[str, Any], path: str) -> Any:
    """Remove and return the value at dotted ``path`` (``_MISSING`` when absent)."""
    *groups, key = path.split(".")
    node: Any = payload
    for g in groups:
        node = node.get(g) if isinstance(node, dict) else None
    if not isinstance(node, dict) or key not in node:
        return _MISSING
    return node.pop(key)


def _value(payload: dict[str, Any], path: str, default: Any = _MISSING) -> Any:
    """The value at dotted ``path``, or ``default`` when absent."""
    node: Any = payload
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def _has(payload: dict[str, Any], path: str) -> bool:
    return _value(payload, path) is not _MISSING


def _put(payload: dict[str, Any], path: str, value: Any) -> None:
    *groups, key = path.split(".")
    node = payload
    for g in groups:
        node = node.setdefault(g, {})
    node[key] = value


def migrate_payload(payload: dict[str, Any], migration: FormMigration) -> dict[str, Any] | None:
    """The payload after ``migration``, or ``None`` when it changes nothing."""
    out = copy.deepcopy(payload)
    changed = False
    for old, new in migration.renames.items():
        if _has(out, old) and not _has(out, new):
            _put(out, new, _take(out, old))
            changed = True
    for path in migration.removes:
        if _take(out, path) is not _MISSING:
            changed = True
    for group in [k for k, v in out.items() if v == {}]:  # a group left empty by a move
        if group not in payload or payload[group] != {}:
            del out[group]
    return out if changed else None


def apply_migrations(session: Session, host: Host, *, actor: str) -> dict[str, int]:
    """Apply every declared form migration to the stored records (does not commit).

    Returns:
        ``{migration name: records changed}`` for the migrations that changed something.
    """
    done: dict[str, int] = {}
    for name, migration in sorted(host.form_migrations.items()):
        spec = host.forms.get(migration.form_id)
        version = migration.version or (spec.version if spec is not None else None)
        rows = session.execute(select(FormRecord.id, FormRecord.payload, FormRecord.form_version)
                               .where(FormRecord.form_id == migration.form_id)).all()
        events = []
        for rid, payload, old_version in rows:
            after = migrate_payload(payload, migration)
            if after is None:
                continue
            values: dict[str, Any] = {"payload": after}
            if version is not None:
                values["form_version"] = version
            session.execute(update(FormRecord).where(FormRecord.id == rid).values(**values))
            events.append(audit.event_row(
                actor=actor, action="migrate", entity_type="form_record", entity_id=rid,
                before={"form_version": old_version, **{p: _value(payload, p, None) for p in
                                                        [*migration.renames, *migration.removes]}},
                after={"form_version": values.get("form_version", old_version),
                       **{new: _value(after, new, None) for new in migration.renames.values()}},
                context={"migration": name}))
        if events:
            audit.record_many(session, events)
            done[name] = len(events)
    return done
