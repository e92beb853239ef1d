from openpyxl import load_workbook

from jianhu import __version__


def test_version(run):
    assert run("--version").output == f"jianhu, version {__version__}\n"


def test_template_command(run, tmp_path):
    out = tmp_path / "screening.xlsx"
    result = run("template", "screening", "--out", str(out))
    assert result.exit_code == 0 and "52列" in result.output
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
