"""Mutation testing of the rule modules with mutmut: ``tox -e mutation`` (or
``python mutation/run.py [MODULE ...] [--max-children N]`` in an environment with mutmut).

Each module of :data:`MODULES` is mutated in a scratch directory of its own under
``build/mutation/<module>/`` (mutmut copies the package there, into ``mutants/``), and its
mutants are run only against that module's fast unit tests, never the whole suite. At the end
the score of every module is printed, ``module killed/total = NN%``, with the surviving mutants
and those judged equivalent (:file:`mutation/equivalent.txt`), which do not count against it.
A mutant that times out counts as killed. To look at one survivor afterwards:
``cd build/mutation/<module> && mutmut show <mutant name>``.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "core" / "jianhu"
EQUIVALENT = Path(__file__).resolve().parent / "equivalent.txt"
#: The score every module must reach (issue 16: mutation testing as the measure of the tests).
TARGET = 90


@dataclass(frozen=True)
class Module:
    """One rule module: its file in the package, its fast unit tests (pytest arguments, from the
    repository's root) and, for a module whose other functions need a database, the functions
    mutated (``None``: every function)."""

    path: str
    tests: tuple[str, ...]
    functions: tuple[str, ...] | None = None


MODULES: dict[str, Module] = {
    "categories": Module("jianhu/default_plugins/categories.py",
                         ("tests/test_classification.py", "tests/test_category_table.py")),
    "citizen_id": Module("jianhu/citizen_id.py", ("tests/test_citizen_id.py",)),
    "dates": Module("jianhu/dates.py", ("tests/test_dates.py",)),
    "default_scale": Module("jianhu/default_plugins/default_scale.py", ("tests/test_scale.py",)),
    "followups": Module("jianhu/followups.py", ("tests/test_followup_rules.py",)),
    "tasks": Module("jianhu/tasks.py", ("tests/test_tasks.py",)),
    "lifecycle": Module("jianhu/lifecycle.py", ("tests/test_lifecycle_rules.py",)),
    "scope": Module("jianhu/scope.py", ("tests/test_scope_rules.py",)),
    # Small-cell suppression: the one rule function of the reports module (the rest builds the
    # tables from the database, tested by tests/test_report.py as a whole).
    "suppression": Module("jianhu/reports.py", ("tests/test_suppression.py",),
                          functions=("suppress_small_cells",)),
}


def mutmut_config(module: Module) -> str:
    """The ``pyproject.toml`` of a module's scratch directory: the repository's pytest settings
    and the ``[tool.mutmut]`` table for this module."""
    pytest_options = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["pytest"]
    lines = ["[tool.pytest.ini_options]"]
    lines += [f"{key} = {json.dumps(value, ensure_ascii=False)}"
              for key, value in pytest_options["ini_options"].items()]
    lines += ["", "[tool.mutmut]",
              'source_paths = ["jianhu"]',
              f"only_mutate = {json.dumps([module.path])}",
              f"pytest_add_cli_args_test_selection = {json.dumps(list(module.tests))}",
              "use_git_change_detection = false", ""]
    return "\n".join(lines)


def prepare(name: str, module: Module, work: Path) -> Path:
    """A fresh scratch directory for ``name``: a copy of the package with its data (the forms'
    schemas, the handbook's pages), the tests linked in, and the module's configuration.
    ``mutants/`` appears in it when mutmut runs."""
    here = work / name
    if here.exists():
        shutil.rmtree(here)
    here.mkdir(parents=True)
    package = here / "jianhu"
    shutil.copytree(PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    for data, inside in ((ROOT / "schemas", package / "schemas"),
                         (ROOT / "docs", package / "handbook" / "docs")):
        if not inside.exists():  # the wheel's force-include, done by hand
            shutil.copytree(data, inside)
    (here / "tests").symlink_to(ROOT / "tests", target_is_directory=True)
    (here / "pyproject.toml").write_text(mutmut_config(module), "utf-8")
    return here


def _in_order(mutant: str) -> tuple[str, int]:
    """Sort key: mutmut's names by function, then by number (``…__mutmut_9`` before ``_10``)."""
    function, _, n = mutant.rpartition("__mutmut_")
    return function, int(n)


def _dotted(module: Module) -> str:
    return module.path.removesuffix(".py").replace("/", ".")


def mutant_globs(module: Module) -> list[str]:
    """The mutants to run (mutmut's names: ``jianhu.reports.x_suppress_small_cells__mutmut_3``)."""
    if module.functions is None:
        return []
    return [f"{_dotted(module)}.x_{fn}__mutmut_*" for fn in module.functions]


def run_mutmut(here: Path, module: Module, max_children: int) -> int:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    cmd = [sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children),
           *mutant_globs(module)]
    with open(here / "mutmut.log", "w", encoding="utf-8") as log:
        return subprocess.run(cmd, cwd=here, env=env, stdout=log, stderr=subprocess.STDOUT).returncode


def results(here: Path, module: Module) -> dict[str, int | None]:
    """Mutant name → mutmut's exit code, for the mutants of the module's selected functions."""
    meta = json.loads((here / "mutants" / (module.path + ".meta")).read_text("utf-8"))
    codes: dict[str, int | None] = meta["exit_code_by_key"]
    globs = mutant_globs(module)
    return {k: v for k, v in codes.items() if not globs or any(fnmatch.fnmatch(k, g) for g in globs)}


KILLED = {1, 3, 24, -24, 36, 152, 255}  # a test failed, or the mutant timed out
#: mutmut's exit codes of mutants not killed.
STATUS = {0: "survived", 33: "no test calls it", 5: "no test calls it", None: "not run",
          34: "skipped", 35: "suspicious"}


def equivalent_mutants() -> dict[str, str]:
    """Mutant name → why it is equivalent, from :file:`equivalent.txt` (``name  reason``)."""
    found = {}
    for line in EQUIVALENT.read_text("utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            mutant, _, reason = line.partition(" ")
            found[mutant] = reason.strip()
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", choices=[[], *MODULES], metavar="MODULE",
                        help=f"the modules to run (default: all): {', '.join(MODULES)}")
    parser.add_argument("--max-children", type=int, default=2, help="mutants run at once")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "mutation",
                        help="where the scratch directories are made")
    parser.add_argument("--report-only", action="store_true",
                        help="print the scores of the last run without running mutmut")
    args = parser.parse_args(argv)
    names = args.modules or list(MODULES)
    equivalent = equivalent_mutants()
    rows, survivors, failed = [], [], []
    for name in names:
        module = MODULES[name]
        here = args.work / name
        if not args.report_only:
            print(f"mutating {module.path} against {' '.join(module.tests)} ...", flush=True)
            here = prepare(name, module, args.work)
            if run_mutmut(here, module, args.max_children) != 0:
                failed.append(name)
                print(f"  mutmut failed, see {here / 'mutmut.log'}", flush=True)
                continue
        if not (here / "mutants" / (module.path + ".meta")).exists():
            failed.append(name)
            print(f"  no results for {name} in {here}", flush=True)
            continue
        codes = results(here, module)
        left = sorted((k for k, v in codes.items() if v not in KILLED and k not in equivalent),
                      key=_in_order)
        same = [k for k, v in codes.items() if v not in KILLED and k in equivalent]
        total = len(codes) - len(same)
        killed = total - len(left)
        rows.append((name, killed, total, 100 * killed // total if total else 100, len(same)))
        survivors += [(k, codes[k]) for k in left]
    print()
    print("module          killed/total = score  (equivalent survivors left out)")
    for name, killed, total, pct, same in rows:
        print(f"{name:<15} {f'{killed}/{total}':>12} = {pct:>3}%   ({same} equivalent)")
    seen = [k for k in equivalent if any(k.startswith(f"{_dotted(MODULES[r[0]])}.") for r in rows)]
    if seen:
        print(f"\nequivalent survivors ({EQUIVALENT.name}):")
        for k in seen:
            print(f"  {k}  {equivalent[k]}")
    if survivors:
        print("\nsurvivors (cd build/mutation/<module> && mutmut show NAME):")
        for k, code in survivors:
            print(f"  {k}  ({STATUS.get(code, f'exit code {code}')})")
    low = [r[0] for r in rows if r[3] < TARGET]
    if low or failed:
        print(f"\nbelow {TARGET}%: {', '.join(low) or '-'}; mutmut failed: {', '.join(failed) or '-'}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
