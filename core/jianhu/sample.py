"""Generated sample data: invented children across the real towns of 灌南县.

Nobody in these files is a real person: names are random combinations of common surnames and
given-name characters, villages are invented names, citizen IDs are random birth dates and
sequences with a valid GB 11643-1999 check character, and no phone numbers are written.

Distributions (per child, independent unless said):

- town: 新安镇 (the county seat's town) weight 3, each other town weight 1; 6–10 invented
  villages per town with invented codes of the valid form (320724100201 …), children spread
  evenly over them;
- age on the survey date uniform over 0–17 full years; 52 % boys;
- citizen ID present for 95 %; hukou registered 97 %, rural 85 % of those; 6 % have their hukou
  outside the county (1–36 months here);
- father: away working 55 %, at home 33 %, imprisoned 2 %, compulsory rehab 0.5 %, seriously ill
  2 %, severely disabled 2 %, missing 2 %, dead 2.5 %, guardianship revoked 0.5 %, deported 0.5 %;
  mother: away 38 %, at home 50 %, and the same small shares for the rest;
- guardianship type follows the parents: both away → entrusted (grandparents) and rated fair 60 %,
  entrusted-inadequate 25 %, good 15 %; nobody able at home → none 60 % / parent incapable 40 %;
  otherwise good 45 %, fair 45 %, parent incapable 10 %;
- disabled 3 %, ill 3 %; economic hardship 12 %, 低保 8 %, single-parent 7 %; dropped out 3 % of
  ages 7–15, not in school 15 % of ages 15–17;
- survey dates 2026-09-01 … 2026-10-31; an assessment for 92 % of the children that get a case
  (the rest are still waiting for their first assessment), 5–25 days after the survey, item
  scores drawn around a risk weight from the guardianship type and parents' situation; an
  emergency item is "yes" for 1.5 % of sheets. Measured with seed 1
  and 5,000 children: 49 % of children get a case; of those 14 % are graded red, 21 % orange,
  45 % yellow and 21 % green.

Same ``seed`` → the same files, byte for byte in content (the workbooks' timestamps aside).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jianhu import citizen_id
from jianhu.cases import classify, emergency_situations, needs_case
from jianhu.forms import load_form
from jianhu.plugins import Host
from jianhu.workbooks import cell_value, write_rows

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈"
    "曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段"
)
GIVEN = (
    "子涵欣怡梓轩浩然雨桐一诺宇航思远嘉怡俊杰梦瑶天佑佳琪明轩"
    "雅静晨曦博文若汐泽宇可馨昊天诗涵家豪乐萱志强秀英建国丽娟"
)
VILLAGE_HEADS = "东西南北新中前后大小上下长丰和兴福永安"
VILLAGE_TAILS = ["河", "庄", "圩", "湖", "桥", "园", "集", "营", "湾", "港", "洼", "林", "墩", "堆"]
SURVEY_START = dt.date(2026, 9, 1)
SURVEY_DAYS = 61
AWAY_PLACES = ["江苏省苏州市", "江苏省南京市", "上海市", "浙江省宁波市", "广东省深圳市", "江苏省无锡市"]

FATHER = [("working_away", 55), ("at_home", 33), ("imprisoned", 2), ("compulsory_rehab", 0.5),
          ("seriously_ill", 2), ("severely_disabled", 2), ("missing", 2), ("dead", 2.5),
          ("guardianship_revoked", 0.5), ("deported", 0.5)]
MOTHER = [("working_away", 38), ("at_home", 50)] + FATHER[2:]


@dataclass
class SampleFiles:
    """What :func:`write_sample` wrote: paths and row counts."""

    screening: Path
    assessment: Path
    children: int
    assessments: int
    people: Path
    records: Path
    people_count: int
    records_count: int
    #: The plan's teams of every township (``teams.csv``, :func:`jianhu.teams.import_teams`).
    teams: Path | None = None


class _Gen:
    def __init__(self, seed: int, host: Host):
        self.r = random.Random(seed)
        self.host = host
        towns = [a for a in host.areas.values() if a.level != "county"]
        towns.sort(key=lambda a: a.code)
        self.towns = towns
        self.weights = [3 if t.name == "新安镇" else 1 for t in towns]
        self.villages = {t.code: self._villages() for t in towns}
        self.ids: set[str] = set()

    def _villages(self) -> list[str]:
        names: set[str] = set()
        count = self.r.randint(6, 10)
        while len(names) < count:
            names.add(self.r.choice(VILLAGE_HEADS) + self.r.choice(VILLAGE_TAILS) + "村")
        return sorted(names)

    def village_code(self, township_code: str, village: str) -> str:
        """An invented code of the valid form (jianhu.villages) under the real township code:
        villagers' committees are numbered from 201 in name order."""
        return f"{township_code[:9]}{201 + self.villages[township_code].index(village):03d}"

    def pick(self, table: list[tuple[str, float]]) -> str:
        return self.r.choices([k for k, _ in table], [w for _, w in table])[0]

    def name(self, surname: str | None = None) -> str:
        given = "".join(self.r.choice(GIVEN) for _ in range(self.r.choice((1, 2, 2))))
        return (surname or self.r.choice(SURNAMES)) + given

    def citizen_id(self, born: dt.date, sex: str) -> str:
        while True:
            seq = self.r.randrange(0, 1000)
            if (seq % 2 == 1) != (sex == "male"):
                seq = (seq + 1) % 1000
            number = citizen_id.make("320724", born, seq)
            if number not in self.ids:
                self.ids.add(number)
                return number

    def parent(self, table: list, born_child: dt.date, survey_on: dt.date, surname: str | None,
               female: bool) -> dict[str, Any]:
        status = self.pick(table)
        born = born_child - dt.timedelta(days=self.r.randint(20 * 365, 40 * 365))
        p: dict[str, Any] = {"name": self.name(surname), "birth_date": born.isoformat(),
                             "status": status}
        if self.r.random() < 0.9:
            p["citizen_id"] = self.citizen_id(born, "female" if female else "male")
        if status == "working_away":
            p["work_place"] = self.r.choice(AWAY_PLACES)
        if status in ("imprisoned", "compulsory_rehab", "missing"):
            p["status_since"] = (survey_on - dt.timedelta(days=self.r.randint(30, 1500))).isoformat()
        if status == "severely_disabled":
            p["disability_type"] = self.r.choice(["physical", "visual", "mental", "intellectual"])
            p["disability_grade"] = self.r.randint(1, 4)
        return p

    def survey(self) -> dict[str, Any]:
        r = self.r
        town = r.choices(self.towns, self.weights)[0]
        village = r.choice(self.villages[town.code])
        survey_on = SURVEY_START + dt.timedelta(days=r.randrange(SURVEY_DAYS))
        age_days = r.randrange(0, 18 * 365 - 2)
        born = survey_on - dt.timedelta(days=age_days + 1)
        age = (survey_on - born).days // 365
        sex = "male" if r.random() < 0.52 else "female"
        surname = r.choice(SURNAMES)
        child: dict[str, Any] = {"name": self.name(surname), "sex": sex,
                                 "birth_date": born.isoformat(), "ethnicity": "汉族"}
        if r.random() < 0.95:
            child["citizen_id"] = self.citizen_id(born, sex)
        child["hukou_registered"] = r.random() < 0.97
        if child["hukou_registered"]:
            child["hukou_type"] = "rural" if r.random() < 0.85 else "urban"
            child["hukou_in_county"] = r.random() >= 0.06
            if not child["hukou_in_county"]:
                child["hukou_place"] = r.choice(["安徽省泗县", "山东省郯城县", "江苏省沭阳县"])
                child["months_resident"] = r.randint(1, 36)
            else:
                child["hukou_place"] = "江苏省灌南县"
        health = r.random()
        child["health"] = "disabled" if health < 0.03 else "ill" if health < 0.06 else "healthy"
        if child["health"] == "disabled":
            child["disability_type"] = r.choice(["physical", "intellectual", "hearing", "visual"])
            child["disability_grade"] = r.randint(1, 4)
        elif child["health"] == "ill":
            child["illness"] = r.choice(["哮喘", "先天性心脏病", "癫痫", "肾病"])
        child["schooling"] = self.schooling(age)
        child["boarding"] = age >= 12 and r.random() < 0.3
        father = self.parent(FATHER, born, survey_on, surname, female=False)
        mother = self.parent(MOTHER, born, survey_on, None, female=True)
        fs, ms = father["status"], mother["status"]
        at_home = {"at_home"}
        doc: dict[str, Any] = {
            "child": child,
            "residence": {"township": town.name, "village": village,
                          "village_code": self.village_code(town.code, village)},
            "father": father, "mother": mother,
            "survey": {"date": survey_on.isoformat(), "filled_by": self.name(),
                       "reviewer": self.name(), "confirmed_by": "监护人"},
        }
        if fs in at_home and ms in at_home:
            child["lives_with"] = "both_parents"
            gtype = r.choices(["good", "fair", "parent_incapable"], [45, 45, 10])[0]
        elif fs in at_home or ms in at_home:
            child["lives_with"] = "one_parent"
            gtype = r.choices(["good", "fair", "parent_incapable"], [45, 45, 10])[0]
        elif fs == "working_away" or ms == "working_away":
            child["lives_with"] = "grandparents"
            gtype = r.choices(["fair", "entrusted_inadequate", "good"], [60, 25, 15])[0]
            doc["entrusted_guardian"] = {"name": self.name(surname),
                                         "relation": r.choice(["祖父", "祖母", "外祖母", "外祖父"])}
        else:
            child["lives_with"] = r.choice(["relatives", "grandparents", "alone"])
            gtype = r.choices(["none", "parent_incapable"], [60, 40])[0]
        if age < 10 and child["lives_with"] == "alone":
            child["lives_with"] = "relatives"
        doc["guardianship"] = {"type": gtype}
        family: dict[str, Any] = {"income_sources": sorted(r.sample(["wages", "farming",
                                                                     "government", "relatives"],
                                                                    r.randint(1, 2)))}
        if r.random() < 0.08:
            family["assistance"] = ["dibao"]
        family["economic_hardship"] = r.random() < 0.12
        family["single_parent"] = r.random() < 0.07
        doc["family"] = family
        return doc

    def schooling(self, age: int) -> str:
        r = self.r
        if age < 3:
            return "not_in_kindergarten"
        if age < 6:
            return "kindergarten" if r.random() < 0.9 else "not_in_kindergarten"
        if 7 <= age <= 15 and r.random() < 0.03:
            return "dropped_out"
        if age < 12:
            return "primary"
        if age < 15:
            return "junior"
        if r.random() < 0.15:
            return "not_in_school"
        return r.choice(["senior", "vocational"]) if age >= 15 else "junior"

    def assessment(self, doc: dict[str, Any], codes: list[str]) -> dict[str, Any]:
        r = self.r
        gtype = doc["guardianship"]["type"]
        weight = {"none": 1.9, "parent_incapable": 1.6, "entrusted_inadequate": 1.2,
                  "fair": 0.4, "good": 0.2}[gtype] + 0.1 * len(codes)
        items = {}
        for item in self.host.scales["jianhu-default"].items:
            if item.domain != "emergency":
                items[item.id] = max(0, min(3, round(r.gauss(weight, 0.8))))
        emergency_item = r.random() < 0.015
        emergency = {item.id: False for item in self.host.scales["jianhu-default"].items
                     if item.domain == "emergency"}
        if emergency_item:
            emergency[r.choice(sorted(emergency))] = True
        survey_on = dt.date.fromisoformat(doc["survey"]["date"])
        child = doc["child"]
        subject = {"name": child["name"], "birth_date": child["birth_date"],
                   "township": doc["residence"]["township"], "village": doc["residence"]["village"]}
        if child.get("citizen_id"):
            subject["citizen_id"] = child["citizen_id"]
        return {
            "subject": subject,
            "assessment": {"date": (survey_on + dt.timedelta(days=r.randint(5, 25))).isoformat(),
                           "assessor": self.name()},
            "emergency": emergency,
            "items": items,
        }


