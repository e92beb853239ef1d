"""The streaming XLSX reader (jianhu.imports.xlsx) gives the cells python-calamine gave, but for a
formula saved without its result: its text, not an empty cell."""

import datetime as dt
import zipfile

import pytest
from openpyxl import Workbook

from jianhu.errors import JianhuError
from jianhu.imports.tables import open_table
from jianhu.imports.xlsx import XlsxBook

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"


def test_cells_of_every_kind_as_openpyxl_writes_them(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["a", 1, 2.5, True, dt.date(2014, 6, 1), dt.datetime(2014, 6, 1, 12, 30),
               dt.time(10, 0), "=1+1", None, "", 320724201406012345, "0012"])
    ws["M1"] = 45000
    ws["M1"].number_format = 'yyyy"年"m"月"d"日"'
    ws["N1"] = 45000.5
    ws["N1"].number_format = "yyyy/m/d h:mm"
    ws["O1"] = "#N/A"  # an error value
    ws["C3"] = "三"  # row 2 empty, row 3 starts at column C
    wb.save(tmp_path / "kinds.xlsx")
    book = XlsxBook(tmp_path / "kinds.xlsx")
    assert book.sheets == [("Sheet", True)]
    assert list(book.rows("Sheet")) == [
        (1, ["a", 1.0, 2.5, True, dt.date(2014, 6, 1), dt.datetime(2014, 6, 1, 12, 30),
             dt.time(10, 0), "=1+1", None, None, 3.207242014060124e+17, "0012",
             dt.date(2023, 3, 15), dt.datetime(2023, 3, 15, 12, 0)]),
        (3, [None, None, "三"])]


