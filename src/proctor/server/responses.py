"""JSON in and out of the server with orjson (3-10x faster than the standard library on chat bodies).

orjson refuses a few things the standard library takes: integers beyond 64 bits, lone surrogates, NaN. Those
rare bodies take the standard library, so the bytes on the wire never depend on which encoder ran, and
parse errors are still reported by the standard library, with their line and column.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from starlette.responses import JSONResponse


def dumps(value: Any) -> bytes:
    """Compact JSON, non-ASCII kept as UTF-8 (what Starlette's JSONResponse writes)."""
    try:
        return orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


def loads(raw: bytes) -> Any:
    """Parse JSON bytes; raises ValueError (the standard library's, with its position) when invalid."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw.decode("utf-8"))  # NaN, big integers, lone surrogates; or the real error


class FastJSONResponse(JSONResponse):
    """Starlette's JSONResponse, rendered with orjson."""

    def render(self, content: Any) -> bytes:
        return dumps(content)
