"""Chain verification for stores and JSONL exports: proves chains intact or names the first bad record."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from proctor.audit.chain import HASH_PREFIX, head_mac, signature_message
from proctor.audit.export import read_export
from proctor.audit.keys import VerifyKey, default_key_path, handover_message, load_key, read_public_key
from proctor.audit.record import KIND_GENESIS, KIND_HANDOVER
from proctor.errors import AuditIntegrityError, ConfigError
from proctor.store import AuditQuery, ChainHead, SealedRow, Store, open_store

_CALL_MARK = '"kind":"call"'


@dataclass(frozen=True, slots=True)
class VerifySummary:
    """What an intact verification covered.

    ``chains`` maps chain id -> last seq checked, ``signatures`` counts the signatures checked (about one
    per second of writing, see ``proctor.audit.chain``), ``keys`` are the public keys that signed the
    chains. ``mac_checked`` counts the newest records that no signature covered yet and that the chain
    head's MAC vouched for (only a verification holding the private key can check it).
    """

    records: int
    chains: Mapping[str, int]
    signatures: int
    keys: tuple[str, ...] = ()
    seconds: float = 0.0
    mac_checked: int = 0

    @property
    def last_seq(self) -> int | None:
        """The last seq checked (the largest over all chains), None when there were no records."""
        return max(self.chains.values()) if self.chains else None


class _Bad(Exception):
    def __init__(self, problem: str, detail: str, seq: int, doc: str | None = None) -> None:
        super().__init__(detail)
        self.problem, self.detail, self.seq, self.doc = problem, detail, seq, doc


class _SignedLater(Exception):
    """A record names the previous one as signed, which was read unsigned: in a store being written, its
    writer may have signed it in place since (re-read it and call :meth:`_Chain.signed_later`).
    ``index`` is the position of the naming record in the rows given to :meth:`_Chain.check_rows`."""

    def __init__(self, seq: int) -> None:
        super().__init__(seq)
        self.seq = seq
        self.index = 0


class _Chain:
    """Running state of one chain under verification (rows must come in seq order)."""

    __slots__ = (
        "chain_id",
        "docs",
        "hash",
        "key",
        "keys",
        "last_signed",
        "live",
        "mac_checked",
        "partial",
        "pending",
        "records",
        "seq",
        "signatures",
        "trusted",
    )

    def __init__(self, chain_id: str, trusted: Mapping[str, VerifyKey], partial: bool) -> None:
        self.chain_id = chain_id
        self.trusted = trusted
        self.partial = partial
        self.seq: int | None = None
        self.hash: str | None = None
        self.last_signed: int | None = None
        self.key: VerifyKey | None = None
        self.keys: list[str] = []
        self.pending: list[tuple[int, str, str, str]] = []  # signatures seen before the key was known
        self.docs: list[tuple[int, str]] = []  # unsigned records since the last signature (for messages)
        self.records = 0
        self.signatures = 0
        self.mac_checked = 0
        self.live = False  # rows come from a store a writer may be appending to (and signing in place)

    def check(
        self,
        seq: int,
        prev_hash: str | None,
        prev_signed: int | None,
        hash_hex: str,
        signature: str | None,
        doc: str,
    ) -> None:
        if self.seq is None:
            self._start(seq, prev_hash, prev_signed, doc)
        else:
            expected = self.seq + 1
            if seq != expected:
                if seq > expected:
                    missing = "1 record is" if seq == expected + 1 else f"{seq - expected} records are"
                    raise _Bad("gap", f"seq {seq} follows seq {self.seq}: {missing} missing", seq, doc)
                raise _Bad(
                    "order",
                    f"seq {seq} follows seq {self.seq}: records are duplicated or out of order",
                    seq,
                    doc,
                )
            if prev_hash != self.hash:
                raise _Bad(
                    "link",
                    "prev_hash does not match the previous record's hash (a record before it "
                    "was changed, removed or inserted)",
                    seq,
                    doc,
                )
            if prev_signed != self.last_signed:
                if self.live and prev_signed == self.seq and self.docs and self.docs[-1][0] == self.seq:
                    raise _SignedLater(self.seq)
                self._lost_signature(seq, prev_signed, doc)
        signed = "" if prev_signed is None else prev_signed
        header = f"{HASH_PREFIX}{self.chain_id}\n{seq}\n{prev_hash or ''}\n{signed}\n"
        if hashlib.sha256((header + doc).encode("utf-8")).hexdigest() != hash_hex:
            raise _Bad(
                "hash", "the record's content does not match its hash (the record was edited)", seq, doc
            )
        if seq == 0 or _CALL_MARK not in doc:
            self._special(seq, hash_hex, signature, doc)
        elif signature is not None:
            self._signature(seq, hash_hex, signature, doc)
        else:
            self.docs.append((seq, doc))
        self.seq = seq
        self.hash = hash_hex
        self.records += 1

    def check_rows(self, rows: Sequence[SealedRow]) -> None:
        """:meth:`check` each row in turn; the common case (the next unsigned call record) is inlined here,
        verification's hot path, and anything else goes through :meth:`check`."""
        prefix = f"{HASH_PREFIX}{self.chain_id}\n"
        sha256 = hashlib.sha256
        docs = self.docs
        seq_now, hash_now, signed_now = self.seq, self.hash, self.last_signed
        signed_text = "" if signed_now is None else str(signed_now)
        count = 0
        for index, (_, seq, prev_hash, prev_signed, hash_hex, signature, doc) in enumerate(rows):
            if (
                signature is None
                and seq_now is not None
                and seq == seq_now + 1
                and prev_hash == hash_now
                and prev_signed == signed_now
                and _CALL_MARK in doc
                and sha256(f"{prefix}{seq}\n{prev_hash}\n{signed_text}\n{doc}".encode()).hexdigest() == hash_hex
            ):
                docs.append((seq, doc))
                seq_now, hash_now = seq, hash_hex
                count += 1
                continue
            self.seq, self.hash, self.records = seq_now, hash_now, self.records + count
            count = 0
            try:
                self.check(seq, prev_hash, prev_signed, hash_hex, signature, doc)
            except _SignedLater as later:
                later.index = index
                raise
            seq_now, hash_now, signed_now = self.seq, self.hash, self.last_signed
            signed_text = "" if signed_now is None else str(signed_now)
        self.seq, self.hash, self.records = seq_now, hash_now, self.records + count

    def _start(self, seq: int, prev_hash: str | None, prev_signed: int | None, doc: str) -> None:
        if seq == 0:
            if prev_hash is not None or prev_signed is not None:
                raise _Bad(
                    "link", "the genesis record (seq 0) must have no prev_hash and no prev_signed", seq, doc
                )
            return
        if not self.partial:
            raise _Bad("gap", f"the chain starts at seq {seq}: records 0..{seq - 1} are missing", seq, doc)
        self.last_signed = prev_signed  # an export that starts mid-chain: earlier records are out of scope

    def _lost_signature(self, seq: int, prev_signed: int | None, doc: str) -> None:
        if prev_signed is not None and (self.last_signed is None or prev_signed > self.last_signed):
            for unsigned_seq, unsigned_doc in self.docs:
                if unsigned_seq == prev_signed:
                    raise _Bad(
                        "signature",
                        f"the record's signature was removed (record seq {seq} says seq "
                        f"{prev_signed} was signed)",
                        prev_signed,
                        unsigned_doc,
                    )
        raise _Bad(
            "signature",
            f"prev_signed is {prev_signed} but the last signed record is {self.last_signed}",
            seq,
            doc,
        )

    def signed_later(self, seq: int, hash_hex: str, signature: str | None, doc: str) -> None:
        """The newest record, read unsigned, as read again: its writer has signed it in place since."""
        if seq != self.seq or hash_hex != self.hash or signature is None or not self.docs:
            raise _Bad("signature", "the record read unsigned changed when read again", seq, doc)
        self._signature(seq, hash_hex, signature, doc)

    def vouch_by_mac(self, head: ChainHead, mac_key: bytes) -> None:
        """Accept the unsigned newest records if ``head`` is where the chain ends and its MAC is valid."""
        if (
            head.mac is None
            or (head.seq, head.hash, head.last_signed) != (self.seq, self.hash, self.last_signed)
            or not hmac.compare_digest(head.mac, head_mac(mac_key, head))
        ):
            seq, doc = self.docs[0]
            raise _Bad(
                "signature",
                f"the chain ends in {len(self.docs)} record(s) no signature covers, and the chain head's MAC "
                f"does not vouch for them (records appended or changed outside Proctor)",
                seq,
                doc,
            )
        self.mac_checked += len(self.docs)
        self.docs.clear()

    def _signature(self, seq: int, hash_hex: str, signature: str, doc: str) -> None:
        if self.key is None:
            self.pending.append((seq, hash_hex, signature, doc))
        elif not self.key.verify(signature_message(hash_hex), signature):
            raise _Bad(
                "signature", f"the Ed25519 signature is not valid for key {self.key.hex[:16]}…", seq, doc
            )
        self.last_signed = seq
        self.signatures += 1
        self.docs.clear()

    def _special(self, seq: int, hash_hex: str, signature: str | None, doc: str) -> None:
        try:
            record = json.loads(doc)
        except ValueError:
            record = None
        if not isinstance(record, dict) or not isinstance(record.get("meta") or {}, dict):
            raise _Bad("format", "the record's document is not a JSON object with a meta object", seq, doc)
        kind = record.get("kind")
        meta = record.get("meta") or {}
        if (seq == 0) != (kind == KIND_GENESIS):
            raise _Bad("order", "only seq 0 may be, and must be, the genesis record", seq, doc)
        if kind not in (KIND_GENESIS, KIND_HANDOVER):
            if signature is not None:
                self._signature(seq, hash_hex, signature, doc)
            else:
                self.docs.append((seq, doc))
            return
        if signature is None:
            raise _Bad("signature", f"the {kind} record carries no signature", seq, doc)
        if kind == KIND_GENESIS:
            self.key = _key(meta.get("public_key"), seq, doc)
            self.keys.append(self.key.hex)
            self._signature(seq, hash_hex, signature, doc)
            return
        old = _key(meta.get("old_public_key"), seq, doc)
        new = _key(meta.get("new_public_key"), seq, doc)
        if self.key is not None and self.key.hex != old.hex:
            raise _Bad(
                "signature",
                f"the hand-over names old key {old.hex[:16]}… but the chain is signed by "
                f"{self.key.hex[:16]}…",
                seq,
                doc,
            )
        if not new.verify(
            handover_message(self.chain_id, old.hex, new.hex), str(meta.get("new_key_proof", ""))
        ):
            raise _Bad("signature", "the new key's hand-over proof is not valid", seq, doc)
        if self.key is None:
            self.key = old
            self.keys.append(old.hex)
            self._check_pending()
        self._signature(seq, hash_hex, signature, doc)
        self.key = new
        self.keys.append(new.hex)

    def _check_pending(self) -> None:
        key = self.key
        if key is None:
            return
        for seq, hash_hex, signature, doc in self.pending:
            if not key.verify(signature_message(hash_hex), signature):
                raise _Bad(
                    "signature", f"the Ed25519 signature is not valid for key {key.hex[:16]}…", seq, doc
                )
        self.pending.clear()

    def finish(self) -> None:
        if self.docs:
            # Every commit ends in a signed record, so records after the last signature were added (or their
            # signature stripped, or the export truncated) outside Proctor.
            seq, doc = self.docs[0]
            raise _Bad(
                "signature",
                f"the chain ends in {len(self.docs)} record(s) no signature covers (records appended "
                f"outside Proctor, a stripped signature, a truncated export, or records whose writer "
                f"stopped before signing them: reopening the chain signs them, and a verification "
                f"with the private key checks them by the chain head's MAC)",
                seq,
                doc,
            )
        if self.key is None and self.pending:
            # An export that starts mid-chain and has no hand-over: the trusted key must have signed it.
            seq, hash_hex, signature, doc = self.pending[0]
            for key in self.trusted.values():
                if key.verify(signature_message(hash_hex), signature):
                    self.key = key
                    self.keys.append(key.hex)
                    break
            else:
                raise _Bad("signature", "no trusted public key validates this record's signature", seq, doc)
            self._check_pending()
        if self.keys and not any(k in self.trusted for k in self.keys):
            raise _Bad(
                "signature",
                f"the chain is signed by key(s) {', '.join(k[:16] + '…' for k in self.keys)}; "
                f"none is a trusted public key (--pubkey)",
                self.seq or 0,
            )


