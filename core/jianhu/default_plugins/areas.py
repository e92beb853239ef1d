"""Default areas: 灌南县 (320724) and its 11 towns.

Source: national statistical division codes, 2023 (``data/guannan-towns.csv``). A county deployment
supplies its own areas with a plugin (or, later, its deployment manifest).
"""

from __future__ import annotations

import csv
import io
from importlib import resources

from jianhu import hookimpl
from jianhu.extensions import Area


def guannan_areas() -> list[Area]:
    """Return 灌南县 and its towns as :class:`~jianhu.extensions.Area` records (12-digit codes)."""
    text = (resources.files(__package__) / "data" / "guannan-towns.csv").read_text("utf-8")
    return [
        Area(code=row["code"].ljust(12, "0"), name=row["name"], level=row["level"])
        for row in csv.DictReader(io.StringIO(text))
    ]


@hookimpl
def jianhu_areas() -> list[Area]:
    """Register 灌南县 and its 11 towns."""
    return guannan_areas()
