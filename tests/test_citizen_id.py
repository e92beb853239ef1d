import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jianhu import citizen_id


@pytest.mark.parametrize("number", ["11010519491231002X", "440524188001010014"])
def test_known_valid_ids(number):
    assert citizen_id.problem(number) is None


def test_changed_digit_is_invalid():
    assert citizen_id.problem("11010519491231003X") == "身份证号校验位不对，请核对是否抄错"


def test_lowercase_x_and_fullwidth_digits_are_accepted():
    assert citizen_id.normalize("11010519491231002x") == "11010519491231002X"
    assert citizen_id.normalize("１１０１０５１９４９１２３１００２Ｘ") == "11010519491231002X"
    assert citizen_id.normalize(" 110105 19491231 002x ") == "11010519491231002X"


def test_birth_date_and_sex_from_id():
    assert citizen_id.birth_date("11010519491231002X") == dt.date(1949, 12, 31)
    assert citizen_id.sex("11010519491231002X") == "female"
    assert citizen_id.sex("440524188001010014") == "male"


def test_legacy_15_digit_id():
    assert citizen_id.problem("110105491231002") is None
    assert citizen_id.birth_date("110105491231002") == dt.date(1949, 12, 31)


@pytest.mark.parametrize("number,message", [
    ("1101051949123100", "身份证号应为18位，现为16位"),
    ("11010519491332002X", "身份证号中的出生日期不是有效日期"),
    ("1101051949123100A2", "身份证号只能由数字和末位X组成"),
])
def test_problems_are_named_in_chinese(number, message):
    assert citizen_id.problem(number) == message


@given(st.dates(dt.date(1950, 1, 1), dt.date(2025, 12, 31)), st.integers(0, 999),
       st.integers(0, 16), st.integers(1, 9))
def test_any_single_digit_change_is_caught(born, seq, position, delta):
    number = citizen_id.make("320724", born, seq)
    assert citizen_id.is_valid(number)
    digit = (int(number[position]) + delta) % 10
    changed = number[:position] + str(digit) + number[position + 1:]
    assert not citizen_id.is_valid(changed)


def test_numbers_from_excel_cells_become_digit_strings():
    assert citizen_id.normalize(110105491231002.0) == "110105491231002"
    assert citizen_id.normalize(110105491231002) == "110105491231002"
    assert citizen_id.normalize(12.5) == "12.5"  # not a whole number: left as written


def test_check_char_needs_17_ascii_digits():
    assert citizen_id.check_char("11010519491231002") == "X"
    assert citizen_id.check_char("44052418800101001") == "4"
    for bad in ("1101051949123100", "110105194912310021", "1101051949123100A",
                "１１０１０５１９４９１２３１００２"):
        with pytest.raises(ValueError, match="^需要17位数字$"):
            citizen_id.check_char(bad)


def test_birth_date_needs_18_or_15_characters():
    with pytest.raises(ValueError, match="^身份证号应为18位或15位$"):
        citizen_id.birth_date("1101051949123100")


def test_sex_of_a_legacy_15_digit_id():
    assert citizen_id.sex("110105491231002") == "female"
    assert citizen_id.sex("110105491231001") == "male"


@pytest.mark.parametrize("number,message", [
    ("11010549123100A", "15位身份证号只能由数字组成"),
    ("１１０１０５４９１２３１００２", "15位身份证号只能由数字组成"),
    ("11010519491231002Y", "身份证号只能由数字和末位X组成"),
    ("1101051949123100２X", "身份证号只能由数字和末位X组成"),
    ("110105491331002", "身份证号中的出生日期不是有效日期"),
])
def test_more_problems_named_in_chinese(number, message):
    assert citizen_id.problem(number) == message


def test_a_birth_date_after_tomorrow_is_refused():
    today = dt.date.today()
    # tomorrow is allowed (a server's day can be behind the family's), the day after is not
    assert citizen_id.problem(citizen_id.make("320724", today, 1)) is None
    assert citizen_id.problem(citizen_id.make("320724", today + dt.timedelta(days=1), 1)) is None
    assert citizen_id.problem(citizen_id.make("320724", today + dt.timedelta(days=2), 1)) == (
        "身份证号中的出生日期晚于今天")
