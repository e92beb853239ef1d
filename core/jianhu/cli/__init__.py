"""The ``jianhu`` command line: thin commands that parse, call a service and print."""

from jianhu.cli import casework, data, plugins, workspace  # noqa: F401  (register commands)
from jianhu.cli.root import cli, main

__all__ = ["cli", "main"]
