import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from jianhu.db.models import Person, Township, Village
from jianhu.db.session import make_engine, open_session
from jianhu.deploy.apply import verify_password

EXAMPLE = Path(__file__).parents[1] / "deploy" / "county.example.toml"


@pytest.fixture
def manifest(tmp_path):
    path = tmp_path / "county.toml"
    shutil.copy(EXAMPLE, path)
    return path


STUBS = ("--plugins-dir", str(Path(__file__).parent / "plugin_stubs"))


def test_example_manifest_checks(run, manifest):
    result = run(*STUBS, "deploy", "check", str(manifest))
    assert result.exit_code == 0, result.output
    assert result.output == "部署清单无误：灌南县，11个乡镇，25个用户。\n"


@pytest.mark.parametrize("old,new,message", [
    ('code = "320724103000"', 'code = "320724199000"',
     "townships[4].code：「320724199000」不是灌南县的乡镇代码"),
    ('code = "320724103000"', 'code = "320800103000"',
     "townships[4].code：「320800103000」不属于县 320724"),
    ('code = "320724101-S01"', 'code = "320724100-S01"',
     "users[3].code：用户「320724100-S01」与 users[1] 重复"),
    ('plugins = ["xinan"]', 'plugins = ["no-such-plugin"]',
     "townships[1].plugins：没有安装插件「no-such-plugin」"),
    ('code = "320724"', 'code = "32072"', "county.code（县·县级区划代码）：应为6位数字（GB/T 2260）"),
    ('role = "county_viewer"', 'role = "king"',
     "users[24].role（初始用户第24项·角色）：不是可选项，可选：local_admin、"),
    ('code = "320724100202"', 'code = "320724101202"',
     "townships[1].villages[2].code：村（社区）代码「320724101202」不属于新安镇（应以320724100开头）"),
])
def test_bad_manifests_name_the_key(run, manifest, old, new, message):
    text = manifest.read_text("utf-8")
    assert old in text
    manifest.write_text(text.replace(old, new, 1), "utf-8")
    result = run("--plugins-dir", str(Path(__file__).parent / "plugin_stubs"), "deploy", "check",
                 str(manifest))
    assert result.exit_code == 1
    assert message in result.output, result.output


def test_apply_is_idempotent_and_reports_only_changes(run, db_url, manifest):
    env = {"JIANHU_DATABASE_URL": db_url}
    stubs = ("--plugins-dir", str(Path(__file__).parent / "plugin_stubs"))
    first = run(*stubs, "deploy", "apply", str(manifest), env=env)
    assert first.exit_code == 0, first.output
    assert first.output.count("新增乡镇：") == 11 and first.output.count("新增用户：") == 25
    assert "启用插件：xinan → 新安镇" in first.output
    passwords = dict(line.strip().split("\t") for line in first.output.splitlines()
                     if "\t" in line)
    assert len(passwords) == 25
    again = run(*stubs, "deploy", "apply", str(manifest), env=env)
    assert again.output == "没有变化：数据库已与部署清单一致。\n"
    text = manifest.read_text("utf-8").replace('name = "新安镇督导员（示例）"', 'name = "新安镇督导员"')
    text = text.replace('plugins = ["xinan"]', "")
    manifest.write_text(text, "utf-8")
    edited = run(*stubs, "deploy", "apply", str(manifest), env=env)
    assert edited.output.splitlines()[1:] == ["  更新用户：320724100-S01（name）",
                                              "  停用插件：xinan → 320724100000"]
    engine = make_engine(db_url)
    with open_session(engine) as s:
        assert len(s.scalars(select(Township)).all()) == 11
        assert len(s.scalars(select(Village)).all()) == 44
        assert sorted(s.execute(select(Village.name, Village.code).where(
            Village.code.is_not(None))).all()) == [("北营村", "320724100201"), ("南桥村", "320724100202")]
        admin = s.scalar(select(Person).where(Person.code == "county-admin"))
        assert admin.password_hash.startswith("$argon2id$")
        assert passwords["county-admin"] not in admin.password_hash
        assert verify_password(admin.password_hash, passwords["county-admin"])
        assert not verify_password(admin.password_hash, "wrong")
    engine.dispose()


def test_apply_needs_the_database_url_from_the_environment(run, manifest):
    result = run(*STUBS, "deploy", "apply", str(manifest), env={"JIANHU_DATABASE_URL": ""})
    assert result.exit_code == 1
    assert "database.url_env：环境变量 JIANHU_DATABASE_URL 未设置" in result.output


def test_render_writes_the_server_files(run, manifest, tmp_path):
    out = tmp_path / "server"
    stubs = ("--plugins-dir", str(Path(__file__).parent / "plugin_stubs"))
    assert run(*stubs, "deploy", "render", str(manifest), "--out", str(out)).exit_code == 0
    timer = (out / "jianhu-backup.timer").read_text("utf-8")
    assert "OnCalendar=*-*-* 02:30:00" in timer
    assert "proxy_pass http://127.0.0.1:8000;" in (out / "nginx-jianhu.conf").read_text("utf-8")
    builds = (out / "handbook-builds.sh").read_text("utf-8").splitlines()
    assert sum("handbook build --township" in line for line in builds) == 11
    assert "EnvironmentFile=/etc/jianhu/jianhu.env" in (out / "jianhu-web.service").read_text()
    env = (out / "jianhu.env.example").read_text("utf-8")
    assert "JIANHU_WEB_SECRET=CHANGE-ME" in env and "JIANHU_WEBHOOK_SECRET" not in env
    assert not (out / "jianhu-outbox.service").exists()  # no township enables the webhook
