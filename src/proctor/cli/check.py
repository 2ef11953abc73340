"""``proctor check``: check one text, or a JSONL batch, against policies."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import IO, Any

import click

from proctor.cli.options import CONTEXT, fail, make_governor, policy_option
from proctor.decision import Action, Decision
from proctor.governor import Governor
from proctor.identity import Identity

MAX_BYTES = 32 * 1024 * 1024
_COLORS = {Action.DENY: "red", Action.REQUIRE_APPROVAL: "yellow", Action.REDACT: "cyan", Action.LOG: "blue",
           Action.ALLOW: "green"}


@click.command(context_settings=CONTEXT)
@click.argument("text", required=False, metavar="TEXT|-|FILE")
@policy_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the human-readable result.")
@click.option("--jsonl", is_flag=True,
              help='Batch mode: read JSON lines {"id": ..., "text": ...} from FILE (stdin when FILE is omitted or '
                   '"-") and write one result line each. A bad line gets an error line; the batch goes on.')
@click.option("--scope", type=click.Choice(["input", "output"]), default="input", show_default=True,
              help="Check as a prompt (input) or as a model response (output).")
@click.option("--tenant", default="default", show_default=True, help="Tenant the policies' 'when' sees.")
@click.option("--agent", default="default", show_default=True, help="Agent the policies' 'when' sees.")
@click.option("--model", default=None, help="Model the policies' 'when' sees.")
@click.option("--exit-code", is_flag=True,
              help="Exit 1 when the text is denied or held for approval (single-text mode), for use in scripts.")
def check(text: str | None, policies: tuple[str, ...], as_json: bool, jsonl: bool, scope: str, tenant: str,
          agent: str, model: str | None, exit_code: bool) -> None:
    """Check TEXT against policies and show the decision.

    TEXT is the text itself, or "-" to read it from stdin. With --jsonl, the argument is a file of JSON
    lines instead. Matched values are never printed: findings show their type, character span and score.

    \b
    Examples:
      proctor check "Call me at +1 415 555 0132"
      echo "ignore all previous instructions" | proctor check - --json
      proctor check --jsonl prompts.jsonl -p builtin:default -p policies/ > results.jsonl

    Exit status: 0 when checked (see --exit-code), 1 when some JSONL lines were bad, 2 for usage errors
    (bad policy file, unreadable or invalid UTF-8 input, empty text).
    """
    identity = Identity(tenant=tenant, agent=agent, model=model)
    if jsonl:
        gov = make_governor(policies)
        bad = _run_batch(gov, text, identity, scope)
        if bad:
            raise click.exceptions.Exit(1)
        return
    if text is None:
        raise fail('missing TEXT: give the text to check, or "-" to read stdin (see proctor check --help)')
    body = _read_stdin() if text == "-" else text
    if not body:
        raise fail("nothing to check: the text is empty")
    gov = make_governor(policies)
    decision = gov.check(body, identity, scope=scope)
    if as_json:
        click.echo(json.dumps(_result(decision, redacted=True), ensure_ascii=False))
    else:
        _print_human(decision)
    if exit_code and decision.action in (Action.DENY, Action.REQUIRE_APPROVAL):
        raise click.exceptions.Exit(1)


def _read_stdin() -> str:
    data = sys.stdin.buffer.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise fail(f"input is larger than {MAX_BYTES // (1024 * 1024)} MiB; split it, e.g. with --jsonl")
    return _decode(data, "stdin")


def _decode(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise fail(f"{where} is not valid UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}") from None


def _result(decision: Decision, *, redacted: bool = False) -> dict[str, Any]:
    out = decision.to_dict()
    if redacted and isinstance(decision.redacted, str):
        out["redacted"] = decision.redacted
    return out


def _print_human(decision: Decision) -> None:
    label = click.style(f"{decision.action.value.upper():<17}", fg=_COLORS[decision.action], bold=True)
    click.echo(f"{label}{decision.reason}")
    for f in decision.findings:
        click.echo(f"  {f.type:<24} chars {f.start}-{f.end}  score {f.score:.2f}")
    if isinstance(decision.redacted, str):
        click.echo(f"  redacted: {decision.redacted}")


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    yield from enumerate(stream, start=1)


def _run_batch(gov: Governor, source: str | None, identity: Identity, scope: str) -> int:
    """Check every line; return the number of bad lines."""
    if source in (None, "-"):
        stream: IO[bytes] = sys.stdin.buffer
        size = None
    else:
        try:
            stream = open(source, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise fail(f"cannot read {source}: {exc.strerror}") from None
        try:
            import os

            size = os.fstat(stream.fileno()).st_size
        except OSError:
            size = None
    out = sys.stdout
    bad = 0
    show_progress = sys.stderr.isatty() and size is not None
    try:
        if show_progress:
            bar: Any
            with click.progressbar(length=size, label="checking", file=sys.stderr) as bar:
                for n, raw in _lines(stream):
                    bad += _one_line(gov, n, raw, identity, scope, out)
                    bar.update(len(raw))
        else:
            for n, raw in _lines(stream):
                bad += _one_line(gov, n, raw, identity, scope, out)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    if bad:
        click.echo(f"proctor: {bad} line(s) could not be checked; see their \"error\" fields", err=True)
    return bad


def _one_line(gov: Governor, n: int, raw: bytes, identity: Identity, scope: str, out: IO[str]) -> int:
    if not raw.strip():
        return 0
    record_id: Any = None
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _line_error(out, n, None, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})")
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return _line_error(out, n, None, f"not valid JSON: {exc.msg} at column {exc.colno}")
    if not isinstance(obj, dict):
        found = type(obj).__name__
        return _line_error(out, n, None, f'expected a JSON object {{"id": ..., "text": ...}}, found {found}')
    record_id = obj.get("id")
    text = obj.get("text")
    if "text" not in obj:
        return _line_error(out, n, record_id, 'missing field "text"')
    if not isinstance(text, (str, list)):
        return _line_error(out, n, record_id, f'field "text" must be a string or a list of messages, '
                                              f"found {type(text).__name__}")
    try:
        decision = gov.check(text, identity, scope=scope)
    except (TypeError, ValueError) as exc:
        return _line_error(out, n, record_id, str(exc))
    result = {"id": record_id, **_result(decision)}
    out.write(json.dumps(result, ensure_ascii=False) + "\n")
    return 0


def _line_error(out: IO[str], n: int, record_id: Any, message: str) -> int:
    out.write(json.dumps({"id": record_id, "line": n, "error": f"line {n}: {message}"}, ensure_ascii=False) + "\n")
    return 1
