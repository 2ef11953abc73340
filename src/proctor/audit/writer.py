"""The chain writer: seals batches onto one chain of a store, atomically, and rotates its signing key."""

from __future__ import annotations

import hmac
import json
import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path

from proctor.audit import keys as keymod
from proctor.audit.chain import ChainState, chain_hash, head_mac, seal, signature_message
from proctor.audit.record import KIND_GENESIS, KIND_HANDOVER, AuditRecord
from proctor.audit.spill import SpillFile
from proctor.errors import ConfigError, StoreError
from proctor.store import AuditBatch, AuditQuery, ChainHead, Store

log = logging.getLogger("proctor.audit")

_MAX_CONFLICTS = 5


class ChainWriter:
    """Appends sealed batches to ``chain_id``; not thread-safe (the AuditLog's writer thread owns it).

    Each batch and the new chain head are written in one transaction that succeeds only if the head is
    still where this writer left it, so two writers on one chain never fork it: the loser re-reads the
    head (checking its signature, or its MAC when unsigned) and re-seals its batch after it. A commit's
    last record is signed once ``sign_interval`` seconds have passed since this writer's last signature
    (see ``proctor.audit.chain``); :attr:`seal_due` says when unsigned records must be signed by.
    """

    def __init__(
        self,
        store: Store,
        key_file: Path,
        chain_id: str,
        *,
        batch_max: int = 2000,
        sign_interval: float = 1.0,
    ) -> None:
        self.store = store
        self.key_file = key_file
        self.chain_id = chain_id
        self.batch_max = batch_max
        self.sign_interval = sign_interval
        self.written = 0
        self._signed_at = -math.inf  # monotonic time of this writer's last signature
        head = store.audit_heads().get(chain_id)
        staged = keymod.staged_key(key_file)
        if (
            staged is not None
        ):  # a rotation was interrupted: finish it only if its hand-over reached the chain
            if head is not None and head.public_key == staged.public_key_hex:
                keymod.commit_rotation(key_file)
            else:
                keymod.abandon_rotation(key_file)
        self.key = keymod.load_or_create_key(key_file)
        self._mac_key = self.key.mac_key()
        self.state = ChainState(chain_id, self.key.public_key_hex)
        if head is not None:
            if head.public_key != self.key.public_key_hex:
                raise ConfigError(
                    f"audit chain {chain_id!r} in {store.url} is signed by key {head.public_key[:16]}…, but "
                    f"{key_file} holds key {self.key.public_key_hex[:16]}…. Use the key that signs this "
                    f"chain, or give this writer another chain id"
                )
            self._check_head(head)
            self.state = ChainState.from_head(head)

    @property
    def seal_due(self) -> float | None:
        """When (``time.monotonic()``) the chain's unsigned newest records must be signed; None if signed."""
        if self.state.signed:
            return None
        return self._signed_at + self.sign_interval

    def write(
        self,
        records: Sequence[AuditRecord | str],
        *,
        next_key: keymod.SigningKey | None = None,
        sign: bool = False,
    ) -> None:
        """Seal and store ``records`` (records, or call records' canonical documents; in commits of at
        most ``batch_max``). Raises StoreError.

        A commit's last record is signed when the sign interval has passed since the last signature, or
        when ``sign`` (flush, close) and it is the last commit.
        """
        for start in range(0, len(records), self.batch_max):
            chunk = records[start : start + self.batch_max]
            final = start + self.batch_max >= len(records)
            for _ in range(_MAX_CONFLICTS):
                state = self.state.copy()
                now = time.monotonic()
                sign_last = (sign and final) or now >= self._signed_at + self.sign_interval
                if state.empty:
                    genesis = AuditRecord.new(
                        kind=KIND_GENESIS, agent="proctor", meta={"public_key": self.key.public_key_hex}
                    )
                    rows = seal(state, self.key, [genesis, *chunk], sign=sign_last)
                else:
                    rows = seal(state, self.key, chunk, sign=sign_last)
                if next_key is not None:
                    state.public_key = next_key.public_key_hex
                head = state.head(self._mac_key)
                if head is None:
                    raise StoreError("audit: sealing produced no chain head")
                if self.store.append_audit(AuditBatch(self.chain_id, self.state.head(), head, tuple(rows))):
                    self.state = state
                    self.written += len(chunk)
                    if state.signed:
                        self._signed_at = now
                    break
                self._reload_head()
            else:
                raise StoreError(
                    f"audit chain {self.chain_id!r}: another writer keeps appending to it; give each writer "
                    f"process its own chain id"
                )

    def seal_head(self) -> None:
        """Sign the chain's newest record in place if no signature covers it yet. Raises StoreError."""
        for _ in range(_MAX_CONFLICTS):
            if self.state.signed:
                return
            state = self.state.copy()
            if state.hash is None:
                return
            now = time.monotonic()
            signature = self.key.sign(signature_message(state.hash))
            state.last_signed = state.seq
            head = state.head()
            if head is None:
                return
            batch = AuditBatch(self.chain_id, self.state.head(), head, head_signature=signature)
            if self.store.append_audit(batch):
                self.state = state
                self._signed_at = now
                return
            self._reload_head()
        raise StoreError(
            f"audit chain {self.chain_id!r}: another writer keeps appending to it; give each writer "
            f"process its own chain id"
        )

    def replay(self, spill: SpillFile) -> None:
        """Write the spill file's records (skipping any already stored), then empty it. Raises StoreError."""
        if not spill.count:
            return
        records = spill.read()
        stored: set[str] = set()
        for start in range(0, len(records), 500):
            ids = tuple(r.record_id for r in records[start : start + 500])
            rows = self.store.read_audit(AuditQuery(record_ids=ids, limit=len(ids)))
            stored.update(AuditRecord.from_json(row.doc).record_id for row in rows)
        fresh = [r for r in records if r.record_id not in stored]
        self.write(fresh)
        spill.clear()
        log.warning(
            "audit: replayed %d spilled record(s) from %s (%d were already stored)",
            len(fresh),
            spill.path,
            len(records) - len(fresh),
        )

    def rotate(self) -> str:
        """Hand the chain over to a new key: a hand-over record signed by the old key names the new one."""
        new_key = keymod.stage_rotation(self.key_file)
        old_hex, new_hex = self.key.public_key_hex, new_key.public_key_hex
        proof = new_key.sign(keymod.handover_message(self.chain_id, old_hex, new_hex))
        meta = {"old_public_key": old_hex, "new_public_key": new_hex, "new_key_proof": proof}
        handover = AuditRecord.new(kind=KIND_HANDOVER, agent="proctor", meta=meta)
        try:
            self.write([handover], next_key=new_key)
        except BaseException:
            keymod.abandon_rotation(self.key_file)
            raise
        keymod.commit_rotation(self.key_file)
        self.key = new_key
        self._mac_key = new_key.mac_key()
        log.warning(
            "audit: chain %r now signed by key %s… (hand-over at seq %d)",
            self.chain_id,
            new_hex[:16],
            self.state.seq,
        )
        return new_hex

    def _reload_head(self) -> None:
        head = self.store.audit_heads().get(self.chain_id)
        if head is None:
            raise StoreError(f"audit chain {self.chain_id!r} lost its head in {self.store.url}")
        if head.public_key != self.key.public_key_hex:
            raise StoreError(
                f"audit chain {self.chain_id!r} is now signed by another key; stop the other writer"
            )
        self._check_head(head)  # another writer with this key moved it: continue after its signed head
        self.state = ChainState.from_head(head)

    def _check_head(self, head: ChainHead) -> None:
        """Refuse to extend a chain whose head this key did not write: a signed head needs this key's
        signature (the old key's for a hand-over), an unsigned one the MAC only this key can compute."""
        rows = self.store.read_audit(
            AuditQuery(chain_id=head.chain_id, after=(head.chain_id, head.seq - 1), seq_to=head.seq, limit=1)
        )
        row = rows[0] if rows else None
        valid = (
            row is not None
            and row.hash == head.hash
            and chain_hash(row.chain_id, row.seq, row.prev_hash, row.prev_signed, row.doc) == row.hash
        )
        if row is not None and valid and head.last_signed == head.seq:
            key = keymod.VerifyKey.from_hex(self.key.public_key_hex)
            if f'"kind":"{KIND_HANDOVER}"' in row.doc:
                key = self._handover_signer(row.doc, key)
            valid = row.signature is not None and key.verify(signature_message(row.hash), row.signature)
        elif row is not None and valid:
            valid = (
                row.signature is None
                and head.mac is not None
                and (head.last_signed is None or head.last_signed < head.seq)
                and hmac.compare_digest(head.mac, head_mac(self._mac_key, head))
            )
        if not valid:
            raise StoreError(
                f"audit chain {head.chain_id!r} in {self.store.url}: the head record (seq {head.seq}) is not "
                f"signed by this chain's key, so the store was changed outside Proctor. Run proctor audit "
                f"verify; write to another chain id until it is resolved"
            )

    def _handover_signer(self, doc: str, current: keymod.VerifyKey) -> keymod.VerifyKey:
        """A hand-over head is signed by the old key, once the current key's proof vouches for it."""
        meta = json.loads(doc).get("meta") or {}
        old, new, proof = meta.get("old_public_key"), meta.get("new_public_key"), meta.get("new_key_proof")
        message = keymod.handover_message(self.chain_id, str(old), str(new))
        if new != current.hex or not current.verify(message, str(proof)):
            raise StoreError(f"audit chain {self.chain_id!r}: the key hand-over at its head is not valid")
        return keymod.VerifyKey.from_hex(str(old))
