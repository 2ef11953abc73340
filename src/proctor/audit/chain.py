"""Chain hashing and sealing: every record hashes its position and document; each batch ends in a signature.

Hash of a record (hex SHA-256)::

    SHA-256( "proctor-audit/1\\n" chain_id "\\n" seq "\\n" prev_hash "\\n" prev_signed "\\n" document )

where ``prev_hash`` and ``prev_signed`` are empty when null and ``document`` is the canonical JSON of the
record's content (``proctor.audit.record``). Because each hash covers the previous one, a valid signature
on record *n* vouches for records 0..n: editing, deleting, inserting or swapping any earlier record breaks
a hash or a link, and repairing those needs a new signature, which needs the private key.

Why not one signature per record: Ed25519 verification costs ~50-140 µs in Python's ``cryptography``,
which would cap verification far below 100k records/s. So the writer signs the *last record of every
batch it commits* (Ed25519 over ``"proctor-audit/1 sig\\n" + hash``), plus genesis and key hand-over
records. Nothing is ever committed unsigned: a chain never ends in records no signature covers, so
verification treats an unsigned tail as tampering. Each record also states in ``prev_signed`` which
earlier record carries the latest signature, so stripping a signature is detected like any other edit.
The writer bounds how many batches (hence signatures) it commits per second with its ``linger`` setting.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from proctor.audit.keys import SigningKey
from proctor.audit.record import KIND_CALL, AuditRecord
from proctor.store import ChainHead, SealedRow

HASH_PREFIX = "proctor-audit/1\n"
SIGNATURE_PREFIX = b"proctor-audit/1 sig\n"


def chain_hash(chain_id: str, seq: int, prev_hash: str | None, prev_signed: int | None, doc: str) -> str:
    """The hex hash of a record at ``seq`` in ``chain_id`` with document text ``doc``."""
    header = (
        f"{HASH_PREFIX}{chain_id}\n{seq}\n{prev_hash or ''}\n{'' if prev_signed is None else prev_signed}\n"
    )
    return hashlib.sha256((header + doc).encode("utf-8")).hexdigest()


def signature_message(hash_hex: str) -> bytes:
    """The bytes a record's signature covers."""
    return SIGNATURE_PREFIX + hash_hex.encode("ascii")


@dataclass(slots=True)
class ChainState:
    """The writer's view of its chain head. ``seq`` is -1 and ``hash`` None before the genesis record."""

    chain_id: str
    public_key: str
    seq: int = -1
    hash: str | None = None
    last_signed: int | None = None

    @classmethod
    def from_head(cls, head: ChainHead) -> ChainState:
        return cls(head.chain_id, head.public_key, head.seq, head.hash, head.last_signed)

    @property
    def empty(self) -> bool:
        return self.hash is None

    def head(self) -> ChainHead | None:
        if self.hash is None:
            return None
        return ChainHead(self.chain_id, self.seq, self.hash, self.last_signed, self.public_key)

    def copy(self) -> ChainState:
        return ChainState(self.chain_id, self.public_key, self.seq, self.hash, self.last_signed)


def seal(state: ChainState, key: SigningKey, records: Sequence[AuditRecord]) -> list[SealedRow]:
    """Seal ``records`` as one batch onto ``state``, which advances (pass a copy until the store has them).

    The last record, and any genesis or hand-over record, is signed.
    """
    rows: list[SealedRow] = []
    last = len(records) - 1
    chain_id = state.chain_id
    for index, record in enumerate(records):
        seq = state.seq + 1
        doc = record.canonical_doc()
        hash_hex = chain_hash(chain_id, seq, state.hash, state.last_signed, doc)
        signature = None
        if index == last or record.kind != KIND_CALL:
            signature = key.sign(signature_message(hash_hex))
        rows.append(SealedRow(chain_id, seq, state.hash, state.last_signed, hash_hex, signature, doc))
        state.seq = seq
        state.hash = hash_hex
        if signature is not None:
            state.last_signed = seq
    return rows
