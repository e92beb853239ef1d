"""The printable handbook: one A4 PDF of every page, with a cover and a table of contents
(``jianhu handbook pdf``).

Pages are taken in navigation order (hand-written chapters from ``mkdocs.yml``'s ``nav``, then the
generated sections), their directives expanded as on the site, rendered to HTML with the
``markdown`` library and the same extensions as the site, and laid out by WeasyPrint with Debian's
Noto CJK fonts. Links between pages become links inside the PDF; page numbers in the table of
contents come from CSS ``target-counter``.
"""

from __future__ import annotations

import html
import os
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jianhu import __version__
from jianhu.handbook.model import Handbook, HandbookError
from jianhu.handbook.site import config_file, load_config

CSS = """
@page {
  size: A4; margin: 20mm 17mm 18mm 17mm;
  @top-right { content: string(chapter); font-size: 8pt; color: #666; }
  @bottom-center { content: "第 " counter(page) " 页"; font-size: 8pt; color: #666; }
}
@page cover { @top-right { content: none; } @bottom-center { content: none; } }
html { font-family: "Noto Sans CJK SC", "Noto Sans SC", sans-serif; font-size: 10pt;
       line-height: 1.55; color: #222; }
.cover { page: cover; text-align: center; padding-top: 70mm; }
.cover h1 { font-size: 24pt; margin-bottom: 6mm; string-set: none; bookmark-level: none; }
.cover p { font-size: 11pt; color: #444; }
nav.toc { page-break-before: always; }
nav.toc h1 { string-set: chapter "目录"; }
nav.toc ol { list-style: none; padding-left: 0; }
nav.toc li { margin: 1pt 0; }
nav.toc li.part { font-weight: bold; margin-top: 6pt; }
nav.toc li.l2 { padding-left: 1.5em; }
nav.toc li.l3 { padding-left: 3em; }
nav.toc a { color: inherit; text-decoration: none; }
nav.toc a::after { content: leader('.') target-counter(attr(href), page); }
section.page { page-break-before: always; }
section.page h1 { font-size: 16pt; string-set: chapter content(); bookmark-level: 1;
                  border-bottom: 1pt solid #3f51b5; padding-bottom: 2pt; }
h2 { font-size: 13pt; bookmark-level: 2; margin-top: 12pt; }
h3 { font-size: 11pt; bookmark-level: 3; }
h4, h5, h6 { font-size: 10pt; bookmark-level: none; }
table { border-collapse: collapse; width: 100%; margin: 4pt 0 8pt; font-size: 8.5pt; }
th, td { border: 0.5pt solid #999; padding: 2pt 4pt; vertical-align: top;
         overflow-wrap: anywhere; }
th { background: #eef0f8; }
tr { page-break-inside: avoid; }
pre, code { font-family: "Noto Sans Mono CJK SC", "DejaVu Sans Mono", monospace; font-size: 8pt; }
pre { background: #f5f5f5; padding: 4pt; white-space: pre-wrap; overflow-wrap: anywhere; }
.headerlink { display: none; }
.admonition, details { border-left: 3pt solid #3f51b5; background: #f7f8fc; padding: 2pt 8pt;
                       margin: 6pt 0; }
.admonition-title, summary { font-weight: bold; }
a { color: #1a4fa3; text-decoration: none; }
"""

_MERMAID = re.compile(r"^(`{3,})mermaid\s*\n.*?^\1\s*$", re.S | re.M)
_HREF = re.compile(r'href="([^"]*)"')
_ID = re.compile(r'\bid="([^"]*)"')


@dataclass(frozen=True)
class PdfBuild:
    """What :func:`build_pdf` made.

    Attributes:
        path: the PDF file.
        pages: handbook pages (chapters and generated pages) in it.
        title: the handbook's title.
    """

    path: Path
    pages: int
    title: str


def _flatten(nav: list[Any], parents: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str, str]]:
    """``(sections, title, docs path)`` of every page of an MkDocs nav, in order."""
    out = []
    for entry in nav:
        if isinstance(entry, str):
            out.append((parents, posixpath.basename(entry), entry))
            continue
        for title, value in entry.items():
            if isinstance(value, list):
                out += _flatten(value, parents + (title,))
            else:
                out.append((parents, title, value))
    return out


