"""python -m benchmarks.audit: time sealed appends and verification, and write the results section.

Example: python -m benchmarks.audit --records 50000 --producers 8 --postgres postgresql://postgres@127.0.0.1/db
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.results import write_section
from benchmarks.speed.machine import cpu_model, installed_version, usable_cores
from proctor.audit import (
    AuditLog,
    AuditRecord,
    ExportFilter,
    VerifySummary,
    export_jsonl,
    verify,
    verify_export,
)
from proctor.audit.keys import SigningKey, VerifyKey, read_public_key
from proctor.identity import Identity

RESULTS = Path(__file__).resolve().parents[1] / "RESULTS.md"
TARGETS = {"sqlite": 20_000, "postgresql": 10_000, "verify": 100_000}


@dataclass(frozen=True, slots=True)
class Row:
    """One measured line of the results table."""

    what: str
    records: int
    seconds: float
    target: int | None = None
    note: str = ""

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


def _record(n: int, identity: Identity) -> AuditRecord:
    """A realistic record: ids, identity, model, a policy hit, hashes, tokens, cost and latency."""
    return AuditRecord.new(
        identity=identity,
        provider="openai",
        model="gpt-4o-mini",
        action="redact" if n % 7 == 0 else "allow",
        policies=["pii.redact"] if n % 7 == 0 else [],
        findings={"pii.email": 1} if n % 7 == 0 else None,
        prompt=f"prompt {n}",
        response=f"response {n}",
        tokens_in=120 + n % 50,
        tokens_out=300 + n % 90,
        cost_usd=0.000198,
        latency_ms=420.5,
        decision_id=str(uuid.uuid4()),
        trace_id=f"trace-{n}",
    )


def time_appends(
    url: str, key_file: str, records: int, producers: int, *, sync: bool, chains: list[str]
) -> Row:
    """``producers`` threads build and append ``records`` records to each chain in ``chains`` (one run per
    chain); each run is timed from the first append until all its records are durable. Reports the median."""
    per = records // producers
    runs: list[float] = []
    for chain in chains:
        gc.collect()
        start_gate = threading.Barrier(producers + 1)
        with AuditLog.open(url, key_file=key_file, chain_id=chain, sync=sync) as audit_log:

            def produce(
                slot: int, audit_log: AuditLog = audit_log, gate: threading.Barrier = start_gate
            ) -> None:
                identity = Identity(tenant=f"tenant-{slot % 3}", agent=f"agent-{slot}", session=f"s-{slot}")
                gate.wait()
                for n in range(per):
                    audit_log.append(_record(n, identity))

            threads = [threading.Thread(target=produce, args=(s,)) for s in range(producers)]
            for thread in threads:
                thread.start()
            start_gate.wait()
            started = time.perf_counter()
            for thread in threads:
                thread.join()
            audit_log.flush(timeout=600)
            runs.append(time.perf_counter() - started)
    backend = "sqlite" if url.startswith("sqlite") else "postgresql"
    mode = "sync=True, each append waits until durable" if sync else "async (the default), flush at the end"
    rates = sorted(per * producers / r for r in runs)
    note = f"median of {len(runs)} runs; best {rates[-1]:,.0f}/s" if len(runs) > 1 else ""
    return Row(
        f"append, {backend}, {producers} producers, {mode}",
        per * producers,
        statistics.median(runs),
        TARGETS[backend] if not sync else None,
        note,
    )


def time_verify(source: str, key_file: str, what: str, *, chain: str | None = None, runs: int = 5) -> Row:
    return _verify_runs(what, lambda: verify(source, key_file=key_file, chain_id=chain), runs)


def time_verify_export(path: Path, public_key: str, *, runs: int = 5) -> Row:
    return _verify_runs(
        "verify, JSONL export of one async chain", lambda: verify_export(path, public_keys=[public_key]), runs
    )


def _verify_runs(what: str, run: Callable[[], VerifySummary], runs: int) -> Row:
    seconds: list[float] = []
    summary = None
    for _ in range(runs):
        gc.collect()
        summary = run()
        seconds.append(summary.seconds)
    assert summary is not None
    best = summary.records / min(seconds)
    note = f"median of {runs}; best {best:,.0f}/s; {summary.signatures:,} signatures checked"
    return Row(what, summary.records, statistics.median(seconds), TARGETS["verify"], note)


def breakdown(tmp: str) -> dict[str, float]:
    """Single-thread microseconds per record: build it, seal it (canonical JSON + hash), store it (SQLite)."""
    from proctor.audit.chain import ChainState, seal
    from proctor.store import AuditBatch, ChainHead, open_store

    identity = Identity(tenant="t", agent="a", session="s")
    n = 20_000
    gc.collect()
    started = time.perf_counter()
    records = [_record(i, identity) for i in range(n)]
    built = time.perf_counter() - started
    key = SigningKey.generate()
    state = ChainState("breakdown", key.public_key_hex)
    started = time.perf_counter()
    batches = [seal(state, key, records[i : i + 2000]) for i in range(0, n, 2000)]
    sealed = time.perf_counter() - started
    store = open_store(f"sqlite:///{tmp}/breakdown.db")
    previous = None
    started = time.perf_counter()
    for rows in batches:
        head = ChainHead("breakdown", rows[-1].seq, rows[-1].hash, rows[-1].seq, key.public_key_hex)
        store.append_audit(AuditBatch("breakdown", previous, head, tuple(rows)))
        previous = head
    stored = time.perf_counter() - started
    store.close()
    return {"build": built / n * 1e6, "seal": sealed / n * 1e6, "sqlite insert": stored / n * 1e6}


def crypto_costs() -> dict[str, float]:
    """Microseconds per Ed25519 sign and verify with ``cryptography`` on this machine."""
    key = SigningKey.generate()
    verifier = VerifyKey.from_hex(key.public_key_hex)
    message = b"proctor-audit/1 sig\n" + b"0" * 64
    signature = key.sign(message)
    out: dict[str, float] = {}
    for name, call in (
        ("sign", lambda: key.sign(message)),
        ("verify", lambda: verifier.verify(message, signature)),
    ):
        best = min(_timed(call, 2000) for _ in range(3))
        out[name] = best * 1e6
    return out


def _timed(call: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        call()
    return (time.perf_counter() - start) / n


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    import psycopg

    name = f"proctor_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "unknown"


def machine() -> dict[str, str]:
    try:
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "unknown"
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "cores": f"{usable_cores()} usable of {os.cpu_count()}",
        "load average at start": load,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "cryptography": installed_version("cryptography"),
        "psycopg": installed_version("psycopg"),
        "proctor": installed_version("proctor"),
    }


def to_markdown(
    rows: list[Row], info: dict[str, str], crypto: dict[str, float], costs: dict[str, float], postgres: str
) -> str:
    lines = [
        "Command: `python -m benchmarks.audit` (one run; a shared machine is noisy: rerun before comparing).",
        "",
    ]
    lines += [f"- {k}: {v}" for k, v in info.items()]
    lines += [f"- postgresql: {postgres}", ""]
    lines += ["| measurement | records | seconds | records/s | target | |", "|---|---:|---:|---:|---:|---|"]
    for row in rows:
        target = f"{row.target:,}/s" if row.target else "-"
        verdict = ("met" if row.rate >= row.target else "**missed**") if row.target else ""
        note = f"{verdict}{'; ' if verdict and row.note else ''}{row.note}"
        lines.append(
            f"| {row.what} | {row.records:,} | {row.seconds:.2f} | {row.rate:,.0f} | {target} | {note} |"
        )
    lines += [
        "",
        "Single-thread cost per record here (µs): "
        + ", ".join(f"{name} {value:.1f}" for name, value in costs.items())
        + ". Producers and the writer share one interpreter lock, so appends from any number of threads "
        "are bounded by about 1 / (build + seal) records/s, less what the database itself needs.",
        "",
        f"Ed25519 with `cryptography` here: sign {crypto['sign']:.0f} µs, verify {crypto['verify']:.0f} µs. "
        f"Verifying one signature per record would cap verification near {1e6 / crypto['verify']:,.0f} "
        "records/s per core, and one per commit does nearly as badly for `sync=True` writers, whose commits "
        "hold a few records each. Every record's hash covers the previous one, so the writer signs at most "
        "once per `sign_interval` (1 s by default) and on flush and close; until then the chain head's MAC "
        "vouches for the newest records to a holder of the private key (see `proctor/audit/chain.py`). "
        "Appends are timed from the first append to the end of the final `flush()`; verification covers "
        "every hash, link and signature.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.audit",
        description="Sealed-append throughput from concurrent producers on SQLite and PostgreSQL, and verify "
        "throughput. Example: python -m benchmarks.audit --records 50000 --producers 8",
    )
    parser.add_argument(
        "--records", type=int, default=100_000, help="records per append run (default 100000)"
    )
    parser.add_argument("--producers", type=int, default=8, help="producer threads (default 8)")
    parser.add_argument(
        "--sync-records", type=int, default=20_000, help="records for the sync=True runs (default 20000)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="async append runs per backend (default 3)")
    parser.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        metavar="URL",
        help="admin URL of a PostgreSQL server; a throwaway database is created and dropped",
    )
    parser.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--output", type=Path, default=RESULTS,
                        help="markdown file whose audit section is rewritten (default: benchmarks/RESULTS.md)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)

    info = machine()
    rows: list[Row] = []
    postgres_version = "skipped"
    stack = ExitStack()
    with tempfile.TemporaryDirectory(prefix="proctor-bench-") as tmp:
        key_file = str(Path(tmp) / "proctor-signing.key")
        backends = [("sqlite", f"sqlite:///{tmp}/audit.db")]
        if not args.no_postgres:
            try:
                pg = stack.enter_context(postgres_database(args.postgres))
                postgres_version = server_version(pg)
                backends.append(("postgresql", pg))
            except Exception as exc:  # the benchmark reports a missing server instead of failing
                postgres_version = f"unavailable ({type(exc).__name__}: {str(exc).strip()[:120]})"
        for name, url in backends:
            asyncs = [f"async-{n}" for n in range(args.repeat)]
            rows.append(time_appends(url, key_file, args.records, args.producers, sync=False, chains=asyncs))
            rows.append(
                time_appends(url, key_file, args.sync_records, args.producers, sync=True, chains=["sync"])
            )
            rows.append(time_verify(url, key_file, f"verify, {name}, one async chain", chain="async-0"))
            rows.append(
                time_verify(url, key_file, f"verify, {name}, the sync chain (small commits)", chain="sync")
            )
            rows.append(time_verify(url, key_file, f"verify, {name}, whole store"))
            if name == "sqlite":
                export = Path(tmp) / "audit.jsonl"
                export_jsonl(url, export, ExportFilter(chain_id="async-0"))
                rows.append(time_verify_export(export, read_public_key(key_file)))
        costs = breakdown(tmp)
    stack.close()
    crypto = crypto_costs()
    with suppress(OSError):
        info["load average at end"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    body = to_markdown(rows, info, crypto, costs, postgres_version)
    print(body)
    if not args.no_write:
        write_section("audit", "Audit trail: sealed appends and verification", body, path=args.output)
        print(f"\nwritten to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
