"""The plan's organisation and training (新政发〔2016〕8号 四（一）、（二）, 六（三）): teams, their
members, training sessions, and who is due for training (issue 15, item 5).

Two townships: 新安镇 has supervisor S01, child director D01 of 测试村 and social worker W01;
堆沟港镇 has supervisor B01 and child director E01 of 港口村.
"""

import json

import pytest
from sqlalchemy import func, select

from jianhu.db.models import AuditEvent, Team, TeamMember, TrainingAttendance, TrainingSession
from jianhu.db.session import open_session

ROSTER = """编号,姓名,角色,乡镇,村（社区）
S01,督导甲,乡镇儿童督导员,新安镇,
D01,主任乙,村（居）儿童主任,新安镇,测试村
W01,社工丙,社会工作者,新安镇,
B01,督导丁,乡镇儿童督导员,堆沟港镇,
E01,主任戊,村（居）儿童主任,堆沟港镇,港口村
"""


@pytest.fixture
def county(run, engine, tmp_path):
    (tmp_path / "people.csv").write_text(ROSTER, "utf-8")
    out = run("people", "import", str(tmp_path / "people.csv"))
    assert out.exit_code == 0, out.output


def _counts(engine):
    with open_session(engine) as s:
        return tuple(s.scalar(select(func.count()).select_from(m))
                     for m in (Team, TeamMember, TrainingSession, TrainingAttendance, AuditEvent))


def _json(run, *args):
    out = run(*args, "--json")
    assert out.exit_code == 0, out.output
    return json.loads(out.output)


def test_teams_are_added_with_chinese_kinds_and_members_in_their_township(run, county):
    out = run("--as", "S01", "teams", "add", "--kind", "评估小组")
    assert out.output == "已新建评估小组「新安镇评估小组」\n"
    assert run("--as", "S01", "teams", "add", "--kind", "公益社", "--village", "测试村").output == \
        "已新建公益社「测试村公益社」\n"
    assert run("--as", "S01", "teams", "add", "--kind", "rescue_team", "--name", "爱心服务队"
               ).exit_code == 0
    out = run("--as", "S01", "teams", "add-member", "新安镇评估小组", "S01", "--role", "组长")
    assert out.output == "已加入：S01 → 「新安镇评估小组」组长\n"
    assert run("--as", "S01", "teams", "add-member", "新安镇评估小组", "W01,D01").exit_code == 0
    assert run("--as", "S01", "teams", "add-member", "测试村公益社", "D01", "--role", "社长"
               ).exit_code == 0
    teams = _json(run, "--as", "S01", "teams", "list")
    assert [(t["kind_label"], t["name"], t["village"]) for t in teams] == [
        ("公益社", "测试村公益社", "测试村"), ("评估小组", "新安镇评估小组", None),
        ("救助服务队", "爱心服务队", None)]
    assert [(m["code"], m["role_label"]) for m in teams[1]["members"]] == [
        ("S01", "组长"), ("D01", "成员"), ("W01", "成员")]
    assert teams[0]["members"][0]["role"] == "leader"
    # 堆沟港镇's supervisor sees none of them
    assert _json(run, "--as", "B01", "teams", "list") == []


