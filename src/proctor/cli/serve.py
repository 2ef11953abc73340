"""``proctor serve``: run the HTTP gateway."""

from __future__ import annotations

import click

from proctor.cli.options import CONTEXT, fail
from proctor.errors import ProctorError


@click.command(context_settings=CONTEXT)
@click.option("--config", "-c", "config_file", type=click.Path(dir_okay=False), default=None,
              envvar="PROCTOR_CONFIG", show_envvar=True,
              help="YAML settings file (storage, policies, providers, failure_mode, server, audit, limits). "
                   "Default: embedded defaults.")
@click.option("--host", default=None, help="Listen address. Default: 127.0.0.1 (or server.host / PROCTOR_HOST).")
@click.option("--port", type=int, default=None, help="Listen port. Default: 8080 (or server.port / PROCTOR_PORT).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Server processes. Each runs its own Governor and writes its own audit chain (named after host "
                   "and process id); `proctor audit verify` checks them all.")
@click.option("--log-level", type=click.Choice(["critical", "error", "warning", "info", "debug"]), default="info",
              show_default=True, help="Server log level. Request bodies and keys are never logged.")
def serve(config_file: str | None, host: str | None, port: int | None, workers: int, log_level: str) -> None:
    """Run Proctor as an OpenAI-compatible gateway.

    With no config: SQLite audit store ./proctor.db (signing key beside it), builtin:default policies, the
    `echo` provider for models "echo" and "echo-*" (answers with the last user message; no key, no
    network), and OpenAI at its public URL for every other model, with the caller's key.

    \b
    Examples:
      proctor serve                                   # embedded defaults on http://127.0.0.1:8080
      proctor serve --config proctor.yaml --port 9000
      curl -s localhost:8080/v1/chat/completions -H 'content-type: application/json' \\
           -d '{"model": "echo", "messages": [{"role": "user", "content": "hi jane@example.com"}]}'

    Point an OpenAI SDK at it with base_url="http://127.0.0.1:8080/v1". Startup validates every setting and
    refuses a bad config with a message naming the key (exit 2).
    """
    from dataclasses import replace

    import uvicorn

    from proctor.config import load_settings
    from proctor.governor import Governor
    from proctor.server import create_app

    try:
        settings = load_settings(config_file)
        if host:
            settings = replace(settings, host=host)
        if port:
            settings = replace(settings, port=port)
        # Validate everything up front, in this process, so a bad setting fails here with its key named.
        governor = Governor.from_settings(settings, audit=None) if workers > 1 else Governor.from_settings(settings)
    except ProctorError as exc:
        raise fail(str(exc)) from None
    providers = "; ".join(f"{p.name} ({', '.join(p.models)})" for p in settings.providers)
    click.echo(f"Proctor listening on http://{settings.host}:{settings.port}  (OpenAI base_url: "
               f"http://{settings.host}:{settings.port}/v1)", err=True)
    click.echo(f"  policies: {', '.join(settings.policies)}\n  storage:  {settings.storage}\n"
               f"  providers: {providers}\n  failure_mode: {settings.failure_mode}", err=True)
    click.echo(f"  workers: {workers}\n  auth: {settings.auth}", err=True)
    if workers == 1:
        uvicorn.run(create_app(settings, governor), host=settings.host, port=settings.port, log_level=log_level,
                    access_log=False, server_header=False)
        return
    import os

    if config_file:
        os.environ["PROCTOR_CONFIG"] = config_file
    # One secret for every worker, so a gateway-mode context made by one is accepted by the others.
    import secrets

    from proctor.contexts import SECRET_ENV

    os.environ.setdefault(SECRET_ENV, secrets.token_urlsafe(32))
    os.environ["PROCTOR_HOST"], os.environ["PROCTOR_PORT"] = settings.host, str(settings.port)
    uvicorn.run("proctor.server.app:create_worker_app", factory=True, workers=workers, host=settings.host,
                port=settings.port, log_level=log_level, access_log=False, server_header=False)