def _key(value: Any, seq: int, doc: str) -> VerifyKey:
    try:
        return VerifyKey.from_hex(str(value))
    except ConfigError:
        raise _Bad("signature", "the record names a malformed public key", seq, doc) from None


class ChainVerifier:
    """Feed rows chain by chain in seq order (chains may interleave); :meth:`summary` finishes the checks."""

    def __init__(self, trusted: Iterable[str], *, partial: bool = False) -> None:
        self._trusted = {k.hex: k for k in (VerifyKey.from_hex(t) for t in trusted)}
        if not self._trusted:
            raise ConfigError(
                "verification needs at least one trusted public key (--pubkey HEX, or a key "
                "file); get it with: proctor audit pubkey"
            )
        self._partial = partial
        self._chains: dict[str, _Chain] = {}
        self._started = time.perf_counter()

    def chain(self, chain_id: str) -> _Chain:
        state = self._chains.get(chain_id)
        if state is None:
            state = self._chains[chain_id] = _Chain(chain_id, self._trusted, self._partial)
        return state

    def feed(
        self,
        chain_id: str,
        seq: int,
        prev_hash: str | None,
        prev_signed: int | None,
        hash_hex: str,
        signature: str | None,
        doc: str,
    ) -> None:
        state = self._chains.get(chain_id) or self.chain(chain_id)
        try:
            state.check(seq, prev_hash, prev_signed, hash_hex, signature, doc)
        except _Bad as bad:
            raise integrity_error(chain_id, bad) from None

    def feed_rows(self, rows: Sequence[SealedRow]) -> None:
        """:meth:`feed` for consecutive rows of one chain, faster."""
        if not rows:
            return
        chain_id = rows[0].chain_id
        state = self._chains.get(chain_id) or self.chain(chain_id)
        try:
            state.check_rows(rows)
        except _Bad as bad:
            raise integrity_error(chain_id, bad) from None

    def expect_head(self, head: ChainHead) -> None:
        """Check that the chain ends exactly at ``head`` (the store's record of its last write)."""
        state = self._chains.get(head.chain_id)
        last = -1 if state is None or state.seq is None else state.seq
        if last < head.seq:
            raise AuditIntegrityError(
                f"audit chain {head.chain_id!r}: records {last + 1}..{head.seq} are missing "
                f"(the chain head is seq {head.seq})",
                seq=last + 1,
                problem="gap",
            )
        if state is not None and state.hash != head.hash:
            raise AuditIntegrityError(
                f"audit chain {head.chain_id!r}: the last record (seq {head.seq}) does not "
                f"match the chain head's hash",
                seq=head.seq,
                problem="hash",
            )

    def summary(self) -> VerifySummary:
        for chain_id, state in self._chains.items():
            try:
                state.finish()
            except _Bad as bad:
                raise integrity_error(chain_id, bad) from None
        keys = tuple(dict.fromkeys(k for s in self._chains.values() for k in s.keys))
        return VerifySummary(
            records=sum(s.records for s in self._chains.values()),
            chains={c: s.seq for c, s in self._chains.items() if s.seq is not None},
            signatures=sum(s.signatures for s in self._chains.values()),
            keys=keys,
            seconds=time.perf_counter() - self._started,
            mac_checked=sum(s.mac_checked for s in self._chains.values()),
        )


