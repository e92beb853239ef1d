"""Villages carry their 12-digit statistical code; import takes the code or the name."""

import pytest
from sqlalchemy import select

from conftest import count
from files import write_csv
from jianhu.db.models import AuditEvent, Child, FormRecord, Village
from jianhu.errors import ImportRejected
from jianhu.forms import load_form
from jianhu.imports.screening import import_screening
from jianhu.villages import code_problem
from surveys import survey


def test_the_code_rule():
    assert code_problem("320724100201", "320724100000", "新安镇") is None
    assert code_problem("32072410020", "320724100000", "新安镇") == (
        "村（社区）代码「32072410020」应为12位数字（统计用区划代码）")
    assert code_problem("320724101201", "320724100000", "新安镇") == (
        "村（社区）代码「320724101201」不属于新安镇（应以320724100开头）")
    assert code_problem("320724100000", "320724100000", "新安镇") == (
        "「320724100000」是乡镇本身的代码，不是村（社区）的代码")


def _child(name, **changes):
    return survey(child__citizen_id=None, child__name=name, **changes)


def _villages(session):
    return sorted(session.execute(select(Village.name, Village.code)).all())


def test_a_code_registers_and_then_stands_for_the_village(session, host, tmp_path):
    form = load_form(host, "screening")
    first = [_child("测试甲", residence__village="东风村", residence__village_code="320724100201"),
             _child("测试乙", residence__village="东风村"),
             _child("测试丁", residence__village="西河村")]
    import_screening(session, host, write_csv(form, first, tmp_path / "a.csv"), actor="t")
    assert _villages(session) == [("东风村", "320724100201"), ("西河村", None)]
    second = [_child("测试戊", residence__village="320724100201"),
              _child("测试丁", residence__village="西河村", residence__village_code="320724100202")]
    s = import_screening(session, host, write_csv(form, second, tmp_path / "b.csv"), actor="t")
    assert (s.created, s.villages_created) == (1, 0)
    assert _villages(session) == [("东风村", "320724100201"), ("西河村", "320724100202")]
    kept = session.scalars(select(FormRecord.payload).join(Child, FormRecord.subject_id == Child.id)
                           .where(Child.name == "测试戊")).one()
    assert kept["residence"] == {"township": "新安镇", "village": "东风村",
                                 "village_code": "320724100201"}
    coded = session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "village",
                                                     AuditEvent.action == "update")).one()
    assert (coded.before, coded.after) == ({"code": None}, {"code": "320724100202"})


@pytest.mark.parametrize("rows, column, message", [
    ([_child("测试甲", residence__village="东风村", residence__village_code="320724101201")],
     "村（社区）代码", "村（社区）代码「320724101201」不属于新安镇（应以320724100开头）"),
    ([_child("测试甲", residence__village="320724100299")],
     "村（社区）", "「320724100299」不是新安镇已登记的村（社区）代码；首次登记请填村（社区）名称，"
     "并在「村（社区）代码」列填代码"),
    ([_child("测试甲", residence__village="东风村", residence__village_code="320724100201"),
      _child("测试乙", residence__village="南湖村", residence__village_code="320724100201")],
     "村（社区）代码", "代码320724100201已是东风村的代码，不能再用于南湖村"),
    ([_child("测试甲", residence__village="东风村", residence__village_code="320724100201"),
      _child("测试乙", residence__village="东风村", residence__village_code="320724100203")],
     "村（社区）代码", "东风村的代码已登记为320724100201，与本行的320724100203不一致"),
])
def test_a_wrong_code_names_its_row_and_writes_nothing(session, host, tmp_path, rows, column,
                                                       message):
    form = load_form(host, "screening")
    with pytest.raises(ImportRejected) as exc:
        import_screening(session, host, write_csv(form, rows, tmp_path / "bad.csv"), actor="t")
    assert [(e.row, e.column, e.message) for e in exc.value.errors] == [(len(rows) + 1, column,
                                                                         message)]
    assert (count(session, Child), count(session, Village)) == (0, 0)
