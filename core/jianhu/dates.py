"""Local dates. Days people mean (birth dates, due dates) are ``datetime.date``; "today" is the date
in China Standard Time (Asia/Shanghai) whatever the server's zone (handbook 领域规则 §7): an item due on D
is not overdue at D 23:59 and is overdue at D+1 00:00 local time.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from functools import lru_cache
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")

# 2016-03-08, 2016/3/8, 2016.3.8, 2016年3月8日, with optional spaces; 20160308.
_YMD = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_EXCEL_EPOCH = dt.date(1899, 12, 30)
#: The years a date of a form may fall in (a birth, a survey, a visit, an order): a date outside
#: them is a typing error (``0000-01-01``, ``20260-11-15``), refused like any bad date.
FIRST_YEAR, LAST_YEAR = 1900, 2200
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})$")


def form_date(value: object) -> dt.date | None:
    """The day of a form document's date (``YYYY-MM-DD``, a real day, in
    :data:`FIRST_YEAR`–:data:`LAST_YEAR`), or ``None`` when it is not one (the forms' ``date``
    format, :mod:`jianhu.forms.validation`)."""
    return _form_day(value) if isinstance(value, str) else None


@lru_cache(maxsize=16384)  # the same days recur in a survey file (births, survey days)
def _form_day(value: str) -> dt.date | None:
    if not _ISO_DAY.match(value):
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return None
    return day if FIRST_YEAR <= day.year <= LAST_YEAR else None


def form_instant(value: object) -> dt.datetime | None:
    """The instant of a form document's date and time (RFC 3339 with its offset, in
    :data:`FIRST_YEAR`–:data:`LAST_YEAR`), or ``None`` (the forms' ``date-time`` format)."""
    if not isinstance(value, str) or not _ISO_INSTANT.match(value):
        return None
    try:
        instant = dt.datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None
    return instant if FIRST_YEAR <= instant.year <= LAST_YEAR else None


#: A date and time written without a zone: ``2026-09-15 09:00``, ``2026-09-15T09:00:30``.
_LOCAL_INSTANT = re.compile(r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2})(:\d{2})?$")


def written_instant(value: dt.datetime | str) -> str:
    """The form's instant (RFC 3339) of a date and time as a person writes it: a spreadsheet's
    date-time cell or ``2026-09-15 09:00`` without a zone is Beijing time (+08:00, handbook 领域规则
    §7: township staff write the local time); text with an offset is kept as written.

    Returns:
        the instant text; a value that is neither is returned as text for the form's validation
        to refuse with its message.
    """
    if isinstance(value, dt.datetime):
        value = value.replace(tzinfo=LOCAL_TZ) if value.tzinfo is None else value
        return value.isoformat(timespec="seconds")
    text = unicodedata.normalize("NFKC", value).strip()
    m = _LOCAL_INSTANT.match(text)
    if m:
        return f"{m.group(1)}T{m.group(2)}{m.group(3) or ':00'}+08:00"
    return text


def now_utc() -> dt.datetime:
    """Return the current instant, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


def local_today(now: dt.datetime | None = None) -> dt.date:
    """Return today's date in Asia/Shanghai.

    Args:
        now: an aware instant to convert (default: the current time).

    Raises:
        ValueError: ``now`` is naive (its zone would be a guess).
    """
    now = now_utc() if now is None else now
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(LOCAL_TZ).date()


def local_date(instant: dt.datetime) -> dt.date:
    """Return the Asia/Shanghai date of an aware instant."""
    return instant.astimezone(LOCAL_TZ).date()


def parse_date(value: object) -> dt.date:
    """Read a date as people write it in survey sheets.

    Accepts ``datetime.date``/``datetime`` (Excel date cells), ``2016-03-08``, ``2016/3/8``,
    ``2016.3.8``, ``2016年3月8日``, ``20160308`` (full-width digits too; also as a number cell,
    ``20160308`` or ``20160308.0``) and Excel serial day numbers (a date cell saved without a date
    format; they end at 2958465, 9999-12-31, so an eight-digit number is never one). Partial dates
    are refused rather than completed: a general-purpose parser would silently fill a missing day
    from today's date.

    Raises:
        ValueError: with a Chinese message when the text is not a full, real date.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not float(value).is_integer():
            raise ValueError(f"「{value}」不是日期")
        if 10_000_000 <= value <= 99_999_999:  # 20160308 typed into a number cell
            value = str(int(value))
        elif 1 <= value < 2958466:
            return _EXCEL_EPOCH + dt.timedelta(days=int(value))
        else:
            raise ValueError(f"「{value}」不是日期")
    return _date_text(str(value))


@lru_cache(maxsize=16384)  # the same days recur in a survey file (births, survey days)
def _date_text(value: str) -> dt.date:
    """:func:`parse_date` of a text (raising its ``ValueError``, which is not kept)."""
    text = unicodedata.normalize("NFKC", value).strip()
    match = _YMD.match(text) or _COMPACT.match(text)
    if not match:
        raise ValueError(f"日期「{text}」无法识别，请写作 2016-03-08、2016/3/8 或 2016年3月8日")
    year, month, day = (int(g) for g in match.groups())
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValueError(f"「{text}」不是有效日期") from None


def age_on(born: dt.date, on: dt.date) -> int:
    """Return full years of age on date ``on`` (a child born 2010-03-08 turns 16 on 2026-03-08)."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))
