"""Least data per role, for every role against every output: the case (command line, JSON), its
documents and the summary report, compared with a table written out here by hand from the law
and the plan (issue: children's data protected; handbook: 儿童信息保护)."""

import json

import pytest

from casework import one_case_workspace
from jianhu.people import import_people
from jianhu.roles import LOCAL_ADMIN, role_labels
from tests_helpers import answer_sheet

#: role → (opens the case, sees the child's name, the citizen ID in the survey, the account of
#: the harm, who reported it, may make documents, the summary report: "full", "suppressed" (small
#: counts hidden) or None (refused)).
EXPECTED = {
    "local_admin":                (True, True, True, True, True, True, "full"),
    "township_supervisor":        (True, True, True, True, True, True, "full"),
    "village_child_director":     (True, True, True, True, False, True, "full"),
    "social_worker":              (True, True, True, True, False, True, "full"),
    "assessor_civil_affairs":     (True, True, True, True, False, True, "full"),
    "assessor_womens_federation": (True, True, True, True, False, True, "full"),
    "assessor_police":            (True, True, True, True, True, True, "full"),
    "assessor_education":         (True, True, True, True, False, True, "full"),
    # the support team: only the case they serve, only what the service needs
    "psychologist":               (True, True, False, False, False, False, None),
    "tutor":                      (True, True, False, False, False, False, None),
    "caring_mother":              (True, True, False, False, False, False, None),
    "elder_volunteer":            (True, True, False, False, False, False, None),
    "student_volunteer":          (True, True, False, False, False, False, None),
    "media_volunteer":            (True, True, False, False, False, False, None),
    # the county: its administrator works cases; its viewers and trainers see counts only
    "county_admin":               (True, True, True, True, False, True, "full"),
    "county_viewer":              (False, False, False, False, False, False, "suppressed"),
    "trainer":                    (False, False, False, False, False, False, "suppressed"),
}
CITIZEN_ID, HARM, REPORTER = "320724201406010028", "邻居反映孩子常独自在家挨饿", "报告人丁"
SUPPORT = [r for r, e in EXPECTED.items() if e[1] and not e[2]]
COUNTY = ("county_admin", "county_viewer", "trainer")


@pytest.fixture
def case_no(run, session, host, tmp_path):
    number = one_case_workspace(session, host, tmp_path)
    import datetime as dt
    import uuid

    from jianhu.db.models import Person

    rows = ["编号,姓名,角色,乡镇,村（社区）"]
    for role, label in role_labels().items():
        if role in COUNTY:  # the county's people belong to no township (as deploy apply makes them)
            session.add(Person(id=uuid.uuid4(), code=f"R-{role}", name=f"县{len(rows)}", role=role,
                               active=True, created_at=dt.datetime.now(dt.UTC),
                               updated_at=dt.datetime.now(dt.UTC)))
        elif role != "local_admin":
            rows.append(f"R-{role},角色{len(rows)},{label},新安镇,"
                        f"{'测试村' if role == 'village_child_director' else ''}")
    (tmp_path / "roles.csv").write_text("\n".join(rows) + "\n", "utf-8")
    import_people(session, host, tmp_path / "roles.csv", actor=LOCAL_ADMIN)
    session.commit()

    def record(who, form, doc):
        path = tmp_path / f"{form}.json"
        path.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
        out = run("--as", who, "record", form, "--case", number, str(path))
        assert out.exit_code == 0, out.output

    record("S01", "assessment", answer_sheet("2026-03-16", score=1))
    record("S01", "plan", {"plan": {"date": "2026-03-17", "goals": ["学业跟上"],
                                    "approved_by": "C01"},
                           "measures": [{"service_type": "tutoring", "description": "陪伴",
                                         "responsible": f"R-{role}", "start": "2026-03-18",
                                         "due": "2026-04-17"} for role in SUPPORT]})
    record("D01", "incident", {"incident": {"discovered_at": "2026-03-18T09:00:00+08:00",
                                            "harm_types": ["neglect"], "recorded_by": "D01",
                                            "description": HARM},
                               "reporter": {"name": REPORTER}})
    return number


def test_every_role_against_every_output(run, case_no, tmp_path):
    assert set(EXPECTED) == set(role_labels())  # a new role needs its row here
    got = {}
    for role in EXPECTED:
        who = LOCAL_ADMIN.code if role == "local_admin" else f"R-{role}"
        shown = run("--as", who, "case", "show", case_no, "--json")
        text = shown.output if shown.exit_code == 0 else ""
        view = json.loads(text) if text else {}
        document = run("--as", who, "case", "report", case_no, "--kind", "assessment",
                       "--format", "html", "--out", str(tmp_path / f"{role}.html"))
        report = run("--as", who, "report", "summary", "--format", "json",
                     "--out", str(tmp_path / f"{role}.json"))
        figures = None
        if report.exit_code == 0:
            doc = json.loads((tmp_path / f"{role}.json").read_text("utf-8"))
            figures = "suppressed" if "<5" in json.dumps(doc, ensure_ascii=False) else "full"
        got[role] = (shown.exit_code == 0, bool(view.get("child", {}).get("name")),
                     CITIZEN_ID in text, HARM in text, REPORTER in text,
                     document.exit_code == 0, figures)
    assert got == EXPECTED


def test_a_support_role_not_assigned_sees_no_case(run, case_no, session, host, tmp_path):
    label = role_labels()["psychologist"]
    (tmp_path / "more.csv").write_text(f"编号,姓名,角色,乡镇,村（社区）\nR-other,另一位,{label},新安镇,\n",
                                       "utf-8")
    import_people(session, host, tmp_path / "more.csv", actor=LOCAL_ADMIN)
    session.commit()
    out = run("--as", "R-other", "case", "show", case_no)
    assert out.output == f"错误：没有个案 {case_no}\n"


def test_the_audit_list_reads_in_chinese(run, case_no):
    rows = json.loads(run("audit", "list", "--json", "--limit", "500").output)
    assert len(rows) > 20
    untranslated = {r["action"] for r in rows if r["action_label"] == r["action"]}
    untranslated |= {r["entity_type"] for r in rows if r["entity_label"] == r["entity_type"]}
    assert untranslated == set()
    assert any(r["case_no"] == case_no for r in rows if r["action"] == "record")
