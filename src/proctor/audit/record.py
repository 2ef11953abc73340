"""The audit record, its canonical JSON document and the JSON form shared by the store and exports.

One governed call leaves one :class:`AuditRecord`. Its **JSON form** is a flat object with the fields below;
it is the same in the store and in JSONL exports (``AuditRecord.to_json`` writes it, ``from_json`` reads it).

Content fields (the *document*, hashed as canonical JSON):

=================  ===========================  =====================================================
field              type                         meaning
=================  ===========================  =====================================================
``v``              int                          record schema version, ``1``
``kind``           str                          ``call``; ``genesis`` and ``key_handover`` are written
                                                by the chain itself (first record, key rotation)
``record_id``      str                          lowercase UUID (version 7: time-ordered) of this record
``decision_id``    str | null                   id of the Decision the call got
``trace_id``       str | null                   caller's trace / request id
``context_id``     str | null                   conversation / context id
``time``           str                          UTC, ``YYYY-MM-DDTHH:MM:SS.ffffff+00:00``
``tenant``         str                          tenant (``default`` when none)
``client``         str | null                   client / API-key alias (never the key itself)
``agent``          str                          agent name (``default`` when none)
``session``        str | null                   session id (``x-session-id``)
``user``           str | null                   end-user id
``provider``       str | null                   upstream provider (``openai``, ``anthropic``, ``echo``…)
``model``          str | null                   model name as requested
``action``         str                          ``allow`` | ``log`` | ``redact`` | ``require_approval``
                                                | ``deny``
``policies``       [str]                        ids of the matched policies, sorted
``findings``       {str: int}                   finding type -> count; never the matched values
``prompt_sha256``  str | null                   hex SHA-256 of the prompt as received (UTF-8)
``response_sha256`` str | null                  hex SHA-256 of the response text
``prompt_text``    str | null                   the prompt, only when a policy asks to keep it, redacted
``response_text``  str | null                   the response, same rule
``tokens_in``      int | null                   prompt tokens
``tokens_out``     int | null                   completion tokens
``cost_usd``       number | null                estimated cost (``proctor.audit.pricing``)
``latency_ms``     number | null                end-to-end latency of the call
``status``         str                          outcome, e.g. ``ok``, ``blocked``, ``held``, ``approved``,
                                                ``rejected``, ``expired``, ``error``
``error``          str | null                   error message for failed calls (never a secret)
``meta``           {str: str}                   small extra facts (approval id, reviewer, key hand-over)
=================  ===========================  =====================================================

Chain fields (filled in by sealing; columns in the store, appended after the document in exports):
``chain_id`` (str), ``seq`` (int, 0 = the chain's genesis record), ``prev_hash`` (hex | null for seq 0),
``prev_signed`` (seq of the nearest earlier record that carries a signature, null when none),
``hash`` (hex SHA-256, see ``proctor.audit.chain``) and ``signature`` (hex Ed25519 | null).

The canonical document is ``json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
allow_nan=False)`` encoded as UTF-8. An export line is that document with the chain fields appended in
the order above, so a verifier can hash the document bytes without re-encoding them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from proctor.decision import Action, Decision
from proctor.errors import ConfigError
from proctor.findings import Finding
from proctor.identity import Identity

RECORD_VERSION = 1
KIND_CALL = "call"
KIND_GENESIS = "genesis"
KIND_HANDOVER = "key_handover"
KINDS = (KIND_CALL, KIND_GENESIS, KIND_HANDOVER)
CHAIN_FIELDS = ("chain_id", "seq", "prev_hash", "prev_signed", "hash", "signature")

_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_PRESORTED = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f+00:00"
_ACTIONS = frozenset(a.value for a in Action)


def canonical_json(value: Any) -> str:
    """Encode ``value`` the canonical way (sorted keys, no spaces, UTF-8 text, no NaN)."""
    return _ENCODER.encode(value)


def format_time(value: datetime) -> str:
    """Format an aware datetime as the record's fixed-width UTC string."""
    if value.tzinfo is None:
        raise ConfigError(f"audit record time: expected a timezone-aware datetime; found naive {value!r}")
    return value.astimezone(timezone.utc).strftime(_TIME_FORMAT)


