"""Column types shared by the models."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import orjson
from sqlalchemy import JSON, Boolean, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

JSONType = JSON().with_variant(JSONB(), "postgresql")
"""JSON on SQLite, JSONB on PostgreSQL."""


def json_text(value: Any) -> str:
    """The text a JSON column is sent (the engines' ``json_serializer``): orjson's, compact and in
    UTF-8, about ten times as fast as the standard library's (an import writes a survey record
    and two audit events per row); the standard library's for what orjson refuses (an integer
    beyond 64 bits, a key that is not text). Either is read back as the same value."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value, ensure_ascii=False)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An instant stored in UTC and always returned timezone-aware (UTC).

    SQLite has no time zones; this keeps behaviour the same on both backends.

    Raises:
        ValueError: on bind, when given a naive datetime (its zone would be a guess).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use an aware UTC instant")
        value = value.astimezone(dt.UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def bind_processor(self, dialect: Any) -> Any:
        """The bind processor, remembering its last instant: a batch of rows (an import's) binds
        the same instant on every row. The pair is one tuple, so threads never mix two."""
        process = super().bind_processor(dialect)
        last: list[tuple[Any, Any]] = [(None, None)]

        def bind(value: Any) -> Any:
            seen, bound = last[0]
            if value is seen and value is not None:
                return bound
            bound = process(value) if process is not None else value
            last[0] = (value, bound)
            return bound

        return bind

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class json_list_has(FunctionElement[bool]):
    """``json_list_has(column, value)``: the JSON list in ``column`` holds the text ``value`` (a
    case's categories hold a category code). One expression for both databases: SQLite reads the
    list with ``json_each``, PostgreSQL tests containment of the ``jsonb`` (which its GIN index
    can answer)."""

    type = Boolean()
    inherit_cache = True
    name = "json_list_has"


@compiles(json_list_has, "sqlite")
def _json_list_has_sqlite(element: json_list_has, compiler: Any, **kw: Any) -> str:
    column, value = (compiler.process(c, **kw) for c in element.clauses)
    return f"EXISTS (SELECT 1 FROM json_each({column}) WHERE json_each.value = {value})"


@compiles(json_list_has, "postgresql")
def _json_list_has_postgresql(element: json_list_has, compiler: Any, **kw: Any) -> str:
    column, value = (compiler.process(c, **kw) for c in element.clauses)
    return f"({column} @> jsonb_build_array(CAST({value} AS TEXT)))"
