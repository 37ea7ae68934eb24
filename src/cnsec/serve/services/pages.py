"""Keyset pagination: a page is "the next ``limit`` rows after this one" in a total order, never an offset.

An offset page shifts when rows are added or removed before it (a finding fixed while someone reads page 3
makes them skip one) and costs a scan of every row before it; a keyset page starts after the last row the
reader saw, in (sort value, unique id) order, so it is stable under writes and as cheap at row 100,000 as
at row 1. The cursor is opaque to clients (base64 of the sort name and the last row's key) and checked
on the way back in: a cursor for another sort is a 400, not a wrong page.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, or_, select
from sqlalchemy.sql.elements import ColumnElement as Column

from cnsec.serve.errors import ApiError

#: a page of API items and the cursor of the next page (None: the last page)
Page = tuple[list[dict[str, Any]], str | None]
MAX_LIMIT = 500
DEFAULT_LIMIT = 50


@dataclass(frozen=True, slots=True)
class Order:
    """One sort: ``column`` then the unique ``tiebreak``, both ``descending`` or both not — so one
    index on (column, tiebreak), read forwards or backwards, gives the page without sorting anything."""

    name: str
    column: Column[Any]
    tiebreak: Column[Any]
    descending: bool

    def clauses(self) -> list[ColumnElement[Any]]:
        if self.descending:
            return [self.column.desc(), self.tiebreak.desc()]
        return [self.column.asc(), self.tiebreak.asc()]

    def after(self, cursor: str | None) -> ColumnElement[bool] | None:
        """The condition "comes after the row the cursor names", or None for the first page."""
        if cursor is None:
            return None
        value, last = decode(cursor, self.name)  # the sorted columns are never NULL: no NULL ordering
        if self.descending:
            return or_(self.column < value, and_(self.column == value, self.tiebreak < last))
        return or_(self.column > value, and_(self.column == value, self.tiebreak > last))


def encode(sort: str, value: Any, last: Any) -> str:
    raw = json.dumps([sort, value, last], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, sort: str) -> tuple[Any, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        name, value, last = json.loads(raw)
    except (ValueError, TypeError, binascii.Error):
        raise ApiError(400, "this cursor is not valid (take it from the 'next' of the page before)") from None
    if name != sort:
        raise ApiError(400, f"this cursor is for sort={name!r}, not sort={sort!r}")
    if not isinstance(value, int | float | str) or not isinstance(last, int | str):
        raise ApiError(400, "this cursor is not valid")
    return value, last


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise ApiError(400, f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def page(rows: Sequence[Any], limit: int, sort: str, key: Any) -> tuple[list[Any], str | None]:
    """``rows`` were fetched with ``limit + 1``: the page, and the cursor of the next one (or None).
    ``key(row)`` gives the last row's (sort value, unique id)."""
    items = list(rows[:limit])
    if len(rows) <= limit or not items:
        return items, None
    value, last = key(items[-1])
    return items, encode(sort, value, last)


def newest_first(engine: Engine, columns: Sequence[Any], id_column: Column[Any], equal: dict[Any, Any],
                 limit: int, cursor: str | None) -> tuple[list[Any], str | None]:
    """A page of rows by descending integer id (assessments, responses): the rows and the next cursor.
    ``equal``: column -> the value it must have (None: any)."""
    order = Order("-id", id_column, id_column, True)
    conds = [column == value for column, value in equal.items() if value]
    after = order.after(cursor)
    limit = check_limit(limit)
    with engine.connect() as conn:
        rows = conn.execute(select(*columns).where(*conds, *([after] if after is not None else []))
                            .order_by(id_column.desc()).limit(limit + 1)).all()
    return page(rows, limit, "-id", lambda r: (r.id, r.id))
