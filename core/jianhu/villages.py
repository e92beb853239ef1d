"""Villages (村) and residents' communities (社区), named or by their 12-digit statistical code.

The code is the national statistical division code (统计用区划代码, 国家统计局《统计用区划代码和
城乡划分代码编制规则》): 6 digits of county, 3 of township, 3 of village; the village's last three
digits are never ``000`` (that is the township itself), ``001``–``199`` are residents'
committees (社区居委会) and ``200``–``599`` villagers' committees (村委会) (handbook 领域规则 §6).
Wherever a village is asked for, its code is accepted too; reports show both.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from jianhu import audit
from jianhu.db.models import Township, Village
from jianhu.db.rls import ensure_township_roles
from jianhu.forms.fields import fold

if TYPE_CHECKING:
    from jianhu.plugins import Host

CODE = re.compile(r"[0-9]{12}")


def code_problem(code: str, township_code: str, township_name: str) -> str | None:
    """Why ``code`` cannot be a village code of the township (12-digit ``township_code``), in
    Chinese, or ``None`` when it can."""
    if not CODE.fullmatch(code):
        return f"村（社区）代码「{code}」应为12位数字（统计用区划代码）"
    if code[:9] != township_code[:9]:
        return f"村（社区）代码「{code}」不属于{township_name}（应以{township_code[:9]}开头）"
    if code[9:] == "000":
        return f"「{code}」是乡镇本身的代码，不是村（社区）的代码"
    return None


@dataclass
class VillageBook:
    """The villages of the workspace, found by name or by code, and those a file registers.

    Built once per import (:meth:`load`); :meth:`resolve` checks one row's village and code.
    """

    by_name: dict[tuple[uuid.UUID, str], tuple[str, str | None]] = field(default_factory=dict)
    by_code: dict[str, tuple[uuid.UUID, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> VillageBook:
        book = cls()
        for v in session.scalars(select(Village)):
            book.by_name[v.township_id, fold(v.name)] = (v.name, v.code)
            if v.code:
                book.by_code[v.code] = (v.township_id, v.name)
        return book

    def resolve(self, township_id: uuid.UUID, township_code: str, township_name: str,
                village: str, code: str | None) -> tuple[str, str | None, str | None]:
        """The village's name and code for a cell that holds its name or its code, and a column
        of its code (``code``, may be empty), or the problem in Chinese.

        Returns:
            ``(name, code, problem)``: ``problem`` is ``None`` when the village is known, or new
            with a code that is free; a code given for a new village is remembered, so a second
            row naming another village with it is refused.
        """
        if CODE.fullmatch(village.strip()):
            given = village.strip()
            known = self.by_code.get(given)
            if known is None or known[0] != township_id:
                return village, None, (f"「{given}」不是{township_name}已登记的村（社区）代码；"
                                       "首次登记请填村（社区）名称，并在「村（社区）代码」列填代码")
            if code and code != given:
                return village, None, f"「村（社区）」列的代码{given}与「村（社区）代码」列的{code}不一致"
            return known[1], given, None
        stored = self.by_name.get((township_id, fold(village)))
        if not code:
            return village, stored[1] if stored else None, None
        problem = code_problem(code, township_code, township_name)
        if problem:
            return village, None, problem
        if stored and stored[1] and stored[1] != code:
            return village, None, f"{stored[0]}的代码已登记为{stored[1]}，与本行的{code}不一致"
        holder = self.by_code.get(code)
        if holder and (holder[0], fold(holder[1])) != (township_id, fold(village)):
            return village, None, f"代码{code}已是{holder[1]}的代码，不能再用于{village}"
        self.by_code[code] = (township_id, stored[0] if stored else village.strip())
        self.by_name[township_id, fold(village)] = (stored[0] if stored else village.strip(), code)
        return village, code, None


def ensure_townships(session: Session, host: Host, actor: str) -> dict[str, Township]:
    """Register the townships the plugins know (``jianhu_areas``) and return them by folded name.

    New townships are inserted with an audit event; existing ones are left as they are. On
    PostgreSQL each township's database role is created and granted (:mod:`jianhu.db.rls`).
    """
    existing = {t.code: t for t in session.scalars(select(Township))}
    role = session.info.get("jianhu_db_role") or ""
    for area in ([] if role.startswith("jianhu_t_") else host.areas.values()):
        # a township's database role only reads the township list (jianhu.db.rls)
        if area.level == "county" or area.code in existing:
            continue
        township = Township(id=uuid.uuid4(), code=area.code, name=area.name,
                            county_code=area.code[:6])
        session.add(township)
        audit.record(session, actor=actor, action="create", entity_type="township",
                     entity_id=township.id, after={"code": area.code, "name": area.name})
        existing[area.code] = township
    session.flush()
    if not session.info.get("jianhu_db_role"):  # only the owner manages database roles
        ensure_township_roles(session.connection(), sorted(existing))
    return {fold(t.name): t for t in existing.values()}
