"""The ``proctor audit`` commands: verify, export, pubkey, tail and query."""

from __future__ import annotations

import functools
import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import IO, Any, TypeVar

import click

from proctor.audit import keys as keymod
from proctor.audit.export import ExportFilter, ExportSummary, export_jsonl
from proctor.audit.record import AuditRecord, format_time
from proctor.audit.verify import VerifySummary, verify
from proctor.cli.options import CONTEXT
from proctor.errors import AuditIntegrityError, ProctorError
from proctor.store import AuditQuery, SealedRow, Store, open_store

DEFAULT_STORE = "sqlite:///./proctor.db"
EXIT_BROKEN = 1
EXIT_ERROR = 2
_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
F = TypeVar("F", bound=Callable[..., Any])


def _handled(command: F) -> F:
    """Turn Proctor errors into a one-line message and an exit code; never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except AuditIntegrityError as exc:
            click.echo(f"proctor: verify FAILED: {exc}", err=True)
            raise click.exceptions.Exit(EXIT_BROKEN) from None
        except ProctorError as exc:
            click.echo(f"proctor: error: {exc}", err=True)
            raise click.exceptions.Exit(EXIT_ERROR) from None
        except OSError as exc:
            click.echo(f"proctor: error: {exc.filename or ''}: {exc.strerror or exc}", err=True)
            raise click.exceptions.Exit(EXIT_ERROR) from None

    return wrapper  # type: ignore[return-value]


class _Settings:
    def __init__(self, store: str, key_file: str | None) -> None:
        self.store = store
        self._key_file = key_file

    @property
    def key_file(self) -> str:
        return self._key_file or str(keymod.default_key_path(self.store))


def _override(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """Let --store/--key-file/--config also follow the subcommand (proctor audit verify --store URL)."""
    if value is None:
        return
    settings = ctx.find_object(_Settings)
    if settings is None:  # pragma: no cover - the group always sets it
        return
    if param.name == "sub_store":
        settings.store = value
    elif param.name == "sub_key_file":
        settings._key_file = value
    elif param.name == "sub_config":
        configured = _from_config(value)
        settings.store, settings._key_file = configured.storage, configured.audit_key_file or settings._key_file


def _store_options(command: F) -> F:
    for option in (
        click.option("--key-file", "sub_key_file", default=None, metavar="PATH", expose_value=False,
                     callback=_override, help="Signing key file (also accepted before the subcommand)."),
        click.option("--store", "sub_store", default=None, metavar="URL", expose_value=False, callback=_override,
                     help="Audit store URL (also accepted before the subcommand)."),
        click.option("--config", "sub_config", default=None, metavar="FILE", expose_value=False, is_eager=True,
                     callback=_override, help="proctor.yaml whose storage to use (also accepted before the "
                     "subcommand)."),
    ):
        command = option(command)
    return command


def _from_config(path: str) -> Any:
    from proctor.config import load_settings
    from proctor.errors import ConfigError

    try:
        return load_settings(path, env={})
    except ConfigError as exc:
        click.echo(f"proctor: error: {exc}", err=True)
        raise click.exceptions.Exit(2) from None


@click.group("audit", context_settings=CONTEXT)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    default=None,
    envvar="PROCTOR_CONFIG",
    metavar="FILE",
    help="proctor.yaml of the server whose trail to read: its `storage` and `audit.key_file` are used unless "
    "--store / --key-file are given (env PROCTOR_CONFIG).",
)
@click.option(
    "--store",
    "store_url",
    envvar="PROCTOR_STORAGE",
    default=DEFAULT_STORE,
    show_default=True,
    metavar="URL",
    help="Audit store: sqlite:///PATH or postgresql://USER@HOST/DB (env PROCTOR_STORAGE).",
)
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="PATH",
    help="Ed25519 signing key. Default: proctor-signing.key beside the SQLite file, else "
    "./proctor-signing.key.",
)
@click.pass_context
def audit(ctx: click.Context, config_file: str | None, store_url: str, key_file: str | None) -> None:
    """Verify, export and read the tamper-evident audit trail.

    \b
    Examples:
      proctor audit verify                                  # ./proctor.db, the default store
      proctor audit --config proctor.yaml verify
      proctor audit export --format jsonl -o trail.jsonl --since 7d
      proctor audit query --agent billing-bot --action deny
    """
    if config_file:
        settings = _from_config(config_file)
        if ctx.get_parameter_source("store_url") in (click.core.ParameterSource.DEFAULT, None):
            store_url = settings.storage
        key_file = key_file or settings.audit_key_file
    ctx.obj = _Settings(store_url, key_file)


@audit.command("verify")
@click.option(
    "--file",
    "export_file",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="EXPORT",
    help="Verify a JSONL export instead of the store.",
)
@click.option(
    "--pubkey",
    "pubkeys",
    multiple=True,
    metavar="HEX",
    help="Trusted Ed25519 public key (repeatable). Default: the key file's public key.",
)
@click.option("--chain", "chain_id", default=None, metavar="ID", help="Verify only this chain.")
@click.option(
    "--partial",
    is_flag=True,
    help="With --file: accept chains that start mid-way (an export made with --since).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@_store_options
@click.pass_obj
@_handled
def verify_command(
    settings: _Settings,
    export_file: str | None,
    pubkeys: tuple[str, ...],
    chain_id: str | None,
    partial: bool,
    as_json: bool,
) -> None:
    """Prove the audit chains intact, or name the first bad record.

    Exit 0 when intact; 1 with the first bad record's chain, seq, id and problem (hash, signature, link,
    gap, order, format); 2 when verification could not run (missing key, unreadable store).

    Example: proctor audit verify --file audit.jsonl --pubkey 3b6a…
    """
    keys = list(pubkeys) or None
    if export_file is not None:
        summary = verify(
            export_file, public_keys=keys, key_file=None if keys else settings.key_file, partial=partial
        )
    else:
        summary = verify(
            settings.store, public_keys=keys, key_file=None if keys else settings.key_file, chain_id=chain_id
        )
    _print_summary(summary, as_json)


def _print_summary(summary: VerifySummary, as_json: bool) -> None:
    if as_json:
        click.echo(
            json.dumps(
                {
                    "ok": True,
                    "records": summary.records,
                    "chains": dict(summary.chains),
                    "signatures": summary.signatures,
                    "keys": list(summary.keys),
                    "seconds": round(summary.seconds, 3),
                }
            )
        )
        return
    rate = (
        f", {summary.records / summary.seconds:,.0f} records/s"
        if summary.seconds > 0 and summary.records
        else ""
    )
    chains = ", ".join(f"{c} (last seq {s})" for c, s in sorted(summary.chains.items())) or "no chains"
    click.echo(
        f"OK: {summary.records:,} records intact in {len(summary.chains)} chain(s): {chains}; "
        f"{summary.signatures:,} signatures checked{rate}"
    )


@audit.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "cps"]),
    default="jsonl",
    show_default=True,
    help="jsonl: one record per line (the records' JSON form); cps: a Capsule Protocol chain "
    "(needs proctor[capsule]).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, allow_dash=True),
    default="-",
    show_default=True,
    metavar="FILE",
    help="Where to write; - is stdout.",
)
@click.option(
    "--since",
    default=None,
    metavar="TIME",
    help="Only records at or after TIME (ISO date/time, or relative: 30m, 2h, 7d).",
)
@click.option("--until", default=None, metavar="TIME", help="Only records before TIME.")
@click.option("--chain", "chain_id", default=None, metavar="ID", help="Only this chain.")
@click.option(
    "--tenant", default=None, help="Only this tenant (the export then has gaps and cannot verify alone)."
)
@click.option("--agent", default=None, help="Only this agent (gaps, as --tenant).")
@click.option("--session", default=None, help="Only this session (gaps, as --tenant).")
@click.option("--action", default=None, help="Only this action (gaps, as --tenant).")
@click.option("--model", default=None, help="Only this model (gaps, as --tenant).")
@click.option("--policy", default=None, help="Only records that matched this policy id (gaps, as --tenant).")
@_store_options
@click.pass_obj
@_handled
def export_command(
    settings: _Settings,
    fmt: str,
    output: str,
    since: str | None,
    until: str | None,
    chain_id: str | None,
    tenant: str | None,
    agent: str | None,
    session: str | None,
    action: str | None,
    model: str | None,
    policy: str | None,
) -> None:
    """Export audit records as JSONL or as a CPS chain, streamed.

    Example: proctor audit export --format cps -o chain.json --since 7d
    then:    capsule verify chain.json --full --pubkey $(proctor audit pubkey)
    """
    selection = ExportFilter(
        since=_time(since, "--since"),
        until=_time(until, "--until"),
        tenant=tenant,
        agent=agent,
        session=session,
        action=action,
        model=model,
        policy=policy,
        chain_id=chain_id,
    )
    store = open_store(settings.store, must_exist=True)
    try:
        total = sum(head.seq + 1 for head in store.audit_heads().values())
        with _progress(output, total) as tick:
            target: IO[str] | str = sys.stdout if output == "-" else output
            summary: ExportSummary
            if fmt == "cps":
                from proctor.audit.cps import export_cps

                summary = export_cps(
                    store, target, key_file=settings.key_file, selection=selection, progress=tick
                )
            else:
                summary = export_jsonl(store, target, selection, progress=tick)
    finally:
        store.close()
    where = "stdout" if output == "-" else output
    click.echo(
        f"exported {summary.records:,} record(s) from {len(summary.chains)} chain(s) to {where}", err=True
    )
    if summary.gaps:
        click.echo(
            "note: filtered by tenant/agent/session/action/model/policy: this export has gaps and does "
            "not verify on its own",
            err=True,
        )
    if fmt == "cps" and summary.records:
        click.echo(
            f"verify with: capsule verify {where} --full --pubkey "
            f"{keymod.read_public_key(settings.key_file)}",
            err=True,
        )


@contextmanager
def _progress(output: str, total: int) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr when writing to a file from a terminal (at most ``total`` records)."""
    if output == "-" or not sys.stderr.isatty() or total <= 0:
        yield None
        return
    with click.progressbar(length=total, label="exporting", file=sys.stderr, show_pos=True) as bar:
        yield bar.update


