import re

from click.testing import CliRunner

from jianhu.cli import cli


def _demo(out, *args):
    return CliRunner().invoke(cli, ["demo", "--out", str(out), "--children", "400", *args],
                              catch_exceptions=False)


def _level_table(output: str) -> list[str]:
    return [line for line in output.splitlines() if re.match(r"^│ \S+镇|^│ 合计", line)]


def test_demo_same_seed_same_figures_and_fresh_on_rerun(tmp_path):
    first = _demo(tmp_path / "a", "--seed", "5")
    assert first.exit_code == 0, first.output
    assert "调查表 400 行：新增儿童 400" in first.output
    again = _demo(tmp_path / "a", "--seed", "5")  # same directory: starts afresh
    assert "调查表 400 行：新增儿童 400" in again.output
    other = _demo(tmp_path / "b", "--seed", "5")
    assert _level_table(first.output) == _level_table(again.output) == _level_table(other.output)
    assert len(_level_table(first.output)) == 12
    assert (tmp_path / "a" / "summary.xlsx").exists()
    different = _demo(tmp_path / "c", "--seed", "6")
    assert _level_table(different.output) != _level_table(first.output)


def test_demo_refuses_a_directory_with_other_files(tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    result = _demo(tmp_path)
    assert result.exit_code == 1
    assert "不是空目录，也不是演示目录" in result.output
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_demo_closed_cases_have_two_return_visits_a_year(tmp_path):
    import datetime as dt

    from sqlalchemy import select

    from jianhu.db.models import Case, FollowUp
    from jianhu.db.session import make_engine, open_session

    assert _demo(tmp_path / "r", "--seed", "2016").exit_code == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'r' / 'jianhu.db'}")
    with open_session(engine) as session:
        closed = session.scalars(select(Case).where(Case.status == "closed")).all()
        assert closed
        for case in closed:
            visits = session.scalars(select(FollowUp.due_on).where(
                FollowUp.case_id == case.id, FollowUp.kind == "return_visit")).all()
            for year in (1, 2):
                start = case.closed_on + dt.timedelta(days=365 * (year - 1))
                within = [d for d in visits if start < d <= case.closed_on.replace(
                    year=case.closed_on.year + year)]
                assert len(within) >= 2, (case.case_no, visits)
    engine.dispose()


def test_demo_says_how_to_open_the_web_interface_with_a_working_account(tmp_path):
    from sqlalchemy import select

    from jianhu.db.models import Person
    from jianhu.db.session import make_engine, open_session
    from jianhu.deploy.apply import verify_password

    out = _demo(tmp_path / "w", "--seed", "3")
    assert out.exit_code == 0, out.output
    assert (f"网页界面：cd {tmp_path / 'w'} && jianhu serve（在该目录及其下级目录运行的命令都用这个工作区）"
            in out.output)
    lines = [ln for ln in out.output.splitlines() if ln.strip().startswith("演示账号")]
    assert [ln.split()[1] for ln in lines] == ["320724100-D01（村（居）儿童主任），密码",
                                               "320724100-S01（乡镇儿童督导员），密码"]
    engine = make_engine(f"sqlite:///{tmp_path / 'w' / 'jianhu.db'}")
    with open_session(engine) as session:
        for line in lines:
            code = line.split()[1][:13]
            password = line.split("密码 ")[1].split("（")[0]
            stored = session.scalar(select(Person.password_hash).where(Person.code == code))
            assert verify_password(stored, password)
    engine.dispose()
