"""Exports: JSONL in the records' JSON form, time windows, filters, and CPS checked by `capsule verify`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from proctor.audit import (
    AuditLog,
    AuditRecord,
    ExportFilter,
    LogSettings,
    export_cps,
    export_jsonl,
    verify_export,
)
from proctor.audit.record import format_time
from proctor.errors import AuditIntegrityError

BASE = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
REQUIRE_SERVICES = os.environ.get("PROCTOR_REQUIRE_SERVICES") == "1"


def _write(url: str, groups: list[list[dict[str, Any]]]) -> str:
    """Write each group as one commit; returns the signing public key."""
    with AuditLog.open(url) as audit_log:
        for group in groups:
            for fields in group:
                audit_log.append(AuditRecord.new(**fields))
            audit_log.flush()
        return audit_log.public_key_hex


def _minutes(*spans: range, **fields: Any) -> list[list[dict[str, Any]]]:
    return [[{"time": BASE + timedelta(minutes=m), **fields} for m in span] for span in spans]


def test_a_full_jsonl_export_holds_the_json_form_and_verifies(store_url: str, tmp_path: Path) -> None:
    public = _write(store_url, _minutes(range(0, 3), range(3, 7), tenant="acme"))
    target = tmp_path / "audit.jsonl"
    summary = export_jsonl(store_url, target)
    assert summary.records == 8 and summary.chains == {"main": (0, 7)} and not summary.gaps
    lines = target.read_text(encoding="utf-8").splitlines()
    records = [AuditRecord.from_json(line) for line in lines]
    assert [r.to_json() for r in records] == lines  # the JSON form round-trips byte for byte
    assert [r.seq for r in records] == list(range(8)) and records[0].kind == "genesis"
    assert verify_export(target, public_keys=[public]).records == 8
    assert not (tmp_path / "audit.jsonl.partial").exists()


def test_a_time_window_export_is_a_contiguous_run_ending_on_a_signature(
    sqlite_url: str, tmp_path: Path
) -> None:
    public = _write(sqlite_url, _minutes(range(0, 4), range(4, 8), range(8, 12)))
    target = tmp_path / "window.jsonl"
    window = ExportFilter(
        since=format_time(BASE + timedelta(minutes=5)), until=format_time(BASE + timedelta(minutes=6))
    )
    summary = export_jsonl(sqlite_url, target, window)
    assert summary.chains == {"main": (6, 8)}  # minute 5 is seq 6; its commit ends at seq 8 (minute 7)
    assert verify_export(target, public_keys=[public], partial=True).records == 3
    with pytest.raises(AuditIntegrityError, match="starts at seq 6"):
        verify_export(target, public_keys=[public])


def test_a_filtered_export_has_gaps_and_says_so(sqlite_url: str, tmp_path: Path) -> None:
    public = _write(sqlite_url, [[{"tenant": "a"}, {"tenant": "b"}, {"tenant": "a"}]])
    target = tmp_path / "a.jsonl"
    summary = export_jsonl(sqlite_url, target, ExportFilter(tenant="a"))
    assert summary.records == 2 and summary.gaps
    with pytest.raises(AuditIntegrityError) as caught:
        verify_export(target, public_keys=[public], partial=True)
    assert caught.value.problem in ("gap", "signature")


def test_records_no_signature_covers_yet_wait_for_a_later_export(store_url: str, tmp_path: Path) -> None:
    with AuditLog.open(store_url, sync=True, settings=LogSettings(sign_interval=60.0)) as audit_log:
        public = audit_log.public_key_hex
        for minute in range(3):  # the first commit is signed, the next two are not yet
            audit_log.append(AuditRecord.new(time=BASE + timedelta(minutes=minute)))
        target = tmp_path / "audit.jsonl"
        assert export_jsonl(store_url, target).chains == {"main": (0, 1)}
        assert verify_export(target, public_keys=[public]).records == 2
        window = ExportFilter(
            since=format_time(BASE + timedelta(minutes=2)), until=format_time(BASE + timedelta(minutes=3))
        )
        assert export_jsonl(store_url, target, window).records == 0
    assert export_jsonl(store_url, target, window).chains == {"main": (3, 3)}  # close() signed them
    assert verify_export(target, public_keys=[public], partial=True).records == 1


def _capsule_cli() -> list[str]:
    script = Path(sys.executable).with_name("capsule")
    if script.exists():
        return [str(script)]
    found = shutil.which("capsule")
    return [found] if found else [sys.executable, "-c", "from qp_capsule.cli import _entry; _entry()"]


@pytest.fixture
def qp_capsule() -> None:
    try:
        import qp_capsule  # noqa: F401
    except ImportError:
        if REQUIRE_SERVICES:
            pytest.fail("qp-capsule is not installed (PROCTOR_REQUIRE_SERVICES=1)")
        pytest.skip("qp-capsule is not installed (pip install 'proctor[capsule]')")


def test_the_real_capsule_cli_accepts_a_cps_export(store_url: str, tmp_path: Path, qp_capsule: None) -> None:
    groups: list[list[dict[str, Any]]] = [
        [
            {
                "tenant": "acme",
                "agent": "bot",
                "session": "s-1",
                "model": "gpt-4o",
                "provider": "openai",
                "action": "redact",
                "policies": ["pii.redact"],
                "findings": {"pii.email": 2},
                "tokens_in": 12,
                "tokens_out": 30,
                "cost_usd": 0.00033,
                "latency_ms": 812.5,
                "trace_id": "trace-1",
            },
            {"action": "deny", "status": "blocked", "error": "policy denied", "user": "u-1"},
        ],
        [{"status": "error", "error": "upstream 502", "latency_ms": 3.2}],
    ]
    public = _write(store_url, groups)
    target = tmp_path / "chain.json"
    summary = export_cps(store_url, target, key_file="proctor-signing.key")
    assert summary.records == 4
    capsules = json.loads(target.read_text(encoding="utf-8"))
    assert [c["sequence"] for c in capsules] == [0, 1, 2, 3] and capsules[0]["previous_hash"] is None
    for capsule in capsules:
        assert capsule["spec_version"] == "1.0"
        assert capsule["id"] == capsule["id"].lower() and capsule["parent_id"] is None
        assert capsule["trigger"]["timestamp"].endswith("+00:00") and capsule["signed_at"].endswith("+00:00")
        assert capsule["trigger"]["correlation_id"] != "" and capsule["context"]["session_id"] != ""
    assert capsules[1]["context"]["environment"]["record_hash"]
    assert capsules[2]["outcome"]["status"] == "blocked"

    passed = subprocess.run(
        [*_capsule_cli(), "verify", str(target), "--full", "--pubkey", public],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "PASS" in passed.stdout

    capsules[2]["outcome"]["error"] = "nothing happened"
    target.write_text(json.dumps(capsules), encoding="utf-8")
    failed = subprocess.run(
        [*_capsule_cli(), "verify", str(target), "--full", "--pubkey", public],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert failed.returncode == 1