@audit.command("pubkey")
@click.option("--create", is_flag=True, help="Create the signing key when it does not exist yet.")
@_store_options
@click.pass_obj
@_handled
def pubkey_command(settings: _Settings, create: bool) -> None:
    """Print the hex Ed25519 public key that signs the audit chain (what verifiers trust).

    Example: proctor audit pubkey > proctor-audit.pub
    """
    if create:
        click.echo(keymod.load_or_create_key(settings.key_file).public_key_hex)
    else:
        click.echo(keymod.read_public_key(settings.key_file))


_FILTERS = [
    click.option("--tenant", default=None, help="Only this tenant."),
    click.option("--agent", default=None, help="Only this agent."),
    click.option("--session", default=None, help="Only this session."),
    click.option("--user", default=None, help="Only this end user."),
    click.option(
        "--action",
        default=None,
        type=click.Choice(["allow", "log", "redact", "require_approval", "deny"]),
        help="Only this action.",
    ),
    click.option("--policy", default=None, help="Only records that matched this policy id."),
    click.option("--model", default=None, help="Only this model."),
    click.option("--since", default=None, metavar="TIME", help="At or after TIME (ISO, or 30m, 2h, 7d)."),
    click.option("--until", default=None, metavar="TIME", help="Before TIME."),
    click.option(
        "--all-kinds", is_flag=True, help="Also show the chain's own genesis and key hand-over records."
    ),
    click.option("--json", "as_json", is_flag=True, help="One JSON-form record per line instead of a table."),
]


