"""Who is calling: tenant, client, agent, session, user; resolved once per request."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_TENANT = "default"
DEFAULT_AGENT = "default"


@dataclass(frozen=True, slots=True)
class Identity:
    """The caller of one governed call; policies' ``when`` conditions match against it."""

    tenant: str = DEFAULT_TENANT
    client: str | None = None
    agent: str = DEFAULT_AGENT
    session: str | None = None
    user: str | None = None
    model: str | None = None
