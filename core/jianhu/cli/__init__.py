"""The ``jianhu`` command line: thin commands that parse, call a service and print."""

from jianhu.cli import (  # noqa: F401  (commands)
    audit,
    casework,
    data,
    deploy,
    handbook,
    lifecycle,
    plugins,
    registry,
    teams,
    web,
    workspace,
)
from jianhu.cli.root import cli, main

__all__ = ["cli", "main"]
