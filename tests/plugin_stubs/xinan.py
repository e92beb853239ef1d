"""A stand-in named ``xinan`` so deployment tests do not depend on installed plugins."""

__version__ = "test"


def jianhu_areas():  # not a hook implementation (no marker): keeps the module a plain plugin
    return []