def _page_id(path: str) -> str:
    return "p-" + re.sub(r"[^\w-]+", "-", path.removesuffix(".md")).strip("-")


def _rewrite(body: str, path: str, known: set[str]) -> str:
    """Make ids unique across pages and turn links between pages into links inside the PDF."""
    pid = _page_id(path)
    body = _ID.sub(lambda m: f'id="{pid}--{m.group(1)}"', body)

    def href(m: re.Match[str]) -> str:
        target = html.unescape(m.group(1))
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            return m.group(0)
        file, _, fragment = target.partition("#")
        if not file:
            return f'href="#{pid}--{fragment}"'
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), file))
        if resolved not in known:
            return m.group(0)
        other = _page_id(resolved)
        return f'href="#{other}--{fragment}"' if fragment else f'href="#{other}"'

    return _HREF.sub(href, body)


def render_html(hb: Handbook, config: str | os.PathLike[str] | None = None) -> tuple[str, int, str]:
    """The whole handbook as one HTML document for printing, the number of pages in it and the
    handbook's title.

    Raises:
        HandbookError: a chapter in the nav is missing, or a directive cannot be expanded.
    """
    import markdown

    path = config_file(config)
    cfg = load_config(path)
    site_name = cfg.site_name + (f"（{hb.title}）" if hb.title else "")
    generated = {p.path: p for p in hb.pages}
    entries = _flatten(list(cfg.nav or [])) + _flatten(hb.nav())
    known = {p for _, _, p in entries}
    docs = Path(cfg.docs_dir)
    toc, sections = [], []
    last_parts: tuple[str, ...] = ()
    for parents, title, page in entries:
        if page in generated:
            source = generated[page].markdown
        else:
            file = docs / page
            if not file.is_file():
                raise HandbookError(f"手册目录中列出的 {page} 不存在")
            source = file.read_text(encoding="utf-8")
        source = hb.expand(source, page)
        source = _MERMAID.sub("!!! note \"状态图\"\n    状态图见网页版；下文列出全部状态与转换。\n", source)
        md = markdown.Markdown(extensions=cfg.markdown_extensions, extension_configs=cfg.mdx_configs)
        body = md.convert(source)
        if not re.search(r"<h1[\s>]", body):
            body = f"<h1>{html.escape(title)}</h1>\n" + body
        sections.append(f'<section class="page" id="{_page_id(page)}">'
                        f"{_rewrite(body, page, known)}</section>")
        for depth, part in enumerate(parents):
            if depth >= len(last_parts) or last_parts[depth] != part:
                toc.append(f'<li class="part l{depth + 1}">{html.escape(part)}</li>')
        last_parts = parents
        toc.append(f'<li class="l{min(len(parents) + 1, 3)}"><a href="#{_page_id(page)}">'
                   f"{html.escape(title)}</a></li>")
    cover = (f'<div class="cover"><h1>{html.escape(site_name)}</h1>'
             f"<p>依据新政发〔2016〕8号</p><p>监护 Jianhu {__version__}</p>"
             f"<p>{html.escape(hb.build_summary())}</p></div>")
    doc = (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
           f"<title>{html.escape(site_name)}</title><style>{CSS}</style></head><body>"
           f'{cover}<nav class="toc"><h1>目录</h1><ol>{"".join(toc)}</ol></nav>'
           f'{"".join(sections)}</body></html>')
    return doc, len(entries), site_name


def build_pdf(hb: Handbook, out: str | os.PathLike[str],
              config: str | os.PathLike[str] | None = None) -> PdfBuild:
    """Write the whole handbook ``hb`` as one A4 PDF with a table of contents.

    Args:
        hb: the handbook (plugins, township, teams and the ``jianhu`` command it documents).
        out: the PDF file to write (its folder must exist).
        config: another ``mkdocs.yml`` (a checkout's ``docs/``).

    Returns:
        a :class:`PdfBuild`.

    Raises:
        HandbookError: a missing chapter, a bad directive, or the folder of
            ``out`` does not exist.
    """
    from weasyprint import HTML

    out = Path(out)
    if not out.parent.is_dir():
        raise HandbookError(f"目录 {out.parent} 不存在")
    doc, pages, title = render_html(hb, config)
    HTML(string=doc, base_url=str(config_file(config).parent)).write_pdf(out)
    return PdfBuild(out, pages, title)
