"""Jianhu (监护): social intervention for children lacking proper family guardianship.

The package exposes its version and the ``hookimpl`` marker plugins use::

    from jianhu import hookimpl

    @hookimpl
    def jianhu_scales():
        return [...]
"""

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("jianhu")
"""Marker for plugin hook implementations (project name ``jianhu``)."""

__all__ = ["__version__", "hookimpl"]
