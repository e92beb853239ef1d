"""Least data per role: what a service provider sees of a case's records.

Service providers and volunteers of the support team (psychologists, tutors, caring mothers,
五老 elders, student and media volunteers: :data:`jianhu.roles.ASSIGNED_ONLY`) see only the
cases assigned to them, and of those only what their service needs (个人信息保护法 Art 6 — the
minimum necessary — and Art 51): who the child is, where, how to reach the caregiver, the plan
and the services and visits. Not citizen IDs, not the parents' circumstances, not the account of
a harm or who reported it, not police or court steps. :data:`SERVICE_VIEW` is the one table of
it; the case view (page, API, ``case show``) applies it, documents are not open to these roles
(``documents:export``), and the handbook's roles page prints it (handbook: 儿童信息保护).
"""

from __future__ import annotations

from typing import Any

from jianhu.roles import ASSIGNED_ONLY, Actor

#: Form id → the fields (``group.field``, or ``group.*`` for a whole group) a service provider
#: sees; a form not listed is withheld whole (its timeline line, which holds no personal data,
#: still shows).
SERVICE_VIEW: dict[str, frozenset[str]] = {
    "screening": frozenset({"child.name", "child.sex", "child.birth_date", "child.schooling",
                            "child.health", "residence.township", "residence.village",
                            "residence.address", "entrusted_guardian.name",
                            "entrusted_guardian.relation", "entrusted_guardian.phone",
                            "survey.date"}),
    "plan": frozenset({"plan.*", "measures.*"}),
    "service": frozenset({"service.*"}),
    "visit": frozenset({"visit.*"}),
    "return_visit": frozenset({"return_visit.*"}),
    "closure": frozenset({"closure.date", "closure.reason"}),
    "incident": frozenset({"incident.discovered_at"}),
}


def limited(actor: Actor) -> bool:
    """Whether ``actor`` gets the service provider's view."""
    return actor.role in ASSIGNED_ONLY


def disclose(actor: Actor, form_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The part of a record's ``payload`` that ``actor`` may see (all of it for caseworkers)."""
    if not limited(actor):
        return payload
    allowed = SERVICE_VIEW.get(form_id, frozenset())
    out: dict[str, Any] = {}
    for group, value in payload.items():
        if f"{group}.*" in allowed:
            out[group] = value
        elif isinstance(value, dict):
            kept = {k: v for k, v in value.items() if f"{group}.{k}" in allowed}
            if kept:
                out[group] = kept
    return out
