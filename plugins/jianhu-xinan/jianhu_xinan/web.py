"""新安镇's monthly report page in the web interface (``jianhu serve``), at
``/plugins/xinan/monthly``.

The page shows the figures of :func:`jianhu_xinan.monthly.build_monthly` for a chosen report date
and offers them as the government-form workbook (format ``xinan-monthly-xlsx``) or a plain
XLSX/CSV. Only users of 新安镇 and county-wide roles see it, and only roles that may see aggregate
reports (``report:aggregate``); for roles that may not open cases small counts are suppressed, as
``jianhu report`` does (:func:`jianhu.reports.suppress_small_cells`).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from markupsafe import Markup, escape

from jianhu.dates import parse_date
from jianhu.errors import JianhuError
from jianhu.extensions import Table, WebDownload, WebPage, WebRequest
from jianhu.reports import suppress_small_cells
from jianhu_xinan.govform import FORMAT_NAME
from jianhu_xinan.monthly import REPORT_NAME, REPORT_TITLE, SEP
from jianhu_xinan.policy import TOWNSHIP_CODE

PAGE_PATH = "xinan/monthly"
#: Formats offered for download: ``(format name, label)``.
FORMATS: tuple[tuple[str, str], ...] = ((FORMAT_NAME, "报送格式（XLSX）"), ("xlsx", "普通 XLSX"),
                                        ("csv", "CSV"))
MEDIA = {".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         ".csv": "text/csv; charset=utf-8"}


def default_date(today: dt.date) -> dt.date:
    """The report date the page proposes: the last day of the previous month (the month the
    town reports to the county), e.g. 2026-10-31 on 2026-11-29."""
    return today.replace(day=1) - dt.timedelta(days=1)


def _report_date(request: WebRequest) -> dt.date:
    text = request.params.get("on", "").strip()
    if not text:
        return default_date(request.today)
    try:
        on = parse_date(text)
    except ValueError as exc:
        raise JianhuError(str(exc)) from None
    if not dt.date(2016, 1, 1) <= on <= request.today:
        raise JianhuError(f"统计截止日应在 2016-01-01 至今天（{request.today}）之间")
    return on


def _table_html(table: Table) -> str:
    head = "".join(f"<th>{escape(c.title.replace(SEP, ' · '))}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(row.get(c.key, '')))}</td>" for c in table.columns)
        + "</tr>" for row in table.rows)
    notes = "".join(f"<li>{escape(n)}</li>" for n in table.notes)
    return (f'<table class="list small" id="xinan-monthly"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table><ul class=\"help\">{notes}</ul>")


def render_monthly(request: WebRequest) -> str | WebDownload:
    """The page: a report-date form, the figures, and downloads (``?download=FORMAT``).

    Raises:
        JianhuError: a bad report date or an unknown format (shown on the page).
    """
    on = _report_date(request)
    table = request.host.reports[REPORT_NAME].build(request.session, request.host, on)
    if not request.actor.can("view:cases"):
        table = suppress_small_cells(table)
    wanted = request.params.get("download", "")
    if wanted:
        if wanted not in dict(FORMATS):
            raise JianhuError(f"不支持格式「{wanted}」")
        fmt = request.host.report_formats[wanted]
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"monthly{fmt.suffix}"
            fmt.write(table, path)
            content = path.read_bytes()
        return WebDownload(filename=f"{REPORT_TITLE}-{on:%Y-%m}{fmt.suffix}", content=content,
                           media_type=MEDIA.get(fmt.suffix, "application/octet-stream"))
    options = "".join(f'<option value="{escape(name)}">{escape(label)}</option>'
                      for name, label in FORMATS)
    form = Markup(
        '<form method="get" class="filters"><label>统计截止日 <input type="date" name="on" '
        'value="{on}"></label><label>下载格式 <select name="download">{options}</select></label>'
        '<button type="submit">下载</button></form>'
        '<form method="get" class="filters"><label>只看数字：统计截止日 <input type="date" name="on" '
        'value="{on}"></label><button type="submit">刷新</button></form>'
    ).format(on=on.isoformat(), options=Markup(options))
    return str(form) + f"<h2>{escape(table.title)}</h2>" + _table_html(table)


def web_pages() -> list[WebPage]:
    """The monthly report page, for 新安镇's users and county-wide roles."""
    return [WebPage(path=PAGE_PATH, title="新安镇月报", render=render_monthly,
                    permission="report:aggregate", townships=(TOWNSHIP_CODE,))]