def test_bad_teams_and_members_are_refused_in_chinese_and_write_nothing(run, county, engine):
    assert run("--as", "S01", "teams", "add", "--kind", "评估小组").exit_code == 0
    assert run("--as", "S01", "teams", "add", "--kind", "领导小组").exit_code == 0
    before = _counts(engine)
    cases = [
        (("teams", "add", "--kind", "宣传队"),
         "错误：「宣传队」不是队伍类别；可选：领导小组、村工作小组、公益社、评估小组、救助服务队\n"),
        (("teams", "add", "--kind", "村工作小组"), "错误：村工作小组属于一个村（社区）：请写明村（社区）\n"),
        (("teams", "add", "--kind", "公益社", "--village", "无此村"),
         "错误：新安镇没有村（社区）「无此村」\n"),
        (("teams", "add", "--kind", "镇领导小组", "--name", "第二领导小组"),
         "错误：新安镇已有领导小组「新安镇领导小组」\n"),
        (("teams", "add", "--kind", "评估小组", "--village", "测试村"),
         "错误：评估小组是乡镇的队伍，不属于某个村（社区）：请不要写村（社区）\n"),
        (("teams", "add-member", "新安镇评估小组", "B01"),
         "错误：「B01」不是新安镇人员名册中的在岗人员，不能加入「新安镇评估小组」\n"),
        (("teams", "add-member", "新安镇评估小组", "S01", "--role", "队医"),
         "错误：「队医」不是组内职务；可选：组长、副组长、成员\n"),
        (("teams", "add-member", "没有的队", "S01"),
         "错误：没有队伍「没有的队」（用 jianhu teams list 查看）\n"),
        (("teams", "add", "--township", "堆沟港镇", "--kind", "评估小组"),
         "错误：无权管理其他乡镇（堆沟港镇）的队伍\n"),
    ]
    for args, message in cases:
        out = run("--as", "S01", *args)
        assert (out.exit_code, out.output) == (1, message), args
    # a village's 公益社 takes only that village's people
    assert run("--as", "S01", "teams", "add", "--kind", "公益社", "--village", "测试村").exit_code == 0
    out = run("--as", "S01", "teams", "add-member", "测试村公益社", "W01")
    assert out.output == "错误：「W01」（社工丙）不是测试村的人员，不能加入公益社「测试村公益社」\n"
    # a child director may look but not manage; the other township's supervisor cannot reach them
    assert run("--as", "D01", "teams", "add", "--kind", "救助服务队").output == \
        "错误：村（居）儿童主任（D01）无权管理本乡镇的队伍\n"
    assert run("--as", "B01", "teams", "add-member", "新安镇评估小组", "B01").output == \
        "错误：没有队伍「新安镇评估小组」（用 jianhu teams list 查看）\n"
    assert _counts(engine)[1] == before[1]  # no member added by any refused write
    assert _counts(engine)[0] == before[0] + 1  # only the good 公益社


def test_a_teams_file_is_imported_whole_or_not_at_all(run, county, engine, tmp_path):
    good = tmp_path / "teams.csv"
    good.write_text("乡镇,村（社区）,类别,队伍名称,人员编号,组内职务\n"
                    "新安镇,,救助服务队,,W01,组长\n"
                    "新安镇,,救助服务队,,S01,\n"
                    "新安镇,测试村,村工作小组,,D01,组长\n"
                    "堆沟港镇,,评估小组,,B01,组长\n", "utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text("乡镇,村（社区）,类别,队伍名称,人员编号,组内职务\n"
                   "新安镇,,救助服务队,,W01,组长\n"
                   "新安镇,,宣传队,,S01,\n"
                   "新安镇,,评估小组,,E01,\n", "utf-8")
    before = _counts(engine)
    out = run("--as", "S01", "teams", "import", str(bad))
    assert out.exit_code == 1
    assert out.output.splitlines() == [
        "导入被拒绝：共3行，其中2行有错误，未写入任何数据。",
        "  第3行：「宣传队」不是队伍类别；可选：领导小组、村工作小组、公益社、评估小组、救助服务队",
        "  第4行：「E01」不是新安镇人员名册中的在岗人员，不能加入「新安镇评估小组」"]
    out = run("--as", "S01", "teams", "import", str(good))  # a row for 堆沟港镇: out of scope
    assert out.output.splitlines()[1:] == ["  第5行：无权管理其他乡镇（堆沟港镇）的队伍"]
    assert _counts(engine) == before
    out = run("teams", "import", str(good))  # the local administrator: the whole workspace
    assert out.output == "队伍：共4行；新建队伍3，加入成员4，改职务0。\n"
    teams = {t["name"]: [m["code"] for m in t["members"]]
             for t in _json(run, "teams", "list")}
    assert teams == {"新安镇救助服务队": ["W01", "S01"], "测试村工作小组": ["D01"],
                     "堆沟港镇评估小组": ["B01"]}
    doc = tmp_path / "teams.json"
    doc.write_text(json.dumps([{"township": "新安镇", "kind": "救助服务队", "name": "新安镇救助服务队",
                                "members": [{"code": "S01", "role": "副组长"}]}],
                              ensure_ascii=False), "utf-8")
    assert run("teams", "import", str(doc)).output == "队伍：共1行；新建队伍0，加入成员0，改职务1。\n"
    doc.write_text(json.dumps([{"township": "新安镇", "kind": "公益社", "members": ["D01"]}],
                              ensure_ascii=False), "utf-8")
    out = run("teams", "import", str(doc))
    assert out.output.splitlines()[1:] == ["  第1个队伍：公益社属于一个村（社区）：请写明村（社区）"]
    with open_session(engine) as s:
        changes = s.scalars(select(AuditEvent.action).where(
            AuditEvent.entity_type == "team_member")).all()
    assert sorted(changes) == ["create"] * 4 + ["update"]


