"""Who sees what: a village child director of one town sees nothing of any other town, by every
path; on PostgreSQL the township's database role sees the same through row-level security."""

import csv
import json
import shutil

import pytest
from sqlalchemy import func, select, text

from databases import psql_as
from jianhu.db.models import Case, Child, Person, Township, Village
from jianhu.db.session import open_session
from jianhu.imports.screening import import_screening
from jianhu.people import import_people
from jianhu.roles import LOCAL_ADMIN

XINAN = "320724100000"


@pytest.fixture
def county(session, host, sample_dir, engine):
    import_screening(session, host, sample_dir / "screening.xlsx", actor="t")
    import_people(session, host, sample_dir / "people.xlsx", actor=LOCAL_ADMIN)
    session.add(Person(code="county-viewer", name="查看", role="county_viewer", active=True))
    session.add(Person(code="trainer-01", name="培训", role="trainer", active=True))
    session.commit()
    director = session.scalars(
        select(Person).join(Village, Person.village_id == Village.id)
        .where(Person.role == "village_child_director",
               Village.id.in_(select(Case.village_id).join(Township).where(Township.code == XINAN)))
        .order_by(Person.code)).first()
    own = set(session.scalars(select(Case.case_no).where(Case.village_id == director.village_id)))
    xinan = set(session.scalars(select(Case.case_no).join(Township).where(Township.code == XINAN)))
    other = set(session.scalars(select(Case.case_no).join(Township).where(Township.code != XINAN)))
    assert own and other and own < xinan
    return director.code, own, xinan, other


def test_director_sees_only_their_village_by_every_path(run, county, tmp_path):
    director, own, xinan, other = county
    listed = {c["case_no"] for c in json.loads(run("--as", director, "cases", "list",
                                                   "--json").output)}
    assert listed == own
    for case_no in sorted(other)[:3] + sorted(xinan - own)[:2]:
        assert run("--as", director, "case", "show", case_no).output == f"错误：没有个案 {case_no}\n"
        assert run("--as", director, "case", "report", case_no, "--kind", "assessment",
                   "--out", str(tmp_path / "x.pdf")).output == f"错误：没有个案 {case_no}\n"
    due = json.loads(run("--as", director, "followups", "due", "--on", "2027-01-01",
                         "--json").output)["items"]
    assert {i["case_no"] for i in due} <= own
    out = tmp_path / "summary.csv"
    assert run("--as", director, "report", "summary", "--format", "csv", "--out",
               str(out)).exit_code == 0
    figures, _, notes = out.read_text("utf-8-sig").partition("\n\n")
    rows = list(csv.DictReader(figures.splitlines()))
    assert {r["乡镇"] for r in rows} == {"新安镇", "合计"}
    assert notes.startswith("统计日期：")
    assert int(rows[-1]["在办个案"]) == len(own)


def test_supervisor_sees_their_township(run, county):
    _, own, xinan, other = county
    listed = {c["case_no"] for c in json.loads(run("--as", "320724100-S01", "cases", "list",
                                                   "--json").output)}
    assert listed == xinan


def test_county_viewer_and_trainer_see_aggregates_only(run, county, tmp_path):
    for who in ("county-viewer", "trainer-01"):
        result = run("--as", who, "cases", "list")
        assert result.exit_code == 1 and "无权查看个案" in result.output
    out = tmp_path / "county.json"
    assert run("--as", "county-viewer", "report", "county", "--format", "json", "--out",
               str(out)).exit_code == 0
    doc = json.loads(out.read_text("utf-8"))
    assert [r["township"] for r in doc["rows"]][-1] == "合计"
    assert len(doc["rows"]) == 12
    cells = [v for r in doc["rows"][:-1] for k, v in r.items() if k.startswith("cat_")]
    assert "<5" in cells and not any(isinstance(v, int) and 0 < v < 5 for v in cells)


def test_county_report_totals_equal_the_sum_of_township_reports(run, county, tmp_path):
    out = tmp_path / "county.json"
    run("report", "county", "--format", "json", "--out", str(out), "--on", "2027-01-01")
    county_rows = json.loads(out.read_text("utf-8"))["rows"]
    total = county_rows[-1]
    sums = {}
    for town in range(11):
        code9 = f"320724{100 + town}"
        path = tmp_path / f"{code9}.json"
        assert run("--as", f"{code9}-S01", "report", "summary", "--format", "json", "--out",
                   str(path), "--on", "2027-01-01").exit_code == 0
        town_total = json.loads(path.read_text("utf-8"))["rows"][-1]
        for key, value in town_total.items():
            if isinstance(value, int):
                sums[key] = sums.get(key, 0) + value
    shown = {k: total[k] for k in sums if isinstance(total[k], int)}
    assert shown == {k: sums[k] for k in shown}
    # a county total of 1-4 children is hidden too (else it gives away the hidden townships)
    assert all(total[k] == "<5" and 0 < sums[k] < 5 for k in set(sums) - set(shown))
    assert sums["open_cases"] > 0


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not installed")
def test_row_level_security_for_the_township_role(county, db_url, engine):
    if not db_url.startswith("postgresql"):
        pytest.skip("row-level security exists on PostgreSQL only")
    with open_session(engine) as s:
        xinan_id = s.scalar(select(Township.id).where(Township.code == XINAN))
        total = s.scalar(select(func.count()).select_from(Child))
        own = s.scalar(select(func.count()).select_from(Child).where(Child.township_id == xinan_id))
    assert 0 < own < total
    query = ("SELECT (SELECT count(*) FROM children), "
             f"(SELECT count(*) FROM children WHERE township_id <> '{xinan_id}'), "
             "(SELECT count(*) FROM cases c JOIN townships t ON t.id = c.township_id "
             f"WHERE t.code <> '{XINAN}'), (SELECT count(*) FROM guardians), "
             "(SELECT count(*) FROM form_records);")
    done = psql_as(db_url, "jianhu_t_320724100000", query)
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]  # after the "SET" line
    seen, other_children, other_cases, guardians, records = map(int, last.split("|"))
    assert (seen, other_children, other_cases) == (own, 0, 0)
    with open_session(engine) as s:
        s.execute(text("SET LOCAL ROLE jianhu_t_320724100000"))
        assert s.scalar(select(func.count()).select_from(Child)) == own
    assert guardians > 0 and records > 0


def test_a_director_imports_only_their_own_village(run, county, session, host, tmp_path):
    from files import write_csv
    from jianhu.forms import load_form
    from surveys import survey

    director = county[0]
    village = session.scalar(select(Village.name).join(Person, Person.village_id == Village.id)
                             .where(Person.code == director))
    form = load_form(host, "screening")
    path = write_csv(form, [survey(residence__village=village),
                            survey(residence__village="大湖", child__citizen_id=None,
                                   child__name="测试乙")], tmp_path / "v.csv")
    result = run("--as", director, "import", "screening", str(path))
    assert result.exit_code == 1
    assert "第3行「村（社区）」：「大湖」不是你负责的村（社区），不能导入" in result.output
    assert "第2行" not in result.output
