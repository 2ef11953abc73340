"""Approval webhooks: a signed POST on every approval transition, retried with back-off.

Each delivery is ``POST <url>`` with a JSON body ``{"id", "event", "created_at", "data": <approval>}``
(``event``: ``approval.created``, ``approval.approved``, ``approval.rejected``, ``approval.expired``) and
headers:

- ``X-Proctor-Event``: the event name; ``X-Proctor-Delivery``: the delivery id (the same on every retry);
- ``X-Proctor-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``.

A receiver recomputes the HMAC over the timestamp and the raw body with the shared secret, compares in
constant time (see :func:`verify_signature`) and rejects old timestamps to stop replays. Deliveries run on a
background thread, never on the request path; a connection error, a 429 or a 5xx is retried with
exponential back-off (0.5 s, 1 s, 2 s, ... up to ``max_attempts``), other answers are final.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

log = logging.getLogger("proctor.webhooks")

SIGNATURE_HEADER = "X-Proctor-Signature"
DEFAULT_MAX_ATTEMPTS = 6
DEFAULT_BACKOFF_S = 0.5


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Proctor-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(secret: str, header: str, body: bytes, *, tolerance_s: float = 300.0,
                     now: float | None = None) -> bool:
    """True when ``header`` is a valid signature of ``body`` made within ``tolerance_s`` of ``now``."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_s:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))


class WebhookSender:
    """Delivers events to ``urls`` (and a per-event extra URL) from one background thread."""

    def __init__(self, urls: Sequence[str], secret: str, *, max_attempts: int = DEFAULT_MAX_ATTEMPTS,
                 backoff_s: float = DEFAULT_BACKOFF_S, timeout_s: float = 10.0) -> None:
        if not secret:
            raise ValueError("webhooks need a signing secret")
        self.urls = tuple(urls)
        self._secret = secret
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self._client = httpx.Client(timeout=timeout_s)
        self._queue: queue.Queue[tuple[str, bytes, str, str] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="proctor-webhooks", daemon=True)
        self._thread.start()
        self.delivered = 0
        self.failed = 0

    def send(self, event: str, data: Mapping[str, Any], *, extra_url: str | None = None) -> None:
        """Queue ``event`` for every configured URL and ``extra_url``; returns at once."""
        delivery = str(uuid.uuid4())
        body = json.dumps({"id": delivery, "event": event, "created_at": time.time(), "data": dict(data)},
                          ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        for url in (*self.urls, *((extra_url,) if extra_url and extra_url not in self.urls else ())):
            self._queue.put((url, body, event, delivery))

    def close(self, timeout_s: float = 10.0) -> None:
        """Deliver what is queued (waiting at most ``timeout_s``), then stop. Deliveries still under way
        after ``timeout_s`` go on in the background (until the process exits)."""
        self._queue.put(None)
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            log.warning("webhook deliveries still under way after %.1fs; they go on in the background", timeout_s)

    def _run(self) -> None:
        try:
            while True:
                item = self._queue.get()
                if item is None:
                    return
                self._deliver(*item)
        finally:  # closed here, not by close(): a delivery that outlives close()'s wait still has its client
            self._client.close()

    def _deliver(self, url: str, body: bytes, event: str, delivery: str) -> None:
        for attempt in range(1, self.max_attempts + 1):
            headers = {"content-type": "application/json", "x-proctor-event": event, "x-proctor-delivery": delivery,
                       SIGNATURE_HEADER: sign(self._secret, int(time.time()), body)}
            try:
                status = self._client.post(url, content=body, headers=headers).status_code
            except httpx.HTTPError as exc:
                status, why = 0, f"{type(exc).__name__}"
            else:
                why = f"HTTP {status}"
                if status < 300:
                    self.delivered += 1
                    return
                if status != 429 and status < 500:
                    break  # the receiver refused this delivery: retrying would not change its mind
            if attempt < self.max_attempts:
                delay = self.backoff_s * 2 ** (attempt - 1)
                log.warning("webhook %s to %s failed (%s); retry %d in %.1fs", event, url, why, attempt, delay)
                time.sleep(delay)
        self.failed += 1
        log.error("webhook %s to %s not delivered: %s", event, url, why)
