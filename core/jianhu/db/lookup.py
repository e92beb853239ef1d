"""Looking rows up by many composite keys at once, through an index, on SQLite and PostgreSQL.

For ``tuple_(a, b, c).in_(keys)`` SQLAlchemy writes ``(a, b, c) IN (VALUES ...)`` on SQLite, which
SQLite answers by reading the whole table (``SCAN``): a survey import asking that for each batch
of rows slows down with every child registered. An OR of one condition per key is answered
through an index on each term (``MULTI-INDEX OR`` on SQLite, a bitmap OR on PostgreSQL).

A statement of a fixed number of terms is built and compiled once (its values bound by name), and
the keys are sent in chunks of that size, the last one padded by repeating its last key; a few
sizes are kept so that one key (a survey typed into the web form) does not compile 200 terms.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, or_

#: Terms per statement: the largest stays under 1,000 bound values with four values a key (the
#: limit of SQLite builds older than 3.32).
SIZES = (1, 16, 200)


class KeyLookup:
    """``select(...) WHERE term(key 1) OR term(key 2) ...`` for lists of keys.

    Args:
        select_: the select to restrict (columns, joins, and any fixed condition).
        term: builds the condition for one key from a function giving its named values as bound
            parameters, e.g. ``lambda p: (Child.name == p("name")) & (Child.sex == p("sex"))``.
    """

    def __init__(self, select_: Select[Any],
                 term: Callable[[Callable[[str], Any]], ColumnElement[bool]]):
        self._select, self._term = select_, term
        self._stmts: dict[int, tuple[Select[Any], list[dict[str, str]]]] = {}

    def _stmt(self, size: int) -> tuple[Select[Any], list[dict[str, str]]]:
        """The statement of ``size`` terms and, per term, its values' bound names."""
        if size not in self._stmts:
            names: list[dict[str, str]] = [{} for _ in range(size)]

            def bound(i: int) -> Callable[[str], Any]:
                def param(name: str) -> Any:
                    names[i][name] = f"{name}_{i}"
                    return bindparam(names[i][name])
                return param

            stmt = self._select.where(or_(*(self._term(bound(i)) for i in range(size))))
            self._stmts[size] = stmt, names
        return self._stmts[size]

    def rows(self, conn: Any, keys: list[Mapping[str, Any]]) -> Iterator[Any]:
        """The rows matching any of ``keys`` (dicts of the values the term names), each row once
        per chunk it matches, through ``conn`` (a connection or a session)."""
        start = 0
        while start < len(keys):
            size = next((s for s in SIZES if s >= len(keys) - start), SIZES[-1])
            part = list(keys[start:start + size])
            part += [part[-1]] * (size - len(part))
            stmt, names = self._stmt(size)
            params = {}
            for key, bound in zip(part, names, strict=True):
                for name, value in key.items():
                    params[bound[name]] = value
            yield from conn.execute(stmt, params)
            start += size
