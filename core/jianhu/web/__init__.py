"""The web interface for township and village staff (``jianhu serve``) and the JSON API.

FastAPI with Jinja2 templates, served by uvicorn. The web layer parses a request, calls the same
services the command line calls (:mod:`jianhu.followups`, :mod:`jianhu.timeline`,
:mod:`jianhu.records`, :mod:`jianhu.imports.screening`, :mod:`jianhu.reports`,
:mod:`jianhu.documents`), and renders; who may see what is decided by :mod:`jianhu.roles` and
:mod:`jianhu.scope` on every request. See :func:`jianhu.web.app.create_app`.
"""

from jianhu.web.app import WebConfig, create_app

__all__ = ["WebConfig", "create_app"]
