"""Children's data protected: identified reads are audited, and the audit trail is itself
scoped and append-only (issue: children's data protected).

Two townships share one database (the roster of :mod:`test_records_in_scope`): 新安镇 holds two
children, 堆沟港镇 one.
"""

import datetime as dt
import json
import logging
import uuid

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from databases import psql_as
from files import write_xlsx
from jianhu.db.models import AuditEvent, Case, Child
from jianhu.db.session import open_session
from jianhu.forms import load_form
from surveys import survey

ROSTER = """编号,姓名,角色,乡镇,村（社区）
S01,督导甲,乡镇儿童督导员,新安镇,
D01,主任乙,村（居）儿童主任,新安镇,测试村
B01,督导丙,乡镇儿童督导员,堆沟港镇,
"""
XINAN_CASE, DUGOU_CASE = "320724100-2026-0001", "320724101-2026-0001"


@pytest.fixture
def county(run, engine, host, tmp_path):
    form = load_form(host, "screening")
    other = survey(child__name="测试己", child__citizen_id="320724201505050017",
                   child__sex="male", child__birth_date="2015-05-05",
                   residence__township="堆沟港镇", residence__village="港口村")
    out = run("import", "screening", str(write_xlsx(form, [survey(), other], tmp_path / "a.xlsx")))
    assert out.exit_code == 0, out.output
    (tmp_path / "people.csv").write_text(ROSTER, "utf-8")
    assert run("people", "import", str(tmp_path / "people.csv")).exit_code == 0


def _audit(run, who, *args):
    out = run("--as", who, "audit", "list", "--json", *args)
    assert out.exit_code == 0, out.output
    return json.loads(out.output)


def test_reading_a_case_is_audited_and_listed(run, county):
    assert run("--as", "D01", "case", "show", XINAN_CASE).exit_code == 0
    events = _audit(run, "S01", "--case", XINAN_CASE)
    reads = [(e["actor"], e["action"], e["context"]["case_no"], e["context"]["shown"])
             for e in events if e["action"] == "read"]
    assert reads == [("D01", "read", XINAN_CASE, ["child", "records"])]
    assert {e["action"] for e in events} >= {"create", "open", "read"}
    assert [e["actor"] for e in _audit(run, "S01", "--person", "D01")] == ["D01"]
    assert _audit(run, "S01", "--since", "2199-01-01") == []


def test_the_audit_list_is_scoped_and_restricted(run, county):
    assert run("--as", "S01", "case", "show", XINAN_CASE).exit_code == 0
    assert run("--as", "B01", "audit", "list", "--case", XINAN_CASE).output == \
        f"错误：没有个案 {XINAN_CASE}\n"
    theirs = _audit(run, "B01")
    assert theirs and all(XINAN_CASE not in json.dumps(e, ensure_ascii=False) for e in theirs)
    assert all(e["entity_type"] in ("case", "child", "followup", "form_record") for e in theirs)
    assert run("--as", "D01", "audit", "list").output == \
        "错误：村（居）儿童主任（D01）无权查看审计日志\n"
    assert run("--as", "S01", "audit", "list", "--since", "2026-13-01").exit_code == 2


def test_the_township_role_sees_its_own_audit_rows_and_cannot_change_them(county, db_url,
                                                                           engine):
    if not db_url.startswith("postgresql"):
        pytest.skip("row-level security exists on PostgreSQL only")
    with open_session(engine) as s:
        xinan_case = s.scalar(select(Case.id).where(Case.case_no == XINAN_CASE))
        dugou_case = s.scalar(select(Case.id).where(Case.case_no == DUGOU_CASE))
        total = s.scalar(select(func.count()).select_from(AuditEvent))
    query = (f"SELECT (SELECT count(*) FROM audit_events WHERE entity_id = '{xinan_case}'), "
             f"(SELECT count(*) FROM audit_events WHERE entity_id = '{dugou_case}'), "
             "(SELECT count(*) FROM audit_events);")
    done = psql_as(db_url, "jianhu_t_320724100000", query)
    assert done.returncode == 0, done.stderr
    own, other, seen = map(int, done.stdout.strip().splitlines()[-1].split("|"))
    assert own >= 1 and other == 0 and seen < total
    for statement in ("UPDATE audit_events SET actor = 'x'", "DELETE FROM audit_events"):
        done = psql_as(db_url, "jianhu_t_320724100000", statement + ";")
        assert "permission denied for table audit_events" in done.stderr, done.stderr
    with open_session(engine) as s:
        s.execute(text("SET LOCAL ROLE jianhu_t_320724100000"))
        s.execute(text("INSERT INTO audit_events (at, actor, action, entity_type, entity_id) "
                       "VALUES (now(), 'S01', 'read', 'case', :c)"), {"c": str(xinan_case)})
        s.commit()  # appending is allowed



