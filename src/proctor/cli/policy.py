"""``proctor policy``: validate, list and test policy files."""

from __future__ import annotations

from pathlib import Path

import click

from proctor.cli.options import CONTEXT, USAGE_ERROR, fail, load_policy_set
from proctor.errors import ProctorError
from proctor.policy import builtin_packs, load_policies
from proctor.policy.fixtures import FixtureError, run_fixture_dir


@click.group(context_settings=CONTEXT)
def policy() -> None:
    """Validate, list and test policy files.

    \b
    Examples:
      proctor policy validate policies/*.yaml
      proctor policy list -p builtin:default -p builtin:pci-dss
      proctor policy test tests/policies/
    """


@policy.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE|DIR|builtin:NAME...")
def validate(files: tuple[str, ...]) -> None:
    """Validate policy files; exit 0 when all are valid, 2 with the first error otherwise.

    Each file is checked on its own, so every bad file is reported; ids must also be unique across all
    the files given, as they would be when composed.
    """
    bad = 0
    for source in files:
        try:
            count = len(load_policies(source))
        except ProctorError as exc:
            click.echo(f"INVALID  {exc}", err=True)
            bad += 1
        else:
            click.echo(f"ok       {source}: {count} polic{'y' if count == 1 else 'ies'}")
    if not bad and len(files) > 1:
        load_policy_set(files)  # ids unique across the composed set
    if bad:
        raise click.exceptions.Exit(USAGE_ERROR)


@policy.command(name="list")
@click.option("--policy", "-p", "sources", multiple=True, metavar="FILE|DIR|builtin:NAME",
              help="Policy sources to list (repeatable). Default: every built-in pack.")
def list_(sources: tuple[str, ...]) -> None:
    """List policies: id, scope, action, what they match, and their description."""
    if not sources:
        click.echo(f"Built-in packs: {', '.join('builtin:' + p for p in builtin_packs())}\n")
        sources = tuple("builtin:" + p for p in builtin_packs())
    for source in sources:
        for p in load_policy_set([source]):
            matches = [*p.types]
            if p.patterns:
                matches.append(f"{len(p.patterns)} pattern(s)")
            if p.keywords:
                matches.append(f"{len(p.keywords)} keyword(s)")
            when = " ".join(f"{k}={','.join(v)}" for k, v in p.when)
            click.echo(f"{p.id:<32} {p.scope:<6} {p.action.value:<16} {', '.join(matches)}"
                       + (f"  [when {when}]" if when else ""))
            if p.description:
                click.echo(f"{'':<32} {p.description}")


@policy.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=True, path_type=Path))
@click.option("--policy", "-p", "sources", multiple=True, metavar="FILE|DIR|builtin:NAME",
              help="Policies to test when a fixture file names none. Default: the policy files in DIRECTORY, "
                   "else builtin:default.")
@click.option("--verbose", "-v", is_flag=True, help="Print every case, not only failures.")
def test(directory: Path, sources: tuple[str, ...], verbose: bool) -> None:
    """Run policy fixtures: inputs with the action (and optionally finding types) they must produce.

    A fixture file is YAML with a top-level 'cases' list, and optionally the 'policies' it tests
    (sources relative to the fixture file):

    \b
      policies: [builtin:default, ./refunds.yaml]
      cases:
        - name: SSN is denied
          input: "My SSN is 123-45-6789"       # or messages: [{role: user, content: ...}]
          expect: {action: deny, types: [pii.ssn], policies: [default-deny-high-risk-pii]}
        - name: a reply with a card is blocked
          input: "Your card 4111 1111 1111 1111 is on file"
          scope: output
          identity: {tenant: acme, agent: support-bot}
          expect: {action: deny}

    Exit 0 when every case passes, 1 when any fails, 2 when a fixture or policy file is invalid.
    """
    try:
        results = run_fixture_dir(directory, default_sources=sources)
    except (FixtureError, ProctorError) as exc:
        raise fail(str(exc)) from None
    failed = 0
    for r in results:
        if not r.passed:
            failed += 1
            click.echo(click.style("FAIL ", fg="red", bold=True) + f"{r.file}: {r.name}")
            for problem in r.problems:
                click.echo(f"     {problem}")
        elif verbose:
            click.echo(click.style("pass ", fg="green") + f"{r.file}: {r.name}")
    click.echo(f"{len(results) - failed} passed, {failed} failed")
    if failed:
        raise click.exceptions.Exit(1)
