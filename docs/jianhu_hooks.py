"""MkDocs hooks of the handbook: the generated pages come from the installed jianhu package."""

from jianhu.handbook.mkdocs_hooks import on_config, on_files, on_page_markdown  # noqa: F401
