"""SDQ scoring, form and registration, checked against hand-computed answer sheets.

Item scores after reversal (items 7, 11, 14, 21, 25 → 2 − answer) are written out per subscale in
the comments so each expected figure can be checked by hand.
"""

from __future__ import annotations

import importlib.metadata
import re

import jianhu_sdq
import pytest
from jianhu_sdq import NORM_SETS, REVERSED, SCALE, SUBSCALES, band, prorate, score

from jianhu.assessment import level_scale
from jianhu.errors import JianhuError
from jianhu.forms import load_form
from jianhu.plugins import Host

TEST_ENV = {"JIANHU_LOAD_PLUGINS": ""}
ASSESSMENT = {"date": "2026-03-20", "assessor": "赵某"}


def sheet(items: dict) -> dict:
    return {"assessment": dict(ASSESSMENT), "items": items}


def same(value: int) -> dict:
    return {f"q{n}": value for n in range(1, 26)}


# A mixed sheet that lands every score at the top (or for prosocial the only value) of its
# "borderline" band.
MIXED = {
    "q1": 2, "q2": 1, "q3": 1, "q4": 2, "q5": 0, "q6": 1, "q7": 1, "q8": 2, "q9": 1, "q10": 1,
    "q11": 2, "q12": 0, "q13": 1, "q14": 1, "q15": 1, "q16": 0, "q17": 2, "q18": 2, "q19": 1,
    "q20": 0, "q21": 0, "q22": 0, "q23": 0, "q24": 0, "q25": 1,
}


@pytest.fixture(scope="module")
def host() -> Host:
    return Host.load(extra=[("sdq", jianhu_sdq)], env=TEST_ENV)


# ------------------------------------------------------------------------------ scoring
def test_all_zeros():
    # reversed items score 2: conduct q7 → 2; hyperactivity q21, q25 → 4; peer q11, q14 → 4
    result = score(sheet(same(0)))
    assert result.scores == {"emotional": 0, "conduct": 2, "hyperactivity": 4, "peer": 4,
                             "prosocial": 0}
    assert result.total == 10  # 0 + 2 + 4 + 4
    assert result.level is None
    assert result.bands == {"emotional": "正常", "conduct": "正常", "hyperactivity": "正常",
                            "peer": "异常", "prosocial": "异常", "total": "正常"}


def test_all_twos():
    # reversed items score 0: conduct 4×2 = 8; hyperactivity 3×2 = 6; peer 3×2 = 6
    result = score(sheet(same(2)))
    assert result.scores == {"emotional": 10, "conduct": 8, "hyperactivity": 6, "peer": 6,
                             "prosocial": 10}
    assert result.total == 30  # 10 + 8 + 6 + 6
    assert result.level is None
    assert result.bands == {"emotional": "异常", "conduct": "异常", "hyperactivity": "临界",
                            "peer": "异常", "prosocial": "正常", "total": "异常"}


def test_mixed_sheet():
    # emotional     q3 1 + q8 2 + q13 1 + q16 0 + q24 0                  = 4  临界 (4)
    # conduct       q5 0 + q7 (2−1) 1 + q12 0 + q18 2 + q22 0            = 3  临界 (3)
    # hyperactivity q2 1 + q10 1 + q15 1 + q21 (2−0) 2 + q25 (2−1) 1     = 6  临界 (6)
    # peer          q6 1 + q11 (2−2) 0 + q14 (2−1) 1 + q19 1 + q23 0     = 3  临界 (3)
    # prosocial     q1 2 + q4 2 + q9 1 + q17 2 + q20 0                   = 7  临界 (7)
    # total         4 + 3 + 6 + 3                                        = 16 临界 (14–16)
    result = score(sheet(MIXED))
    assert result.scores == {"emotional": 4, "conduct": 3, "hyperactivity": 6, "peer": 3,
                             "prosocial": 7}
    assert result.total == 16
    assert result.level is None
    assert result.bands == {name: "临界" for name in (*SUBSCALES, "total")}


def test_missing_items_prorated_and_a_subscale_missing():
    items = dict(MIXED)
    for key in ("q8", "q5", "q12", "q2", "q10", "q15"):
        del items[key]
    items["q20"] = None  # an explicit None is unanswered too
    # emotional     4 answered: q3 1 + q13 1 + q16 0 + q24 0 = 2 → 2×5/4 = 2.5 → 3 (half up)  正常
    # conduct       3 answered: q7 1 + q18 2 + q22 0 = 3     → 3×5/3 = 5                    异常
    # hyperactivity 2 answered (q21, q25)                     → missing, no band
    # peer          5 answered                                → 3                            临界
    # prosocial     4 answered: q1 2 + q4 2 + q9 1 + q17 2 = 7 → 7×5/4 = 8.75 → 9            正常
    # total         hyperactivity missing                     → missing, no band
    result = score(sheet(items))
    assert result.scores == {"emotional": 3, "conduct": 5, "hyperactivity": None, "peer": 3,
                             "prosocial": 9}
    assert result.total is None
    assert result.level is None
    assert result.bands == {"emotional": "正常", "conduct": "异常", "peer": "临界",
                            "prosocial": "正常"}


def test_empty_sheet_has_no_scores():
    result = score(sheet({}))
    assert all(v is None for v in result.scores.values())
    assert result.total is None and result.bands == {}


