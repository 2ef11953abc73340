"""Capsule Protocol (CPS) export: selected records as a Capsule chain sealed by the ``qp-capsule`` package.

Each record becomes one Capsule (``chat`` for calls, ``system`` for the chain's own records) built with
``qp_capsule.Capsule`` and sealed by ``qp_capsule.Seal`` with the audit signing key, so
``capsule verify chain.json --full --pubkey <proctor audit pubkey>`` accepts the file. Proctor does not
re-implement CPS sealing: the package holds the protocol's patent grant. Each Capsule's
``context.environment`` carries the record's Proctor chain id, seq, hash and signature, so the two chains
can be cross-checked. Needs the optional extra: ``pip install 'proctor[capsule]'``.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import IO, Any

from proctor.audit.export import ExportFilter, ExportSummary, Progress, _with_output, select_rows
from proctor.audit.keys import load_key
from proctor.audit.record import KIND_CALL, AuditRecord
from proctor.errors import ConfigError
from proctor.store import SealedRow, Store

_STATUS = {
    "ok": "success",
    "error": "failure",
    "failed": "failure",
    "blocked": "blocked",
    "denied": "blocked",
    "rejected": "blocked",
    "expired": "blocked",
    "held": "pending",
    "pending": "pending",
    "approved": "success",
}


def export_cps(
    source: str | Store,
    out: IO[str] | str | os.PathLike[str],
    *,
    key_file: str | os.PathLike[str],
    selection: ExportFilter | None = None,
    progress: Progress | None = None,
) -> ExportSummary:
    """Write the selected records as a CPS chain (JSON array of sealed Capsules) signed with ``key_file``."""
    try:
        from qp_capsule import Seal
    except ImportError:
        raise ConfigError(
            "CPS export needs the optional qp-capsule package. Fix: pip install 'proctor[capsule]'"
        ) from None
    load_key(key_file)  # the same checks (exists, owner-only, 32-byte seed) before qp-capsule reads it
    seal = Seal(key_path=Path(key_file), enable_pq=False)
    chosen = selection or ExportFilter()

    def write(store: Store, stream: IO[str]) -> ExportSummary:
        chains: dict[str, tuple[int, int]] = {}
        previous: str | None = None
        count = 0
        stream.write("[")
        for row in select_rows(store, chosen):
            capsule = _capsule(row, AuditRecord.from_json(row.doc))
            capsule.sequence = count
            capsule.previous_hash = previous
            seal.seal(capsule)
            previous = capsule.hash
            stream.write(",\n" if count else "\n")
            stream.write(json.dumps(capsule.to_sealed_dict(), ensure_ascii=False, allow_nan=False))
            chains[row.chain_id] = (chains.get(row.chain_id, (row.seq, row.seq))[0], row.seq)
            count += 1
            if progress is not None:
                progress(1)
        stream.write("\n]\n")
        return ExportSummary(count, chains, chosen.leaves_gaps)

    return _with_output(source, out, write)


def _capsule(row: SealedRow, record: AuditRecord) -> Any:
    from qp_capsule import (
        AuthoritySection,
        Capsule,
        CapsuleType,
        ContextSection,
        ExecutionSection,
        OutcomeSection,
        ReasoningSection,
        TriggerSection,
    )

    call = record.kind == KIND_CALL
    capsule_type: Any = CapsuleType.CHAT if call else CapsuleType.SYSTEM  # StrEnum: typed as str below 3.11
    policies = ", ".join(record.policies)
    environment: dict[str, Any] = {
        "proctor_kind": record.kind,
        "chain_id": row.chain_id,
        "seq": row.seq,
        "record_hash": row.hash,
        "record_signature": row.signature,
        "tenant": record.tenant,
        "client": record.client,
        "provider": record.provider,
        "model": record.model,
        "decision_id": record.decision_id,
        "context_id": record.context_id,
        "prompt_sha256": record.prompt_sha256,
        "response_sha256": record.response_sha256,
        "findings": record.finding_counts,
        "meta": record.meta_dict,
    }
    return Capsule(
        id=uuid.UUID(record.record_id),
        type=capsule_type,
        domain="governance",
        parent_id=None,
        trigger=TriggerSection(
            type="user_request" if call else "system",
            source=record.client or record.agent,
            timestamp=record.time,
            request=record.prompt_text or "",
            correlation_id=record.trace_id or None,
            user_id=record.user or None,
        ),
        context=ContextSection(
            agent_id=record.agent, session_id=record.session or None, environment=environment
        ),
        reasoning=ReasoningSection(
            analysis=f"findings: {', '.join(f'{k} x{v}' for k, v in record.findings) or 'none'}",
            selected_option=record.action,
            reasoning=f"policies: {policies}" if policies else "no policy matched",
            confidence=1.0,
            model=record.model or None,
        ),
        authority=AuthoritySection(
            type="policy" if record.policies else "autonomous",
            approver=record.meta_dict.get("approver") or None,
            policy_reference=policies or None,
        ),
        execution=ExecutionSection(
            duration_ms=round(record.latency_ms or 0),
            resources_used={
                "tokens_in": record.tokens_in,
                "tokens_out": record.tokens_out,
                "cost_usd": record.cost_usd,
            },
        ),
        outcome=OutcomeSection(
            status=_STATUS.get(record.status, "success" if record.error is None else "failure"),
            result=None,
            summary=f"{record.action} / {record.status}",
            error=record.error or None,
            metrics={"latency_ms": record.latency_ms},
        ),
    )