def test_a_failed_write_logs_no_personal_data(engine, caplog):
    caplog.set_level(logging.DEBUG)
    with open_session(engine) as s:  # a child of a township and village that do not exist
        s.add(Child(name="隐私测试名", sex="female", birth_date=dt.date(2015, 1, 1),
                    township_id=uuid.uuid4(), village_id=uuid.uuid4(),
                    citizen_id="320724201501010018"))
        with pytest.raises(IntegrityError) as failed:
            s.flush()
    logged = caplog.text + str(failed.value)
    assert "隐私测试名" not in logged and "320724201501010018" not in logged
    assert "[SQL parameters hidden due to hide_parameters=True]" in str(failed.value)


def test_a_service_provider_sees_only_what_the_service_needs(run, session, host, tmp_path):
    from casework import one_case_workspace
    from tests_helpers import answer_sheet

    case_no = one_case_workspace(session, host, tmp_path)
    session.commit()

    def record(who, form, doc):
        path = tmp_path / f"{form}.json"
        path.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
        out = run("--as", who, "record", form, "--case", case_no, str(path))
        assert out.exit_code == 0, out.output

    record("S01", "assessment", answer_sheet("2026-03-16", score=1))
    record("S01", "plan", {"plan": {"date": "2026-03-17", "goals": ["学业跟上"], "approved_by": "C01"},
                           "measures": [{"service_type": "tutoring", "description": "每周辅导两次",
                                         "responsible": "T01", "start": "2026-03-18",
                                         "due": "2026-04-17"}]})
    record("D01", "incident", {"incident": {"discovered_at": "2026-03-18T09:00:00+08:00",
                                            "harm_types": ["neglect"], "recorded_by": "D01",
                                            "description": "邻居反映孩子常独自在家挨饿"},
                               "reporter": {"name": "邻居丁"}})
    full = run("--as", "S01", "case", "show", case_no, "--json").output
    tutor = run("--as", "T01", "case", "show", case_no, "--json")
    assert tutor.exit_code == 0, tutor.output
    for secret in ("320724201406010028", "邻居反映孩子常独自在家挨饿", "邻居丁", "working_away"):
        assert secret in full  # the supervisor sees it all
        assert secret not in tutor.output
    shown = json.loads(tutor.output)
    assert shown["child"]["name"] == "测试甲"
    (survey,) = [e["detail"] for e in shown["timeline"] if e["kind"] == "screening"]
    assert survey == {"child": {"name": "测试甲", "sex": "female", "birth_date": "2014-06-01",
                                "schooling": "primary", "health": "healthy"},
                      "residence": {"township": "新安镇", "village": "测试村"},
                      "entrusted_guardian": {"name": "测试乙", "relation": "祖母"},
                      "survey": {"date": "2026-03-15"}}
    (plan,) = [e["detail"] for e in shown["timeline"] if e["kind"] == "plan"]
    assert plan["measures"][0]["description"] == "每周辅导两次"
    (incident,) = [e for e in shown["timeline"] if e["kind"] == "incident"]
    assert (incident["summary"], incident["detail"]) == (
        "（详情仅限个案工作人员查看）", {"incident": {"discovered_at": "2026-03-18T09:00:00+08:00"}})
    (assessment,) = [e for e in shown["timeline"] if e["kind"] == "assessment"]
    assert (assessment["summary"], assessment["detail"]) == ("等级 黄色", {"level": "yellow"})
    out = run("--as", "T01", "case", "report", case_no, "--kind", "assessment", "--out",
              str(tmp_path / "r.pdf"))
    assert out.output == "错误：家教老师（T01）无权生成个案文书\n"


