"""``proctor keys``: API keys for ``auth: keys`` (create, list, revoke)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import click

from proctor.cli.options import CONTEXT, fail, settings_for
from proctor.errors import ProctorError

if TYPE_CHECKING:
    from proctor.keys import KeyRing
    from proctor.store import Store


@click.group("keys", context_settings=CONTEXT)
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None, envvar="PROCTOR_CONFIG",
              metavar="FILE", help="proctor.yaml of the server whose keys to manage: its storage is used "
              "(env PROCTOR_CONFIG).")
@click.option("--store", "store_url", default=None, envvar="PROCTOR_STORAGE", metavar="URL",
              help="Store URL, overriding the config's (env PROCTOR_STORAGE). Default: sqlite:///./proctor.db.")
@click.pass_context
def keys(ctx: click.Context, config_file: str | None, store_url: str | None) -> None:
    """Manage Proctor API keys. With `auth: keys` in proctor.yaml every call needs one.

    A key binds a tenant (whose approvals and audit records it sees, and no other's) and optionally an
    agent and a team, used as the agent name when a request names none (metadata.agent_name wins).
    Only the key's SHA-256 is stored: the key is printed once, at creation.

    \b
    Examples:
      proctor keys create --tenant acme --agent billing-bot
      proctor keys create --tenant acme --admin --name reviewers     # may decide approvals
      proctor keys list --tenant acme
      proctor keys revoke 3f9a0c12b4d1

    \b
    Using a key:
      OpenAI SDK:     OpenAI(base_url="http://proctor:8080/v1", api_key="pk-...",
                             default_headers={"X-Provider-Key": "<your OpenAI key>"})
      AxonFlow SDK:   AxonFlow(endpoint="http://proctor:8080", client_id="billing", client_secret="pk-...")
    """
    ctx.obj = settings_for(config_file, store_url)


def _ring(ctx: click.Context, *, must_exist: bool) -> tuple[Store, KeyRing]:
    from proctor.keys import KeyRing
    from proctor.store import open_store

    try:
        store = open_store(ctx.obj.storage, must_exist=must_exist)
    except ProctorError as exc:
        raise fail(str(exc)) from None
    return store, KeyRing(store)


@keys.command("create", context_settings=CONTEXT)
@click.option("--tenant", required=True, help="The tenant the key acts for.")
@click.option("--agent", default=None, help="Agent name for calls that name none.")
@click.option("--team", default=None, help="Team alias, the agent name when neither the call nor --agent give one.")
@click.option("--name", default=None, help="A label for people (shown by `keys list` and as the client).")
@click.option("--admin", is_flag=True, help="Also allow the management routes (approvals queue) of the tenant.")
@click.option("--json", "as_json", is_flag=True, help="Print {id, key, tenant, ...} as JSON.")
@click.pass_context
def create(ctx: click.Context, tenant: str, agent: str | None, team: str | None, name: str | None, admin: bool,
           as_json: bool) -> None:
    """Create a key and print it once (only its hash is stored)."""
    store, ring = _ring(ctx, must_exist=False)
    try:
        record, text = ring.create(tenant, agent=agent, team=team, name=name, admin=admin)
    except ProctorError as exc:
        raise fail(str(exc)) from None
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps({"id": record.id, "key": text, "tenant": record.tenant, "agent": record.agent,
                               "team": record.team, "name": record.name, "admin": record.admin}))
        return
    click.echo(text)
    click.echo(f"key {record.id} for tenant {record.tenant}{' (admin)' if admin else ''}: store it now, it is not "
               "shown again", err=True)


@keys.command("list", context_settings=CONTEXT)
@click.option("--tenant", default=None, help="Only this tenant's keys.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
def list_command(ctx: click.Context, tenant: str | None, as_json: bool) -> None:
    """List keys (ids and bindings; never the keys themselves)."""
    store, ring = _ring(ctx, must_exist=True)
    try:
        found = ring.list(tenant)
    except ProctorError as exc:
        raise fail(str(exc)) from None
    finally:
        store.close()
    for k in found:
        if as_json:
            click.echo(json.dumps({"id": k.id, "tenant": k.tenant, "agent": k.agent, "team": k.team, "name": k.name,
                                   "admin": k.admin, "created_at": k.created_at, "revoked_at": k.revoked_at}))
        else:
            created = datetime.fromtimestamp(k.created_at, timezone.utc).strftime("%Y-%m-%d %H:%M")
            state = "revoked" if k.revoked_at else ("admin" if k.admin else "active")
            click.echo(f"{k.id}  {state:7}  tenant={k.tenant}  agent={k.agent or '-'}  team={k.team or '-'}  "
                       f"name={k.name or '-'}  created={created}")
    if not found and not as_json:
        click.echo("No keys.", err=True)


@keys.command("revoke", context_settings=CONTEXT)
@click.argument("key_id")
@click.pass_context
def revoke(ctx: click.Context, key_id: str) -> None:
    """Revoke a key by id. Servers stop accepting it within 10 seconds. Exit 1 if no active key has the id."""
    store, ring = _ring(ctx, must_exist=True)
    try:
        done = ring.revoke(key_id)
    except ProctorError as exc:
        raise fail(str(exc)) from None
    finally:
        store.close()
    if not done:
        raise fail(f"no active key with id {key_id!r}", 1)
    click.echo(f"revoked {key_id}")
