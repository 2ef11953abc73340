"""The spill file: a bounded, fsynced JSONL of records the store could not take yet, replayed later."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from proctor.audit.record import AuditRecord
from proctor.errors import StoreError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory lock, one writer per chain by convention
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("proctor.audit")


class SpillFile:
    """Unsealed record documents, one per line, in the order they were accepted.

    Records are sealed only when they reach the store, so a replay puts them on the chain like any new
    record. The file holds at most ``max_records`` records and ``max_bytes`` bytes; an exclusive lock
    keeps a second writer of the same chain out.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, max_records: int = 100_000, max_bytes: int = 64 * 1024 * 1024
    ) -> None:
        self.path = Path(path)
        self.max_records = max_records
        self.max_bytes = max_bytes
        self._file: IO[bytes] | None = None
        self.count = 0
        self.size = 0
        if self.path.exists():
            self._open()
            self.count, self.size = self._measure()

    def _open(self) -> IO[bytes]:
        if self._file is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                handle = open(self.path, "a+b")  # noqa: SIM115 - held open for the log's lifetime
            except OSError as exc:
                raise StoreError(f"audit spill file {self.path} cannot be opened: {exc.strerror}") from exc
            if fcntl is not None:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    handle.close()
                    raise StoreError(
                        f"audit spill file {self.path} is locked by another Proctor process "
                        f"writing the same chain; give each writer its own chain id"
                    ) from None
            self._file = handle
        return self._file

    def _measure(self) -> tuple[int, int]:
        handle = self._open()
        handle.seek(0)
        data = handle.read()
        return data.count(b"\n"), len(data)

    def room(self) -> int:
        """How many more records fit (by count; bytes are checked on write)."""
        return max(0, self.max_records - self.count) if self.size < self.max_bytes else 0

    def write(self, records: Sequence[AuditRecord | str]) -> int:
        """Append as many of ``records`` (or their canonical documents) as fit, fsynced; returns how many
        were written."""
        lines: list[bytes] = []
        size = self.size
        for record in records[: self.room()]:
            line = ((record if isinstance(record, str) else record.canonical_doc()) + "\n").encode("utf-8")
            if size + len(line) > self.max_bytes:
                break
            lines.append(line)
            size += len(line)
        if not lines:
            return 0
        handle = self._open()
        try:
            handle.seek(0, os.SEEK_END)
            handle.write(b"".join(lines))
            handle.flush()
            os.fsync(handle.fileno())
        except OSError as exc:
            raise StoreError(f"audit spill file {self.path} cannot be written: {exc.strerror}") from exc
        self.count += len(lines)
        self.size = size
        return len(lines)

    def read(self) -> list[AuditRecord]:
        """Every record in the file, oldest first. A torn last line (crash mid-write) is skipped."""
        if self.count == 0 and not self.path.exists():
            return []
        handle = self._open()
        handle.seek(0)
        records: list[AuditRecord] = []
        lines = handle.read().split(b"\n")
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                records.append(AuditRecord.from_json(line))
            except ValueError:
                # Only an unacknowledged write can be torn: fsync returned for every earlier line.
                log.warning(
                    "audit spill file %s: skipped unreadable line %d of %d", self.path, number, len(lines)
                )
        return records

    def clear(self) -> None:
        """Empty the file once its records are in the store."""
        handle = self._open()
        try:
            handle.truncate(0)
            handle.flush()
            os.fsync(handle.fileno())
        except OSError as exc:
            raise StoreError(f"audit spill file {self.path} cannot be truncated: {exc.strerror}") from exc
        self.count = 0
        self.size = 0

    def close(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None