def integrity_error(chain_id: str, bad: _Bad) -> AuditIntegrityError:
    record_id = _record_id(bad.doc)
    named = f" (record {record_id})" if record_id else ""
    return AuditIntegrityError(
        f"audit chain {chain_id!r}, seq {bad.seq}{named}: {bad.problem}: {bad.detail}",
        seq=bad.seq,
        record_id=record_id,
        problem=bad.problem,
    )


def _record_id(doc: str | None) -> str | None:
    if doc is None:
        return None
    try:
        value = json.loads(doc).get("record_id")
    except (ValueError, AttributeError):
        return None
    return str(value) if value is not None else None


def trusted_keys(
    public_keys: Iterable[str] | str | None, key_file: str | None, store_url: str | None
) -> list[str]:
    """The keys a verification trusts: those given, else the key file's (default: beside the store)."""
    if isinstance(public_keys, str):
        return [public_keys]
    if public_keys:
        return list(public_keys)
    if key_file is None and store_url is None:
        raise ConfigError(
            "verifying an export needs a trusted public key: pass --pubkey HEX (from "
            "proctor audit pubkey) or --key-file PATH"
        )
    path = key_file if key_file is not None else str(default_key_path(store_url or ""))
    return [read_public_key(path)]


def _mac_keys(public_keys: Iterable[str] | str | None, key_file: str | None, store_url: str) -> dict[str, bytes]:
    """Public key -> head MAC key, from the private key file a store verification trusts (none for --pubkey)."""
    if public_keys:
        return {}
    path = key_file if key_file is not None else str(default_key_path(store_url))
    try:
        key = load_key(path)
    except ConfigError:
        return {}  # only the public half (or nothing) is here: unsigned newest records need a signature
    return {key.public_key_hex: key.mac_key()}


