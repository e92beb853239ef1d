"""Small bar charts drawn on the server as SVG (no script, no chart library, nothing fetched).

Each chart is an ``<svg role="img">`` with a ``<title>`` and the figures written on the bars, and
the page shows the same numbers in a table, so the chart is readable without colour.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

ROW = 26
LABEL_WIDTH = 150
BAR_WIDTH = 360
#: Bar colours of the four levels (as printed documents use them), then grey for 未评估.
LEVEL_COLOURS = ("#c62828", "#ef6c00", "#f9a825", "#2e7d32", "#9e9e9e")


def bar_chart(title: str, items: Sequence[tuple[str, int]],
              colours: Sequence[str] | None = None) -> Markup:
    """A horizontal bar chart: one bar per ``(label, value)``.

    Args:
        title: the chart's title (read by screen readers).
        items: the bars, top to bottom.
        colours: a colour per bar (default: one blue).

    Returns:
        the SVG markup.
    """
    top = max((v for _, v in items), default=0) or 1
    height = ROW * max(len(items), 1) + 8
    width = LABEL_WIDTH + BAR_WIDTH + 60
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for i, (label, value) in enumerate(items):
        y = 4 + i * ROW
        w = round(BAR_WIDTH * value / top)
        colour = colours[i % len(colours)] if colours else "#1565c0"
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 16}" text-anchor="end" font-size="13">'
            f'{escape(label)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{w}" height="{ROW - 8}" fill="{colour}">'
            f'<title>{escape(label)}：{value}</title></rect>'
            f'<text x="{LABEL_WIDTH + w + 6}" y="{y + 16}" font-size="13">{value}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def paired_columns(title: str, items: Sequence[tuple[str, int, int]],
                   names: tuple[str, str] = ("应访", "已访")) -> Markup:
    """A column chart of two figures per period (e.g. visits due and visits done per month).

    Args:
        title: the chart's title.
        items: ``(period label, first figure, second figure)``, left to right.
        names: the names of the two figures, for the legend.

    Returns:
        the SVG markup.
    """
    top = max((max(a, b) for _, a, b in items), default=0) or 1
    group, bar, plot = 80, 28, 180
    width = 40 + group * max(len(items), 1)
    height = plot + 70
    colours = ("#90a4ae", "#1565c0")
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
             f'<line x1="30" y1="{plot + 20}" x2="{width - 5}" y2="{plot + 20}" stroke="#555"/>']
    for i, (label, a, b) in enumerate(items):
        x = 40 + i * group
        for j, value in enumerate((a, b)):
            h = round(plot * value / top)
            bx = x + j * (bar + 2)
            parts.append(f'<rect x="{bx}" y="{plot + 20 - h}" width="{bar}" height="{h}" '
                         f'fill="{colours[j]}"><title>{escape(label)} {names[j]}：{value}</title>'
                         f'</rect><text x="{bx + bar / 2}" y="{plot + 16 - h}" font-size="11" '
                         f'text-anchor="middle">{value}</text>')
        parts.append(f'<text x="{x + bar}" y="{plot + 38}" font-size="12" text-anchor="middle">'
                     f'{escape(label)}</text>')
    for j, name in enumerate(names):
        lx = 40 + j * 90
        parts.append(f'<rect x="{lx}" y="{plot + 50}" width="12" height="12" fill="{colours[j]}"/>'
                     f'<text x="{lx + 16}" y="{plot + 61}" font-size="12">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
