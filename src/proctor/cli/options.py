"""Options and error reporting shared by the CLI commands."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from proctor.errors import ProctorError
from proctor.governor import Governor
from proctor.policy import DEFAULT_POLICIES, PolicySet, load_policies

if TYPE_CHECKING:
    from proctor.config import Settings

F = TypeVar("F", bound=Callable[..., Any])

USAGE_ERROR = 2
# Every command sets these itself, so help looks the same whether it runs under `proctor` or on its own
# (click caches each command's help option from the first context it sees).
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def policy_option(f: F) -> F:
    return click.option(
        "--policy", "-p", "policies", multiple=True, metavar="FILE|DIR|builtin:NAME",
        help="Policy file, directory of policy files, or built-in pack; repeat to compose "
             "(the strictest action wins). Default: builtin:default.",
    )(f)


def fail(message: str, code: int = USAGE_ERROR) -> click.exceptions.Exit:
    """Print a one-line error to stderr; return the exit to raise (no traceback for the user)."""
    click.echo(f"proctor: error: {message}", err=True)
    return click.exceptions.Exit(code)


def load_policy_set(sources: Sequence[str]) -> PolicySet:
    try:
        return load_policies(*(sources or DEFAULT_POLICIES))
    except ProctorError as exc:
        raise fail(str(exc)) from None


def make_governor(sources: Sequence[str]) -> Governor:
    return Governor(load_policy_set(sources))


def settings_for(config_file: str | None, store_url: str | None) -> Settings:
    """Settings for the commands that work on a server's store: ``--config`` then ``--store`` (exit 2 on a bad
    config, naming the key)."""
    from dataclasses import replace

    from proctor.config import load_settings

    try:
        settings = load_settings(config_file, env={})
    except ProctorError as exc:
        raise fail(str(exc)) from None
    return replace(settings, storage=store_url) if store_url else settings
