"""Forms: JSON Schema documents, their fields as spreadsheet columns, and validation."""

from jianhu.forms.registry import Form, load_form

__all__ = ["Form", "load_form"]
