"""Default forms: every ``*.schema.json`` shipped in ``jianhu/schemas`` (the survey, the default
assessment answer sheet, the roster and the lifecycle forms), registered under its file stem.
Schemas marked ``"x-form": false`` (the deployment manifest) are not forms."""

from __future__ import annotations

from importlib import resources

from jianhu import hookimpl
from jianhu.extensions import FormSpec

SCHEMAS = resources.files("jianhu") / "schemas"
SUFFIX = ".schema.json"


@hookimpl
def jianhu_forms() -> list[FormSpec]:
    """Register each shipped schema as form ``<stem>`` (e.g. ``screening``, ``plan``)."""
    specs = [FormSpec.from_file(p.name.removesuffix(SUFFIX), p)
             for p in sorted(SCHEMAS.iterdir(), key=lambda p: p.name) if p.name.endswith(SUFFIX)]
    return [s for s in specs if s.schema.get("x-form", True)]
