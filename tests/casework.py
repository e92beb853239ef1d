"""A one-case workspace with a small roster, for lifecycle tests."""

from __future__ import annotations

from pathlib import Path

from files import write_xlsx
from jianhu.forms import load_form
from jianhu.imports.screening import import_screening
from jianhu.people import import_people
from jianhu.roles import LOCAL_ADMIN
from surveys import survey

ROSTER = """编号,姓名,角色,乡镇,村（社区）
S01,督导甲,乡镇儿童督导员,新安镇,
D01,主任乙,村（居）儿童主任,新安镇,测试村
W01,社工丙,社会工作者,新安镇,
X01,警员丁,评估队伍（公安）,新安镇,
V01,志愿者戊,大学生志愿者,新安镇,
C01,民政己,评估队伍（民政）,新安镇,
T01,辅导员庚,家教老师,新安镇,
"""


def one_case_workspace(session, host, tmp: Path, **changes) -> str:
    """Import one survey (a left-behind child) and the roster; return the case number."""
    form = load_form(host, "screening")
    import_screening(session, host, write_xlsx(form, [survey(**changes)], tmp / "one.xlsx"),
                     actor="t")
    (tmp / "people.csv").write_text(ROSTER, "utf-8")
    import_people(session, host, tmp / "people.csv", actor=LOCAL_ADMIN)
    from sqlalchemy import select

    from jianhu.db.models import Case

    return session.scalars(select(Case.case_no)).one()
