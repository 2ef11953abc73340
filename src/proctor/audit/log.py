"""The AuditLog: one writer thread per chain seals records and writes them in batches, off the request path.

``append`` encodes the record's canonical document and enqueues it (``sync=True`` waits until it is
durable). The writer thread drains the queue and commits each batch with the chain head in one
transaction, so a crash leaves either the whole batch or none of it: never a gap, a fork or half a record.

Asynchronous appends do not wake the writer: they go on a deque that the writer drains every ``linger``
(and at once when ``batch_max`` are waiting, or a synchronous append, a flush or close arrives). Waking a
thread per record cost the caller's thread more than encoding the record, and on a busy core every wake
is a hand-off of the interpreter lock; a writer that wakes ten times a second costs nothing.

Durable is not yet signed: the writer signs at most every ``sign_interval`` and on ``flush``/``close``
(see ``proctor.audit.chain`` for why, and for how records committed in between are protected).

When the store cannot be written, records go to a bounded, fsynced spill file and are replayed when the
store is back; with ``failure_mode="closed"`` and the spill full, ``append`` raises StoreError.
``failure_mode="open"`` never fails the caller: it logs and counts what it cannot keep
(``stats().dropped``). That weakens the guarantee: use it knowingly.
"""

from __future__ import annotations

import atexit
import enum
import logging
import queue
import threading
import time
import weakref
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal

from proctor.audit import keys as keymod
from proctor.audit.record import KIND_CALL, AuditRecord
from proctor.audit.spill import SpillFile
from proctor.audit.writer import ChainWriter
from proctor.errors import ConfigError, StoreError
from proctor.store import open_store

log = logging.getLogger("proctor.audit")

FailureMode = Literal["open", "closed"]
DEFAULT_CHAIN = "main"


@dataclass(frozen=True, slots=True)
class LogSettings:
    """Tuning for the writer.

    ``linger``: how long asynchronous records may wait for company before the writer commits them (a
    synchronous append, flush or close commits at once); it is the window of asynchronous records a crash
    can lose. ``sign_interval``: the writer signs a commit's last record only when this long has passed
    since its last signature (and on flush, close and key rotation), and signs a quiet chain's newest
    record within it, so verification checks about one Ed25519 signature per ``sign_interval`` of writing.
    It is also how far a verifier holding only the public key may lag behind the newest records (see
    ``proctor.audit.chain``); 0 signs every commit. ``batch_max`` caps records per commit;
    ``max_pending`` caps records held in memory while both the store and the spill file are unavailable.
    """

    batch_max: int = 2000
    linger: float = 0.1
    sign_interval: float = 1.0
    max_pending: int = 100_000
    spill_max_records: int = 100_000
    spill_max_bytes: int = 64 * 1024 * 1024
    retry_interval: float = 1.0
    sync_timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class LogStats:
    """Counters of one AuditLog: records written to the store, in the spill file, held in memory, dropped."""

    written: int
    spilled: int
    held: int
    dropped: int
    degraded: bool
    last_error: str | None


class _Waiter:
    __slots__ = ("error", "event")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.error: StoreError | None = None

    def done(self, error: StoreError | None = None) -> None:
        self.error = error
        self.event.set()


class _Command(enum.Enum):
    """What the writer thread is asked to do besides writing records."""

    STOP = "stop"
    FLUSH = "flush"
    ROTATE = "rotate"
    DRAIN = "drain"  # batch_max asynchronous records are waiting


# A record is queued as its canonical document, encoded by append() on the caller's thread: a record that
# cannot be encoded is refused there instead of stopping the writer, the writer only hashes and stores, and
# a backlog is compact text the garbage collector need not walk. (Text, not orjson's bytes: those keep an
# 8 KiB buffer each.) An asynchronous record is the text alone; synchronous ones and commands carry their
# waiter.
_Item = str | tuple[str | _Command, _Waiter | None]
_Pending = tuple[str, _Waiter | None]
_OPEN_LOGS: weakref.WeakSet[AuditLog] = weakref.WeakSet()


