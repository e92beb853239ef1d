"""The core's own defaults, registered through the same hooks as any plugin.

A township replaces a default by installing a plugin that answers the same hook (for
``jianhu_followup_policy`` the first answer wins and the default answers last) or by blocking the
default module by name with ``JIANHU_BLOCK_PLUGINS``.
"""
