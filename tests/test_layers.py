"""The package's layers, read from its source: the CLI is on top and nothing imports it, the core
reaches its default plugins only through pluggy, and no two modules import each other (handbook
开发者 → 架构). Imports inside functions count; imports only for type checking do not."""

from __future__ import annotations

import ast
from pathlib import Path

import jianhu

ROOT = Path(jianhu.__file__).parent


#: The handbook's sources shipped in the package: MkDocs loads their hooks file (the top of the
#: stack, like the CLI), no module imports it.
DOCS = ROOT / "handbook" / "docs"


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        if DOCS in path.parents:
            continue
        parts = ("jianhu", *path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _type_checking_only(tree: ast.AST) -> set[int]:
    """Line numbers of the imports under ``if TYPE_CHECKING:``."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            for child in node.body:
                for sub in ast.walk(child):
                    if isinstance(sub, ast.Import | ast.ImportFrom):
                        lines.add(sub.lineno)
    return lines


def _target(name: str) -> str:
    while name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def imports(module: str) -> set[str]:
    """The jianhu modules ``module`` imports (``from pkg import mod`` names the module ``mod``)."""
    tree = ast.parse(MODULES[module].read_text("utf-8"))
    skip = _type_checking_only(tree)
    out: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            out |= {_target(a.name) for a in node.names if a.name.split(".")[0] == "jianhu"}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.split(".")[0] == "jianhu":
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                out.add(full if full in MODULES else _target(node.module))
    # a module's own package (``jianhu`` for ``jianhu.cases``) is not a dependency edge
    return {m for m in out if m != module and not module.startswith(m + ".")}


GRAPH = {m: imports(m) for m in MODULES}


def test_the_source_is_read():
    """The reader sees the imports it must see (a reader that saw none would pass every check)."""
    assert len(MODULES) > 100
    assert "jianhu.handbook.model" in GRAPH["jianhu.cli.handbook"]
    assert "jianhu.db.session" in GRAPH["jianhu.demo"]


def test_nothing_below_the_cli_imports_it():
    offenders = sorted(m for m, deps in GRAPH.items()
                       if not m.startswith("jianhu.cli") and any(d.startswith("jianhu.cli") for d in deps))
    assert offenders == []


def test_the_core_reaches_its_default_plugins_only_through_pluggy():
    offenders = sorted(m for m, deps in GRAPH.items()
                       if not m.startswith("jianhu.default_plugins")
                       and any(d.startswith("jianhu.default_plugins") for d in deps))
    assert offenders == []


def test_no_import_cycles():
    """Tarjan's strongly connected components of the import graph: every one is a single module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    assert cycles == []
