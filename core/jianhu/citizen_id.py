"""Citizen identity numbers (公民身份号码), GB 11643-1999.

An 18-character number is a 6-digit area code, the birth date ``YYYYMMDD``, a 3-digit sequence
(odd for men, even for women) and a check character computed with ISO 7064 MOD 11-2:
``"10X98765432"[sum(d[i] * W[i]) % 11]`` with ``W = 7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2``.
Legacy 15-digit numbers (GB 11643-1989: area, ``YYMMDD`` in the 1900s, sequence) have no check
character. The area code need not be a current one (handbook 领域规则 §6).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from operator import mul

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
#: The shape of a number (18 characters, the last a digit or X; or the old 15 digits), for an
#: input's ``pattern`` (the browser checks the shape; :func:`problem` checks the rest).
SHAPE = "[0-9]{17}[0-9Xx]|[0-9]{15}"


def normalize(raw: object) -> str:
    """Return the canonical form of a typed or pasted ID: full-width characters folded (NFKC),
    spaces removed, a trailing ``x`` upper-cased. The result is not checked; see :func:`is_valid`.

    Excel numbers (an ID typed into a numeric cell loses nothing only up to 15 digits) are
    turned back into digit strings.
    """
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    text = unicodedata.normalize("NFKC", str(raw))
    return "".join(text.split()).upper()


def check_char(first17: str) -> str:
    """Return the GB 11643-1999 check character for the first 17 digits.

    Raises:
        ValueError: ``first17`` is not 17 ASCII digits.
    """
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("需要17位数字")
    return CHECK_CHARS[sum(map(mul, map(int, first17), WEIGHTS)) % 11]


def birth_date(number: str) -> dt.date:
    """Return the birth date encoded in a canonical 18- or 15-digit ID.

    Raises:
        ValueError: the date part is not a real date, or the length is wrong.
    """
    if len(number) == 18:
        return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    if len(number) == 15:
        return dt.date(1900 + int(number[6:8]), int(number[8:10]), int(number[10:12]))
    raise ValueError("身份证号应为18位或15位")


def sex(number: str) -> str:
    """Return ``"male"`` or ``"female"`` from the sequence digit's parity (odd = male)."""
    digit = int(number[16] if len(number) == 18 else number[14])
    return "male" if digit % 2 else "female"


def problem(number: str) -> str | None:
    """Say in Chinese what is wrong with a canonical ID, or return ``None`` when it is valid.

    Checks length and characters, the birth date (a real date, not in the future) and, for 18
    characters, the check character (GB 11643-1999 §5).
    """
    if len(number) == 18:
        if not (number[:17].isascii() and number[:17].isdigit()) or number[17] not in "0123456789X":
            return "身份证号只能由数字和末位X组成"
    elif len(number) == 15:
        if not (number.isascii() and number.isdigit()):
            return "15位身份证号只能由数字组成"
    else:
        return f"身份证号应为18位，现为{len(number)}位"
    try:
        born = birth_date(number)
    except ValueError:
        return "身份证号中的出生日期不是有效日期"
    if born > dt.date.today() + dt.timedelta(days=1):
        return "身份证号中的出生日期晚于今天"
    if len(number) == 18 and check_char(number[:17]) != number[17]:
        return "身份证号校验位不对，请核对是否抄错"
    return None


def is_valid(number: str) -> bool:
    """Return whether a canonical ID (see :func:`normalize`) is valid by :func:`problem`."""
    return problem(number) is None


def make(area: str, born: dt.date, sequence: int) -> str:
    """Build a valid 18-character ID (used only to generate sample data).

    Args:
        area: 6-digit area code.
        born: birth date.
        sequence: 0–999; odd for a boy, even for a girl.
    """
    first17 = f"{area}{born:%Y%m%d}{sequence:03d}"
    return first17 + check_char(first17)
