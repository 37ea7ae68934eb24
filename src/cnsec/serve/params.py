"""Path and query parameter types shared by the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

#: A row id in a path: a positive integer the database can hold (64-bit). A larger one is a 422 like
#: any other malformed id, not an overflow inside the driver (schemathesis found 2**76 giving a 500).
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]
