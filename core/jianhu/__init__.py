"""Jianhu (监护): social intervention for children lacking proper family guardianship.

The package exposes its version and the ``hookimpl`` marker plugins use::

    from jianhu import hookimpl

    @hookimpl
    def jianhu_scales():
        return [...]
"""

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "hookimpl"]


def __getattr__(name: str) -> Any:
    """``hookimpl``, the marker for plugin hook implementations (project name ``jianhu``), made on
    first use so that ``jianhu --version`` does not load pluggy."""
    if name == "hookimpl":
        import pluggy

        marker = pluggy.HookimplMarker("jianhu")
        globals()["hookimpl"] = marker
        return marker
    raise AttributeError(f"module 'jianhu' has no attribute {name!r}")
