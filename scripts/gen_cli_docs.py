"""Generate docs/cli.md from the CLI's own --help texts, so the reference cannot drift.

Run: python scripts/gen_cli_docs.py        (tests/test_docs.py fails when docs/cli.md is stale)
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from click.testing import CliRunner

from proctor.cli import cli

DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def _commands(group: click.Group, prefix: list[str]) -> list[list[str]]:
    out = [prefix]
    for name in sorted(group.commands):
        cmd = group.commands[name]
        if isinstance(cmd, click.Group):
            out.extend(_commands(cmd, [*prefix, name]))
        else:
            out.append([*prefix, name])
    return out


def render() -> str:
    parts = ["# CLI reference", "", "Generated from `--help` by `scripts/gen_cli_docs.py`; do not edit by hand.", ""]
    for path in _commands(cli, []):
        result = CliRunner().invoke(cli, [*path, "--help"], prog_name="proctor", terminal_width=100)
        title = " ".join(["proctor", *path])
        parts += [f"## `{title}`", "", "```text", result.output.rstrip(), "```", ""]
    return "\n".join(parts)


if __name__ == "__main__":
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(render(), "utf-8")
    print(f"wrote {DOC}", file=sys.stderr)
