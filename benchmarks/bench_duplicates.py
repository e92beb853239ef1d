"""Benchmark: how well possible double registrations are found (recall and precision).

Registers generated children (the sample generator's names and birth dates) in a SQLite file,
then runs :func:`jianhu.duplicates.find_similar` on two sets of "new" children:

- copies of registered children with one typing error each, in equal shares: two characters
  swapped, one character replaced by a homophone, the citizen ID left out, the birth date off by
  one day — each should be found (and matched to its original);
- fresh generated children who are not registered — none should be found.

Prints recall (copies found and matched to their original / copies) and precision (correct
matches / all matches), beside the target of the issue (recall >= 0.95 at precision >= 0.90).
Usage::

    python benchmarks/bench_duplicates.py [--children 20000] [--copies 2000] [--seed 1]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

from pypinyin import lazy_pinyin
from sqlalchemy import insert

from jianhu.db.models import Child, Township, Village
from jianhu.db.session import make_engine, open_session, upgrade
from jianhu.duplicates import find_similar, name_key
from jianhu.plugins import Host
from jianhu.sample import GIVEN, SURNAMES, generate

# Characters with the readings of the generated names' characters, to make homophones from.
EXTRA = ("壹依伊怡宜逸艺亦译益毅义忆议易谊衣医仪夷姨移遗奕翼羿涵寒韩含晗瀚汉罕旱函寒欣心新馨鑫辛昕芯"
"轩宣萱璇玄选炫暄浩昊皓豪号好郝然燃冉染雨宇语羽禹玉育宇桐同童彤通统铜诺娜纳航杭行思丝斯司远源媛圆元员"
"嘉家佳加甲假价俊军君均峻杰洁捷结节梦孟萌蒙瑶遥谣尧姚天田添甜佑友有又右优幼琪奇其齐祺琦旗棋明鸣铭名茗"
"雅亚娅压静婧靖敬境晨辰臣尘陈沉曦希溪西熙喜习博波伯勃泊文闻雯纹若弱汐夕西泽则择可克科课刻馨星乐勒"
"志智之知至致强墙蔷秀绣英鹰莹颖应建健剑见件国果郭丽莉力立利娟鹃涓")


def homophones() -> dict[str, list[str]]:
    """Character → other characters with the same toneless reading."""
    groups: dict[str, set[str]] = defaultdict(set)
    for ch in set(GIVEN + SURNAMES + EXTRA):
        groups[lazy_pinyin(ch)[0]].add(ch)
    return {ch: sorted(g - {ch}) for g in groups.values() for ch in g if len(g) > 1}


def typo(r: random.Random, child: dict, kind: str, sounds: dict[str, list[str]]) -> dict:
    """A copy of ``child`` with one typing error of ``kind``."""
    c = dict(child)
    name = c["name"]
    if kind == "swap" and len(name) >= 3:
        c["name"] = name[0] + name[2] + name[1] + name[3:]
    elif kind == "swap":
        c["name"] = name[::-1]
    elif kind == "homophone":
        places = [i for i, ch in enumerate(name) if ch in sounds] or [len(name) - 1]
        i = r.choice(places)
        c["name"] = name[:i] + r.choice(sounds.get(name[i], [name[i]])) + name[i + 1:]
    elif kind == "birth":
        c["birth_date"] += dt.timedelta(days=r.choice((-1, 1)))
    c["citizen_id"] = None  # a copy made by hand rarely carries the ID; "missing" only drops it
    return c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--children", type=int, default=20000)
    ap.add_argument("--copies", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    r = random.Random(args.seed)
    host = Host.load()
    people = []
    for survey, _ in generate(host, args.children + args.copies, args.seed):
        ch = survey["child"]
        people.append({"id": uuid.uuid4(), "name": ch["name"], "sex": ch["sex"],
                       "birth_date": dt.date.fromisoformat(ch["birth_date"]),
                       "citizen_id": ch.get("citizen_id")})
    registered, fresh = people[:args.children], people[args.children:]
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'dup.db'}")
        upgrade(engine)
        with open_session(engine) as s:
            town, village = uuid.uuid4(), uuid.uuid4()
            s.execute(insert(Township.__table__).values(id=town, code="320724100000", name="新安镇",
                                                        county_code="320724"))
            s.execute(insert(Village.__table__).values(id=village, township_id=town, name="测试村"))
            s.execute(insert(Child.__table__), [{**p, "township_id": town, "village_id": village,
                                                 "name_key": name_key(p["name"])}
                                                for p in registered])
            s.commit()
            sounds = homophones()
            kinds = ("swap", "homophone", "missing", "birth")
            originals = r.sample(registered, args.copies)
            copies = []
            for i, orig in enumerate(originals):
                copy = typo(r, orig, kinds[i % 4], sounds)
                copies.append({**copy, "id": uuid.uuid4(), "row": i, "of": orig["id"],
                               "kind": kinds[i % 4]})
            controls = [{**p, "row": len(copies) + i, "of": None} for i, p in enumerate(fresh)]
            start = time.perf_counter()
            matches = find_similar(s, copies + controls)
            seconds = time.perf_counter() - start
    truth = {c["id"]: c["of"] for c in copies + controls}
    correct = sum(1 for m in matches if truth[m.child_id] == m.other_id)
    found_by_kind: dict[str, int] = defaultdict(int)
    kind_of = {c["id"]: c["kind"] for c in copies}
    for m in matches:
        if truth[m.child_id] == m.other_id:
            found_by_kind[kind_of[m.child_id]] += 1
    recall = correct / len(copies)
    precision = correct / len(matches) if matches else 0.0
    print(f"registered {len(registered)}, copies with one error {len(copies)}, "
          f"unregistered controls {len(controls)}")
    for kind in kinds:
        print(f"  {kind:9} found {found_by_kind[kind]} / {sum(1 for c in copies if c['kind'] == kind)}")
    print(f"recall    {recall:.4f}  ({correct} of {len(copies)}; target >= 0.95)")
    print(f"precision {precision:.4f}  ({correct} of {len(matches)} matches; target >= 0.90)")
    print(f"matching  {seconds:.2f} s for {len(copies) + len(controls)} new children")


if __name__ == "__main__":
    main()
