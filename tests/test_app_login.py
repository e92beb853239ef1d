"""The web server's database login on a county server is not the tables' owner: it cannot become
the owner, change tables, policies or functions, and reads only through the county or a township
role; the web interface works on it (PostgreSQL only; jianhu.db.rls.ensure_app_login)."""

from __future__ import annotations

import psycopg
import pytest
import requests
from sqlalchemy import select
from sqlalchemy.engine import make_url

from conftest import TEST_ENV
from jianhu.db.models import Person
from jianhu.db.session import make_engine, open_session
from jianhu.deploy.apply import hash_password
from jianhu.plugins import Host
from jianhu.web import WebConfig, create_app
from web_helpers import DIRECTOR, PASSWORD, serve


def connect(url: str) -> psycopg.Connection:
    u = make_url(url)
    return psycopg.connect(host=u.host, port=u.port, user=u.username, password=u.password,
                           dbname=u.database, autocommit=True)


def attempt(conn: psycopg.Connection, sql: str) -> str:
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return str(cur.fetchone()[0]) if cur.description else cur.statusmessage
    except psycopg.Error as exc:
        return type(exc).__name__ + ": " + str(exc).splitlines()[0]


def _hostile(conn: psycopg.Connection, owner: str) -> None:
    """Every way back to the owner is refused; a township role sees its own rows only."""
    assert attempt(conn, "SELECT current_user") == "jianhu_county"
    assert "permission denied to set role" in attempt(conn, f'SET ROLE "{owner}"')
    assert attempt(conn, "RESET ROLE") == "RESET"
    assert attempt(conn, "SELECT current_user") == "jianhu_county"  # never the owner
    for sql in ("ALTER TABLE children DISABLE ROW LEVEL SECURITY",
                "DROP POLICY jianhu_scope ON children",
                "CREATE OR REPLACE FUNCTION public.jianhu_visible(tid uuid) RETURNS boolean "
                "LANGUAGE sql AS $$ SELECT true $$",
                "ALTER TABLE children NO FORCE ROW LEVEL SECURITY"):
        assert "must be owner" in attempt(conn, sql) or "InsufficientPrivilege" in attempt(conn, sql)
    assert attempt(conn, "SET ROLE jianhu_t_320724100000") == "SET"
    assert attempt(conn, "SELECT count(*) FROM children c JOIN townships t ON t.id = c.township_id "
                         "WHERE t.code <> '320724100000'") == "0"
    assert "permission denied" in attempt(conn, "UPDATE townships SET name = 'x'")
    assert "permission denied to set role" in attempt(conn, f'SET ROLE "{owner}"')


def test_the_web_servers_login_cannot_become_the_owner_and_still_serves(db_url, engine, run,
                                                                        sample_dir):
    if not db_url.startswith("postgresql"):
        pytest.skip("database roles exist on PostgreSQL only")
    assert run("import", "screening", str(sample_dir / "screening.xlsx")).exit_code == 0
    assert run("people", "import", str(sample_dir / "people.xlsx")).exit_code == 0
    with open_session(engine) as s:
        s.scalar(select(Person).where(Person.code == DIRECTOR)).password_hash = \
            hash_password(PASSWORD)
        s.commit()
    out = run("db", "app-login")
    assert out.exit_code == 0, out.output
    app_url = out.output.strip().splitlines()[-1]
    owner = make_url(db_url).username
    assert make_url(app_url).username == "jianhu_app" and owner != "jianhu_app"

    conn = connect(app_url)
    try:
        _hostile(conn, owner)
    finally:
        conn.close()

    app_engine = make_engine(app_url)
    host = Host.load(env=TEST_ENV)
    try:
        with serve(create_app(app_engine, host, WebConfig(secret_key="app-login"))) as base:
            s = requests.Session()
            r = s.post(base + "/api/session", json={"code": DIRECTOR, "password": PASSWORD})
            assert r.status_code == 200, r.text
            cases = s.get(base + "/api/cases").json()
            assert cases and {c["case_no"][:9] for c in cases} == {"320724100"}
            assert s.get(base + "/api/cases/" + cases[0]["case_no"]).status_code == 200
    finally:
        app_engine.dispose()
    assert run("db", "app-login").exit_code == 0  # rotated: the old password no longer works
    with pytest.raises(psycopg.OperationalError):
        connect(app_url).close()


def test_an_app_login_is_for_postgresql_and_takes_a_plain_name(db_url, engine, run):
    if db_url.startswith("postgresql"):
        out = run("db", "app-login", "--name", "jianhu_county")
        assert out.exit_code != 0 and "「jianhu_county」不能用作登录角色名" in out.output
        return
    out = run("db", "app-login")
    assert out.exit_code != 0
    assert out.output == "错误：只有 PostgreSQL 需要网页服务器的登录角色（SQLite 没有数据库角色）\n"
