"""The HTTP face of the Governor: OpenAI-compatible routes (and, later, gateway and admin routes)."""

from proctor.server.app import create_app

__all__ = ["create_app"]