def _filters(command: F) -> F:
    for option in reversed(_FILTERS):
        command = option(command)
    return command


def _query(filters: dict[str, Any], limit: int) -> AuditQuery:
    return AuditQuery(
        tenant=filters["tenant"],
        agent=filters["agent"],
        session=filters["session"],
        user=filters["user"],
        action=filters["action"],
        policy=filters["policy"],
        model=filters["model"],
        since=_time(filters["since"], "--since"),
        until=_time(filters["until"], "--until"),
        kind=None if filters["all_kinds"] else "call",
        order="newest",
        limit=limit,
    )


@audit.command("tail")
@click.option("-n", "--lines", "count", default=20, show_default=True, help="How many of the newest records.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new records (Ctrl-C to stop).")
@_filters
@_store_options
@click.pass_obj
@_handled
def tail_command(settings: _Settings, /, count: int, follow: bool, **filters: Any) -> None:
    """Show the newest audit records, oldest first.

    Example: proctor audit tail -n 50 --tenant acme --follow
    """
    store = open_store(settings.store, must_exist=True)
    try:
        seen = {chain: head.seq for chain, head in store.audit_heads().items()}
        query = _query(filters, count)
        _print_rows(list(reversed(store.read_audit(query))), filters["as_json"], header=True)
        while follow:
            time.sleep(1.0)
            for chain, head in sorted(store.audit_heads().items()):
                last = seen.get(chain, -1)
                if head.seq > last:  # what each chain gained since the last look, in chain order
                    fresh = replace(
                        query, chain_id=chain, after=(chain, last), order="chain", limit=head.seq - last
                    )
                    _print_rows(store.read_audit(fresh), filters["as_json"], header=False)
                    seen[chain] = head.seq
    except KeyboardInterrupt:
        pass
    finally:
        store.close()


