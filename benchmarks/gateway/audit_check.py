"""After Proctor's run: verify its audit chain with the real CLI, and count the call records per phase.

Each phase sends its own ``X-Proctor-Agent``, so records can be matched to the requests of that phase.
wrk counts the requests it completed; requests still in flight when it stops are served (and recorded)
but not counted, so a phase at concurrency c may hold up to c records more than wrk reports.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class AuditCheck:
    """``proctor audit verify``'s verdict, and the call records per agent (status ``ok`` and other)."""

    verified: bool
    verify_output: str
    records: int  # every record the verification covered, the chain's genesis included
    calls: Mapping[str, int]
    not_ok: Mapping[str, int]


def count_calls(db: Path) -> tuple[dict[str, int], dict[str, int]]:
    """Call records per agent in the SQLite store, and those whose status is not ``ok``."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT agent, json_extract(doc, '$.status'), count(*) FROM audit_records "
            "WHERE json_extract(doc, '$.kind') = 'call' GROUP BY 1, 2").fetchall()
    finally:
        conn.close()
    calls: dict[str, int] = {}
    not_ok: dict[str, int] = {}
    for agent, status, n in rows:
        calls[agent] = calls.get(agent, 0) + n
        if status != "ok":
            not_ok[agent] = not_ok.get(agent, 0) + n
    return calls, not_ok


def check(db: Path, key_file: Path) -> AuditCheck:
    proctor = str(Path(sys.executable).with_name("proctor"))
    done = subprocess.run([proctor, "audit", "verify", "--store", f"sqlite:///{db}", "--key-file", str(key_file),
                           "--json"], capture_output=True, text=True, timeout=600, check=False)
    output = (done.stdout or done.stderr).strip()
    records = 0
    if done.returncode == 0:
        records = int(json.loads(output).get("records", 0))
    calls, not_ok = count_calls(db)
    return AuditCheck(done.returncode == 0, output[-2000:], records, calls, not_ok)
