"""The plugin host: loads plugins once and is the only caller of hooks.

Loading order (handbook 架构, 插件宿主):

1. installed distributions with an entry point in group ``jianhu``;
2. single ``.py`` files in a plugins directory (``--plugins-dir`` or ``JIANHU_PLUGINS_DIR``);
3. the core's own defaults (:data:`DEFAULT_PLUGINS`), registered like any plugin;

then ``check_pending()`` so a misspelt hook name fails loudly.

Environment switches:

- ``JIANHU_LOAD_PLUGINS``: comma-separated allow-list of entry-point plugin names. Unset loads
  every installed plugin; set to the empty string it loads none (the test suite does this).
- ``JIANHU_BLOCK_PLUGINS``: comma-separated names never loaded (any source, defaults included).
- ``JIANHU_STRICT_PLUGINS=1``: a plugin that fails to load is fatal instead of a warning.
- ``JIANHU_TRACE_PLUGINS=1``: print every hook call to stderr.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import logging
import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pluggy

from jianhu import __version__, hookspecs
from jianhu.errors import PluginError
from jianhu.extensions import (
    Area,
    CaseEvent,
    FollowupPolicy,
    FormExtension,
    FormMigration,
    FormSpec,
    HandbookPage,
    Report,
    ReportFormat,
    Scale,
    TargetCategory,
    WebPage,
)

log = logging.getLogger("jianhu.plugins")

ENTRY_POINT_GROUP = "jianhu"

DEFAULT_PLUGINS: tuple[str, ...] = (
    "jianhu.default_plugins.areas",
    "jianhu.default_plugins.forms",
    "jianhu.default_plugins.categories",
    "jianhu.default_plugins.default_scale",
    "jianhu.default_plugins.policy",
    "jianhu.default_plugins.reports",
    "jianhu.default_plugins.report_formats",
)


@dataclass(frozen=True)
class PluginInfo:
    """One loaded plugin as ``jianhu plugins list`` shows it.

    Attributes:
        name: registration name (entry point name, file stem, or default module name).
        version: the distribution's or module's version, ``""`` when unknown.
        source: ``"entry point"``, ``"plugins dir"`` or ``"default"``.
        hooks: names of the hooks it implements, sorted.
    """

    name: str
    version: str
    source: str
    hooks: tuple[str, ...]


def _names(value: str | None) -> set[str] | None:
    if value is None:
        return None
    return {n.strip() for n in value.split(",") if n.strip()}


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


class Host:
    """Loaded plugins plus a typed facade over every hook.

    Build one with :meth:`load`; the CLI keeps one per process. Registration results are
    computed on first use and cached.
    """

    def __init__(self, pm: pluggy.PluginManager, infos: list[PluginInfo]):
        self.pm = pm
        #: Plugin name → township codes it is enabled for (``"*"``: all), from the workspace's
        #: settings (:func:`jianhu.settings.load_enablement`). A plugin with no entry applies
        #: everywhere, as in a single-township workspace that never enables anything.
        self.enablement: dict[str, frozenset[str]] = {}
        self._infos = infos

    # ----------------------------------------------------------------- loading
    @classmethod
    def load(
        cls,
        plugins_dir: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        extra: Iterable[tuple[str, object]] = (),
    ) -> Host:
        """Load plugins from entry points, a plugins directory and the defaults.

        Args:
            plugins_dir: directory of single-file plugins; ``None`` reads ``JIANHU_PLUGINS_DIR``.
            env: environment to read switches from (default ``os.environ``).
            extra: ``(name, plugin_object)`` pairs registered before the defaults (tests use it).

        Returns:
            a :class:`Host`.

        Raises:
            PluginError: a plugin failed to load and ``JIANHU_STRICT_PLUGINS=1``, or a plugin
                implements a hook that does not exist.
        """
        env = os.environ if env is None else env
        strict = _truthy(env.get("JIANHU_STRICT_PLUGINS"))
        allow = _names(env.get("JIANHU_LOAD_PLUGINS"))
        block = _names(env.get("JIANHU_BLOCK_PLUGINS")) or set()
        pm = pluggy.PluginManager("jianhu")
        pm.add_hookspecs(hookspecs)
        if _truthy(env.get("JIANHU_TRACE_PLUGINS")):
            pm.trace.root.setwriter(sys.stderr.write)
            pm.enable_tracing()
        infos: list[PluginInfo] = []

        def fail(name: str, exc: BaseException) -> None:
            message = f"插件「{name}」加载失败，已跳过：{exc!r}"
            if strict:
                raise PluginError(message) from exc
            log.warning(message)

        def register(name: str, obj: object, version: Any, source: str) -> None:
            try:
                pm.register(obj, name=name)
            except Exception as exc:  # a bad hookimpl signature, a duplicate name
                fail(name, exc)
                return
            infos.append(PluginInfo(name, version, source, ()))

        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            if (allow is not None and ep.name not in allow) or ep.name in block:
                continue
            if pm.has_plugin(ep.name):
                continue
            try:
                obj = ep.load()
            except Exception as exc:
                fail(ep.name, exc)
                continue
            # the distribution itself: its version is read (its METADATA parsed) only when
            # the plugins are listed, not by every command
            register(ep.name, obj, ep.dist, "entry point")

        directory = plugins_dir if plugins_dir is not None else env.get("JIANHU_PLUGINS_DIR")
        if directory:
            for path in sorted(Path(directory).glob("*.py")):
                if path.stem in block:
                    continue
                try:
                    module = _import_file(path)
                except Exception as exc:
                    fail(path.stem, exc)
                    continue
                register(path.stem, module, str(getattr(module, "__version__", "")), "plugins dir")

        for name, obj in extra:
            register(name, obj, str(getattr(obj, "__version__", "")), "test")

        for modname in DEFAULT_PLUGINS:
            if modname in block:
                continue
            register(modname, importlib.import_module(modname), __version__, "default")

        try:
            pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"插件实现了不存在的钩子：{exc}") from exc
        return cls(pm, infos)

    # ----------------------------------------------------------------- listing
    def plugins(self) -> list[PluginInfo]:
        """Return every loaded plugin with the hooks it implements, in load order."""
        out = []
        for info in self._infos:
            plugin = self.pm.get_plugin(info.name)
            if plugin is None:
                continue
            hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
            version = info.version
            if not isinstance(version, str):  # an entry point's distribution (or none)
                version = version.version if version is not None else ""
            out.append(PluginInfo(info.name, version, info.source, tuple(hooks)))
        return out

    # ------------------------------------------------------------ registration
    def _each(self, hook_name: str, *, skip_trylast: bool = False, **kwargs: Any
              ) -> list[tuple[str, Any]]:
        """Call every implementation of a hook one at a time *through pluggy* (so tracing and
        call monitoring see each call), keeping which plugin answered what: ``(plugin name,
        answer)`` in the order the plugins load (defaults last); ``None`` answers dropped."""
        caller = getattr(self.pm.hook, hook_name)
        impls = [i for i in reversed(caller.get_hookimpls()) if not (skip_trylast and i.trylast)]
        everyone = [i.plugin for i in caller.get_hookimpls()]
        first = bool(caller.spec and caller.spec.opts.get("firstresult"))
        if not impls:  # still a call through pluggy, so a trace shows the hook was asked
            caller(**kwargs)
            return []
        out = []
        for impl in impls:
            one = self.pm.subset_hook_caller(hook_name, remove_plugins=[
                p for p in everyone if p is not impl.plugin])
            answer = one(**kwargs)
            for result in ([answer] if first else answer):
                if result is not None:
                    out.append((impl.plugin_name, result))
        return out

    def _collect(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call every implementation of a registration hook, keeping who returned what.

        Returns ``(plugin_name, record)`` pairs, defaults last.
        """
        return [(name, record) for name, result in self._each(hook_name, **kwargs)
                for record in result or ()]

    def _unique(self, hook_name: str, key: str = "name", **kwargs: Any) -> dict[str, Any]:
        seen: dict[str, tuple[str, Any]] = {}
        for plugin_name, record in self._collect(hook_name, **kwargs):
            k = getattr(record, key)
            if k in seen:
                raise PluginError(
                    f"插件「{seen[k][0]}」和「{plugin_name}」都注册了名为「{k}」的{hook_name}项"
                )
            seen[k] = (plugin_name, record)
        return {k: rec for k, (_, rec) in seen.items()}

    def owner(self, hook_name: str, name: str, **kwargs: Any) -> str:
        """Return the name of the plugin that registered record ``name`` through ``hook_name``.

        Raises:
            KeyError: no plugin registered it.
        """
        for plugin_name, record in self._collect(hook_name, **kwargs):
            if getattr(record, "name", None) == name:
                return plugin_name
        raise KeyError(name)

    @cached_property
    def forms(self) -> dict[str, FormSpec]:
        """Base forms by id (without plugin fields; see :mod:`jianhu.forms.registry`)."""
        return self._unique("jianhu_forms")

    def applies(self, plugin: str, township_code: str | None) -> bool:
        """Whether ``plugin`` works for the township (``None``: for the whole county, so yes):
        enabled for it or for all, or never enabled anywhere (see :attr:`enablement`)."""
        codes = self.enablement.get(plugin)
        return township_code is None or not codes or "*" in codes or township_code in codes

    def form_extensions(self, form_id: str, township_code: str | None = None
                        ) -> list[FormExtension]:
        """The :class:`FormExtension` plugins give for ``form_id``, in load order: of every
        plugin, or of those that apply to ``township_code``."""
        return [ext for plugin, ext in self.form_extension_owners(form_id)
                if self.applies(plugin, township_code)]

    def form_extension_owners(self, form_id: str) -> list[tuple[str, FormExtension]]:
        """``(plugin name, extension)`` for every :class:`FormExtension` of ``form_id``."""
        return [(name, r) for name, r in self._collect("jianhu_form_fields", form_id=form_id)
                if r.form_id == form_id]

    @cached_property
    def form_migrations(self) -> dict[str, FormMigration]:
        """Declared form migrations by name (:mod:`jianhu.forms.migrations`)."""
        return self._unique("jianhu_form_migrations")

    @cached_property
    def scales(self) -> dict[str, Scale]:
        """Installed scales by name."""
        return self._unique("jianhu_scales")

    def followup_policy(self, township_code: str) -> FollowupPolicy:
        """The follow-up policy in force for a township: a plugin's answer overrides the
        default (which answers last); two plugins overriding the same township's policy is a
        conflict.

        Raises:
            PluginError: two plugins answer for the township (both named), or no plugin
                answered (the default plugin was blocked).
        """
        cache = self.__dict__.setdefault("_policies", {})
        if township_code in cache:
            return cache[township_code]
        answers = self._each("jianhu_followup_policy", skip_trylast=True,
                             township_code=township_code)[::-1]  # in registration order
        if len(answers) > 1:
            raise PluginError(f"插件「{answers[0][0]}」和「{answers[1][0]}」都设定了乡镇 "
                              f"{township_code} 的随访政策，请只保留一个")
        policy = answers[0][1] if answers else self.pm.hook.jianhu_followup_policy(
            township_code=township_code)
        if policy is None:
            raise PluginError("没有插件提供随访政策（默认插件被屏蔽了吗？）")
        cache[township_code] = policy
        return policy

    @cached_property
    def target_categories(self) -> list[TargetCategory]:
        """Target-group categories, sorted by ``order`` then code."""
        cats = self._unique("jianhu_target_categories")
        return sorted(cats.values(), key=lambda c: (c.order, c.code))

    @cached_property
    def areas(self) -> dict[str, Area]:
        """Areas by 12-digit code."""
        return self._unique("jianhu_areas", key="code")

    @cached_property
    def reports(self) -> dict[str, Report]:
        """Reports by name."""
        return self._unique("jianhu_reports")

    @cached_property
    def report_formats(self) -> dict[str, ReportFormat]:
        """Report file formats by name."""
        return self._unique("jianhu_report_formats")

    @cached_property
    def settings_schemas(self) -> dict[str, Any]:
        """Plugin name → JSON Schema of its settings."""
        return {name: rec.schema for name, rec in self._unique("jianhu_settings_schema").items()}

    def handbook_pages(self) -> dict[str, tuple[HandbookPage, ...]]:
        """Pages plugins add to the handbook: plugin name → its pages, plugins in load order.

        Raises:
            PluginError: a page is not a :class:`HandbookPage`, its path is not a relative
                ``.md`` path without ``..``, or one plugin gives two pages the same path.
        """
        out: dict[str, list[HandbookPage]] = {}
        for plugin_name, page in self._collect("jianhu_handbook_pages"):
            if not isinstance(page, HandbookPage):
                raise PluginError(f"插件「{plugin_name}」的手册页面不是 HandbookPage：{page!r}")
            parts = page.path.split("/")
            if (not page.path.endswith(".md") or "\\" in page.path
                    or any(p in ("", ".", "..") for p in parts)):
                raise PluginError(f"插件「{plugin_name}」的手册页面路径「{page.path}」无效："
                                  "须为以 .md 结尾的相对路径，不含 ..")
            pages = out.setdefault(plugin_name, [])
            if any(p.path == page.path for p in pages):
                raise PluginError(f"插件「{plugin_name}」有两个手册页面都用路径「{page.path}」")
            pages.append(page)
        return {name: tuple(pages) for name, pages in out.items()}

    @cached_property
    def web_pages(self) -> dict[str, WebPage]:
        """Pages plugins add to the web interface, by path (see ``jianhu_web_pages``).

        Raises:
            PluginError: a page is not a :class:`WebPage`, its path is not lower-case letters,
                digits, ``-``, ``_`` in ``/``-separated parts, or two plugins use one path.
        """
        pages = self._unique("jianhu_web_pages")
        for path, page in pages.items():
            if not isinstance(page, WebPage):
                raise PluginError(f"网页插件返回的不是 WebPage：{page!r}")
            if not _WEB_PATH.fullmatch(path):
                raise PluginError(f"网页「{page.title}」的路径「{path}」无效：只能用小写字母、数字、-、_，"
                                  "以 / 分隔")
        return pages

    # ----------------------------------------------------------------- events
    def plan_suggestions(self, scale: str, result: Any) -> list[str]:
        """Service-type codes plugins suggest for a plan from ``result`` of ``scale``, without
        repeats, in the order the plugins answered."""
        seen: list[str] = []
        for codes in self.pm.hook.jianhu_plan_suggestions(scale=scale, result=result):
            seen.extend(c for c in codes or () if c not in seen)
        return seen

    def emit(self, session: Any, event: CaseEvent) -> None:
        """Call ``jianhu_case_event`` on every plugin, inside the caller's transaction."""
        self.pm.hook.jianhu_case_event(session=session, event=event)

    def register_commands(self, cli: Any) -> None:
        """Let plugins add commands to the root click group ``cli``."""
        self.pm.hook.jianhu_register_commands(cli=cli)


_WEB_PATH = re.compile(r"[a-z0-9_-]+(/[a-z0-9_-]+)*")


def _import_file(path: Path) -> object:
    """Import a single-file plugin under a private module name."""
    modname = f"jianhu_plugins_dir_{path.stem}"
    spec = importlib.util.spec_from_file_location(modname, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"不能导入 {path.name}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[modname]
        raise
    return module
