"""Chain hashing and sealing: every record hashes its position and document; signatures seal what came before.

Hash of a record (hex SHA-256)::

    SHA-256( "proctor-audit/1\\n" chain_id "\\n" seq "\\n" prev_hash "\\n" prev_signed "\\n" document )

where ``prev_hash`` and ``prev_signed`` are empty when null and ``document`` is the canonical JSON of the
record's content (``proctor.audit.record``). Because each hash covers the previous one, a valid signature
on record *n* vouches for records 0..n: editing, deleting, inserting or swapping any earlier record breaks
a hash or a link, and repairing those needs a new signature, which needs the private key. Each record
also states in ``prev_signed`` which earlier record carries the latest signature, so stripping a
signature is detected like any other edit.

**When records are signed.** An Ed25519 verification costs 50-200 µs in Python's ``cryptography``, so a
signature per record, or per commit (a synchronous writer commits a few records at a time), would cap
verification far below 100k records/s. Durability and signing are therefore separate: a commit makes
records durable, a signature (Ed25519 over ``"proctor-audit/1 sig\\n" + hash``) seals them. The writer
signs the last record of a commit when ``sign_interval`` (``LogSettings``, default 1 s) has passed since
its last signature, when asked to (``flush``, ``close``, key rotation, reopening a chain), and always
signs genesis and key hand-over records. When a chain goes quiet with unsigned records at its end, the
writer adds the missing signature to its newest record in place within the interval: the one change a
stored record may ever see. Verification thus checks about one signature per second of writing,
whatever the commit pattern; a chain written more slowly than one commit per interval still signs
every commit.

**The unsigned tail.** Between signatures, and after a crash until a writer reopens the chain, a chain
may end in committed records no signature covers yet. Every commit that leaves the chain so also stores
on the chain head an HMAC-SHA256 over (chain id, seq, hash, last_signed, public key), keyed by a secret
derived from the private key (:meth:`~proctor.audit.keys.SigningKey.mac_key`). The head's hash covers
every record before it, so the MAC authenticates the whole tail to whoever holds the private key:

- a writer reopening a chain accepts an unsigned head only with a valid MAC, then signs it at once;
  records appended outside Proctor are refused, as before;
- ``verify`` with the private key (the default for a store: the key file beside it) checks the tail by
  the MAC, so a crash never leaves a chain that fails verification, and acknowledged records are checked;
- ``verify`` with only a public key cannot check a MAC: it waits a few seconds for a running writer to
  sign the tail, and fails like an appended forgery if none does. Exports stop at the last signature.

The trade-off: a verifier holding only the public key proves a chain up to its last signature, which
lags the newest commit by up to ``sign_interval`` while a writer runs, and until a writer reopens the
chain after a crash. Nothing unsigned is accepted without the private key, and nothing the key holder
did not write is accepted with it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from proctor.audit.keys import SigningKey
from proctor.audit.record import KIND_CALL, AuditRecord
from proctor.store import ChainHead, SealedRow

HASH_PREFIX = "proctor-audit/1\n"
SIGNATURE_PREFIX = b"proctor-audit/1 sig\n"
HEAD_MAC_PREFIX = b"proctor-audit/1 head\n"


def chain_hash(chain_id: str, seq: int, prev_hash: str | None, prev_signed: int | None, doc: str) -> str:
    """The hex hash of a record at ``seq`` in ``chain_id`` with document text ``doc``."""
    header = (
        f"{HASH_PREFIX}{chain_id}\n{seq}\n{prev_hash or ''}\n{'' if prev_signed is None else prev_signed}\n"
    )
    return hashlib.sha256((header + doc).encode("utf-8")).hexdigest()


def signature_message(hash_hex: str) -> bytes:
    """The bytes a record's signature covers."""
    return SIGNATURE_PREFIX + hash_hex.encode("ascii")


def head_mac(mac_key: bytes, head: ChainHead) -> str:
    """The hex HMAC that vouches for a chain head whose last record is not signed yet (its ``mac`` aside)."""
    signed = "" if head.last_signed is None else head.last_signed
    message = f"{head.chain_id}\n{head.seq}\n{head.hash}\n{signed}\n{head.public_key}".encode()
    return hmac.new(mac_key, HEAD_MAC_PREFIX + message, "sha256").hexdigest()


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

    @property
    def signed(self) -> bool:
        """True when the newest record carries a signature (or there is none yet)."""
        return self.hash is None or self.last_signed == self.seq

    def head(self, mac_key: bytes | None = None) -> ChainHead | None:
        """The head to store: with ``mac_key``, an unsigned head carries its MAC."""
        if self.hash is None:
            return None
        head = ChainHead(self.chain_id, self.seq, self.hash, self.last_signed, self.public_key)
        if mac_key is None or self.last_signed == self.seq:
            return head
        return ChainHead(
            self.chain_id, self.seq, self.hash, self.last_signed, self.public_key, head_mac(mac_key, head)
        )

    def copy(self) -> ChainState:
        return ChainState(self.chain_id, self.public_key, self.seq, self.hash, self.last_signed)


def seal(
    state: ChainState, key: SigningKey, records: Sequence[AuditRecord | str], *, sign: bool = True
) -> list[SealedRow]:
    """Seal ``records`` as one commit onto ``state``, which advances (pass a copy until the store has them).

    A record is an AuditRecord or the canonical document of a call record (what the AuditLog queues).
    Genesis and hand-over records are always signed; the last record is signed when ``sign`` is true.
    """
    rows: list[SealedRow] = []
    chain_id = state.chain_id
    prefix = f"{HASH_PREFIX}{chain_id}\n".encode()
    seq, prev_hash, last_signed = state.seq, state.hash, state.last_signed
    last = len(records) - 1
    sha256 = hashlib.sha256
    for index, record in enumerate(records):
        seq += 1
        if isinstance(record, str):
            text, doc, special = record, record.encode(), False
        else:
            doc = record.canonical_bytes()
            text, special = doc.decode(), record.kind != KIND_CALL
        # The header and document are hashed as one buffer: chain_hash() spelled out.
        header = f"{seq}\n{prev_hash or ''}\n{'' if last_signed is None else last_signed}\n".encode()
        hash_hex = sha256(prefix + header + doc).hexdigest()
        signature = None
        if (sign and index == last) or special:
            signature = key.sign(signature_message(hash_hex))
        rows.append(SealedRow(chain_id, seq, prev_hash, last_signed, hash_hex, signature, text))
        prev_hash = hash_hex
        if signature is not None:
            last_signed = seq
    state.seq, state.hash, state.last_signed = seq, prev_hash, last_signed
    return rows