@pytest.mark.parametrize("item_scores,expected", [
    ([2, 2, 2, 2, 2], 10),
    ([1, 0, 1, 0], 3),   # 2.5 rounds up (Python's round would give 2)
    ([1, 1, 1, 0], 4),   # 3.75
    ([1, 0, 0, 0], 1),   # 1.25
    ([1, 0, 0], 2),      # 1.67
    ([2, 2, 1], 8),      # 8.33
    ([0, 0], None),      # fewer than 3 answered
    ([], None),
])
def test_prorate(item_scores, expected):
    assert prorate(item_scores) == expected


@pytest.mark.parametrize("bad", [3, -1, "1", True, 1.5])
def test_bad_answer_is_refused(bad):
    with pytest.raises(ValueError, match="SDQ第4题"):
        score(sheet({**MIXED, "q4": bad}))


def test_integral_float_answer_is_accepted():
    assert score(sheet({**MIXED, "q4": 2.0})).scores["prosocial"] == 7


@pytest.mark.parametrize("name,value,code", [
    ("total", 13, "normal"), ("total", 14, "borderline"), ("total", 17, "abnormal"),
    ("total", 40, "abnormal"), ("emotional", 3, "normal"), ("emotional", 5, "abnormal"),
    ("conduct", 2, "normal"), ("conduct", 4, "abnormal"), ("hyperactivity", 5, "normal"),
    ("hyperactivity", 7, "abnormal"), ("peer", 2, "normal"), ("peer", 4, "abnormal"),
    ("prosocial", 8, "normal"), ("prosocial", 7, "borderline"), ("prosocial", 6, "abnormal"),
    ("peer", None, None),
])
def test_band_edges(name, value, code):
    assert band(value, name) == code


def test_norm_set_is_a_parameter(monkeypatch):
    strict = {**NORM_SETS["uk-parent-3band"], "title": "test"}
    strict["bands"] = {**strict["bands"], "total": ((0, 9, "normal"), (10, 11, "borderline"),
                                                    (12, 40, "abnormal"))}
    monkeypatch.setitem(NORM_SETS, "test-strict", strict)
    assert score(sheet(same(0)), norms="test-strict").bands["total"] == "临界"
    assert score(sheet(same(0))).bands["total"] == "正常"
    with pytest.raises(KeyError, match="no-such-norms"):
        score(sheet(same(0)), norms="no-such-norms")


# ---------------------------------------------------------------------- scale & form data
def test_scale_record():
    assert SCALE.name == "sdq" and SCALE.form_id == "sdq" and SCALE.sets_level is False
    assert [i.id for i in SCALE.items] == [f"q{n}" for n in range(1, 26)]
    assert {"norms": "uk-parent-3band", "score": "total", "band": "borderline", "label": "临界",
            "min": 14, "max": 16} in SCALE.thresholds
    assert "Goodman" in SCALE.source


def test_form_matches_scoring_constants_and_ships_no_item_wording():
    fields = jianhu_sdq.SCHEMA["properties"]["items"]["properties"]
    assert len(fields) == 25
    for n in range(1, 26):
        f = fields[f"q{n}"]
        assert n in SUBSCALES[f["x-domain"]]
        assert bool(f.get("x-reverse")) == (n in REVERSED)
        assert re.fullmatch(r"SDQ第\d+题", f["title"])
        assert [o["title"] for o in f["oneOf"]] == ["0 不符合", "1 有点符合", "2 完全符合"]
    assert "required" not in jianhu_sdq.SCHEMA["properties"]["items"]


# ------------------------------------------------------------------------- through the host
def test_registers_through_the_host(host):
    assert host.scales["sdq"].sets_level is False
    assert host.scales["sdq"] is SCALE
    assert "jianhu-default" in host.scales
    assert host.owner("jianhu_scales", "sdq") == "sdq"
    assert host.forms["sdq"].title == "长处与困难问卷（SDQ）答题表"


def test_cannot_set_a_risk_level(host):
    with pytest.raises(JianhuError, match="不能用于确定风险等级"):
        level_scale(host, "sdq")


def test_form_accepts_good_sheets(host):
    form = load_form(host, "sdq")
    assert form.problems(sheet(MIXED)) == []
    assert form.problems(sheet({"q1": 2})) == []  # unanswered items are allowed
    assert [f.column for f in form.fields][:3] == ["评估日期", "评估人", "SDQ第1题"]


def test_form_rejects_a_three_in_chinese(host):
    form = load_form(host, "sdq")
    assert form.problems(sheet({**MIXED, "q5": 3})) == [
        ("SDQ第5题", "不是可选项，可选：0 不符合、1 有点符合、2 完全符合")]


def test_form_requires_date_and_assessor(host):
    form = load_form(host, "sdq")
    assert form.problems({"assessment": {}, "items": {}}) == [
        ("评估日期", "必填，不能为空"), ("评估人", "必填，不能为空")]


def test_entry_point_loads_when_installed():
    try:
        dist = importlib.metadata.distribution("jianhu-sdq")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("jianhu-sdq is not installed")
    assert [ep.value for ep in dist.entry_points if ep.group == "jianhu"] == ["jianhu_sdq"]
    host = Host.load(env={"JIANHU_LOAD_PLUGINS": "sdq"})
    info = next(p for p in host.plugins() if p.name == "sdq")
    assert (info.version, info.source) == ("0.1.0", "entry point")
    assert info.hooks == ("jianhu_forms", "jianhu_scales")
    assert host.scales["sdq"].sets_level is False
