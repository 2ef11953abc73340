"""Settings for ``proctor serve`` and the integrations: the YAML file, its defaults, and every PROCTOR_* variable.

Environment variables are read here, once, at start-up, and nowhere else:

=========================  ==========================================================================
``PROCTOR_CONFIG``         path of the YAML settings file (default: none, embedded defaults)
``PROCTOR_STORAGE``        store URL, overrides ``storage``
``PROCTOR_POLICIES``       comma-separated policy sources, overrides ``policies``
``PROCTOR_FAILURE_MODE``   ``open`` or ``closed``, overrides ``failure_mode``
``PROCTOR_HOST``           listen address, overrides ``server.host``
``PROCTOR_PORT``           listen port, overrides ``server.port``
``PROCTOR_AUTH``           ``off`` or ``keys``, overrides ``auth``
``PROCTOR_CONTEXT_SECRET`` secret that signs gateway-mode context ids, read by ``proctor.contexts``; give
                           replicas the same one (``serve --workers N`` sets one for its workers)
``PROCTOR_REQUIRE_SERVICES``  tests only: ``1`` turns "service missing" skips into failures
``XDG_CACHE_HOME``         where compiled Hyperscan databases are cached (default ``~/.cache``), read by
                           ``proctor.detect.scan``
``SSL_CERT_FILE``, ``SSL_CERT_DIR``  CA certificates for https upstreams (an internal CA), read by
                           ``proctor.providers.http11`` when a provider starts; default: certifi's bundle
``HTTP(S)_PROXY``, ``NO_PROXY``  upstreams reached through a proxy, read the same way
=========================  ==========================================================================

Provider keys named by ``providers[].api_key_env`` are read by the provider at start-up, and the webhook
secret named by ``approvals.webhook_secret_env`` when the approvals service starts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from proctor.errors import ConfigError
from proctor.providers import BUILTIN_PROVIDERS, ProviderConfig

FAILURE_MODES = ("open", "closed")
TOP_KEYS = ("storage", "policies", "providers", "failure_mode", "server", "audit", "limits", "auth", "approvals")
AUTH_MODES = ("off", "keys")
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
DEFAULT_PROVIDERS = (
    ProviderConfig(name="echo", kind="echo", models=("echo", "echo-*")),
    ProviderConfig(name="openai", kind="openai", base_url="https://api.openai.com/v1", api_key_env="OPENAI_API_KEY",
                   models=("*",)),
)


@dataclass(frozen=True, slots=True)
class Limits:
    """Request limits. ``stream_holdback_chars`` is how much streamed output is held back so a finding split
    across chunks is caught before the client sees it."""

    max_body_bytes: int = 4 * 1024 * 1024
    stream_holdback_chars: int = 256
    upstream_timeout_s: float = 60.0


@dataclass(frozen=True, slots=True)
class ApprovalSettings:
    """The approvals queue. ``ttl_s``: how long a request waits for a reviewer before it expires (and is
    denied). ``max_wait_s``: the longest ``X-Proctor-Wait-Approval`` a caller may ask for. ``webhook_urls``
    receive every transition, signed with the secret in the environment variable ``webhook_secret_env``;
    that secret is also needed for a request's own ``notify_url``."""

    ttl_s: float = 3600.0
    max_wait_s: float = 300.0
    webhook_urls: tuple[str, ...] = ()
    webhook_secret_env: str | None = None

    @property
    def webhook_secret(self) -> str | None:
        return os.environ.get(self.webhook_secret_env) if self.webhook_secret_env else None


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything ``proctor serve`` needs; defaults are the embedded, no-network set-up."""

    storage: str = "sqlite:///./proctor.db"
    policies: tuple[str, ...] = ("builtin:default",)
    providers: tuple[ProviderConfig, ...] = DEFAULT_PROVIDERS
    # Fail-closed is the safe default: when the audit store or a check fails, the call is refused.
    failure_mode: str = "closed"
    host: str = "127.0.0.1"
    port: int = 8080
    audit_key_file: str | None = None
    audit_sync: bool = False
    limits: Limits = field(default_factory=Limits)
    # "keys": every call needs a Proctor API key (``proctor keys create``). Off is allowed on loopback only,
    # unless ``auth: off`` is written explicitly.
    auth: str = "off"
    auth_explicit: bool = False
    approvals: ApprovalSettings = field(default_factory=ApprovalSettings)
    source: str = "defaults"


def _fail(source: str, key: str, expected: str, found: Any) -> ConfigError:
    return ConfigError(f"{source}: key {key!r}: expected {expected}; found {found!r}")


def _str_list(source: str, key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise _fail(source, key, "a non-empty list of strings", value)
    return tuple(value)


def _providers(source: str, value: Any) -> tuple[ProviderConfig, ...]:
    if not isinstance(value, list) or not value:
        raise _fail(source, "providers", "a non-empty list of {name, kind, base_url, api_key_env, models}", value)
    kinds = {name for name, _ in BUILTIN_PROVIDERS}
    out: list[ProviderConfig] = []
    for i, item in enumerate(value):
        key = f"providers[{i}]"
        if not isinstance(item, dict):
            raise _fail(source, key, "a mapping", item)
        unknown = set(item) - {"name", "kind", "base_url", "api_key_env", "models", "timeout_s"}
        if unknown:
            raise _fail(source, f"{key}.{sorted(unknown)[0]}", "one of name, kind, base_url, api_key_env, models, "
                        "timeout_s", sorted(unknown)[0])
        kind = item.get("kind")
        if not isinstance(kind, str) or not kind:
            raise _fail(source, f"{key}.kind", f"one of {', '.join(sorted(kinds))} (or an installed plugin)", kind)
        name = item.get("name", kind)
        if not isinstance(name, str):
            raise _fail(source, f"{key}.name", "a string", name)
        for opt in ("base_url", "api_key_env"):
            if item.get(opt) is not None and not isinstance(item[opt], str):
                raise _fail(source, f"{key}.{opt}", "a string", item[opt])
        base_url = item.get("base_url")
        if base_url is not None and not base_url.startswith(("http://", "https://")):
            raise _fail(source, f"{key}.base_url", "an http:// or https:// URL", base_url)
        timeout = item.get("timeout_s", 60.0)
        if not isinstance(timeout, (int, float)) or timeout <= 0:
            raise _fail(source, f"{key}.timeout_s", "a positive number of seconds", timeout)
        models = _str_list(source, f"{key}.models", item.get("models", ["*"]))
        out.append(ProviderConfig(name=name, kind=kind, base_url=base_url, api_key_env=item.get("api_key_env"),
                                  models=models, timeout_s=float(timeout)))
    names = [p.name for p in out]
    if len(names) != len(set(names)):
        raise _fail(source, "providers", "unique provider names", names)
    return tuple(out)


def _apply(settings: Settings, data: Mapping[str, Any], source: str) -> Settings:
    unknown = [k for k in data if k not in TOP_KEYS]
    if unknown:
        raise _fail(source, unknown[0], f"one of {', '.join(TOP_KEYS)}", unknown[0])
    changes: dict[str, Any] = {}
    if "storage" in data:
        url = data["storage"]
        if not isinstance(url, str) or not url.startswith(("sqlite://", "postgresql://", "postgres://")):
            raise _fail(source, "storage", "a URL such as sqlite:///./proctor.db or postgresql://host/db", url)
        changes["storage"] = url
    if "policies" in data:
        changes["policies"] = _str_list(source, "policies", data["policies"])
    if "providers" in data:
        changes["providers"] = _providers(source, data["providers"])
    if "failure_mode" in data:
        if data["failure_mode"] not in FAILURE_MODES:
            raise _fail(source, "failure_mode", "open or closed", data["failure_mode"])
        changes["failure_mode"] = data["failure_mode"]
    server = data.get("server") or {}
    if not isinstance(server, dict) or set(server) - {"host", "port"}:
        raise _fail(source, "server", "a mapping with host and port", server)
    if "host" in server:
        changes["host"] = str(server["host"])
    if "port" in server:
        changes["port"] = _port(source, "server.port", server["port"])
    audit = data.get("audit") or {}
    if not isinstance(audit, dict) or set(audit) - {"key_file", "sync"}:
        raise _fail(source, "audit", "a mapping with key_file and sync", audit)
    if "key_file" in audit:
        changes["audit_key_file"] = str(audit["key_file"])
    if "sync" in audit:
        if not isinstance(audit["sync"], bool):
            raise _fail(source, "audit.sync", "true or false", audit["sync"])
        changes["audit_sync"] = audit["sync"]
    limits = data.get("limits") or {}
    if not isinstance(limits, dict):
        raise _fail(source, "limits", "a mapping", limits)
    lim = settings.limits
    for key, value in limits.items():
        if key not in Limits.__dataclass_fields__:
            raise _fail(source, f"limits.{key}", f"one of {', '.join(Limits.__dataclass_fields__)}", key)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise _fail(source, f"limits.{key}", "a positive number", value)
        lim = replace(lim, **{key: type(getattr(lim, key))(value)})
    changes["limits"] = lim
    if "auth" in data:
        auth = "off" if data["auth"] is False else data["auth"]  # YAML reads a bare `off` as false
        if auth not in AUTH_MODES:
            raise _fail(source, "auth", "off or keys", data["auth"])
        changes["auth"], changes["auth_explicit"] = auth, True
    if "approvals" in data:
        changes["approvals"] = _approvals(source, data["approvals"])
    return replace(settings, **changes)


def _approvals(source: str, value: Any) -> ApprovalSettings:
    keys = ("ttl_s", "max_wait_s", "webhook_urls", "webhook_secret_env")
    if not isinstance(value, dict) or set(value) - set(keys):
        raise _fail(source, "approvals", f"a mapping with some of {', '.join(keys)}", value)
    out = ApprovalSettings()
    for key in ("ttl_s", "max_wait_s"):
        if key in value:
            v = value[key]
            if not isinstance(v, (int, float)) or isinstance(v, bool) or v <= 0:
                raise _fail(source, f"approvals.{key}", "a positive number of seconds", v)
            out = replace(out, ttl_s=float(v)) if key == "ttl_s" else replace(out, max_wait_s=float(v))
    if "webhook_urls" in value:
        urls = _str_list(source, "approvals.webhook_urls", value["webhook_urls"])
        bad = [u for u in urls if not u.startswith(("http://", "https://"))]
        if bad:
            raise _fail(source, "approvals.webhook_urls", "http:// or https:// URLs", bad[0])
        out = replace(out, webhook_urls=urls)
    if "webhook_secret_env" in value:
        name = value["webhook_secret_env"]
        if not isinstance(name, str) or not name:
            raise _fail(source, "approvals.webhook_secret_env", "the name of an environment variable", name)
        out = replace(out, webhook_secret_env=name)
    if out.webhook_urls and not out.webhook_secret_env:
        raise _fail(source, "approvals.webhook_secret_env", "the environment variable holding the webhook "
                    "signing secret (webhooks are always signed)", None)
    return out


def check_exposure(settings: Settings) -> None:
    """Refuse to serve without authentication beyond loopback unless the config says ``auth: off``."""
    if settings.auth == "off" and not settings.auth_explicit and settings.host not in LOOPBACK_HOSTS:
        raise ConfigError(f"{settings.source}: key 'auth': listening on {settings.host} without authentication; "
                          "set `auth: keys` (and create keys with `proctor keys create`), or write `auth: off` "
                          "to serve this address without authentication on purpose")
    if settings.approvals.webhook_secret_env and not settings.approvals.webhook_secret:
        raise ConfigError(f"{settings.source}: key 'approvals.webhook_secret_env': the environment variable "
                          f"{settings.approvals.webhook_secret_env} is not set")


def _port(source: str, key: str, value: Any) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise _fail(source, key, "a port number 1-65535", value) from None
    if not 0 < port < 65536:
        raise _fail(source, key, "a port number 1-65535", value)
    return port


def load_settings(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Defaults, then the YAML file (``path`` or ``PROCTOR_CONFIG``), then ``PROCTOR_*`` variables."""
    env = os.environ if env is None else env
    settings = Settings()
    path = path or env.get("PROCTOR_CONFIG") or None
    if path is not None:
        p = Path(path)
        try:
            data = yaml.safe_load(p.read_text("utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {str(p)!r} not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {str(p)!r} cannot be read: {exc}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {str(p)!r} is not valid YAML: {exc}") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"config file {str(p)!r}: expected a mapping of settings; found {type(data).__name__}")
        settings = replace(_apply(settings, data, str(p)), source=str(p))
    overrides: dict[str, Any] = {}
    if env.get("PROCTOR_STORAGE"):
        overrides["storage"] = env["PROCTOR_STORAGE"]
    if env.get("PROCTOR_POLICIES"):
        overrides["policies"] = [s.strip() for s in env["PROCTOR_POLICIES"].split(",") if s.strip()]
    if env.get("PROCTOR_FAILURE_MODE"):
        overrides["failure_mode"] = env["PROCTOR_FAILURE_MODE"]
    if env.get("PROCTOR_AUTH"):
        overrides["auth"] = env["PROCTOR_AUTH"]
    server: dict[str, Any] = {}
    if env.get("PROCTOR_HOST"):
        server["host"] = env["PROCTOR_HOST"]
    if env.get("PROCTOR_PORT"):
        server["port"] = env["PROCTOR_PORT"]
    if server:
        overrides["server"] = server
    if overrides:
        settings = _apply(settings, overrides, "environment (PROCTOR_*)")
    return settings
