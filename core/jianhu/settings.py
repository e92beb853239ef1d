"""Which plugins are enabled for which township, and their settings.

A plugin declares the JSON Schema of its settings through ``jianhu_settings_schema``; settings
are validated against it (Chinese messages) when stored with ``jianhu plugins enable``. A row with
township ``"*"`` applies to every township that has no row of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jianhu import audit
from jianhu.dates import now_utc
from jianhu.db.models import PluginSetting
from jianhu.errors import JianhuError
from jianhu.forms.registry import Form
from jianhu.plugins import Host

ALL = "*"


def settings_form(host: Host, plugin: str) -> Form | None:
    """The settings form a plugin declares, or ``None`` when it has no settings."""
    schema = host.settings_schemas.get(plugin)
    if schema is None:
        return None
    return Form(f"settings:{plugin}", int(schema.get("version", 1)), dict(schema))


def enable(session: Session, host: Host, plugin: str, township_code: str,
           settings: Mapping[str, Any], *, actor: str, enabled: bool = True) -> PluginSetting:
    """Enable (or disable) ``plugin`` for a township (``"*"``: all) with ``settings``.

    Raises:
        JianhuError: the plugin is not loaded (disabling one that is no longer installed is
            allowed), the township is unknown, or the settings fail the plugin's schema (every
            problem listed in Chinese).
    """
    if enabled and plugin not in {p.name for p in host.plugins()}:
        raise JianhuError(f"没有加载名为「{plugin}」的插件（jianhu plugins list 可查）")
    if township_code != ALL and township_code not in host.areas:
        raise JianhuError(f"「{township_code}」不是本县的乡镇代码")
    row = session.get(PluginSetting, (plugin, township_code))
    if not enabled:  # disabling keeps the stored settings for a later re-enable
        settings = row.settings if row is not None else {}
    form = settings_form(host, plugin)
    if enabled and form is not None:
        problems = form.problems(dict(settings))
        if problems:
            raise JianhuError(f"插件「{plugin}」的设置有误：\n" + "\n".join(
                f"「{col}」{msg}" if col else msg for col, msg in problems))
    elif enabled and settings:
        raise JianhuError(f"插件「{plugin}」没有设置项")
    before = None if row is None else {"enabled": row.enabled, "settings": row.settings}
    if row is None:
        row = PluginSetting(plugin=plugin, township_code=township_code)
        session.add(row)
    row.enabled, row.settings, row.updated_at = enabled, dict(settings), now_utc()
    audit.record(session, actor=actor, action="configure", entity_type="plugin",
                 entity_id=f"{plugin}@{township_code}", before=before,
                 after={"enabled": enabled, "settings": dict(settings)})
    return row


def settings_for(session: Session, plugin: str, township_code: str) -> dict[str, Any] | None:
    """The settings of ``plugin`` for a township, or ``None`` when it is not enabled there."""
    rows = {r.township_code: r for r in session.scalars(
        select(PluginSetting).where(PluginSetting.plugin == plugin,
                                    PluginSetting.township_code.in_((township_code, ALL))))}
    row = rows.get(township_code) or rows.get(ALL)
    return dict(row.settings) if row is not None and row.enabled else None


def enabled_townships(session: Session) -> dict[str, list[str]]:
    """Plugin name → township codes it is enabled for (``"*"`` for all)."""
    out: dict[str, list[str]] = {}
    for row in session.scalars(select(PluginSetting).where(PluginSetting.enabled.is_(True))
                               .order_by(PluginSetting.township_code)):
        out.setdefault(row.plugin, []).append(row.township_code)
    return out


def load_enablement(session: Session, host: Host) -> None:
    """Tell ``host`` which townships each plugin is enabled for, so that a plugin's form fields,
    and everything built from them, reach only its townships (:meth:`Host.applies`)."""
    host.enablement = {p: frozenset(codes) for p, codes in enabled_townships(session).items()}


def missing_plugins(host: Host, township_code: str | None) -> dict[str, list[str]]:
    """Plugins enabled (:attr:`Host.enablement`, loaded by :func:`load_enablement`) for
    ``township_code`` or for every township (``None``: for any township) that are not installed:
    plugin name → township codes."""
    installed = {p.name for p in host.plugins()}
    out: dict[str, list[str]] = {}
    for plugin, codes in host.enablement.items():
        if plugin in installed:
            continue
        hit = sorted(codes) if township_code is None else sorted(
            c for c in codes if c in (township_code, ALL))
        if hit:
            out[plugin] = hit
    return out


def apply_plugin_settings(session: Session, host: Host, township_code: str | None) -> None:
    """Load which townships each plugin is enabled for into ``host`` (one query), and refuse to
    work for a township whose enabled plugin is not installed: its rules (forms, deadlines,
    reports) would silently fall back to the defaults (handbook: 插件按乡镇启用).

    Raises:
        JianhuError: naming the plugins and townships, and what to do.
    """
    load_enablement(session, host)
    missing = missing_plugins(host, township_code)
    if missing:
        names = "；".join(f"「{p}」（{'、'.join('全部乡镇' if c == ALL else c for c in codes)}）"
                         for p, codes in sorted(missing.items()))
        raise JianhuError(f"已启用的插件没有安装：{names}。请安装该插件后再操作，或由管理员用 "
                          "jianhu plugins disable 停用（停用后按默认规则办理）")
