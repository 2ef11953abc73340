"""Who is calling the server: the Proctor API key (``auth: keys``) or, with auth off, the loopback default.

A Proctor key is read from, in order: ``X-Proctor-Key``; ``Authorization: Bearer pk-…`` (what the OpenAI
SDK sends as its ``api_key``); ``x-api-key`` (the Anthropic SDK); ``Authorization: Basic client_id:key``
(the AxonFlow SDK, whose ``client_secret`` is the key and ``client_id`` names the client). With auth on, the
provider key travels in ``X-Provider-Key`` only, so a Proctor key is never forwarded upstream.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from starlette.requests import Request

from proctor.identity import DEFAULT_TENANT


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated caller: tenant, client name, the key's agent and team aliases, admin rights."""

    tenant: str = DEFAULT_TENANT
    client: str | None = None
    agent: str | None = None
    team: str | None = None
    admin: bool = False
    key_id: str | None = None


class Unauthorized(Exception):
    """No valid key (401), or a key without the rights a route needs (403)."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


def basic_credentials(request: Request) -> tuple[str, str] | None:
    auth = request.headers.get("authorization", "")
    if auth[:6].lower() != "basic ":
        return None
    try:
        user, _, password = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def presented_key(request: Request) -> str | None:
    headers = request.headers
    key = headers.get("x-proctor-key")
    if key:
        return key.strip()
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    if headers.get("x-api-key"):
        return headers["x-api-key"].strip()
    basic = basic_credentials(request)
    return basic[1] if basic and basic[1] else None


def client_name(request: Request) -> str | None:
    """The client's own name: Basic auth user, else ``X-Client-ID``."""
    basic = basic_credentials(request)
    if basic and basic[0]:
        return basic[0]
    return request.headers.get("x-client-id") or None


def authenticate(request: Request, *, admin: bool = False) -> Caller:
    """The caller of ``request``; raises Unauthorized. ``admin=True`` for management routes.

    With auth off every caller is the default tenant's admin: auth off is for loopback (see
    ``proctor.config.check_exposure``).
    """
    state = request.app.state
    if state.settings.auth != "keys":
        return Caller(client=client_name(request), admin=True)
    text = presented_key(request)
    if not text:
        raise Unauthorized("A Proctor API key is required (auth: keys): send it as `Authorization: Bearer pk-…` "
                           "or `X-Proctor-Key`, and the provider key, if any, as `X-Provider-Key`.")
    key = state.governor.keys.resolve(text) if state.governor.keys is not None else None
    if key is None:
        raise Unauthorized("The Proctor API key is not valid (unknown or revoked).")
    if admin and not key.admin:
        raise Unauthorized("This route needs an admin key (`proctor keys create --admin`).", status=403)
    return Caller(tenant=key.tenant, client=client_name(request) or key.name or key.id, agent=key.agent,
                  team=key.team, admin=key.admin, key_id=key.id)


def provider_key(request: Request) -> str | None:
    """The caller's provider key: ``X-Provider-Key``; with auth off also ``Authorization: Bearer``."""
    key = request.headers.get("x-provider-key")
    if key:
        return key.strip()
    if request.app.state.settings.auth == "keys":
        return None
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return None
