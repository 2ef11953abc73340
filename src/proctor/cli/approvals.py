"""``proctor approvals``: the review queue from the command line (list, show, approve, reject)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

import click

from proctor.cli.options import CONTEXT, fail, settings_for
from proctor.errors import ProctorError

EXIT_CONFLICT = 1


@click.group("approvals", context_settings=CONTEXT)
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None, envvar="PROCTOR_CONFIG",
              metavar="FILE", help="proctor.yaml of the server whose queue to use: its storage, audit key and "
              "webhooks (env PROCTOR_CONFIG).")
@click.option("--store", "store_url", default=None, envvar="PROCTOR_STORAGE", metavar="URL",
              help="Store URL, overriding the config's (env PROCTOR_STORAGE). Default: sqlite:///./proctor.db.")
@click.pass_context
def approvals(ctx: click.Context, config_file: str | None, store_url: str | None) -> None:
    """Review the calls that `require_approval` policies held.

    A held call waits (X-Proctor-Wait-Approval), or is retried with X-Proctor-Approval-Id once approved, or
    (AxonFlow gateway mode) its LLM call is audited with the approval's context id. Each decision is final,
    written to the audit trail with the reviewer and comment, and sent to the configured webhooks.
    Requests that nobody decides expire (approvals.ttl_s) and are denied.

    \b
    Examples:
      proctor approvals list                          # pending requests, newest first
      proctor approvals list --status all --tenant acme --json
      proctor approvals show 0f16f620-85f3-4a7e-9c54-c0a6ea27ab9a
      proctor approvals approve 0f16f620-... --reviewer alice@example.com --comment "refund checked"
      proctor approvals reject 0f16f620-... --reviewer alice@example.com --comment "not our customer"
    """
    ctx.obj = settings_for(config_file, store_url)


class _CliAudit:
    """The audit sink of CLI commands: this host's CLI chain, opened on the first record.

    Reading the queue can move a request too (a pending request past its expiry is expired by whichever
    process reads it first, and recorded only by that one), so every command records; opening the chain
    only when a record comes keeps ``list`` and ``show`` from writing anything otherwise.
    """

    def __init__(self, settings: Any) -> None:
        self._settings = settings
        self._log: Any = None

    def open(self) -> None:
        if self._log is None:
            from proctor.audit import AuditLog

            self._log = AuditLog.open(self._settings.storage, key_file=self._settings.audit_key_file, sync=True,
                                      chain_id=f"cli-{socket.gethostname()}")

    def append(self, record: Any) -> None:
        self.open()
        self._log.append(record)

    def close(self) -> None:
        if self._log is not None:
            self._log.close()


@contextmanager
def _service(ctx: click.Context, *, deciding: bool = False) -> Iterator[Any]:
    """The Approvals service on the configured store. Every transition it makes (a decision, or an expiry
    found while reading) is recorded on this host's CLI chain and sent to the webhooks (delivered before
    the command exits). ``deciding`` commands open the chain first, and refuse to run when webhooks lack
    their secret, so that nothing is decided that could not be recorded and sent."""
    from proctor.approvals import Approvals
    from proctor.store import open_store
    from proctor.webhooks import WebhookSender

    settings = ctx.obj
    hooks = None
    try:
        store = open_store(settings.storage, must_exist=True)
    except ProctorError as exc:
        raise fail(str(exc)) from None
    audit_log = _CliAudit(settings)
    try:
        secret = settings.approvals.webhook_secret
        if deciding:
            audit_log.open()
            if settings.approvals.webhook_urls and not secret:
                raise fail(f"approvals.webhook_secret_env: the environment variable "
                           f"{settings.approvals.webhook_secret_env} is not set")
        hooks = WebhookSender(settings.approvals.webhook_urls, secret) if secret else None
        yield Approvals(store, ttl_s=settings.approvals.ttl_s, audit=audit_log, webhooks=hooks)
    except ProctorError as exc:
        raise fail(str(exc)) from None
    finally:
        if hooks is not None:
            hooks.close(timeout_s=30)
        audit_log.close()
        store.close()


def _when(moment: str | None) -> str:
    if not moment:
        return "-"
    return datetime.fromisoformat(moment).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


@approvals.command("list", context_settings=CONTEXT)
@click.option("--status", type=click.Choice(["pending", "approved", "rejected", "expired", "all"]),
              default="pending", show_default=True, help="Which requests to list.")
@click.option("--tenant", default=None, help="Only this tenant's requests. Default: every tenant.")
@click.option("--severity", type=click.Choice(["low", "medium", "high", "critical"]), default=None,
              help="Only requests of this severity.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True, help="At most this many.")
@click.option("--offset", type=click.IntRange(0), default=0, help="Skip this many (paging).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line instead of a table.")
@click.pass_context
def list_command(ctx: click.Context, status: str, tenant: str | None, severity: str | None, limit: int,
                 offset: int, as_json: bool) -> None:
    """List approval requests, newest first."""
    from proctor.approvals import ApprovalQuery

    with _service(ctx) as service:
        items, total = service.list(ApprovalQuery(tenant=tenant, status=None if status == "all" else status,
                                                  severity=severity, limit=limit, offset=offset))
    if as_json:
        for approval in items:
            click.echo(json.dumps(approval.to_public(), ensure_ascii=False))
        return
    if not items:
        click.echo(f"No {'' if status == 'all' else status + ' '}approval requests.", err=True)
        return
    click.echo(f"{'ID':36}  {'STATUS':8}  {'SEVERITY':8}  {'TENANT':12}  {'AGENT':14}  {'CREATED':20}  POLICIES")
    for a in items:
        view = a.to_public()
        click.echo(f"{a.id:36}  {view['status']:8}  {a.severity:8}  {a.tenant[:12]:12}  {a.agent[:14]:14}  "
                   f"{_when(view['created_at']):20}  {', '.join(a.policies)}")
    if total > offset + len(items):
        click.echo(f"({total} in all; --offset {offset + len(items)} for more)", err=True)


@approvals.command("show", context_settings=CONTEXT)
@click.argument("approval_id")
@click.option("--json", "as_json", is_flag=True, help="The request as one JSON object.")
@click.pass_context
def show(ctx: click.Context, approval_id: str, as_json: bool) -> None:
    """Show one approval request: what was held, why, and its decision."""
    from proctor.approvals import ApprovalError

    with _service(ctx) as service:
        try:
            view = service.get(approval_id).to_public()
        except ApprovalError as exc:
            raise fail(str(exc), EXIT_CONFLICT) from None
    if as_json:
        click.echo(json.dumps(view, ensure_ascii=False, indent=2))
        return
    rows = [("id", view["approval_id"]), ("status", view["status"]), ("severity", view["severity"]),
            ("tenant", view["tenant_id"]), ("client", view["client_id"] or "-"), ("agent", view["agent"]),
            ("user", view["user_id"] or "-"), ("session", view["session"] or "-"), ("model", view["model"] or "-"),
            ("policies", ", ".join(view["policies"]) or "-"), ("findings", ", ".join(view["finding_types"]) or "-"),
            ("reason", view["trigger_reason"]), ("created", _when(view["created_at"])),
            ("expires", _when(view["expires_at"])), ("decided", _when(view["reviewed_at"])),
            ("reviewer", view["reviewer_id"] or "-"), ("comment", view["review_comment"] or "-"),
            ("used", _when(view["used_at"]))]
    for name, value in rows:
        click.echo(f"{name + ':':10} {value}")
    click.echo("request (findings replaced by their types):")
    for line in (view["original_query"] or "").splitlines() or [""]:
        click.echo(f"  {line}")


def _decide_command(approve: bool) -> Any:
    verb = "approve" if approve else "reject"

    @click.command(verb, context_settings=CONTEXT)
    @click.argument("approval_id")
    @click.option("--reviewer", required=True, help="Who decides (id or e-mail); recorded in the audit trail.")
    @click.option("--email", default=None, help="The reviewer's e-mail, when --reviewer is an id.")
    @click.option("--role", default=None, help="The reviewer's role (e.g. compliance_officer).")
    @click.option("--comment", "-m", default=None, help="Why; recorded in the audit trail and sent to webhooks.")
    @click.pass_context
    def command(ctx: click.Context, approval_id: str, reviewer: str, email: str | None, role: str | None,
                comment: str | None) -> None:
        from proctor.approvals import ApprovalError

        with _service(ctx, deciding=True) as service:
            try:
                decided = service.decide(approval_id, approve=approve, reviewer_id=reviewer,
                                         reviewer_email=email or (reviewer if "@" in reviewer else None),
                                         reviewer_role=role, comment=comment,
                                         via=f"cli:{socket.gethostname()}")
            except ApprovalError as exc:
                raise fail(str(exc), EXIT_CONFLICT) from None
        click.echo(f"{decided.id}: {decided.status} by {reviewer}")

    command.__doc__ = f"{verb.capitalize()} a pending approval request (once; a decided or expired request " \
                      "cannot change). Exit 1 when it cannot be decided."
    return command


approvals.add_command(_decide_command(True))
approvals.add_command(_decide_command(False))
