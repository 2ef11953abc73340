"""Error bodies in the caller's API shape, with stable codes."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse


def openai_error(status: int, message: str, *, type: str = "invalid_request_error", code: str | None = None,
                 param: str | None = None, headers: dict[str, str] | None = None,
                 extra: dict[str, Any] | None = None) -> JSONResponse:
    """OpenAI's error envelope: the official SDK maps the status to its exception classes. ``extra`` adds
    Proctor's own fields (e.g. ``approval_id``) beside the standard four."""
    body: dict[str, Any] = {"error": {"message": message, "type": type, "code": code, "param": param, **(extra or {})}}
    return JSONResponse(body, status_code=status, headers=headers)
