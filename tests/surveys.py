"""A hand-written valid survey and helpers to vary it (generated person, not a real one)."""

from __future__ import annotations

import copy
from typing import Any

BASE: dict[str, Any] = {
    "child": {"name": "测试甲", "sex": "female", "birth_date": "2014-06-01",
              "citizen_id": "320724201406010028", "hukou_registered": True,
              "hukou_type": "rural", "hukou_in_county": True, "health": "healthy",
              "schooling": "primary", "lives_with": "grandparents"},
    "residence": {"township": "新安镇", "village": "测试村"},
    "father": {"status": "working_away", "work_place": "江苏省苏州市"},
    "mother": {"status": "working_away"},
    "guardianship": {"type": "fair"},
    "entrusted_guardian": {"name": "测试乙", "relation": "祖母"},
    "family": {"economic_hardship": False},
    "survey": {"date": "2026-03-15", "filled_by": "测试丙"},
}


def survey(**changes: Any) -> dict[str, Any]:
    """A copy of :data:`BASE` with ``group__key=value`` changes (``None`` deletes the key)."""
    doc = copy.deepcopy(BASE)
    for path, value in changes.items():
        group, key = path.split("__")
        if value is None:
            doc[group].pop(key, None)
        else:
            doc.setdefault(group, {})[key] = value
    return doc