def generate(host: Host, children: int, seed: int,
             gen: _Gen | None = None) -> Iterator[tuple[dict, dict | None]]:
    """Yield ``(survey, assessment or None)`` documents for ``children`` invented children.

    The assessment is given for 92 % of the children whose survey opens a case (same rules as
    the import, :func:`jianhu.cases.classify` and :func:`jianhu.cases.emergency_situations`);
    the others are left waiting for their first assessment.
    """
    gen = gen or _Gen(seed, host)
    categories = host.target_categories
    for _ in range(children):
        doc = gen.survey()
        on = dt.date.fromisoformat(doc["survey"]["date"])
        codes = classify(categories, doc, on)
        opens = needs_case(codes, doc, emergency_situations(doc, on))
        yield doc, gen.assessment(doc, codes) if opens and gen.r.random() >= 0.08 else None


def human_cell(rng: random.Random) -> Any:
    """A cell writer that writes some dates the way people type them."""

    def cell(f: Any, value: Any) -> Any:
        if value is not None and f.kind == "date":
            d = dt.date.fromisoformat(value)
            style = rng.random()
            if style < 0.6:
                return d
            if style < 0.8:
                return f"{d.year}/{d.month}/{d.day}"
            return f"{d.year}年{d.month}月{d.day}日"
        return cell_value(f, value)

    return cell