def verify(
    source: str | Store,
    *,
    public_keys: Iterable[str] | str | None = None,
    key_file: str | None = None,
    chain_id: str | None = None,
    partial: bool = False,
    page_size: int = 5000,
    seal_wait: float = 3.0,
) -> VerifySummary:
    """Verify every chain in a store (URL or open Store) or a JSONL export (a file path).

    Trusts ``public_keys`` (hex), else the public half of ``key_file``, else the key beside the store.
    Returns a :class:`VerifySummary` when intact; raises AuditIntegrityError naming the first bad record
    (seq, record id, and the problem: hash, signature, link, gap, order or format). ``partial`` lets an
    export start mid-chain (see :func:`verify_export`). A store chain may end in records no signature
    covers yet (see ``proctor.audit.chain``): with the private key (``key_file``, or the default key
    beside the store) the chain head's MAC vouches for them; with only ``public_keys``, verification
    waits up to ``seal_wait`` seconds for the chain's writer to sign them, and fails if it does not.
    """
    if isinstance(source, str) and "://" not in source:
        return verify_export(source, public_keys=trusted_keys(public_keys, key_file, None), partial=partial)
    store = open_store(source, must_exist=True) if isinstance(source, str) else source
    try:
        trusted = trusted_keys(public_keys, key_file, store.url)
        macs = _mac_keys(public_keys, key_file, store.url)
        verifier = ChainVerifier(trusted)
        heads = store.audit_heads()
        for head in sorted(heads.values(), key=lambda h: h.chain_id):
            if chain_id is not None and head.chain_id != chain_id:
                continue
            state = verifier.chain(head.chain_id)
            state.live = True
            try:
                _walk(store, state, head.seq, page_size)
                head = _settle_tail(store, state, head, macs, seal_wait, page_size)
            except _Bad as bad:
                raise integrity_error(head.chain_id, bad) from None
            verifier.expect_head(head)
        if chain_id is not None and chain_id not in heads:
            raise ConfigError(
                f"chain {chain_id!r} not found in {store.url}; chains: {', '.join(sorted(heads)) or 'none'}"
            )
        _check_headless(store, heads, chain_id)
        return verifier.summary()
    finally:
        if isinstance(source, str):
            store.close()