def _training(run, who, day, *codes, topic="儿童保护基础", township=None):
    args = ["--as", who, "training", "add", "--date", day, "--topic", topic, "--trainer", "县民政局",
            "--material", "综合测评", "--material", "儿童信息保护"]
    if township:
        args += ["--township", township]
    for c in codes:
        args += ["--attendee", c]
    return run(*args)


def test_untrained_lists_who_had_no_training_in_the_last_365_days(run, county, engine):
    # 2026-06-30: D01 was trained 400 days before (2025-05-26), W01 10 days before (2026-06-20),
    # S01 never.
    out = _training(run, "S01", "2025-05-26", "D01")
    assert out.output == "已登记培训：2025-05-26「儿童保护基础」，参加1人\n"
    assert _training(run, "S01", "2026年6月20日", "W01", topic="救助方案").exit_code == 0

    def untrained(who, on):
        return [p["code"] for p in _json(run, "--as", who, "training", "list", "--untrained",
                                         "--on", on)]

    assert untrained("S01", "2026-06-30") == ["D01", "S01"]
    assert untrained("S01", "2026-05-26") == ["S01", "W01"]  # 365 days before still counts
    assert untrained("S01", "2026-05-27") == ["D01", "S01", "W01"]  # 366: no longer
    assert untrained("B01", "2026-06-30") == ["B01", "E01"]
    assert untrained("local-admin", "2026-06-30") == ["B01", "D01", "E01", "S01"]
    (row,) = [p for p in _json(run, "--as", "S01", "training", "list", "--untrained", "--on",
                               "2026-06-30") if p["code"] == "D01"]
    assert (row["last_trained"], row["role_label"], row["village"]) == (
        "2025-05-26", "村（居）儿童主任", "测试村")
    # the per-person training record
    record = _json(run, "--as", "S01", "training", "list", "--person", "W01")
    assert [(r["held_on"], r["topic"], r["materials"], r["attendees"]) for r in record] == [
        ("2026-06-20", "救助方案", ["综合测评", "儿童信息保护"], ["W01"])]
    assert [r["held_on"] for r in _json(run, "--as", "S01", "training", "list")] == [
        "2026-06-20", "2025-05-26"]
    assert _json(run, "--as", "B01", "training", "list") == []
    with open_session(engine) as s:
        events = s.scalars(select(AuditEvent).where(
            AuditEvent.entity_type == "training_session").order_by(AuditEvent.id)).all()
    assert [(e.actor, e.after["attendees"]) for e in events] == [("S01", ["D01"]), ("S01", ["W01"])]


