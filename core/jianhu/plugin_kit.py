"""``jianhu plugin new``: a plugin skeleton whose own tests pass after ``pip install``."""

from __future__ import annotations

import re
from pathlib import Path

from jinja2 import Environment, PackageLoader

from jianhu import __version__
from jianhu.errors import JianhuError

_NAME = re.compile(r"^[a-z][a-z0-9-]{1,40}$")
_env = Environment(loader=PackageLoader("jianhu", "templates/plugin"), keep_trailing_newline=True)


def new_plugin(name: str, out: str | Path, title: str | None = None) -> Path:
    """Write the skeleton of plugin ``name`` into ``out/jianhu-<name>`` and return that directory.

    The skeleton has a ``pyproject.toml`` with the ``jianhu`` entry point, a module implementing
    ``jianhu_target_categories``, a test using the ``jianhu_register`` and ``jianhu_workspace``
    fixtures, and a README.

    Raises:
        JianhuError: the name is not lower-case letters, digits and hyphens, or the directory
            already exists.
    """
    if not _NAME.match(name):
        raise JianhuError(f"插件名「{name}」只能用小写字母、数字和连字符，并以字母开头")
    dist = f"jianhu-{name}"
    module = "jianhu_" + name.replace("-", "_")
    root = Path(out) / dist
    if root.exists():
        raise JianhuError(f"{root} 已存在")
    ctx = {"name": name, "dist": dist, "module": module, "title": title or f"{name} 插件",
           "jianhu_version": __version__}
    files = {
        "pyproject.toml": "pyproject.toml.j2",
        f"{module}/__init__.py": "module.py.j2",
        f"tests/test_{module}.py": "test_plugin.py.j2",
        "README.md": "README.md.j2",
    }
    for rel, template in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_env.get_template(template).render(**ctx), encoding="utf-8")
    return root