def _walk(store: Store, state: _Chain, seq_to: int, page_size: int, *, until_signed: bool = False) -> None:
    """Check the chain's rows after the last one checked, up to ``seq_to`` (or the first signed one)."""
    start = -1 if state.seq is None else state.seq
    for page in _pages(store, state.chain_id, seq_to, page_size, start):
        if until_signed:
            for index in range(len(page)):
                _check_live(store, state, page[index : index + 1])
                if not state.docs:
                    return
        else:
            _check_live(store, state, page)


def _check_live(store: Store, state: _Chain, rows: Sequence[SealedRow]) -> None:
    """check_rows() on rows read from a store that a writer may be signing in place meanwhile."""
    while rows:
        try:
            state.check_rows(rows)
            return
        except _SignedLater as later:
            _reread(store, state, later.seq)
            rows = rows[later.index :]


def _reread(store: Store, state: _Chain, seq: int) -> None:
    rows = store.read_audit(
        AuditQuery(chain_id=state.chain_id, after=(state.chain_id, seq - 1), seq_to=seq, limit=1)
    )
    if not rows:
        raise _Bad("gap", f"record seq {seq} disappeared while it was being verified", seq)
    row = rows[0]
    state.signed_later(row.seq, row.hash, row.signature, row.doc)


def _settle_tail(
    store: Store, state: _Chain, head: ChainHead, macs: Mapping[str, bytes], wait: float, page_size: int
) -> ChainHead:
    """Deal with records after the chain's last signature: check the head's MAC when the private key is
    here, else give the chain's writer ``wait`` seconds to sign them, following the chain to the first
    signature that covers them. Returns the head the chain was checked up to."""
    if not state.docs:
        return head
    mac_key = macs.get(head.public_key)
    if mac_key is not None:
        state.vouch_by_mac(head, mac_key)
        return head
    deadline = time.monotonic() + wait
    while state.docs and state.seq is not None and time.monotonic() < deadline:
        time.sleep(min(0.05, wait / 10))
        latest = store.audit_heads().get(state.chain_id)
        if latest is None or latest.seq < state.seq:
            break  # summary() reports the unsigned records
        if latest.seq == state.seq and latest.last_signed == state.seq:
            _reread(store, state, state.seq)  # signed in place
        elif latest.seq > state.seq:
            _walk(store, state, latest.seq, page_size, until_signed=True)
        head = ChainHead(state.chain_id, state.seq, state.hash or "", state.last_signed, latest.public_key)
    return head


