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
the order above, so a verifier can hash the document bytes without re-encoding them. The writer produces
the same bytes with ``orjson`` when it is installed (5-10x faster), passing floats through as
``repr`` text because orjson spells small floats differently (``0.00001`` for ``1e-05``); anything orjson
refuses (integers beyond 64 bits, lone surrogates) goes through the standard library, so the bytes never
depend on which encoder ran. Verification never re-encodes a stored document: it hashes the stored text.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import struct
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from operator import itemgetter
from typing import Any

from proctor.decision import Action, Decision
from proctor.errors import ConfigError
from proctor.findings import Finding
from proctor.identity import Identity

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - the standard library encoder gives the same bytes, slower
    _orjson = None  # type: ignore[assignment]

RECORD_VERSION = 1
KIND_CALL = "call"
KIND_GENESIS = "genesis"
KIND_HANDOVER = "key_handover"
KINDS = (KIND_CALL, KIND_GENESIS, KIND_HANDOVER)
CHAIN_FIELDS = ("chain_id", "seq", "prev_hash", "prev_signed", "hash", "signature")

_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f+00:00"
_ACTIONS = frozenset(a.value for a in Action)
_INF = float("inf")


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
        if fields and not _NEW_FIELDS.issuperset(fields):
            unknown = fields.keys() - _NEW_FIELDS
            raise ConfigError(
                f"AuditRecord.new: unknown field(s) {sorted(unknown)}; expected some of {sorted(_NEW_FIELDS)}"
            )
        values = _NEW_DEFAULTS.copy()
        if identity is not None:
            values["tenant"] = identity.tenant
            values["client"] = identity.client
            values["agent"] = identity.agent
            values["session"] = identity.session
            values["user"] = identity.user
            values["model"] = identity.model
        if decision is not None:
            values["action"] = decision.action.value
            values["policies"] = decision.policies
            if findings is None:
                findings = decision.findings
        if prompt is not None:
            values["prompt_sha256"] = sha256_text(prompt)
        if response is not None:
            values["response_sha256"] = sha256_text(response)
        if fields:
            if "model" in fields and fields["model"] is None:
                del fields["model"]  # an explicit model=None does not erase the identity's model
            values.update(fields)
        if findings:
            values["findings"] = _count_findings(findings)
        if meta:
            values["meta"] = tuple(sorted((str(k), str(v)) for k, v in meta.items()))
        _normalise(values)
        return _build(cls, values)

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
        doc = self._doc(self._time_text())
        doc["findings"] = dict(self.findings)
        doc["meta"] = dict(self.meta)
        doc["policies"] = list(self.policies)
        return doc

    def canonical_doc(self) -> str:
        """The canonical JSON text of :meth:`to_doc`; its UTF-8 bytes are what the chain hash covers."""
        return self.canonical_bytes().decode("utf-8")

    def canonical_bytes(self) -> bytes:
        """The UTF-8 bytes of :meth:`canonical_doc`, which the chain hash covers.

        For hashing at once: orjson's result keeps an 8 KiB buffer, so keep :meth:`canonical_doc` instead.
        """
        cost, latency = self.cost_usd, self.latency_ms
        # x - x == 0.0 is False for NaN and the infinities: those go to the standard library, which refuses them.
        if (
            _orjson is not None
            and (cost is None or (cost.__class__ is float and cost - cost == 0.0))
            and (latency is None or (latency.__class__ is float and latency - latency == 0.0))
        ):
            moment = self.time
            # orjson writes an aware UTC datetime as isoformat(timespec="microseconds") does, 10x faster, but
            # drops a zero fraction: those few take the slow way.
            doc = self._doc(moment if moment.microsecond and moment.tzinfo is timezone.utc else self._time_text())
            if cost is not None:
                doc["cost_usd"] = _orjson.Fragment(float.__repr__(cost))
            if latency is not None:
                doc["latency_ms"] = _orjson.Fragment(float.__repr__(latency))
            try:
                return _orjson.dumps(doc, option=_orjson.OPT_SORT_KEYS)
            except TypeError:
                pass  # an integer beyond 64 bits or a lone surrogate: the standard library decides
        return _ENCODER.encode(self.to_doc()).encode("utf-8")

    def _time_text(self) -> str:
        moment = self.time if self.time.tzinfo is timezone.utc else self.time.astimezone(timezone.utc)
        return moment.isoformat(timespec="microseconds")

    def _doc(self, time_value: object) -> dict[str, Any]:
        # policies stay a tuple here: orjson writes it as the list the public forms hold.
        return {
            "action": self.action,
            "agent": self.agent,
            "client": self.client,
            "context_id": self.context_id,
            "cost_usd": self.cost_usd,
            "decision_id": self.decision_id,
            "error": self.error,
            "findings": dict(self.findings) if self.findings else _EMPTY,
            "kind": self.kind,
            "latency_ms": self.latency_ms,
            "meta": dict(self.meta) if self.meta else _EMPTY,
            "model": self.model,
            "policies": self.policies,
            "prompt_sha256": self.prompt_sha256,
            "prompt_text": self.prompt_text,
            "provider": self.provider,
            "record_id": self.record_id,
            "response_sha256": self.response_sha256,
            "response_text": self.response_text,
            "session": self.session,
            "status": self.status,
            "tenant": self.tenant,
            "time": time_value,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "trace_id": self.trace_id,
            "user": self.user,
            "v": RECORD_VERSION,
        }

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