def test_bad_training_is_refused_in_chinese_and_writes_nothing(run, county, engine):
    before = _counts(engine)
    out = _training(run, "S01", "2026-13-01", "D01")
    assert out.exit_code == 2
    assert out.output.startswith("错误：--date 的值不对：「2026-13-01」不是有效日期")
    out = _training(run, "S01", "2026-06-01", "D01", "B01", "Z99")
    assert out.output == "错误：不是新安镇人员名册中的在岗人员：B01、Z99\n"
    out = run("--as", "S01", "training", "add", "--date", "2026-06-01", "--topic", "t",
              "--trainer", "x", "--material", "没有这章", "--attendee", "D01")
    assert out.output.startswith("错误：操作手册没有章节「没有这章」；可用：首页、总则与目标")
    out = _training(run, "S01", "2199-01-01", "D01")
    assert out.output.startswith("错误：培训日期 2199-01-01 晚于今天")
    out = _training(run, "B01", "2026-06-01", "D01", township="新安镇")
    assert out.output == "错误：无权管理其他乡镇（新安镇）的培训\n"
    assert run("--as", "D01", "training", "add", "--date", "2026-06-01", "--topic", "t",
               "--trainer", "x", "--attendee", "D01").output == \
        "错误：村（居）儿童主任（D01）无权登记培训\n"
    assert run("--as", "S01", "training", "list", "--untrained", "--on", "2026/2/30").exit_code == 2
    assert _counts(engine) == before


def test_a_township_connection_cannot_put_another_townships_person_in_its_team(run, county,
                                                                               db_url, engine):
    if not db_url.startswith("postgresql"):
        pytest.skip("row-level security exists on PostgreSQL only")
    from databases import psql_as
    from jianhu.db.models import Person

    assert run("--as", "S01", "teams", "add", "--kind", "评估小组").exit_code == 0
    with open_session(engine) as s:
        team = s.scalar(select(Team.id))
        other = s.scalar(select(Person.id).where(Person.code == "B01"))
    done = psql_as(db_url, "jianhu_t_320724100000",
                   "INSERT INTO team_members (team_id, person_id, role, added_at) "
                   f"VALUES ('{team}', '{other}', 'member', now());")
    assert "new row violates row-level security policy" in done.stderr, done.stderr
    # the same person by the owner's connection (the application checks it too, above)
    done = psql_as(db_url, "jianhu_t_320724101000", "SELECT count(*) FROM teams;")
    assert done.stdout.strip().splitlines()[-1] == "0"


def test_the_plan_and_assessment_forms_propose_the_teams_members_first(run, county, engine,
                                                                       host):
    from jianhu.db.models import Township
    from jianhu.forms import load_form
    from jianhu.teams import proposals
    from jianhu.web.forms import build_page, offer_people
    from jianhu.web.rendering import templates

    assert run("teams", "add", "--township", "新安镇", "--kind", "救助服务队").exit_code == 0
    assert run("teams", "add", "--township", "新安镇", "--kind", "评估小组").exit_code == 0
    assert run("teams", "add-member", "新安镇救助服务队", "W01", "--role", "组长").exit_code == 0
    assert run("teams", "add-member", "新安镇评估小组", "D01").exit_code == 0
    assert run("teams", "add-member", "新安镇评估小组", "S01", "--role", "组长").exit_code == 0
    with open_session(engine) as s:
        town = s.scalar(select(Township.id).where(Township.name == "新安镇"))
        assert [c for c, _, _ in proposals(s, town, "responsible")] == ["W01", "D01", "S01"]
        assert [c for c, _, _ in proposals(s, town, "assessor")] == ["S01", "D01", "W01"]
        assert proposals(s, town, "responsible")[0] == ("W01", "社工丙", "新安镇救助服务队组长")
        plan = build_page(load_form(host, "plan"))
        offer_people(plan, lambda key: proposals(s, town, key))
        sheet = build_page(load_form(host, "assessment"))
        offer_people(sheet, lambda key: proposals(s, town, key))
    (owner,) = [w for w in plan.widgets if w.name == "measures.0.responsible"]
    assert owner.suggestions[0] == ("W01", "社工丙（新安镇救助服务队组长）")
    (assessor,) = [w for w in sheet.widgets if w.name == "assessment.assessor"]
    assert [v for v, _ in assessor.suggestions] == ["督导甲", "主任乙", "社工丙"]  # names
    html = templates.env.get_template("_fields.html").render(page=plan)
    assert 'list="f-measures-0-responsible-people"' in html
    assert html.index('value="W01"') < html.index('value="D01"') < html.index('value="S01"')


