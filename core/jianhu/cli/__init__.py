"""The ``jianhu`` command line: thin commands that parse, call a service and print."""

from jianhu.cli import casework, data, deploy, lifecycle, plugins, workspace  # noqa: F401
from jianhu.cli.root import cli, main

__all__ = ["cli", "main"]