def _normalise(values: dict[str, Any]) -> None:
    """Check field types and normalise values in place so the canonical form is stable; fills id and time."""
    action = values["action"]
    if isinstance(action, Action):
        action = values["action"] = action.value
    if action not in _ACTIONS:
        raise ConfigError(
            f'audit record field "action": expected one of {sorted(_ACTIONS)}; found {action!r}'
        )
    kind = values["kind"]
    if kind not in KINDS:
        raise ConfigError(f'audit record field "kind": expected one of {KINDS}; found {kind!r}')
    record_id = values["record_id"]
    values["record_id"] = _uuid7() if record_id is None else str(uuid.UUID(str(record_id)))
    for name in ("tokens_in", "tokens_out"):
        value = values[name]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ConfigError(
                f"audit record field {name!r}: expected a non-negative int or None; found {value!r}"
            )
    for name, digits in (("cost_usd", 10), ("latency_ms", 3)):
        number = values[name]
        if number is None:
            continue
        number = values[name] = round(float(number), digits)
        if number != number or number in (_INF, -_INF):
            raise ConfigError(f"audit record field {name!r}: expected a finite number; found {number!r}")
    moment = values["time"]
    if moment is None:
        values["time"] = datetime.now(timezone.utc)
    elif not isinstance(moment, datetime) or moment.tzinfo is None:
        raise ConfigError(f'audit record field "time": expected a timezone-aware datetime; found {moment!r}')
    elif moment.tzinfo is not timezone.utc:
        values["time"] = moment.astimezone(timezone.utc)
    policies = values["policies"]
    values["policies"] = tuple(sorted(set(map(str, policies)))) if policies else ()


def _build(cls: type[AuditRecord], values: dict[str, Any]) -> AuditRecord:
    """An AuditRecord from a full ``values`` dict, about twice as fast as the dataclass ``__init__``.

    A frozen dataclass's ``__init__`` sets each of its 33 fields through ``object.__setattr__``; this sets
    the slots through their descriptors directly. Every governed call builds one record.
    """
    record = _object_new(cls)
    for setter, name in _SLOT_SETTERS:
        setter(record, values[name])
    return record


def _uuid7() -> str:
    """A new record id: a version 7 UUID (RFC 9562), lowercase.

    Version 7 starts with the millisecond time, so ids sort by creation time and the store's record-id
    index grows at its end instead of at random places (random v4 ids halve SQLite's insert rate).
    """
    raw = bytearray((time.time_ns() // 1_000_000).to_bytes(6, "big") + _random_bytes())
    raw[6] = (raw[6] & 0x0F) | 0x70
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _random_bytes() -> bytes:
    """10 bytes from the operating system's random source, read 4000 at a time.

    ``os.urandom`` releases the interpreter lock around its system call, and when many threads build records
    each release can hand the lock to another thread at the cost of a context switch. ``next()`` on the
    shared iterator is one call into C, made holding the lock, so no two records get the same bytes; a
    forked child starts on fresh ones.
    """
    global _random_chunks
    try:
        return next(_random_chunks)
    except StopIteration:
        _random_chunks = _chunks(os.urandom(4000))
        return next(_random_chunks)


def _chunks(block: bytes) -> Iterator[bytes]:
    # Only C iterators here: a Python generator could be entered by two threads at once.
    return map(itemgetter(0), struct.iter_unpack("10s", block))


def _fresh_random() -> None:
    global _random_chunks
    _random_chunks = iter(())


_random_chunks: Iterator[bytes] = iter(())
if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_fresh_random)


_FIELD_NAMES = frozenset(f.name for f in dataclasses.fields(AuditRecord))
_NEW_FIELDS = _FIELD_NAMES - set(CHAIN_FIELDS) - {"findings", "meta"}
_DOC_FIELDS = tuple(
    name
    for name in (f.name for f in dataclasses.fields(AuditRecord))
    if name not in CHAIN_FIELDS and name not in ("time", "policies", "findings", "meta")
)
# Every field of a new record: dataclass defaults, chain fields None; record_id and time None until filled.
_NEW_DEFAULTS: dict[str, Any] = {
    f.name: None if f.default is dataclasses.MISSING else f.default for f in dataclasses.fields(AuditRecord)
}
_SLOT_SETTERS = tuple((getattr(AuditRecord, name).__set__, name) for name in _NEW_DEFAULTS)
_object_new = object.__new__
_EMPTY: dict[str, Any] = {}
