"""Gateway-mode contexts: what a pre-check decided, kept until the matching audit call arrives or it expires.

AxonFlow's gateway mode splits one governed call in two requests (pre-check, then audit of the LLM call
the client made itself); the context links them. Contexts live in the serving process, bounded in number
and time. (Sharing them through the store, for several replicas, comes with the approvals queue.)
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from proctor.decision import Decision
from proctor.identity import Identity

DEFAULT_TTL_S = 300.0
MAX_CONTEXTS = 100_000


@dataclass(frozen=True, slots=True)
class Context:
    """One pre-check: its id, the caller, the Decision and when it stops being accepted."""

    id: str
    identity: Identity
    decision: Decision
    decision_id: str
    prompt_sha256: str
    expires_at: float  # time.time() seconds


class ContextCache:
    """Thread-safe, bounded, expiring map of context id → Context (oldest dropped first when full)."""

    def __init__(self, ttl_s: float = DEFAULT_TTL_S, max_size: int = MAX_CONTEXTS) -> None:
        self.ttl_s = ttl_s
        self.max_size = max_size
        self._items: OrderedDict[str, Context] = OrderedDict()
        self._lock = threading.Lock()

    def create(self, identity: Identity, decision: Decision, decision_id: str, prompt_sha256: str) -> Context:
        ctx = Context(str(uuid.uuid4()), identity, decision, decision_id, prompt_sha256, time.time() + self.ttl_s)
        with self._lock:
            self._items[ctx.id] = ctx
            while len(self._items) > self.max_size:
                self._items.popitem(last=False)
        return ctx

    def take(self, context_id: str) -> Context | None:
        """The live context with this id, removed (each context is audited once), or None."""
        with self._lock:
            ctx = self._items.pop(context_id, None)
        if ctx is None or ctx.expires_at < time.time():
            return None
        return ctx
