"""Answer sheets for the default scale."""

from jianhu.default_plugins.default_scale import ITEMS


def answer_sheet(date: str, score: int = 0, emergency: str | None = None) -> dict:
    """A sheet dated ``date`` with every item scored ``score`` and one optional emergency yes."""
    return {
        "assessment": {"date": date, "assessor": "测试评估员"},
        "emergency": {i.id: i.id == emergency for i in ITEMS if i.domain == "emergency"},
        "items": {i.id: score for i in ITEMS if i.domain != "emergency"},
    }