def write_sample(host: Host, out: str | Path, children: int, seed: int) -> SampleFiles:
    """Write the sample into directory ``out`` (created if needed).

    Files: ``screening.xlsx`` (surveys), ``assessment.xlsx`` (answer sheets), ``people.xlsx``
    (the staff roster) and ``records.jsonl`` (plans, services, visits, harm reports,
    escalations, re-assessments and closures; see :mod:`jianhu.sample_casework`).

    Returns:
        :class:`SampleFiles` with the paths and row counts.
    """
    import csv
    import json

    from jianhu.sample_casework import TEAM_COLUMNS, casework, roster, teams

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    # the county's policy (the default unless a plugin sets one for the whole county)
    county = next((a.code for a in host.areas.values() if a.level == "county"), "")
    screening_form, assessment_form = load_form(host, "screening"), load_form(host, "assessment")
    gen = _Gen(seed, host)
    pairs: list[tuple[dict, dict]] = []

    def surveys() -> Iterator[dict]:
        for doc, sheet in generate(host, children, seed, gen):
            if sheet is not None:
                pairs.append((doc, sheet))
            yield doc

    cells = human_cell(random.Random(seed + 1))
    n = write_rows(screening_form, surveys(), out / "screening.xlsx", cells)
    m = write_rows(assessment_form, [s for _, s in pairs], out / "assessment.xlsx", cells)
    rng = random.Random(seed + 2)
    villages = {t.name: gen.villages[t.code] for t in gen.towns}
    people = roster(rng, [(t.code, t.name, gen.villages[t.code]) for t in gen.towns], gen.name)
    write_rows(load_form(host, "person"), people, out / "people.xlsx")
    with (out / "teams.csv").open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows([TEAM_COLUMNS, *teams(
            [(t.code, t.name, gen.villages[t.code]) for t in gen.towns])])
    lines = casework(rng, host.scales["jianhu-default"], pairs, villages,
                     {t.name: t.code[:9] for t in gen.towns},
                     {lp.level: lp.visit_days for lp in host.followup_policy(county).levels})
    with (out / "records.jsonl").open("w", encoding="utf-8") as fh:
        for line in lines:
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
    return SampleFiles(out / "screening.xlsx", out / "assessment.xlsx", n, m,
                       out / "people.xlsx", out / "records.jsonl", len(people), len(lines),
                       out / "teams.csv")