def test_the_demo_has_every_townships_teams_and_two_trainings(tmp_path, host):
    import datetime as dt

    from jianhu.db.models import Township
    from jianhu.db.session import make_engine
    from jianhu.demo import run_demo
    from jianhu.roles import LOCAL_ADMIN
    from jianhu.sample_casework import CUTOFF
    from jianhu.scope import Scope
    from jianhu.teams import listing
    from jianhu.trainings import untrained

    run_ = run_demo(host, tmp_path / "demo", children=60, seed=3, actor="local-admin")
    assert run_.trainings == 22 and (tmp_path / "demo" / "teams.csv").exists()
    engine = make_engine(run_.db_url)
    with open_session(engine) as s:
        xinan = s.scalar(select(Township.code).where(Township.name == "新安镇"))
        teams = listing(s, Scope(LOCAL_ADMIN), xinan)
        kinds = [t.kind_label for t in teams]
        assert (kinds.count("领导小组"), kinds.count("村工作小组"), kinds.count("公益社"),
                kinds.count("评估小组"), kinds.count("救助服务队")) == (1, 7, 7, 1, 1)  # 7 villages
        rescue = next(t for t in teams if t.kind == "rescue_team")
        assert [m["code"] for m in rescue.members] == [
            "320724100-W01", "320724100-M01", "320724100-P01", "320724100-T01", "320724100-W02"]
        due = [p["code"] for p in untrained(s, Scope(LOCAL_ADMIN), CUTOFF, xinan)]
        assert due == [f"320724100-D{i:02d}" for i in range(1, 8)]  # trained 380 days before
        assert untrained(s, Scope(LOCAL_ADMIN), CUTOFF - dt.timedelta(days=20), xinan) == []
    engine.dispose()


def test_the_handbook_chapter_lists_each_townships_teams_from_the_workspace(run, county, host,
                                                                            tmp_path):
    from jianhu.handbook.model import Handbook
    from jianhu.trainings import handbook_chapters

    assert "队伍与培训" in handbook_chapters() and "综合测评" in handbook_chapters()
    away = Handbook(host, "新安镇").expand("<!-- jianhu:teams -->", "organisation.md")
    assert away.startswith("（生成本手册时没有读取工作区数据库")
    kinds = Handbook(host).expand("<!-- jianhu:team-kinds -->", "organisation.md")
    assert "| 公益社 | public\\_welfare\\_society | 村（社区） | 每村一个 | 某村公益社 |" in kinds
    assert run("--as", "S01", "teams", "add", "--kind", "救助服务队").exit_code == 0
    assert run("--as", "S01", "teams", "add-member", "新安镇救助服务队", "W01", "--role", "组长"
               ).exit_code == 0
    out = run("--as", "S01", "handbook", "build", "--township", "新安镇", "--out",
              str(tmp_path / "site"))
    assert out.exit_code == 0, out.output
    chapter = (tmp_path / "site" / "organisation.html").read_text("utf-8")
    assert "<td>新安镇救助服务队</td>" in chapter and "社工丙（组长）" in chapter
    assert "堆沟港镇" not in chapter.split("各乡镇的队伍")[-1].split("队伍在个案工作中的用处")[0]
