"""Small helpers that write Markdown for the generated handbook pages.

Everything the generators print goes through :func:`cell` or :func:`table`, so a value with a ``|``,
a newline or HTML in it cannot break a table or inject markup.
"""

from __future__ import annotations

import html
import posixpath
from collections.abc import Iterable, Sequence
from typing import Any

from pymdownx.slugs import slugify as _slugify

#: The heading-anchor function of ``docs/mkdocs.yml`` (``toc.slugify``): lower case, Chinese kept.
SLUGIFY = _slugify(case="lower")


def anchor(heading: str) -> str:
    """Return the anchor MkDocs gives a heading with text ``heading`` (same slugify as the site)."""
    return SLUGIFY(heading, "-")


def text(value: Any) -> str:
    """Render a value as plain, escaped Markdown text.

    ``None`` and ``""`` become ``—``; booleans become 是/否; lists and tuples are joined with 、.
    """
    if value is None or value == "" or value == () or value == []:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return "、".join(text(v) for v in items)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return html.escape(str(value), quote=False).replace("*", "\\*").replace("_", "\\_")


def cell(value: Any) -> str:
    """Render a value for one table cell: escaped, ``|`` escaped, newlines as ``<br>``."""
    if isinstance(value, Raw):
        out = value.markdown
    else:
        out = text(value)
    return out.replace("|", "\\|").replace("\r\n", "\n").replace("\n", "<br>")


class Raw:
    """Markdown that :func:`cell` must not escape (a link, inline code)."""

    def __init__(self, markdown: str):
        """Wrap ``markdown`` (already safe Markdown)."""
        self.markdown = markdown

    def __str__(self) -> str:
        return self.markdown


def code(value: Any) -> Raw:
    """Inline code for a cell: ``value`` in backticks (backticks inside doubled safely)."""
    s = str(value)
    fence = "``" if "`" in s else "`"
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    return Raw(f"{fence}{pad}{s}{pad}{fence}")


def link(label: str, target: str) -> Raw:
    """A Markdown link with an escaped label."""
    return Raw(f"[{text(label)}]({target})")


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A Markdown table. Returns ``"（无）"`` when there are no rows."""
    body = [list(r) for r in rows]
    if not body:
        return "（无）\n"
    lines = ["| " + " | ".join(cell(h) for h in headers) + " |",
             "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in body]
    return "\n".join(lines) + "\n"


def fenced(body: str, lang: str = "") -> str:
    """A fenced code block, with a fence longer than any backtick run inside ``body``."""
    longest = 2
    run = 0
    for ch in body:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    return f"{fence}{lang}\n{body.rstrip()}\n{fence}\n"


def relpath(target: str, from_page: str) -> str:
    """The relative link from page ``from_page`` to ``target`` (both docs-relative paths, with an
    optional ``#fragment`` on ``target``)."""
    path, _, fragment = target.partition("#")
    rel = posixpath.relpath(path, posixpath.dirname(from_page) or ".")
    return rel + (f"#{fragment}" if fragment else "")
