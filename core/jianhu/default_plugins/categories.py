"""Default target-group categories, computed from the basic situation survey.

Each rule names its source. Ages are full years on the survey date. The survey payload is the
nested document of ``screening.schema.json`` (groups ``child``, ``father``, ``mother``,
``guardianship``, ``family``...).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from typing import Any

from jianhu import hookimpl
from jianhu.dates import age_on
from jianhu.extensions import TargetCategory

Survey = Mapping[str, Any]

#: Parent statuses that leave the parent at home without guardianship capacity: the notice
#: (国发〔2016〕13号) names 无监护能力; a parent who is dead, in prison or detention, missing,
#: stripped of guardianship or deported cannot act as guardian either, so a child whose other
#: parent works away is left behind (handbook: 目标人群).
INCAPABLE = frozenset({"seriously_ill", "severely_disabled", "dead", "imprisoned",
                       "compulsory_rehab", "detained", "missing", "guardianship_revoked",
                       "deported"})

#: Months a migrant child must have lived away from the hukou county (local rule, Ningxia 2024).
MIGRANT_MIN_MONTHS = 6
#: Months of detention or lost contact before de facto unsupported (民发〔2019〕62号 第二条).
DE_FACTO_MIN_MONTHS = 6


def _age(survey: Survey, on: dt.date) -> int:
    return _age_from(survey["child"]["birth_date"], on)


@functools.lru_cache(maxsize=4096)
def _age_from(birth_date: str, on: dt.date) -> int:
    return age_on(dt.date.fromisoformat(birth_date), on)


def _poor_guardianship(survey: Survey) -> bool:
    # imported here: the casework module loads the database layer, which listing the commands
    # (this plugin loads for every command) must not wait for
    from jianhu.cases import guardianship_rating

    return guardianship_rating(survey) == "poor"


def _status(survey: Survey, role: str) -> str:
    return survey.get(role, {}).get("status", "")


def _months_before(on: dt.date, months: int) -> dt.date:
    """The date ``months`` calendar months before ``on`` (day clipped to the month's end)."""
    year, month = divmod(on.year * 12 + on.month - 1 - months, 12)
    month += 1
    for day in (on.day, 30, 29, 28):
        try:
            return dt.date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def left_behind(survey: Survey, on: dt.date) -> bool:
    """农村留守儿童: under 16, rural hukou, and both parents work away, or one works away and the
    other has no guardianship capacity (:data:`INCAPABLE`: seriously ill, severely disabled,
    dead, imprisoned or detained, missing, guardianship revoked, deported).

    Source: 国发〔2016〕13号 (definition: 一方外出务工另一方无监护能力); 民发〔2016〕42号 (rural hukou,
    screening register).
    """
    child = survey["child"]
    if _age(survey, on) >= 16 or child.get("hukou_type") != "rural":
        return False
    father, mother = _status(survey, "father"), _status(survey, "mother")
    f_away, m_away = father == "working_away", mother == "working_away"
    return (f_away and m_away) or (f_away and mother in INCAPABLE) or (m_away and father in INCAPABLE)


def migrant(survey: Survey, on: dt.date) -> bool:
    """流动儿童: under 16, hukou outside this county, living here ``MIGRANT_MIN_MONTHS`` months or more.

    Source: local rule (Ningxia 2024); no national definition with a duration was found
    (handbook 领域规则 §2), so the months are a module setting a township plugin can replace.
    """
    child = survey["child"]
    return (
        _age(survey, on) < 16
        and child.get("hukou_in_county") is False
        and child.get("months_resident", 0) >= MIGRANT_MIN_MONTHS
    )


def difficulty_poverty(survey: Survey, on: dt.date) -> bool:
    """困境儿童（家庭贫困）: under 18 and the family is in economic hardship or receives 低保.

    Source: 国发〔2016〕36号 (困境儿童: 因家庭贫困导致生活、就医、就学等困难).
    """
    family = survey.get("family", {})
    return _age(survey, on) < 18 and (
        family.get("economic_hardship") is True or "dibao" in family.get("assistance", [])
    )


def difficulty_disability(survey: Survey, on: dt.date) -> bool:
    """困境儿童（自身残疾）: under 18 and the child is disabled.

    Source: 国发〔2016〕36号 (因自身残疾导致康复、照料、护理和社会融入等困难).
    """
    return _age(survey, on) < 18 and survey["child"].get("health") == "disabled"


def difficulty_guardianship(survey: Survey, on: dt.date) -> bool:
    """困境儿童（监护缺失或不当）: under 18 and guardianship rated poor (差).

    Source: 国发〔2016〕36号 (因家庭监护缺失或监护不当遭受虐待、遗弃、意外伤害、不法侵害等);
    the survey cannot show the harm itself, so a poor guardianship rating stands for the risk.
    """
    return _age(survey, on) < 18 and _poor_guardianship(survey)


def _parent_condition(parent: Mapping[str, Any], on: dt.date) -> bool:
    """Whether one parent meets a condition of 民发〔2019〕62号 第二条 as widened by
    民发〔2020〕125号: grade 1–2 disability (grade 3–4 for mental or intellectual disability),
    serious illness, imprisoned / compulsory rehab / other detention or lost contact for at least
    ``DE_FACTO_MIN_MONTHS`` months (lost contact counted from the police's acceptance), guardianship
    revoked, deported.
    """
    status = parent.get("status")
    if status == "severely_disabled":
        grade = parent.get("disability_grade", 9)
        return grade <= 2 or (grade <= 4 and parent.get("disability_type") in {"mental", "intellectual"})
    if status in {"seriously_ill", "guardianship_revoked", "deported"}:
        return True
    if status in {"imprisoned", "compulsory_rehab", "detained", "missing"}:
        since = parent.get("status_since")
        return since is not None and dt.date.fromisoformat(since) <= _months_before(
            on, DE_FACTO_MIN_MONTHS
        )
    return False


def de_facto_unsupported(survey: Survey, on: dt.date) -> bool:
    """事实无人抚养儿童: under 18; both parents meet a condition, or one parent is dead and the
    other meets one (conditions: see :func:`_parent_condition`).

    Source: 民发〔2019〕62号 第二条; 民发〔2020〕125号. A parent missing 6 months or more meets a
    condition already, so the "one parent missing" branch is covered by the first.
    """
    if _age(survey, on) >= 18:
        return False
    father, mother = survey.get("father", {}), survey.get("mother", {})
    f_cond, m_cond = _parent_condition(father, on), _parent_condition(mother, on)
    f_dead, m_dead = father.get("status") == "dead", mother.get("status") == "dead"
    return (f_cond and m_cond) or (f_dead and m_cond) or (m_dead and f_cond)


def orphan(survey: Survey, on: dt.date) -> bool:
    """孤儿: under 18 and both parents dead.

    Source: 国办发〔2010〕54号《关于加强孤儿保障工作的意见》 (孤儿: 失去父母、查找不到生父母的未满18周岁
    的未成年人). A child whose parents cannot be found is a foundling civil affairs identifies,
    which a survey's 失联 (lost contact) does not show; one parent dead and the other lost
    for 6 months is 事实无人抚养 (民发〔2019〕62号), see :func:`de_facto_unsupported`.
    """
    return (_age(survey, on) < 18 and _status(survey, "father") == "dead"
            and _status(survey, "mother") == "dead")


def single_parent_poor(survey: Survey, on: dt.date) -> bool:
    """单亲贫困家庭儿童: under 18, single-parent family in economic hardship or on 低保.

    Source: 新政发〔2016〕8号 三 (目标人群).
    """
    return survey.get("family", {}).get("single_parent") is True and difficulty_poverty(survey, on)


def out_of_school(survey: Survey, on: dt.date) -> bool:
    """失学辍学儿童: under 18 and dropped out of compulsory schooling or (aged 14–16) not in school.

    Source: 新政发〔2016〕8号 三; schooling values from 民发〔2016〕42号 登记表.
    """
    return _age(survey, on) < 18 and survey["child"].get("schooling") in {
        "dropped_out",
        "not_in_school",
    }


def parent_absent(survey: Survey, on: dt.date) -> bool:
    """因父母服刑、重残重病、失踪等致监护缺失儿童: under 18, a parent imprisoned, detained, severely
    ill or disabled or missing, and guardianship rated poor.

    Source: 新政发〔2016〕8号 三 (目标人群).
    """
    absent = {"imprisoned", "compulsory_rehab", "detained", "seriously_ill", "severely_disabled",
              "missing"}
    return (
        _age(survey, on) < 18
        and (_status(survey, "father") in absent or _status(survey, "mother") in absent)
        and _poor_guardianship(survey)
    )


def _category(code: str, label: str, rule: str, fn: Any, order: int) -> TargetCategory:
    """Build a category record; its source is the ``Source:`` paragraph of ``fn``'s docstring."""
    source = (fn.__doc__ or "").split("Source:")[-1]
    return TargetCategory(code=code, label=label, rule=rule, source=" ".join(source.split()),
                          applies=fn, order=order)


CATEGORIES: tuple[TargetCategory, ...] = (
    _category("left_behind", "农村留守儿童",
              "未满16周岁、农业户口，父母双方外出务工，或一方外出务工另一方无监护能力（重病、重残、"
              "死亡、服刑在押或被限制人身自由、失联、被撤销监护资格、被遣送出境）",
              left_behind, 10),
    _category("migrant", "流动儿童",
              f"未满16周岁，户籍不在本县，在本地居住满{MIGRANT_MIN_MONTHS}个月", migrant, 20),
    _category("difficulty_poverty", "困境儿童（家庭贫困）",
              "未满18周岁，家庭经济困难或享受低保", difficulty_poverty, 30),
    _category("difficulty_disability", "困境儿童（自身残疾）",
              "未满18周岁，儿童本人残疾", difficulty_disability, 31),
    _category("difficulty_guardianship", "困境儿童（监护缺失或不当）",
              "未满18周岁，监护状况为无人监护、父或母无监护能力或受委托监护人监护能力不足",
              difficulty_guardianship, 32),
    _category("de_facto_unsupported", "事实无人抚养儿童",
              "未满18周岁，父母双方均重残（一二级，精神智力三四级）、重病、服刑在押或强制隔离戒毒等"
              f"满{DE_FACTO_MIN_MONTHS}个月、失联满{DE_FACTO_MIN_MONTHS}个月、被撤销监护资格或被遣送出境"
              "之一，或一方死亡另一方符合上述情形之一", de_facto_unsupported, 40),
    _category("orphan", "孤儿", "未满18周岁，父母双方均已死亡", orphan, 35),
    _category("single_parent_poor", "单亲贫困家庭儿童",
              "未满18周岁，单亲家庭且经济困难或享受低保", single_parent_poor, 50),
    _category("out_of_school", "失学辍学儿童",
              "未满18周岁，义务教育阶段辍学或14—16周岁不在学", out_of_school, 60),
    _category("parent_absent", "父母服刑重残重病失踪致监护缺失儿童",
              "未满18周岁，父或母服刑、强制隔离戒毒、重病、重残或失联，且监护状况为差",
              parent_absent, 70),
)


@hookimpl
def jianhu_target_categories() -> list[TargetCategory]:
    """Register the national and plan categories above."""
    return list(CATEGORIES)