def parse_time(value: str) -> datetime:
    """Parse a record time string (any ISO 8601 form with an offset) into an aware UTC datetime."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"time {value!r} has no UTC offset")
    return parsed.astimezone(timezone.utc)


def sha256_text(text: str | bytes) -> str:
    """Hex SHA-256 of a text (UTF-8) or bytes, as stored in ``prompt_sha256`` / ``response_sha256``."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit record: what a governed call did, without the matched values.

    Build one with :meth:`new`; the chain fields (``chain_id`` … ``signature``) stay ``None`` until the
    :class:`~proctor.audit.AuditLog` seals it. ``findings`` and ``meta`` are sorted tuples of pairs so the
    record stays immutable; :attr:`finding_counts` gives the dict.
    """

    record_id: str
    time: datetime
    tenant: str = "default"
    agent: str = "default"
    action: str = Action.ALLOW.value
    status: str = "ok"
    decision_id: str | None = None
    trace_id: str | None = None
    context_id: str | None = None
    client: str | None = None
    session: str | None = None
    user: str | None = None
    provider: str | None = None
    model: str | None = None
    policies: tuple[str, ...] = ()
    findings: tuple[tuple[str, int], ...] = ()
    prompt_sha256: str | None = None
    response_sha256: str | None = None
    prompt_text: str | None = None
    response_text: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost_usd: float | None = None
    latency_ms: float | None = None
    error: str | None = None
    meta: tuple[tuple[str, str], ...] = ()
    kind: str = KIND_CALL
    chain_id: str | None = None
    seq: int | None = None
    prev_hash: str | None = None
    prev_signed: int | None = None
    hash: str | None = None
    signature: str | None = None

    @classmethod
    def new(
        cls,
        *,
        identity: Identity | None = None,
        decision: Decision | None = None,
        prompt: str | bytes | None = None,
        response: str | bytes | None = None,
        findings: Mapping[str, int] | Iterable[Finding | str] | None = None,
        meta: Mapping[str, str] | None = None,
        **fields: Any,
    ) -> AuditRecord:
        """Build a record, filling ``record_id`` (a UUID7) and ``time`` (now, UTC) when not given.

        ``identity`` fills tenant/client/agent/session/user (and model when unset), ``decision`` fills
        action, policies and finding counts; explicit fields win over both. ``prompt``/``response`` are
        hashed, never stored: pass ``prompt_text``/``response_text`` (already redacted) to keep text.
        ``findings`` may be a ``{type: count}`` mapping or an iterable of Finding objects or type names.
        """
        values: dict[str, Any] = {}
        if identity is not None:
            values.update(
                tenant=identity.tenant,
                client=identity.client,
                agent=identity.agent,
                session=identity.session,
                user=identity.user,
                model=identity.model,
            )
        if decision is not None:
            values.update(action=decision.action.value, policies=decision.policies)
            if findings is None:
                findings = decision.findings
        if prompt is not None:
            values["prompt_sha256"] = sha256_text(prompt)
        if response is not None:
            values["response_sha256"] = sha256_text(response)
        unknown = fields.keys() - _NEW_FIELDS
        if unknown:
            raise ConfigError(
                f"AuditRecord.new: unknown field(s) {sorted(unknown)}; expected some of {sorted(_NEW_FIELDS)}"
            )
        if fields.get("model") is None and values.get("model") is not None:
            fields.pop("model", None)  # an explicit model=None does not erase the identity's model
        values.update(fields)
        values["findings"] = _count_findings(findings)
        values["meta"] = tuple(sorted((str(k), str(v)) for k, v in meta.items())) if meta else ()
        return cls(**_normalised(values))

    @property
    def finding_counts(self) -> dict[str, int]:
        """Finding type -> count."""
        return dict(self.findings)

    @property
    def meta_dict(self) -> dict[str, str]:
        return dict(self.meta)

    @property
    def sealed(self) -> bool:
        """True once the record has a chain position and hash."""
        return self.hash is not None

    def to_doc(self) -> dict[str, Any]:
        """The content document (no chain fields), JSON-ready, keys in canonical (sorted) order."""
        moment = self.time if self.time.tzinfo is timezone.utc else self.time.astimezone(timezone.utc)
        return {
            "action": self.action,
            "agent": self.agent,
            "client": self.client,
            "context_id": self.context_id,
            "cost_usd": self.cost_usd,
            "decision_id": self.decision_id,
            "error": self.error,
            "findings": dict(self.findings),
            "kind": self.kind,
            "latency_ms": self.latency_ms,
            "meta": dict(self.meta),
            "model": self.model,
            "policies": list(self.policies),
            "prompt_sha256": self.prompt_sha256,
            "prompt_text": self.prompt_text,
            "provider": self.provider,
            "record_id": self.record_id,
            "response_sha256": self.response_sha256,
            "response_text": self.response_text,
            "session": self.session,
            "status": self.status,
            "tenant": self.tenant,
            "time": moment.isoformat(timespec="microseconds"),
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "trace_id": self.trace_id,
            "user": self.user,
            "v": RECORD_VERSION,
        }

    def canonical_doc(self) -> str:
        """The canonical JSON text of :meth:`to_doc`; its UTF-8 bytes are what the chain hash covers."""
        # to_doc() lists its keys sorted and findings/meta are sorted tuples, so the encoder that skips
        # sorting yields the same text as canonical_json(), faster (the writer runs this for every record).
        return _PRESORTED.encode(self.to_doc())

    def to_dict(self) -> dict[str, Any]:
        """The JSON form as a dict: the document plus the chain fields."""
        out = self.to_doc()
        out.update(
            chain_id=self.chain_id,
            seq=self.seq,
            prev_hash=self.prev_hash,
            prev_signed=self.prev_signed,
            hash=self.hash,
            signature=self.signature,
        )
        return out

    def to_json(self) -> str:
        """The JSON form as one line: canonical document, then the chain fields (see module docstring)."""
        return export_line(
            self.canonical_doc(),
            self.chain_id,
            self.seq,
            self.prev_hash,
            self.prev_signed,
            self.hash,
            self.signature,
        )

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any], **chain: Any) -> AuditRecord:
        """Rebuild a record from its document (and optional chain fields); raises ValueError if malformed."""
        try:
            version = doc.get("v", RECORD_VERSION)
            if version != RECORD_VERSION:
                raise ValueError(f"record version {version!r} is not supported (expected {RECORD_VERSION})")
            values = {name: doc[name] for name in _DOC_FIELDS if name in doc}
            values["time"] = parse_time(str(doc["time"]))
            values["policies"] = tuple(doc.get("policies") or ())
            values["findings"] = tuple(
                sorted((str(k), int(v)) for k, v in (doc.get("findings") or {}).items())
            )
            values["meta"] = tuple(sorted((str(k), str(v)) for k, v in (doc.get("meta") or {}).items()))
            values.update(chain)
            return cls(**values)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not an audit record document: {exc!r}") from exc

    @classmethod
    def from_json(cls, line: str | bytes) -> AuditRecord:
        """Parse one JSON-form line (as written by :meth:`to_json` or an export)."""
        data = json.loads(line)
        if not isinstance(data, dict):
            raise ValueError("an audit record line must be a JSON object")
        chain = {name: data.pop(name, None) for name in CHAIN_FIELDS}
        return cls.from_doc(data, **chain)

    def with_chain(self, **chain: Any) -> AuditRecord:
        """A copy with chain fields set (used by sealing)."""
        return dataclasses.replace(self, **chain)


def export_line(
    doc: str,
    chain_id: str | None,
    seq: int | None,
    prev_hash: str | None,
    prev_signed: int | None,
    hash_hex: str | None,
    signature: str | None,
) -> str:
    """Join a canonical document and its chain fields into one JSON-form line (no newline)."""
    tail = _ENCODER.encode({"chain_id": chain_id})[1:-1]
    return (
        f'{doc[:-1]},{tail},"seq":{_num(seq)},"prev_hash":{_str(prev_hash)},'
        f'"prev_signed":{_num(prev_signed)},"hash":{_str(hash_hex)},"signature":{_str(signature)}}}'
    )


def _num(value: int | None) -> str:
    return "null" if value is None else str(int(value))


def _str(value: str | None) -> str:
    return "null" if value is None else _ENCODER.encode(value)


def _count_findings(findings: Any) -> tuple[tuple[str, int], ...]:
    if not findings:
        return ()
    counts: dict[str, int] = {}
    if isinstance(findings, Mapping):
        for key, count in findings.items():
            counts[str(key)] = int(count)
    else:
        for item in findings:
            if isinstance(item, Finding):
                name = item.type
                counts[name] = counts.get(name, 0) + 1
            elif isinstance(item, str):
                counts[item] = counts.get(item, 0) + 1
            elif isinstance(item, tuple) and len(item) == 2:
                counts[str(item[0])] = int(item[1])
            else:
                raise ConfigError(
                    f"audit record findings: expected Finding, type name or (type, count); "
                    f"found {type(item).__name__}"
                )
    return tuple(sorted(counts.items()))


def _normalised(values: dict[str, Any]) -> dict[str, Any]:
    """Check field types and normalise values so the canonical form is stable; fills id and time."""
    action = values.get("action", Action.ALLOW.value)
    action = values["action"] = action.value if isinstance(action, Action) else action
    if action not in _ACTIONS:
        raise ConfigError(
            f'audit record field "action": expected one of {sorted(_ACTIONS)}; found {action!r}'
        )
    kind = values.get("kind", KIND_CALL)
    if kind not in KINDS:
        raise ConfigError(f'audit record field "kind": expected one of {KINDS}; found {kind!r}')
    record_id = values.get("record_id")
    values["record_id"] = _uuid7() if record_id is None else str(uuid.UUID(str(record_id)))
    for name in ("tokens_in", "tokens_out"):
        value = values.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ConfigError(
                f"audit record field {name!r}: expected a non-negative int or None; found {value!r}"
            )
    for name, digits in (("cost_usd", 10), ("latency_ms", 3)):
        number = values.get(name)
        if number is None:
            continue
        number = values[name] = round(float(number), digits)
        if number != number or number in (float("inf"), float("-inf")):
            raise ConfigError(f"audit record field {name!r}: expected a finite number; found {number!r}")
    moment = values.get("time")
    if moment is None:
        values["time"] = datetime.now(timezone.utc)
    elif not isinstance(moment, datetime) or moment.tzinfo is None:
        raise ConfigError(f'audit record field "time": expected a timezone-aware datetime; found {moment!r}')
    elif moment.tzinfo is not timezone.utc:
        values["time"] = moment.astimezone(timezone.utc)
    policies = values.get("policies")
    if policies:
        values["policies"] = tuple(sorted(set(map(str, policies))))
    elif policies is not None:
        values["policies"] = ()
    return values


def _uuid7() -> str:
    """A new record id: a version 7 UUID (RFC 9562), lowercase.

    Version 7 starts with the millisecond time, so ids sort by creation time and the store's record-id
    index grows at its end instead of at random places (random v4 ids halve SQLite's insert rate).
    """
    raw = bytearray((time.time_ns() // 1_000_000).to_bytes(6, "big") + os.urandom(10))
    raw[6] = (raw[6] & 0x0F) | 0x70
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_FIELD_NAMES = frozenset(f.name for f in dataclasses.fields(AuditRecord))
_NEW_FIELDS = _FIELD_NAMES - set(CHAIN_FIELDS) - {"findings", "meta"}
_DOC_FIELDS = tuple(
    name
    for name in (f.name for f in dataclasses.fields(AuditRecord))
    if name not in CHAIN_FIELDS and name not in ("time", "policies", "findings", "meta")
)
