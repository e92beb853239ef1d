"""Default forms: the basic situation survey and the default assessment answer sheet."""

from __future__ import annotations

from importlib import resources

from jianhu import hookimpl
from jianhu.extensions import FormSpec

SCHEMAS = resources.files("jianhu") / "schemas"


@hookimpl
def jianhu_forms() -> list[FormSpec]:
    """Register ``screening`` (基本情况调查表) and ``assessment`` (家庭监护评估表)."""
    return [
        FormSpec.from_file("screening", SCHEMAS / "screening.schema.json"),
        FormSpec.from_file("assessment", SCHEMAS / "assessment.schema.json"),
    ]
