"""The ``proctor`` command line: one group, one module per command family."""

from __future__ import annotations

import click

from proctor import __version__
from proctor.cli.approvals import approvals
from proctor.cli.check import check
from proctor.cli.keys import keys
from proctor.cli.options import CONTEXT
from proctor.cli.policy import policy
from proctor.cli.serve import serve


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, prog_name="proctor")
def cli() -> None:
    """Proctor: policy checks, redaction, approvals and a tamper-evident audit trail for LLM calls.

    \b
    Examples:
      proctor serve                                 # the OpenAI-compatible gateway on :8080
      proctor check "My SSN is 123-45-6789"        # one text, human-readable
      proctor check --jsonl prompts.jsonl           # a batch, one JSON result per line
      proctor policy list                           # the built-in packs and their policies
      proctor policy test tests/policies/           # run policy fixtures like unit tests
      proctor approvals list                        # calls held for a reviewer
      proctor keys create --tenant acme             # an API key, for `auth: keys`
    """


cli.add_command(approvals)
cli.add_command(check)
cli.add_command(keys)
cli.add_command(policy)
cli.add_command(serve)

try:  # the audit commands live with the audit package
    from proctor.cli.audit import audit
except ImportError:  # pragma: no cover - only while the audit package is absent
    pass
else:
    cli.add_command(audit)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="proctor")