def iter_chain(
    store: Store, chain_id: str, seq_to: int | None = None, page_size: int = 5000, start: int = -1
) -> Iterator[SealedRow]:
    """Rows of one chain in seq order, read in pages; the next page is fetched while this one is checked."""
    for rows in _pages(store, chain_id, seq_to, page_size, start):
        yield from rows


def _pages(
    store: Store, chain_id: str, seq_to: int | None, page_size: int, start: int
) -> Iterator[list[SealedRow]]:
    def page(after: int) -> list[SealedRow]:
        query = AuditQuery(chain_id=chain_id, after=(chain_id, after), seq_to=seq_to, limit=page_size)
        return store.read_audit(query)

    # Database drivers release the GIL while they wait, so reading ahead overlaps I/O with hashing.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="proctor-verify") as reader:
        pending = reader.submit(page, start)
        while True:
            rows = pending.result()
            if len(rows) == page_size:
                pending = reader.submit(page, rows[-1].seq)
            yield rows
            if len(rows) < page_size:
                return


def _check_headless(store: Store, heads: Mapping[str, ChainHead], chain_id: str | None) -> None:
    """Records in a chain the store has no head for were not written by a Proctor writer (or its head was
    deleted to hide the chain): skip-scan the chain ids, one indexed query per chain."""
    if chain_id is not None:
        return
    after = ("", -1)
    while True:
        rows = store.read_audit(AuditQuery(after=after, limit=1))
        if not rows:
            return
        row = rows[0]
        if row.chain_id not in heads:
            raise AuditIntegrityError(
                f"audit chain {row.chain_id!r} has records but no chain head (its head "
                f"was removed, or the records were not written by Proctor)",
                seq=row.seq,
                record_id=_record_id(row.doc),
                problem="link",
            )
        after = (row.chain_id, 2**62)


def verify_export(path: str | Path, *, public_keys: Iterable[str], partial: bool = False) -> VerifySummary:
    """Verify a JSONL export (one JSON-form record per line). Raises AuditIntegrityError, ConfigError.

    Each chain must be complete from its genesis record, unless ``partial`` (a time-window export): then
    a chain may start mid-way, and what came before it is out of scope. Either way each chain's records
    must be contiguous, in seq order, and end on a signed record.
    """
    verifier = ChainVerifier(public_keys, partial=partial)
    run: list[SealedRow] = []  # consecutive rows of one chain, checked together
    for row in read_export(path):
        if run and (row.chain_id != run[0].chain_id or len(run) == 1000):
            verifier.feed_rows(run)
            run = []
        run.append(row)
    if run:
        verifier.feed_rows(run)
    return verifier.summary()
