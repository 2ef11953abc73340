"""The tamper-evident audit trail: records, the sealed hash chain, verification and exports."""

from __future__ import annotations

from proctor.audit.cps import export_cps
from proctor.audit.export import ExportFilter, ExportSummary, export_jsonl
from proctor.audit.keys import SigningKey, VerifyKey, default_key_path, load_or_create_key, read_public_key
from proctor.audit.log import AuditLog, LogSettings, LogStats
from proctor.audit.pricing import PriceTable, estimate_cost
from proctor.audit.record import AuditRecord, sha256_text
from proctor.audit.verify import VerifySummary, verify, verify_export

__all__ = [
    "AuditLog",
    "AuditRecord",
    "ExportFilter",
    "ExportSummary",
    "LogSettings",
    "LogStats",
    "PriceTable",
    "SigningKey",
    "VerifyKey",
    "VerifySummary",
    "default_key_path",
    "estimate_cost",
    "export_cps",
    "export_jsonl",
    "load_or_create_key",
    "read_public_key",
    "sha256_text",
    "verify",
    "verify_export",
]