class AuditLog:
    """Appends sealed records to one chain of a store. Build it with :meth:`open`; a context manager."""

    def __init__(
        self,
        writer: ChainWriter,
        *,
        sync: bool,
        failure_mode: FailureMode,
        spill: SpillFile,
        settings: LogSettings,
    ) -> None:
        self._writer = writer
        self.chain_id, self.sync, self.failure_mode = writer.chain_id, sync, failure_mode
        self._spill, self._settings = spill, settings
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()  # sync records and commands: wake at once
        self._async: deque[str] = deque()  # asynchronous records: drained every linger, no wake-up
        self._held: deque[_Pending] = deque()
        self._flushes: list[_Waiter] = []
        self._degraded = False
        self._blocked = False
        self._closed = False
        self._retry_at = 0.0
        self._dropped = 0
        self._last_error: str | None = None
        self._thread = threading.Thread(target=self._run, name=f"proctor-audit-{self.chain_id}", daemon=True)

    @classmethod
    def open(
        cls,
        store_url: str,
        *,
        key_file: str | None = None,
        chain_id: str | None = None,
        sync: bool = False,
        failure_mode: FailureMode = "closed",
        spill_path: str | None = None,
        settings: LogSettings | None = None,
    ) -> AuditLog:
        """Open the chain ``chain_id`` (default ``main``) of the store at ``store_url`` for appending.

        ``key_file`` defaults to ``proctor-signing.key`` beside a SQLite store (else in the working
        directory) and is created, mode 0600, on first use. ``spill_path`` defaults to
        ``proctor-audit-<chain>.spill.jsonl`` beside the key. Records spilled by an earlier run are
        replayed now. Raises StoreError when the store cannot be opened, is newer than this Proctor or
        was changed outside Proctor, ConfigError when the key does not match the chain.
        """
        if failure_mode not in ("open", "closed"):
            raise ConfigError(f"audit failure_mode: expected 'open' or 'closed'; found {failure_mode!r}")
        chain = chain_id or DEFAULT_CHAIN
        settings = settings or LogSettings()
        store = open_store(store_url)
        try:
            key_path = Path(key_file) if key_file else keymod.default_key_path(store_url)
            writer = ChainWriter(
                store, key_path, chain, batch_max=settings.batch_max, sign_interval=settings.sign_interval
            )
            spill = SpillFile(
                spill_path or key_path.parent / f"proctor-audit-{_safe(chain)}.spill.jsonl",
                max_records=settings.spill_max_records,
                max_bytes=settings.spill_max_bytes,
            )
        except BaseException:
            store.close()
            raise
        audit_log = cls(writer, sync=sync, failure_mode=failure_mode, spill=spill, settings=settings)
        audit_log._start()
        return audit_log

    # -- public API ---------------------------------------------------------------------------------------

    @property
    def public_key_hex(self) -> str:
        """The hex Ed25519 public key that signs this chain now."""
        return self._writer.key.public_key_hex

    def append(self, record: AuditRecord) -> None:
        """Queue ``record`` for sealing; when the log is ``sync``, wait until it is durable.

        Raises StoreError when the log is closed, or, in fail-closed mode, when the store is unavailable
        and the spill file is full (or a synchronous append could not be made durable); ConfigError when
        the record cannot be encoded (the writer never sees it).
        """
        if not isinstance(record, AuditRecord):
            raise TypeError(f"append() takes an AuditRecord; found {type(record).__name__}")
        if record.kind != KIND_CALL or record.hash is not None:
            raise ConfigError(
                "append() takes new call records (AuditRecord.new); sealed records and the chain's own "
                "records are written by the log itself"
            )
        try:
            doc = record.canonical_doc()
        except (TypeError, ValueError) as exc:  # a field the record's JSON form cannot hold
            raise ConfigError(
                f"audit record {record.record_id}: its JSON form cannot be encoded ({type(exc).__name__}); "
                f"text fields must be valid Unicode (no lone surrogates) and numbers finite"
            ) from None
        if self._closed:
            raise StoreError(f"audit log for chain {self.chain_id!r} is closed")
        if self._blocked and self.failure_mode == "closed":
            raise StoreError(
                f"audit store {self._writer.store.url} cannot be written and the spill file "
                f"{self._spill.path} is full; failing closed ({self._last_error})"
            )
        if not self.sync:
            self._async.append(doc)
            # A full batch is worth a wake-up; so is every record when linger is 0 (commit at once).
            if self._settings.linger <= 0 or len(self._async) == self._settings.batch_max:
                self._queue.put((_Command.DRAIN, None))
            return
        waiter = _Waiter()
        self._queue.put((doc, waiter))
        self._wait(waiter, "the audit record is not durable")

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every record appended so far is durable (in the store, or the spill file).

        Records that reached the store are signed too, so a verifier with only the public key sees them.
        """
        waiter = _Waiter()
        self._queue.put((_Command.FLUSH, waiter))
        self._wait(waiter, "audit flush did not finish", timeout, always_raise=True)

    def rotate_key(self, timeout: float | None = None) -> str:
        """Replace the signing key: a hand-over record signed by the old key names the new one. Returns it."""
        waiter = _Waiter()
        self._queue.put((_Command.ROTATE, waiter))
        self._wait(waiter, "key rotation did not finish", timeout, always_raise=True)
        return self._writer.key.public_key_hex

    def stats(self) -> LogStats:
        """Counters: written, spilled (in the spill file), held in memory, dropped, degraded, last error."""
        return LogStats(
            self._writer.written,
            self._spill.count,
            len(self._held),
            self._dropped,
            self._degraded,
            self._last_error,
        )

    def close(self, timeout: float | None = 30.0) -> None:
        """Write what is queued and stop the writer. Idempotent.

        Raises StoreError (fail-closed mode) when records could neither be written nor spilled; they are
        lost only then, and the error says how many.
        """
        if self._closed:
            return
        self._closed = True
        if self._thread.is_alive():
            self._queue.put((_Command.STOP, None))
            self._thread.join(timeout)
        self._writer.store.close()
        self._spill.close()
        _OPEN_LOGS.discard(self)
        lost = len(self._held) + self._queue.qsize() + len(self._async)
        if lost:
            message = (
                f"audit log for chain {self.chain_id!r} closed with {lost} record(s) neither in the store "
                f"nor in the spill file ({self._last_error})"
            )
            log.error(message)
            if self.failure_mode == "closed":
                raise StoreError(message)

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- writer thread ------------------------------------------------------------------------------------

    def _wait(
        self, waiter: _Waiter, what: str, timeout: float | None = None, always_raise: bool = False
    ) -> None:
        limit = self._settings.sync_timeout if timeout is None else timeout
        error: StoreError | None
        if not waiter.event.wait(limit):
            error = StoreError(
                f"{what} after {limit:g}s (audit store {self._writer.store.url}: {self._last_error})"
            )
        else:
            error = waiter.error
        if error is None:
            return
        if always_raise or self.failure_mode == "closed":
            raise error
        log.error("%s (failure_mode=open: the call goes on)", error)

    def _start(self) -> None:
        if self._spill.count:
            try:
                self._writer.replay(self._spill)
            except StoreError as exc:
                self._degrade(exc)
        _OPEN_LOGS.add(self)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=self._timeout())
            except queue.Empty:
                self._write_async()  # the asynchronous records of the last linger
                self._write([])  # time to retry a degraded store
                self._seal()  # or to sign the newest records
                continue
            self._write_async()  # what was appended before this item goes first
            batch: list[_Pending] = []
            for gathered in self._gather(item):
                if isinstance(gathered, str):
                    batch.append((gathered, None))
                    continue
                doc, waiter = gathered
                if isinstance(doc, str):
                    batch.append((doc, waiter))
                    continue
                command = doc
                if command is _Command.DRAIN:
                    continue
                self._write(batch, sign=command is not _Command.ROTATE)
                batch = []
                self._write_async(sign=command is not _Command.ROTATE)
                if command is _Command.STOP:
                    self._write([])
                    self._seal(force=True)
                    for pending in self._flushes:
                        pending.done(StoreError("audit log closed before its records could be written"))
                    return
                self._control(command, waiter)
            self._write(batch)

    def _write_async(self, *, sign: bool = False) -> None:
        """Write the asynchronous records appended so far, ``batch_max`` at a time."""
        pending = self._async
        while pending:
            batch: list[_Pending] = []
            while pending and len(batch) < self._settings.batch_max:
                batch.append((pending.popleft(), None))
            self._write(batch, sign=sign and not pending)

    def _gather(self, item: _Item) -> list[_Item]:
        """``item`` and what follows, up to ``batch_max``; waits up to ``linger`` unless a caller waits."""
        items = [item]
        urgent = not isinstance(item, str)
        deadline = time.monotonic() + self._settings.linger
        while len(items) < self._settings.batch_max:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                wait = deadline - time.monotonic()
                if urgent or wait <= 0:
                    break
                try:
                    item = self._queue.get(timeout=wait)
                except queue.Empty:
                    break
            items.append(item)
            urgent = urgent or not isinstance(item, str)
        return items

    def _timeout(self) -> float | None:
        if self._degraded or self._held:
            wait: float | None = max(0.0, self._retry_at - time.monotonic())
        else:
            due = self._writer.seal_due
            wait = None if due is None else max(0.0, due - time.monotonic())
        linger = self._settings.linger  # asynchronous records wait at most this long
        if linger <= 0:  # every append wakes the writer instead
            return wait
        return linger if wait is None else min(wait, linger)

    def _control(self, command: _Command, waiter: _Waiter | None) -> None:
        if waiter is None:
            return
        if command is _Command.FLUSH:
            if self._held:
                self._flushes.append(waiter)
            else:
                self._seal(force=True)
                waiter.done()
            return
        try:
            if self._degraded:
                raise StoreError(f"cannot rotate the key while the store is unavailable ({self._last_error})")
            self._writer.rotate()
        except StoreError as exc:
            waiter.done(exc)
        except (ConfigError, OSError) as exc:
            waiter.done(StoreError(f"key rotation failed: {exc}"))
        else:
            waiter.done()

    def _seal(self, *, force: bool = False) -> None:
        """Sign the chain's newest record if it is unsigned and due (or ``force``), unless the store is down."""
        due = self._writer.seal_due
        if due is None or self._degraded or (not force and time.monotonic() < due):
            return
        try:
            self._writer.seal_head()
        except StoreError as exc:
            self._degrade(exc)
        except Exception as exc:  # as in _write: a driver error the store did not wrap
            log.exception("audit: unexpected error signing the head of %s", self._writer.store.url)
            self._degrade(StoreError(f"unexpected {type(exc).__name__} signing audit records"))

    def _write(self, batch: Sequence[_Pending], *, sign: bool = False) -> None:
        """Write held records, then ``batch``, to the store; fall back to the spill file, then to memory."""
        if self._degraded and time.monotonic() >= self._retry_at:
            try:
                self._writer.replay(self._spill)
            except StoreError as exc:
                self._degrade(exc)
            else:
                self._degraded = False
                self._blocked = False
        if self._held:
            batch = [*self._held, *batch]
            self._held.clear()
        if not batch:
            return
        if not self._degraded:
            try:
                self._writer.write([doc for doc, _ in batch], sign=sign)
            except StoreError as exc:
                self._degrade(exc)
            except Exception as exc:  # a driver error the store did not wrap: never lose the batch over it
                log.exception("audit: unexpected error writing to %s", self._writer.store.url)
                self._degrade(StoreError(f"unexpected {type(exc).__name__} writing audit records"))
            else:
                self._release(batch)
                return
        self._spill_or_hold(batch)

    def _spill_or_hold(self, batch: Sequence[_Pending]) -> None:
        try:
            spilled = self._spill.write([doc for doc, _ in batch])
        except StoreError as exc:
            self._last_error = str(exc)
            spilled = 0
        self._release(batch[:spilled])
        rest = batch[spilled:]
        if not rest:
            return
        self._blocked = True
        keep = max(0, self._settings.max_pending - len(self._held))
        self._held.extend(rest[:keep])
        dropped = rest[keep:]
        if not dropped:
            return
        self._dropped += len(dropped)
        reason = (
            f"store {self._writer.store.url} unavailable, spill file {self._spill.path} full and "
            f"{len(self._held)} records held in memory"
        )
        log.error("audit: dropped %d record(s): %s", len(dropped), reason)
        for _, waiter in dropped:
            if waiter is not None:
                waiter.done(StoreError(f"audit record dropped: {reason}"))

    def _release(self, batch: Sequence[_Pending]) -> None:
        for _, waiter in batch:
            if waiter is not None:
                waiter.done()
        if not self._held and self._flushes:
            for waiter in self._flushes:
                waiter.done()
            self._flushes.clear()

    def _degrade(self, exc: StoreError) -> None:
        if not self._degraded:
            log.error("audit store unavailable, spilling to %s: %s", self._spill.path, exc)
        self._degraded = True
        self._last_error = str(exc)
        self._retry_at = time.monotonic() + self._settings.retry_interval


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "chain"


@atexit.register
def _close_open_logs() -> None:
    for audit_log in list(_OPEN_LOGS):
        try:
            audit_log.close(timeout=10.0)
        except StoreError as exc:
            log.error("audit: %s", exc)