#: What a township's database role tries on another township's data and the reference tables,
#: and what must come back: (SQL run after SET ROLE, expected last output line or error text).
#: Every table is either under a policy, read-only or closed to townships (checked below).
HOSTILE = [
    ("CREATE TEMP TABLE townships AS SELECT * FROM public.townships; "
     "UPDATE pg_temp.townships SET code = '320724100000'; "
     "SELECT count(*) = (SELECT count(*) FROM children c JOIN public.townships t "
     "ON t.id = c.township_id WHERE t.code = '320724100000') FROM children;", "t"),
    ("SET search_path = pg_temp, public; SELECT count(*) FROM children "
     "WHERE township_id <> (SELECT id FROM public.townships WHERE code = '320724100000');", "0"),
    ("UPDATE people SET password_hash = 'x' WHERE code = 'county-admin';", "UPDATE 0"),
    ("DELETE FROM people WHERE township_id IS NULL;", "DELETE 0"),
    ("UPDATE people SET township_id = NULL WHERE code = 'S01';",
     "new row violates row-level security policy"),
    ("UPDATE townships SET name = 'x';", "permission denied for table townships"),
    ("INSERT INTO plugin_settings (plugin, township_code, enabled, settings, updated_at) "
     "VALUES ('x', '*', true, '{}', now());", "permission denied for table plugin_settings"),
    ("SELECT * FROM alembic_version;", "permission denied for table alembic_version"),
    ("UPDATE case_counters SET last = 0 WHERE township_id <> "
     "(SELECT id FROM public.townships WHERE code = '320724100000');", "UPDATE 0"),
    ("UPDATE audit_events SET actor = 'x';", "permission denied for table audit_events"),
    ("SELECT count(*) FROM outbox WHERE township_code IS DISTINCT FROM '320724100000';", "0"),
    ("SELECT count(*) FROM outbox;", "1"),
    ("UPDATE outbox SET next_attempt_at = now();", "UPDATE 0"),
    ("INSERT INTO outbox (id, destination, kind, payload, created_at, attempts, next_attempt_at, "
     "township_code) VALUES (gen_random_uuid(), 'webhook', 'x', '{}', now(), 0, now(), "
     "'320724101000');", "new row violates row-level security policy"),
    ("SELECT count(*) FROM submissions s JOIN townships t ON t.id = s.township_id "
     "WHERE t.code <> '320724100000';", "0"),
    ("SELECT count(*) FROM edit_conflicts c JOIN townships t ON t.id = c.township_id "
     "WHERE t.code <> '320724100000';", "0"),
    ("SELECT count(*) FROM teams t JOIN townships w ON w.id = t.township_id "
     "WHERE w.code <> '320724100000';", "0"),
    ("SELECT count(*) FROM training_sessions s JOIN townships w ON w.id = s.township_id "
     "WHERE w.code <> '320724100000';", "0"),
    # no team for another township; another township's people are not even seen to be added
    # (test_teams tries one by its id)
    ("INSERT INTO teams (id, township_id, kind, name, created_at, updated_at) VALUES "
     "(gen_random_uuid(), (SELECT id FROM public.townships WHERE code = '320724101000'), "
     "'rescue_team', 'x', now(), now());", "new row violates row-level security policy"),
    ("INSERT INTO teams (id, township_id, kind, name, created_at, updated_at) VALUES "
     "('00000000-0000-0000-0000-000000000016', (SELECT id FROM public.townships WHERE code = "
     "'320724100000'), 'rescue_team', 'x', now(), now()); INSERT INTO team_members (team_id, "
     "person_id, role, added_at) SELECT '00000000-0000-0000-0000-000000000016', id, 'member', now() "
     "FROM public.people WHERE code = 'B01';", "INSERT 0 0"),
]


OWN = "(SELECT id FROM public.townships WHERE code = '{own}')"
OWN_CASES = f"(SELECT id FROM public.cases WHERE township_id = {OWN})"
OWN_CHILDREN = f"(SELECT id FROM public.children WHERE township_id = {OWN})"
#: Every table, and a write a township role must not be able to make: a no-op update of the rows
#: that are not its township's. Each answers "UPDATE 0" (the policy hides them) or "permission
#: denied" (the role may not write the table at all). A new table must be added here.
WRITES = {
    "approvals": ("township_id", f"township_id <> {OWN}"),
    "assessments": ("scale", f"case_id NOT IN {OWN_CASES}"),
    "audit_events": ("actor", "true"),
    "case_assignments": ("person_code", f"case_id NOT IN {OWN_CASES}"),
    "case_counters": ("last", f"township_id <> {OWN}"),
    "cases": ("level", f"township_id <> {OWN}"),
    "children": ("name", f"township_id <> {OWN}"),
    "confidential_records": ("payload", "record_id NOT IN (SELECT id FROM public.form_records "
                                        f"WHERE subject_id IN {OWN_CASES})"),
    "duplicate_alerts": ("status", f"township_id <> {OWN}"),
    "edit_conflicts": ("status", f"township_id <> {OWN}"),
    "followups": ("status", f"township_id <> {OWN}"),
    "form_records": ("payload", f"subject_id NOT IN {OWN_CASES} AND subject_id NOT IN {OWN_CHILDREN}"),
    "guardians": ("name", f"child_id NOT IN {OWN_CHILDREN}"),
    "outbox": ("attempts", "true"),
    "people": ("name", f"township_id IS DISTINCT FROM {OWN}"),
    "plugin_settings": ("enabled", "true"),
    "sign_in_throttle": ("failures", "true"),
    "submissions": ("status", f"township_id IS DISTINCT FROM {OWN}"),
    "team_members": ("role", f"team_id NOT IN (SELECT id FROM public.teams WHERE township_id = {OWN})"),
    "teams": ("name", f"township_id <> {OWN}"),
    "townships": ("name", "true"),
    "training_attendance": ("person_id", "session_id NOT IN (SELECT id FROM public.training_sessions "
                                         f"WHERE township_id = {OWN})"),
    "training_sessions": ("topic", f"township_id <> {OWN}"),
    "transfers": ("status", f"from_township_id <> {OWN} AND to_township_id <> {OWN}"),
    "villages": ("name", f"township_id <> {OWN}"),
}
#: Tables every role may write: no personal data, no access control (ended web sessions' ids).
OPEN_TABLES = {"revoked_sessions"}


