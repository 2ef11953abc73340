"""Gateway-mode contexts: what a pre-check decided, kept until the matching audit call arrives or it expires.

AxonFlow's gateway mode splits one governed call in two requests (pre-check, then audit of the LLM call
the client made itself); the context links them. The second request may reach another process than the
first (``proctor serve --workers N``, replicas behind a load balancer, a keep-alive connection that timed
out during a slow LLM call), so a context id is self-contained: ``c1.<payload>.<mac>``, the URL-safe
base64 of what the audit record needs (caller, action, policies, finding types, decision id, prompt hash,
expiry) and an HMAC-SHA256 of it. Every process that holds the same secret accepts it: ``proctor serve
--workers N`` hands its workers one secret; separate replicas share ``PROCTOR_CONTEXT_SECRET``.

Each context is audited once per process (a local set of spent ids; across processes a replay within the
TTL would show up as a second record with the same ``context_id``). Contexts held for approval live in the
approvals store instead (see ``proctor.approvals``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from proctor.decision import Action, Decision
from proctor.findings import Finding
from proctor.identity import Identity

DEFAULT_TTL_S = 300.0
MAX_CONTEXTS = 100_000
SECRET_ENV = "PROCTOR_CONTEXT_SECRET"
_PREFIX = "c1."


@dataclass(frozen=True, slots=True)
class Context:
    """One pre-check: its id, the caller, the Decision and when it stops being accepted."""

    id: str
    identity: Identity
    decision: Decision
    decision_id: str
    prompt_sha256: str
    expires_at: float  # time.time() seconds


def context_secret() -> bytes:
    """The secret from ``PROCTOR_CONTEXT_SECRET``, else a new random one (contexts then stay in-process)."""
    configured = os.environ.get(SECRET_ENV)
    return configured.encode("utf-8") if configured else secrets.token_bytes(32)


class ContextCache:
    """Creates signed contexts and takes each back once; thread-safe, bounded and expiring."""

    def __init__(self, ttl_s: float = DEFAULT_TTL_S, max_size: int = MAX_CONTEXTS, secret: bytes | None = None) -> None:
        self.ttl_s = ttl_s
        self.max_size = max_size
        self._secret = secret or secrets.token_bytes(32)
        self._items: OrderedDict[str, Context] = OrderedDict()  # created here: no decoding needed
        self._spent: OrderedDict[str, float] = OrderedDict()  # taken here: refused a second time
        self._lock = threading.Lock()

    def create(self, identity: Identity, decision: Decision, decision_id: str, prompt_sha256: str) -> Context:
        expires = time.time() + self.ttl_s
        ctx = Context(self._encode(identity, decision, decision_id, prompt_sha256, expires), identity, decision,
                      decision_id, prompt_sha256, expires)
        with self._lock:
            self._items[ctx.id] = ctx
            while len(self._items) > self.max_size:
                self._items.popitem(last=False)
        return ctx

    def take(self, context_id: str) -> Context | None:
        """The live context with this id (made by any process sharing the secret), once; else None."""
        now = time.time()
        with self._lock:
            ctx = self._items.pop(context_id, None)
            if context_id in self._spent:
                return None
            self._spent[context_id] = now
            while len(self._spent) > self.max_size or (self._spent and next(iter(self._spent.values())) <
                                                       now - self.ttl_s):
                self._spent.popitem(last=False)
        if ctx is None:
            ctx = self._decode(context_id)
        if ctx is None or ctx.expires_at < now:
            return None
        return ctx

    # -- the token ------------------------------------------------------------------------------------------
    def _mac(self, payload: bytes) -> str:
        return _b64(hmac.new(self._secret, payload, hashlib.sha256).digest()[:20])

    def _encode(self, identity: Identity, decision: Decision, decision_id: str, prompt_sha256: str,
                expires: float) -> str:
        doc = {
            "n": uuid.uuid4().hex[:12],  # makes every id unique, even for identical pre-checks
            "i": [identity.tenant, identity.client, identity.agent, identity.session, identity.user, identity.model],
            "a": decision.action.value, "p": list(decision.policies), "f": [f.type for f in decision.findings],
            "d": decision_id, "h": prompt_sha256, "e": round(expires, 3),
        }
        payload = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return f"{_PREFIX}{_b64(payload)}.{self._mac(payload)}"

    def _decode(self, context_id: str) -> Context | None:
        if not context_id.startswith(_PREFIX) or len(context_id) > 8192:
            return None
        body, _, mac = context_id[len(_PREFIX):].partition(".")
        try:
            payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (ValueError, TypeError):
            return None
        if not hmac.compare_digest(mac, self._mac(payload)):
            return None
        doc = json.loads(payload)
        tenant, client, agent, session, user, model = doc["i"]
        identity = Identity(tenant=tenant, client=client, agent=agent, session=session, user=user, model=model)
        findings = tuple(Finding(t, 0, 0, 1.0) for t in doc["f"])
        decision = Decision(Action(doc["a"]), findings, tuple(doc["p"]), scope="input")
        return Context(context_id, identity, decision, doc["d"], doc["h"], float(doc["e"]))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