@audit.command("query")
@click.option("--limit", default=100, show_default=True, help="At most this many records (newest first).")
@_filters
@_store_options
@click.pass_obj
@_handled
def query_command(settings: _Settings, /, limit: int, **filters: Any) -> None:
    """Find audit records by tenant, agent, session, user, action, policy, model and time.

    Example: proctor audit query --action deny --since 24h --json
    """
    store: Store = open_store(settings.store, must_exist=True)
    try:
        rows = store.read_audit(_query(filters, limit))
    finally:
        store.close()
    _print_rows(rows, filters["as_json"], header=True)
    if not filters["as_json"]:
        click.echo(f"{len(rows)} record(s)", err=True)


_COLUMNS = (
    ("time", 19),
    ("seq", 7),
    ("tenant", 12),
    ("agent", 14),
    ("action", 8),
    ("status", 8),
    ("model", 18),
    ("tokens", 11),
    ("cost_usd", 10),
    ("ms", 7),
    ("policies / findings", 0),
)


def _print_rows(rows: list[SealedRow], as_json: bool, *, header: bool) -> None:
    if as_json:
        for row in rows:
            record = AuditRecord.from_json(row.doc).with_chain(
                chain_id=row.chain_id,
                seq=row.seq,
                prev_hash=row.prev_hash,
                prev_signed=row.prev_signed,
                hash=row.hash,
                signature=row.signature,
            )
            click.echo(record.to_json())
        return
    if header:
        click.echo(" ".join(name.ljust(width) for name, width in _COLUMNS).rstrip())
    for row in rows:
        r = AuditRecord.from_json(row.doc)
        tokens = f"{_dash(r.tokens_in)}/{_dash(r.tokens_out)}"
        cost = "-" if r.cost_usd is None else f"{r.cost_usd:.6f}"
        latency = "-" if r.latency_ms is None else f"{r.latency_ms:.0f}"
        found = ",".join(f"{k}x{v}" for k, v in r.findings)
        extra = " ".join(p for p in (",".join(r.policies), found) if p) or (
            r.kind if r.kind != "call" else ""
        )
        cells = (
            format_time(r.time)[:19].replace("T", " "),
            str(row.seq),
            r.tenant,
            r.agent,
            r.action,
            r.status,
            r.model or "-",
            tokens,
            cost,
            latency,
            extra,
        )
        click.echo(" ".join(_fit(v, w) for v, (_, w) in zip(cells, _COLUMNS, strict=True)).rstrip())


def _dash(value: int | None) -> str:
    return "-" if value is None else str(value)


def _fit(value: str, width: int) -> str:
    if not width:
        return value
    return value.ljust(width) if len(value) <= width else value[: width - 1] + "…"


def _time(value: str | None, option: str) -> str | None:
    """A --since/--until value as a record-time string (UTC)."""
    if value is None:
        return None
    text = value.strip()
    relative = _RELATIVE.match(text)
    if relative:
        delta = timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
        return format_time(datetime.now(timezone.utc) - delta)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"expected an ISO date/time (2025-01-31, 2025-01-31T12:00Z) or a relative "
            f"time (30m, 2h, 7d); found {value!r}",
            param_hint=option,
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return format_time(moment)


__all__ = ["audit"]