def test_every_table_has_a_hostile_write_to_try():
    from jianhu.db.models import Base

    assert sorted(set(Base.metadata.tables) - OPEN_TABLES) == sorted(WRITES)


def test_a_township_role_cannot_write_another_townships_rows_in_any_table(county, db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("row-level security exists on PostgreSQL only")
    for own in ("320724100000", "320724101000"):
        for table, (column, elsewhere) in WRITES.items():
            sql = f"UPDATE {table} SET {column} = {column} WHERE {elsewhere.format(own=own)};"
            done = psql_as(db_url, f"jianhu_t_{own}", sql)
            got = (done.stdout.strip().splitlines() or [""])[-1] + done.stderr
            assert "UPDATE 0" in got or "permission denied" in got, (own, table, got)


def test_a_hostile_township_connection_gets_nothing_more(county, db_url, engine):
    if not db_url.startswith("postgresql"):
        pytest.skip("row-level security exists on PostgreSQL only")
    with open_session(engine) as s:
        s.execute(text("INSERT INTO people (id, code, name, role, active, failed_logins, "
                       "created_at, updated_at) VALUES (:i, 'county-admin', '县管理员', "
                       "'county_admin', true, 0, now(), now())"), {"i": uuid.uuid4()})
        for town in ("320724100000", "320724101000"):  # a message about each township's case
            s.execute(text("INSERT INTO outbox (id, destination, kind, payload, created_at, "
                           "attempts, next_attempt_at, township_code) VALUES (:i, 'webhook', "
                           "'case_opened', '{}', now(), 0, now(), :t)"),
                      {"i": uuid.uuid4(), "t": town})
        s.commit()
    for statement, expected in HOSTILE:
        done = psql_as(db_url, "jianhu_t_320724100000", statement)
        got = (done.stdout.strip().splitlines() or [""])[-1] + done.stderr
        assert expected in got, (statement, got)
    with open_session(engine) as s:
        assert s.scalar(text("SELECT password_hash FROM people WHERE code = 'county-admin'")) \
            is None


def test_every_table_is_under_a_policy_or_closed_to_townships():
    from jianhu.db.models import Base
    from jianhu.db.rls import NO_ACCESS_FOR_TOWNSHIPS, POLICIES, READ_ONLY_FOR_TOWNSHIPS, UNSCOPED

    covered = (set(POLICIES) | set(READ_ONLY_FOR_TOWNSHIPS) | set(NO_ACCESS_FOR_TOWNSHIPS)
               | set(UNSCOPED))
    assert sorted(set(Base.metadata.tables) - covered) == []


def test_since_is_a_beijing_date_and_times_are_shown_in_beijing_time(run, county, engine):
    with open_session(engine) as s:
        case_id = s.scalar(select(Case.id).where(Case.case_no == XINAN_CASE))
        s.add(AuditEvent(at=dt.datetime(2026, 12, 1, 17, 30, tzinfo=dt.UTC), actor="S01",
                         action="read", entity_type="case", entity_id=str(case_id),
                         context={"case_no": XINAN_CASE}))
        s.commit()
    events = _audit(run, "S01", "--person", "S01", "--since", "2026-12-02")
    assert [e["at"] for e in events] == ["2026-12-02T01:30:00+08:00"]
    assert _audit(run, "S01", "--person", "S01", "--since", "2026-12-03") == []


def test_a_townships_own_staff_events_stay_visible_after_a_transfer(run, county):
    assert run("--as", "S01", "case", "show", XINAN_CASE).exit_code == 0
    out = run("--as", "S01", "transfer", "request", XINAN_CASE, "--to", "堆沟港镇",
              "--reason", "随父母迁居")
    assert out.exit_code == 0, out.output
    assert run("--as", "B01", "transfer", "accept", "1", "--village", "港口村").exit_code == 0
    mine = {e["action"] for e in _audit(run, "S01", "--person", "S01")}
    assert {"read", "transfer_request"} <= mine
    theirs = {(e["actor"], e["action"]) for e in _audit(run, "B01", "--case", XINAN_CASE)}
    assert ("S01", "read") in theirs  # the receiving township reads the child's whole trail