def _excel_like(path, sheet_xml, *, strings="", date1904=False, hidden=False):
    """A workbook as Excel and WPS write them: shared strings, styles with a date format, the
    main namespace under a prefix when asked, a hidden first sheet and a chart sheet."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("_rels/.rels", f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" '
                    f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        zf.writestr("xl/workbook.xml", (
            f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><workbookPr date1904="{int(date1904)}"/>'
            f'<sheets><sheet name="说明" sheetId="1" state="{"hidden" if hidden else "visible"}"'
            ' r:id="rId3"/><sheet name="图" sheetId="2" r:id="rId4"/>'
            '<sheet name="调查表" sheetId="3" r:id="rId1"/></sheets></workbook>'))
        zf.writestr("xl/_rels/workbook.xml.rels", (
            f'<Relationships xmlns="{PKG}">'
            f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId3" Type="{REL}/worksheet" Target="/xl/worksheets/sheet2.xml"/>'
            f'<Relationship Id="rId4" Type="{REL}/chartsheet" Target="chartsheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
            f'<Relationship Id="rId5" Type="{REL}/styles" Target="styles.xml"/>'
            '</Relationships>'))
        zf.writestr("xl/styles.xml", (
            f'<styleSheet xmlns="{MAIN}"><numFmts count="1"><numFmt numFmtId="176" '
            'formatCode="yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot;"/></numFmts>'
            '<cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="176"/><xf numFmtId="31"/>'
            '<xf numFmtId="49"/></cellXfs></styleSheet>'))
        zf.writestr("xl/sharedStrings.xml", f'<sst xmlns="{MAIN}">{strings}</sst>')
        zf.writestr("xl/worksheets/sheet1.xml", sheet_xml)
        zf.writestr("xl/worksheets/sheet2.xml", f'<worksheet xmlns="{MAIN}"><sheetData><row r="1">'
                    '<c r="A1" t="inlineStr"><is><t>填表说明</t></is></c></row></sheetData></worksheet>')
    return path


def test_a_workbook_as_excel_writes_it(tmp_path):
    strings = ('<si><t>儿童姓名</t></si><si><t xml:space="preserve"> 王 小明 </t></si>'
               '<si><r><rPr><b/></rPr><t>新安</t></r><r><t>镇</t></r>'
               '<rPh sb="0" eb="1"><t>しんあん</t></rPh></si><si><t>A&amp;B &lt;1&gt;</t></si>')
    sheet = (f'<x:worksheet xmlns:x="{MAIN}"><x:dimension ref="A1:F5"/><x:sheetData>'
             '<x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c></x:row>'
             '<x:row r="4"><x:c r="A4" t="s"><x:v>1</x:v></x:c><x:c t="s"><x:v>2</x:v></x:c>'
             '<x:c r="D4" s="1"><x:v>41791</x:v></x:c><x:c r="E4" s="2"><x:v>41791</x:v></x:c>'
             '<x:c r="F4" s="3" t="s"><x:v>3</x:v></x:c></x:row>'
             '<x:row><x:c r="A5" t="str"><x:f>B4&amp;"1"</x:f><x:v>新安镇1</x:v></x:c>'
             '<x:c r="B5" t="b"><x:v>0</x:v></x:c><x:c r="C5" t="d"><x:v>2014-06-01T00:00:00</x:v>'
             '</x:c><x:c r="D5" t="e"><x:v>#DIV/0!</x:v></x:c><x:c r="E5" t="inlineStr"><x:is>'
             '<x:r><x:t>张</x:t></x:r><x:r><x:t>三</x:t></x:r></x:is></x:c></x:row>'
             '</x:sheetData></x:worksheet>')
    path = _excel_like(tmp_path / "excel.xlsx", sheet, strings=strings, hidden=True)
    book = XlsxBook(path)
    assert book.sheets == [("说明", False), ("调查表", True)]  # the chart sheet has no rows
    assert list(book.rows("调查表")) == [
        (1, ["儿童姓名"]),
        (4, [" 王 小明 ", "新安镇", None, dt.date(2014, 6, 1), dt.date(2014, 6, 1), "A&B <1>"]),
        (5, ["新安镇1", False, dt.date(2014, 6, 1), None, "张三"])]
    table = open_table(path)  # the first visible sheet
    assert (table.header, list(table.rows), table.total) == (
        ["儿童姓名"], [(4, [" 王 小明 ", "新安镇", None, dt.date(2014, 6, 1), dt.date(2014, 6, 1),
                        "A&B <1>"]), (5, ["新安镇1", False, dt.date(2014, 6, 1), None, "张三"])], 4)


def test_the_1904_date_system(tmp_path):
    sheet = (f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1" s="1"><v>40329</v></c>'
             '</row></sheetData></worksheet>')
    path = _excel_like(tmp_path / "mac.xlsx", sheet, date1904=True)
    assert list(XlsxBook(path).rows("调查表")) == [(1, [dt.date(2014, 6, 1)])]


def test_a_sheet_declaring_entities_is_refused(tmp_path):
    sheet = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>'
             f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&a;'
             '</t></is></c></row></sheetData></worksheet>')
    path = _excel_like(tmp_path / "坏表.xlsx", sheet)
    with pytest.raises(JianhuError) as refused:
        list(open_table(path, sheet="调查表").rows)
    assert str(refused.value) == ("无法读取工作簿 坏表.xlsx：文件已损坏或不是 Excel/WPS 工作簿，"
                                  "请用 Excel 或 WPS 打开后另存为 .xlsx 再导入")


def test_a_formula_is_read_as_its_result_or_else_as_its_text(tmp_path):
    """Excel saves a formula's result beside it (read as the value); a writer that saves none
    (openpyxl) leaves the formula's text, which the import refuses like a CSV's."""
    sheet = (f'<worksheet xmlns="{MAIN}"><sheetData><row r="1">'
             '<c r="A1"><f>1+1</f><v>2</v></c><c r="B1" t="str"><f>"甲"&amp;"乙"</f><v>甲乙</v></c>'
             '<c r="C1"><f>A1*3</f></c></row></sheetData></worksheet>')
    path = _excel_like(tmp_path / "f.xlsx", sheet)
    assert list(XlsxBook(path).rows("调查表")) == [(1, [2.0, "甲乙", "=A1*3"])]
