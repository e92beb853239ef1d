"""The risk levels of a case: codes in data, one Chinese word for each wherever a user reads it.

A module of plain data (no dataclasses, nothing imported), so the command line can check a level
typed at it without loading the rest of the package (``jianhu --version`` stays fast).
"""

from __future__ import annotations

#: The four risk levels of Jiangsu "four-colour management" (四色管理, 2024 provincial plan; the
#: plan defines no thresholds, see handbook 领域规则 §4). Ordered from most to least severe. Codes are used
#: in data; labels are shown to users, the same word everywhere (command line, pages, documents,
#: reports); the one-character form (红) is accepted as input.
LEVELS: tuple[tuple[str, str], ...] = (
    ("red", "红色"),
    ("orange", "橙色"),
    ("yellow", "黄色"),
    ("green", "绿色"),
)
LEVEL_LABELS: dict[str, str] = dict(LEVELS)
LEVEL_RANK: dict[str, int] = {code: i for i, (code, _) in enumerate(LEVELS)}


def level_label(level: str | None) -> str:
    """Chinese label of a level code (``"未评估"`` for ``None`` or an unknown code)."""
    return LEVEL_LABELS.get(level or "", "未评估")
