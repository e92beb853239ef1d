from openpyxl import load_workbook

from jianhu import __version__


def test_version(run):
    assert run("--version").output == f"jianhu, version {__version__}\n"


def test_template_command(run, tmp_path):
    out = tmp_path / "screening.xlsx"
    result = run("template", "screening", "--out", str(out))
    assert result.exit_code == 0 and "57列" in result.output  # 52 + the 4 of 处理依据 + 村（社区）代码
    assert load_workbook(out).sheetnames == ["儿童基本情况调查表", "填表说明"]
    assert run("template", "nosuch", "--out", str(out)).output.startswith(
        "错误：没有名为「nosuch」的表单")


def test_import_rejection_exit_code_and_listing(run, engine, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("儿童姓名,儿童性别\n张三,男\n", "utf-8")
    result = run("import", "screening", str(bad))
    assert result.exit_code == 1
    assert result.output.startswith("导入被拒绝：共0行，其中1行有错误，未写入任何数据。\n")
    assert "  第1行「儿童出生日期」：缺少必填列\n" in result.output


def test_import_missing_and_unsupported_files(run, engine, tmp_path):
    assert run("import", "screening", str(tmp_path / "none.xlsx")).output.startswith(
        "错误：找不到文件")
    (tmp_path / "x.pdf").write_text("x")
    assert "不支持的文件类型" in run("import", "screening", str(tmp_path / "x.pdf")).output
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip")
    assert "无法读取工作簿" in run("import", "screening", str(tmp_path / "broken.xlsx")).output


def test_csv_in_an_unknown_encoding(run, engine, tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("儿童姓名\n".encode("utf-16"))
    result = run("import", "screening", str(path))
    assert result.exit_code == 1 and "编码" in result.output


def test_dry_run_command(run, engine, sample_dir):
    result = run("import", "screening", "--dry-run", str(sample_dir / "screening.xlsx"))
    assert result.output.startswith("（试导入，未写入）调查表：共300行；新增300")
    assert run("cases", "list", "--json").output.strip() == "[]"


def test_a_missing_database_file_is_reported_not_created(run, tmp_path):
    path = tmp_path / "typo.db"
    result = run("cases", "list", env={"JIANHU_DATABASE_URL": f"sqlite:///{path}"})
    assert result.exit_code == 1
    assert result.output == (f"错误：数据库文件不存在：{path}（请检查路径；只有新建空的工作区时才运行 "
                             "jianhu db upgrade）\n")
    assert not path.exists()


def test_database_errors_are_reported_without_a_traceback(run, tmp_path):
    result = run("--db", "postgresql+psycopg://u:secret@127.0.0.1:1/x", "cases", "list")
    assert result.exit_code == 1
    assert result.output.startswith("错误：数据库出错：")
    assert "secret" not in result.output and "***" in result.output
    not_a_db = tmp_path / "x.db"
    not_a_db.write_text("儿童姓名\n", "utf-8")
    result = run("--db", f"sqlite:///{not_a_db}", "cases", "list")
    assert result.exit_code == 1 and result.output.startswith("错误：数据库出错：")


def test_dates_out_of_range_and_unknown_township(run, engine):
    result = run("followups", "due", "--on", "9999-12-31")
    assert result.exit_code == 2 and "超出可用范围" in result.output
    result = run("followups", "due", "--township", "花果山")
    assert result.exit_code == 1
    assert result.output == "错误：没有乡镇「花果山」：请写12位代码、9位代码或乡镇名称\n"


def test_report_to_a_missing_directory(run, engine, tmp_path):
    result = run("report", "summary", "--format", "csv", "--out", str(tmp_path / "no" / "x.csv"))
    assert result.exit_code == 1 and result.output.startswith("错误：文件读写出错：")


def test_huge_csv_cell_and_formula(run, engine, tmp_path):
    huge = tmp_path / "huge.csv"
    huge.write_text("甲" * 200_000 + "\n1\n", "utf-8")
    result = run("import", "screening", str(huge))
    assert result.exit_code == 1 and "单元格超过100000字" in result.output
    formula = tmp_path / "formula.csv"
    from files import write_csv
    from jianhu.forms import load_form
    from jianhu.plugins import Host
    from surveys import survey

    form = load_form(Host.load(env={"JIANHU_LOAD_PLUGINS": ""}), "screening")
    write_csv(form, [survey(child__name='=HYPERLINK("http://x","a")')], formula)
    result = run("import", "screening", str(formula))
    assert result.exit_code == 1
    assert "第2行「儿童姓名」：「=HYPERLINK(\"http://x」像是 Excel 公式，请填写文字本身" in result.output


def test_usage_errors_are_told_in_chinese(run, engine):
    cases = [
        (["record", "visit"], "错误：缺少参数 FILE（用 jianhu record --help 查看用法）\n"),
        (["transfer", "accept", "abc"],
         "错误：TRANSFER_ID 的值不对：'abc' 不是整数（用 jianhu transfer accept --help 查看用法）\n"),
        (["cases", "list", "--levl", "red"],
         "错误：没有选项 --levl，是否想用 --level？（用 jianhu cases list --help 查看用法）\n"),
        (["nosuch"], "错误：没有命令 nosuch（用 jianhu --help 查看用法）\n"),
        (["backup", "keygen"], "错误：缺少选项 --out（用 jianhu backup keygen --help 查看用法）\n"),
    ]
    for args, expected in cases:
        result = run(*args)
        assert (result.exit_code, result.output) == (2, expected), args


def test_help_screens_are_in_chinese(run):
    from jianhu.cli import cli

    def every(group, path):
        yield path
        commands = group.core_commands() if group is cli else getattr(group, "commands", {})
        for name, command in commands.items():
            yield from every(command, [*path, name])

    for path in every(cli, []):
        out = run(*path, "--help").output
        assert out.startswith(f"用法：jianhu{''.join(' ' + p for p in path)} [选项]"), path
        assert "选项：" in out and "  --help" in out and "显示本帮助并退出" in out, path
        for english in ("Usage:", "Options:", "Commands:", "Show this message", "[default:",
                        "[required]"):
            assert english not in out, (path, english)
    top = run("--help").output
    assert "命令：" in top and "--version                显示版本并退出" in top


def test_users_may_type_what_they_read(run, engine, session, host, tmp_path):
    """Chinese labels where users type them: a level, a choice in a record file, a township
    name; a report's format follows the file name."""
    import json

    from casework import one_case_workspace

    case_no = one_case_workspace(session, host, tmp_path)
    session.commit()
    visit = tmp_path / "v.json"
    visit.write_text(json.dumps({"visit": {"date": "2026-03-20", "visitor": "D01", "method": "入户",
                                           "child_seen": True, "risk_change": "无变化"}},
                                ensure_ascii=False), "utf-8")
    out = run("--as", "D01", "record", "visit", "--case", case_no, str(visit))
    assert out.exit_code == 0, out.output
    shown = json.loads(run("case", "show", case_no, "--json").output)
    assert shown["timeline"][-1]["detail"]["visit"]["method"] == "home"
    bad = tmp_path / "b.json"
    bad.write_text(json.dumps({"visit": {"date": "2026-03-21", "visitor": "D01", "method": "飞鸽",
                                         "child_seen": True, "risk_change": "unchanged"}},
                              ensure_ascii=False), "utf-8")
    out = run("--as", "D01", "record", "visit", "--case", case_no, str(bad))
    assert out.exit_code == 1 and "「方式」不是可选项，可选：入户、电话、到校、视频" in out.output
    from tests_helpers import answer_sheet

    sheet = tmp_path / "a.json"
    sheet.write_text(json.dumps(answer_sheet("2026-03-20", score=1)), "utf-8")  # 14: yellow
    assert run("--as", "D01", "record", "assessment", "--case", case_no, str(sheet)).exit_code == 0
    for typed in ("黄", "黄色", "yellow"):
        listed = json.loads(run("cases", "list", "--level", typed, "--json").output)
        assert [c["case_no"] for c in listed] == [case_no], typed
    assert json.loads(run("cases", "list", "--level", "红", "--json").output) == []
    out = run("cases", "list", "--level", "紫")
    assert out.exit_code == 2
    assert "「紫」不是等级；可选：红色（red）、橙色（orange）、黄色（yellow）、绿色（green）" in out.output
    assert [p["code"] for p in json.loads(run("people", "list", "--township", "新安镇", "--json")
                                          .output)][:2] == ["C01", "D01"]
    out = run("report", "summary", "--out", str(tmp_path / "s.csv"))
    assert out.exit_code == 0 and (tmp_path / "s.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    out = run("report", "summary", "--format", "csv", "--out", str(tmp_path / "s.xlsx"))
    assert out.exit_code == 1 and "扩展名与格式「csv」（.csv）不符" in out.output


def test_bad_files_and_missing_values_are_told_in_chinese(run, engine, tmp_path):
    empty = tmp_path / "e.json"
    empty.write_text("", "utf-8")
    broken = tmp_path / "b.json"
    broken.write_text('{"visit": {\n  "date": }', "utf-8")
    gbk = tmp_path / "g.json"
    gbk.write_bytes('{"visit": "入户"}'.encode("gbk"))
    for path, message in ((empty, "e.json 不是有效的 JSON 文件：文件是空的"),
                          (broken, "b.json 不是有效的 JSON 文件：第2行第11列格式有误"),
                          (gbk, "g.json 不是 UTF-8 编码的文本文件（请另存为 UTF-8）")):
        out = run("record", "visit", "--case", "320724100-2026-0001", str(path))
        assert out.output == f"错误：{message}\n", out.output
    out = run("cases", "list", "--level")
    assert out.exit_code == 2 and "选项 --level 后面须写一个值" in out.output


def test_the_version_is_answered_without_loading_the_application():
    """``jianhu --version`` (and a command's argument check) must not import the database layer,
    the plugin host or the records (benchmarks/cli_startup.py measures the time it saves)."""
    import subprocess
    import sys

    probe = ("import sys\nsys.argv = ['jianhu', '--version']\nfrom jianhu.cli import main\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             "print(sorted(m for m in ('pluggy', 'sqlalchemy', 'jianhu.extensions', 'jianhu.tasks',"
             " 'jianhu.lifecycle', 'jianhu.plugins') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["jianhu, version 0.1.0", "[]"]


def test_the_help_lists_the_commands_without_loading_the_database_layer():
    """``jianhu --help`` names every command with its short help, and the plugins' commands, without
    importing the database layer, the spreadsheets or the casework (handbook 开发者 → 架构:
    heavy imports only inside commands)."""
    import subprocess
    import sys

    probe = ("import sys\nsys.argv = ['jianhu', '--help']\nfrom jianhu.cli import main\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             "print(sorted({m.split('.')[0] if not m.startswith('jianhu.') else m for m in sys.modules}"
             " & {'sqlalchemy', 'openpyxl', 'rich', 'jianhu.cases', 'jianhu.paperwork', 'jianhu.db',"
             " 'jianhu.records', 'jianhu.forms'}))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    *shown, loaded = out.stdout.splitlines()
    assert loaded == "[]"
    assert "  transfer    个案转移：儿童随家庭迁居时，把儿童和个案移交给接收的乡镇或村（社区）。" in shown


def test_an_unknown_record_form_is_named_with_the_forms_allowed(run):
    out = run("record", "bogus", "--case", "X", "/dev/null")
    assert out.exit_code == 2
    assert "「bogus」不是个案记录表单；可选：assessment、plan、service、visit" in out.output
