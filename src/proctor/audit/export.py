"""Streamed exports of audit records: JSONL (the records' JSON form) and the row selection both formats share.

Selecting by time exports, per chain, the contiguous run of records from the first to the last one in the
window, so the export verifies on its own (records are chained in write order, and a record's time is
taken when the call starts, so a few neighbours just outside the window may come along). Filters on
tenant, agent, session, user, action, model or policy leave gaps: such an export is for reading, and
``proctor audit verify --file`` reports the first gap. A time-window run is extended to the next signed
record, so every export ends on a signature; records no signature covers yet (at most the writer's
``sign_interval`` of them, see ``proctor.audit.chain``) are left for a later export.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from proctor.audit.record import CHAIN_FIELDS, canonical_json, export_line
from proctor.errors import AuditIntegrityError, ConfigError
from proctor.store import AuditQuery, ChainHead, SealedRow, Store, open_store

try:  # parses each line's chain fields 3x faster; the standard library reads them the same
    from orjson import loads as _loads
except ImportError:  # pragma: no cover
    _loads = json.loads  # type: ignore[assignment]

Progress = Callable[[int], None]
_TAIL_MARK = ',"chain_id":'


@dataclass(frozen=True, slots=True)
class ExportFilter:
    """Which records to export. Times are record-time strings (see ``proctor.audit.record.format_time``)."""

    since: str | None = None
    until: str | None = None
    tenant: str | None = None
    agent: str | None = None
    session: str | None = None
    user: str | None = None
    action: str | None = None
    model: str | None = None
    policy: str | None = None
    chain_id: str | None = None

    @property
    def leaves_gaps(self) -> bool:
        """True when the filter drops records from inside a chain run (the export cannot verify alone)."""
        return any(
            v is not None
            for v in (self.tenant, self.agent, self.session, self.user, self.action, self.model, self.policy)
        )


@dataclass(frozen=True, slots=True)
class ExportSummary:
    """What an export wrote: record count, chain id -> (first seq, last seq), and whether it has gaps."""

    records: int
    chains: dict[str, tuple[int, int]] = field(default_factory=dict)
    gaps: bool = False


def select_rows(store: Store, selection: ExportFilter, page_size: int = 2000) -> Iterator[SealedRow]:
    """The rows an export with ``selection`` holds, chain by chain in seq order."""
    heads = store.audit_heads()
    for chain_id in sorted(heads):
        if selection.chain_id is not None and chain_id != selection.chain_id:
            continue
        span = _span(store, heads[chain_id], selection)
        if span is None:
            continue
        first, last = span
        query = AuditQuery(
            chain_id=chain_id,
            seq_to=last,
            tenant=selection.tenant,
            agent=selection.agent,
            session=selection.session,
            user=selection.user,
            action=selection.action,
            model=selection.model,
            policy=selection.policy,
            limit=page_size,
        )
        after = first - 1
        while True:
            rows = store.read_audit(replace(query, after=(chain_id, after)))
            yield from rows
            if len(rows) < page_size:
                break
            after = rows[-1].seq


def _span(store: Store, head: ChainHead, selection: ExportFilter) -> tuple[int, int] | None:
    """First and last seq to export from one chain, or None when nothing qualifies."""
    sealed = head.seq if head.last_signed is None else head.last_signed  # the newest signed record
    if selection.since is None and selection.until is None:
        return 0, sealed
    window = AuditQuery(
        chain_id=head.chain_id, seq_to=sealed, since=selection.since, until=selection.until, limit=1
    )
    low = store.read_audit(window)
    high = store.read_audit(replace(window, order="chain_desc"))
    if not low or not high:
        return None
    end = store.read_audit(
        AuditQuery(
            chain_id=head.chain_id,
            after=(head.chain_id, high[0].seq - 1),
            seq_to=sealed,
            signed=True,
            limit=1,
        )
    )
    return low[0].seq, end[0].seq if end else sealed


def export_jsonl(
    source: str | Store,
    out: IO[str] | str | os.PathLike[str],
    selection: ExportFilter | None = None,
    *,
    progress: Progress | None = None,
) -> ExportSummary:
    """Write the selected records as JSONL (one JSON-form record per line) to a path or text stream."""
    return _with_output(
        source, out, lambda store, stream: _write_jsonl(store, stream, selection or ExportFilter(), progress)
    )


def _write_jsonl(
    store: Store, stream: IO[str], selection: ExportFilter, progress: Progress | None
) -> ExportSummary:
    chains: dict[str, tuple[int, int]] = {}
    count = 0
    for row in select_rows(store, selection):
        stream.write(
            export_line(
                row.doc, row.chain_id, row.seq, row.prev_hash, row.prev_signed, row.hash, row.signature
            )
        )
        stream.write("\n")
        first = chains.get(row.chain_id, (row.seq, row.seq))[0]
        chains[row.chain_id] = (first, row.seq)
        count += 1
        if progress is not None:
            progress(1)
    return ExportSummary(count, chains, selection.leaves_gaps)


def _with_output(
    source: str | Store,
    out: IO[str] | str | os.PathLike[str],
    write: Callable[[Store, IO[str]], ExportSummary],
) -> ExportSummary:
    store = open_store(source) if isinstance(source, str) else source
    try:
        if isinstance(out, (str, os.PathLike)):
            target = Path(out)
            partial = target.with_name(target.name + ".partial")
            with partial.open("w", encoding="utf-8", newline="\n") as stream:
                summary = write(store, stream)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(partial, target)  # a failed export never leaves a file that looks complete
            return summary
        return write(store, out)
    finally:
        if isinstance(source, str):
            store.close()


def read_export(path: str | os.PathLike[str]) -> Iterator[SealedRow]:
    """The rows of a JSONL export, in file order. Raises AuditIntegrityError (format) or ConfigError."""
    export = Path(path)
    number = 0
    try:
        with export.open("r", encoding="utf-8", newline="\n") as lines:
            for number, raw in enumerate(lines, start=1):
                line = raw.rstrip("\r\n")
                if line:
                    yield _parse_line(line, number, export)
    except FileNotFoundError:
        raise ConfigError(f"export file {export} not found") from None
    except UnicodeDecodeError:
        raise AuditIntegrityError(
            f"export {export}, line {number + 1}: not UTF-8 text; is this a Proctor JSONL export?",
            problem="format",
        ) from None
    except OSError as exc:
        raise ConfigError(f"export file {export} cannot be read: {exc.strerror}") from exc
    if number == 0:
        raise AuditIntegrityError(f"export {export} holds no records (empty file)", problem="format")


def _parse_line(line: str, number: int, export: Path) -> SealedRow:
    cut = line.rfind(_TAIL_MARK)
    if cut > 0:
        # Fast path: our exports end with exactly the chain fields, after the canonical document bytes.
        try:
            tail = _loads("{" + line[cut + 1 :])
        except ValueError:
            tail = None
        if isinstance(tail, dict) and tuple(tail) == CHAIN_FIELDS:
            return _chain_fields(tail, line[:cut] + "}", number, export)
    if number == 1 and line.lstrip().startswith("["):
        raise AuditIntegrityError(
            f"export {export} is a JSON array (a CPS export?), not JSONL. Verify a CPS chain "
            f"with: capsule verify {export} --full --pubkey HEX",
            problem="format",
        )
    try:
        data = json.loads(line)
    except ValueError:
        raise AuditIntegrityError(
            f"export {export}, line {number}: not valid JSON (a truncated or damaged export?)",
            problem="format",
        ) from None
    if not isinstance(data, dict):
        raise AuditIntegrityError(f"export {export}, line {number}: expected a JSON object", problem="format")
    tail = {name: data.pop(name, None) for name in CHAIN_FIELDS}
    return _chain_fields(tail, canonical_json(data), number, export)


def _chain_fields(tail: Mapping[str, Any], doc: str, number: int, export: Path) -> SealedRow:
    chain_id, seq, hash_hex = tail.get("chain_id"), tail.get("seq"), tail.get("hash")
    prev_hash, prev_signed, signature = tail.get("prev_hash"), tail.get("prev_signed"), tail.get("signature")
    if (
        not isinstance(chain_id, str)
        or not isinstance(seq, int)
        or not isinstance(hash_hex, str)
        or not isinstance(prev_hash, (str, type(None)))
        or not isinstance(prev_signed, (int, type(None)))
        or not isinstance(signature, (str, type(None)))
    ):
        raise AuditIntegrityError(
            f"export {export}, line {number}: missing or malformed chain fields "
            f"(chain_id, seq, prev_hash, prev_signed, hash, signature)",
            problem="format",
        )
    return SealedRow(chain_id, seq, prev_hash, prev_signed, hash_hex, signature, doc)
