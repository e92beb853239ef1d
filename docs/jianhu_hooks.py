"""MkDocs hooks of the handbook: the generated pages come from the installed jianhu package, the
command-line reference from its installed ``jianhu`` command."""

from jianhu.cli import cli
from jianhu.handbook.mkdocs_hooks import document, on_config, on_files, on_page_markdown  # noqa: F401

document(cli)
