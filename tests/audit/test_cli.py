"""`proctor audit` commands: clear messages; exit 0 intact, 1 broken, 2 could not run; no tracebacks."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from proctor.audit import AuditLog, AuditRecord
from proctor.cli.audit import audit


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(audit, list(args), env=env, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"traceback from {args}: {result.exception!r}\n{result.output}")
    return result


@pytest.fixture
def written(sqlite_url: str) -> str:
    with AuditLog.open(sqlite_url) as audit_log:
        for n in range(6):
            audit_log.append(
                AuditRecord.new(
                    tenant="acme" if n % 2 else "globex",
                    agent="support",
                    action="deny" if n == 3 else "allow",
                    policies=["pii.block"] if n == 3 else [],
                    model="gpt-4o-mini",
                    tokens_in=10 * n,
                    tokens_out=n,
                    cost_usd=0.0001 * n,
                    latency_ms=100.0 + n,
                )
            )
    return sqlite_url


def test_verify_an_intact_store(written: str) -> None:
    result = run("--store", written, "verify")
    assert result.exit_code == 0, result.output
    assert "OK: 7 records intact in 1 chain(s): main (last seq 6)" in result.output
    as_json = json.loads(run("--store", written, "verify", "--json").output)
    assert as_json["ok"] and as_json["records"] == 7


def test_the_store_comes_from_proctor_storage_too(written: str) -> None:
    assert run("verify", env={"PROCTOR_STORAGE": written}).exit_code == 0


def test_verify_names_the_first_bad_record(written: str) -> None:
    db = written.split("sqlite:///", 1)[1]
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER audit_records_no_update")
        conn.execute(
            "UPDATE audit_records SET doc = replace(doc, '\"tokens_in\":30', '\"tokens_in\":3') WHERE seq = 4"
        )
        record_id = json.loads(conn.execute("SELECT doc FROM audit_records WHERE seq = 4").fetchone()[0])[
            "record_id"
        ]
    result = run("--store", written, "verify")
    assert result.exit_code == 1
    assert f"verify FAILED: audit chain 'main', seq 4 (record {record_id}): hash:" in result.output


def test_export_then_verify_the_file(written: str, tmp_path: Path) -> None:
    target = tmp_path / "audit.jsonl"
    result = run("--store", written, "export", "--format", "jsonl", "-o", str(target))
    assert result.exit_code == 0 and "exported 7 record(s)" in result.output
    assert run("--store", written, "verify", "--file", str(target)).exit_code == 0
    public = run("--store", written, "pubkey").output.strip()
    assert run("verify", "--file", str(target), "--pubkey", public).exit_code == 0
    stdout = run("--store", written, "export")
    assert stdout.exit_code == 0 and stdout.output.count('"chain_id":"main"') == 7


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (lambda lines: "\n".join(lines)[:-40], "line 7: not valid JSON (a truncated or damaged export?)"),
        (lambda lines: "this is not json\n", "line 1: not valid JSON"),
        (lambda lines: "", "holds no records"),
        (lambda lines: '[{"id": 1}]\n', "is a JSON array (a CPS export?)"),
        (lambda lines: "\n".join(lines[:3] + lines[4:]) + "\n", "seq 4 follows seq 2: 1 record is missing"),
        (lambda lines: "\n".join(lines[:-1]) + "\n", "no signature covers"),
    ],
)
def test_verify_a_bad_export_says_what_is_wrong(
    written: str, tmp_path: Path, content: Any, message: str
) -> None:
    good = tmp_path / "good.jsonl"
    run("--store", written, "export", "-o", str(good))
    bad = tmp_path / "bad.jsonl"
    bad.write_text(content(good.read_text(encoding="utf-8").splitlines()), encoding="utf-8")
    result = run("--store", written, "verify", "--file", str(bad))
    assert result.exit_code == 1
    assert message in result.output


def test_a_binary_file_is_a_clear_error(written: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    result = run("--store", written, "verify", "--file", str(bad))
    assert result.exit_code == 1 and "not UTF-8 text" in result.output


def test_missing_inputs_exit_2_with_the_fix(written: str, tmp_path: Path) -> None:
    missing_key = run("--store", written, "--key-file", str(tmp_path / "nokey"), "verify")
    assert (
        missing_key.exit_code == 2
        and "signing key file" in missing_key.output
        and "not found" in missing_key.output
    )
    missing_file = run("--store", written, "verify", "--file", str(tmp_path / "nofile.jsonl"))
    assert missing_file.exit_code == 2 and "not found" in missing_file.output
    missing_store = run("--store", f"sqlite:///{tmp_path}/none.db", "verify")
    assert missing_store.exit_code == 2 and "nothing was written there yet" in missing_store.output
    assert not (tmp_path / "none.db").exists()
    bad_pubkey = run("--store", written, "verify", "--pubkey", "xyz")
    assert bad_pubkey.exit_code == 2 and "64 hex characters" in bad_pubkey.output


def test_a_store_from_a_newer_proctor_is_refused(written: str) -> None:
    with sqlite3.connect(written.split("sqlite:///", 1)[1]) as conn:
        conn.execute("INSERT INTO proctor_schema (version, description) VALUES (999, 'future')")
    result = run("--store", written, "verify")
    assert result.exit_code == 2 and "written by a newer Proctor (schema version 999" in result.output


def test_pubkey_prints_the_key_and_creates_it_only_when_asked(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/p.db"
    assert run("--store", url, "pubkey").exit_code == 2
    created = run("--store", url, "pubkey", "--create")
    assert created.exit_code == 0 and len(created.output.strip()) == 64
    assert run("--store", url, "pubkey").output == created.output


def test_tail_and_query_filter_and_format(written: str) -> None:
    tail = run("--store", written, "tail", "-n", "2")
    lines = tail.output.strip().splitlines()
    assert lines[0].startswith("time") and len(lines) == 3 and lines[-1].split()[2] == "6"
    denied = run("--store", written, "query", "--action", "deny", "--json")
    records = [json.loads(line) for line in denied.output.strip().splitlines()]
    assert [r["seq"] for r in records] == [4] and records[0]["policies"] == ["pii.block"]
    assert (
        len(run("--store", written, "query", "--tenant", "acme", "--json").output.strip().splitlines()) == 3
    )
    assert run("--store", written, "query", "--policy", "pii.block", "--json").output.count("\n") == 1
    assert run("--store", written, "query", "--since", "1h", "--json").output.count("\n") == 6
    assert run("--store", written, "query", "--until", "2000-01-01", "--json").output == ""
    bad_time = run("--store", written, "query", "--since", "yesterday")
    assert bad_time.exit_code == 2 and "relative time" in bad_time.output
    everything = run("--store", written, "query", "--all-kinds", "--json")
    assert everything.output.count("\n") == 7


def test_a_real_process_prints_no_traceback(written: str, tmp_path: Path) -> None:
    bad = tmp_path / "cut.jsonl"
    bad.write_text('{"action":"allow","ag', encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from proctor.cli.audit import audit; audit()",
            "--store",
            written,
            "verify",
            "--file",
            str(bad),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "not valid JSON" in done.stderr
