"""python -m benchmarks.gateway.serve CLIENT ARGS...: ``proctor ARGS`` with its providers on upstream client CLIENT.

The benchmark's switch between upstream HTTP clients, kept out of Proctor itself: it swaps the providers'
``open_upstream`` before the CLI starts. CLIENT is one of ``CLIENTS`` that can be imported here.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib import import_module
from typing import Any

# name -> "module:class"; each class takes (provider name, base URL, timeout in seconds).
CLIENTS: dict[str, str] = {
    "aiohttp": "benchmarks.gateway.aiohttp_upstream:AiohttpUpstream",
    "http11": "proctor.providers.http11:Http11Upstream",
    "httpx": "proctor.providers.http11:HttpxUpstream",
}


def client_class(name: str) -> Callable[[str, str, float], Any]:
    """The upstream class for ``name``. Raises KeyError (unknown name) or ImportError (module gone)."""
    module, _, attr = CLIENTS[name].partition(":")
    return getattr(import_module(module), attr)  # type: ignore[no-any-return]


def available() -> list[str]:
    """The client names whose module can be imported in this checkout."""
    found = []
    for name in CLIENTS:
        try:
            client_class(name)
        except ImportError:
            continue
        found.append(name)
    return found


def use(name: str) -> None:
    """Point the built-in providers at client ``name``."""
    cls = client_class(name)

    def open_upstream(provider: str, base_url: str, timeout_s: float) -> Any:
        return cls(provider, base_url, timeout_s)

    for module in ("proctor.providers.openai", "proctor.providers.anthropic"):
        import_module(module).open_upstream = open_upstream  # type: ignore[attr-defined]


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in CLIENTS:
        raise SystemExit(f"usage: python -m benchmarks.gateway.serve {{{','.join(CLIENTS)}}} PROCTOR-ARGS...")
    use(argv[0])
    from proctor.cli import cli

    cli(args=argv[1:], prog_name="proctor")


if __name__ == "__main__":
    main(sys.argv[1:])
