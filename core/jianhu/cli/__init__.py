"""The ``jianhu`` command line: thin commands that parse, call a service and print.

Each command's module is imported when the command runs (see :data:`jianhu.cli.root.COMMANDS`),
so that ``jianhu --help`` and ``jianhu --version`` start fast.
"""

from jianhu.cli.root import cli, main

__all__ = ["cli", "main"]
