import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from jianhu.db.models import Base
from jianhu.db.session import alembic_config, current_revision, head_revision, make_engine


def test_single_head(engine):
    assert len(ScriptDirectory.from_config(alembic_config(engine)).get_heads()) == 1


def test_blank_database_upgrades_to_head(engine):
    assert current_revision(engine) == head_revision(engine) == "0018"
    tables = set(inspect(engine).get_table_names())
    assert {"children", "guardians", "cases", "assessments", "followups", "form_records",
            "audit_events", "townships", "villages", "people", "confidential_records", "outbox",
            "plugin_settings", "case_assignments"} <= tables


def test_models_and_migrations_agree(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_commands_refuse_an_uninitialised_database(run, tmp_path):
    (tmp_path / "new.db").touch()  # an empty SQLite database
    result = run("cases", "list", env={"JIANHU_DATABASE_URL": f"sqlite:///{tmp_path}/new.db"})
    assert result.exit_code == 1
    assert "数据库尚未初始化：请先运行 jianhu db upgrade" in result.output


def test_db_upgrade_command_is_idempotent(run, tmp_path):
    url = f"sqlite:///{tmp_path}/u.db"
    assert run("db", "upgrade", env={"JIANHU_DATABASE_URL": url}).output == (
        "数据库已升级：空库 → 0018\n")
    assert run("--db", url, "db", "upgrade").output == "数据库已是最新结构（0018）。\n"
    assert current_revision(make_engine(url)) == "0018"


def test_upgrading_fills_case_assignments_from_the_work_recorded(engine, session, host, tmp_path):
    """A database from before case assignments (revision 0003) had services recorded but no
    assignments: after the upgrade the tutor who served the case sees it again."""
    from sqlalchemy import delete, func, select

    from casework import one_case_workspace
    from jianhu.db.models import Case, CaseAssignment
    from jianhu.people import resolve_actor
    from jianhu.records import record_form
    from jianhu.scope import scope_for
    from tests_helpers import answer_sheet

    one_case_workspace(session, host, tmp_path)
    case = session.scalars(select(Case)).one()
    record_form(session, host, case, "assessment", answer_sheet("2026-09-10", score=1),
                actor=resolve_actor(session, "D01"))
    record_form(session, host, case, "service", {"service": {
        "date": "2026-09-12", "service_type": "tutoring", "provider": "T01", "content": "辅导"}},
        actor=resolve_actor(session, "T01"))
    record_form(session, host, case, "visit", {"visit": {
        "date": "2026-09-13", "visitor": "D01", "method": "home", "child_seen": True,
        "risk_change": "unchanged"}}, actor=resolve_actor(session, "D01"))
    session.execute(delete(CaseAssignment))  # as a database made before 0004 holds them
    session.commit()
    tutor = scope_for(session, resolve_actor(session, "T01"))
    assert session.scalar(tutor.cases(select(func.count(Case.id)))) == 0
    session.close()
    # migration 0012's data step, as the upgrade from 0011 runs it (its schema steps are checked
    # by the upgrade of a blank database above)
    import importlib.util

    from jianhu.db import session as db_session

    path = db_session.resources.files("jianhu.db") / "migrations" / "versions" / \
        "0012_outbox_leases_and_parking.py"
    spec = importlib.util.spec_from_file_location("m0012", str(path))
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with engine.begin() as conn:
        migration.fill_case_assignments(conn)
        migration.fill_case_assignments(conn)  # idempotent
    with engine.connect() as conn:
        assert sorted(conn.execute(select(CaseAssignment.person_code)).scalars()) == ["D01", "T01"]
    session.rollback()
    assert session.scalar(tutor.cases(select(func.count(Case.id)))) == 1


def test_postgresql_connections_never_jit_compile(db_url, engine):
    """The policies' subqueries would make short queries pay for JIT compilation (0.4 s measured,
    benchmarks/province.py): every connection the application opens has it off."""
    if not db_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL setting")
    with engine.connect() as c:
        assert c.execute(text("SHOW jit")).scalar() == "off"


def test_a_payload_hashes_as_its_canonical_json_whichever_library_writes_it():
    from jianhu.db.models import payload_hash
    from jianhu.db.types import json_text

    survey = {"survey": {"date": "2026-03-15", "score": 12, "ratio": 0.5, "flags": ["a", "b"]},
              "child": {"name": "张小明", "birth_date": "2014-06-01"}}
    # sha256 of {"child":{"birth_date":"2014-06-01","name":"张小明"},"survey":{...}} in UTF-8
    assert payload_hash(survey) == "3364803eaea218f2c664ae9e098733faffcd719529fa24e9f667c9dcc65fd61f"
    # beyond 64 bits orjson refuses; the standard library writes it the same canonical way
    assert payload_hash({"n": 2**70}) == "b69ef9299f5d6958cce991bf150e23cf960a2d5295e188735d6c700ab34ff975"
    assert json_text({"名": [1, 2**70]}) == '{"名": [1, 1180591620717411303424]}'
    assert json_text({"名": [1, 2.5]}) == '{"名":[1,2.5]}'


def test_json_columns_read_back_what_was_written(session):
    from jianhu.db.models import AuditEvent

    big = {"名": "张小明", "n": 2**70, "x": 0.1, "list": [None, True]}
    session.add(AuditEvent(actor="t", action="create", entity_type="child", entity_id="1",
                           after=big))
    session.commit()
    session.expire_all()
    assert session.query(AuditEvent).one().after == big
