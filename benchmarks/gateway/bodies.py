"""The request bodies the benchmark posts: a ~1 KB support chat, and the same chat with a ~32 KB document.

Both are benign (no finding under ``builtin:default``), so every gateway forwards every request and the
numbers measure forwarding with the checks, not early refusals.
"""

from __future__ import annotations

import json

from benchmarks.gateway.upstream import CHAT_MODEL, STREAM_MODEL
from benchmarks.speed.inputs import benign_text

KB = 1024

_SYSTEM = (
    "You are a support assistant for an online shop. Answer in two or three short paragraphs, be polite, "
    "and never promise a refund the policy does not allow. Use the order history when it is given."
)
_USER = (
    "Hello, I ordered a standing desk three weeks ago and the tracking page still says the parcel is in "
    "transit. The confirmation email said delivery would take five working days. I have already checked "
    "with my neighbours and the building reception, and nobody has received anything for me. Could you "
    "tell me where the parcel is now, whether it might be lost, and what my options are if it does not "
    "arrive by the end of next week? I would prefer a replacement over a refund, since I still need the "
    "desk for my home office. Also, the invoice lists the delivery fee twice, which looks like a mistake. "
    "Thank you for your help."
)


def chat_body(*, stream: bool = False, document_kib: int = 0) -> bytes:
    """A chat request; ``document_kib`` > 0 adds a retrieved document of that many KiB to the user turn."""
    user = _USER
    if document_kib:
        user = f"{_USER}\n\nRelevant policy document:\n{benign_text(document_kib * KB)}"
    body: dict[str, object] = {
        "model": STREAM_MODEL if stream else CHAT_MODEL,
        "messages": [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": user}],
        "temperature": 0.2,
        "max_tokens": 256,
        "user": "customer-4821",
    }
    if stream:
        body["stream"] = True
    return json.dumps(body).encode()
