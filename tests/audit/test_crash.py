"""Crash safety: SIGKILL a writer mid-batch; the chain still verifies and nothing acknowledged is lost.

The writer signs at most once a minute here, so every kill leaves durable records no signature covers
yet: the chain head's MAC vouches for them to a verifier holding the key, and reopening signs them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from proctor.audit import AuditLog, AuditRecord, verify
from proctor.audit.keys import read_public_key
from proctor.errors import AuditIntegrityError
from proctor.store import AuditQuery, open_store

WRITER = textwrap.dedent(
    """
    import sys, threading
    from proctor.audit import AuditLog, AuditRecord, LogSettings

    url, key_file = sys.argv[1], sys.argv[2]
    settings = LogSettings(batch_max=50, sign_interval=60.0)
    audit_log = AuditLog.open(url, key_file=key_file, sync=True, settings=settings)
    lock = threading.Lock()

    def produce(n):
        while True:
            record = AuditRecord.new(agent=f"producer-{n}", prompt="x" * 200)
            audit_log.append(record)  # returns once the record is durable
            with lock:
                sys.stdout.write(record.record_id + "\\n")
                sys.stdout.flush()

    for n in range(6):
        threading.Thread(target=produce, args=(n,), daemon=True).start()
    threading.Event().wait()
    """
)


def _kill_after(script: Path, url: str, key_file: Path, acknowledged: int) -> list[str]:
    """Run the writer, SIGKILL it after ``acknowledged`` acks; return every ack it printed."""
    child = subprocess.Popen(
        [sys.executable, str(script), url, str(key_file)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert child.stdout is not None
    acks: list[str] = []
    deadline = time.monotonic() + 120
    try:
        while len(acks) < acknowledged:
            line = child.stdout.readline()
            if not line:
                raise AssertionError(f"writer died: {child.stderr.read().decode() if child.stderr else ''}")
            acks.append(line.decode().strip())
            assert time.monotonic() < deadline, "writer too slow"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    rest = child.stdout.read().decode()
    acks.extend(line for line in rest.split("\n")[:-1] if line)  # a torn last line was never acknowledged
    return acks


@pytest.mark.slow
def test_sigkill_mid_batch_leaves_a_chain_that_verifies_with_every_acknowledged_record(
    store_url: str, tmp_path: Path
) -> None:
    script = tmp_path / "writer.py"
    script.write_text(WRITER, encoding="utf-8")
    key_file = tmp_path / "proctor-signing.key"
    acknowledged: list[str] = []
    for round_ in range(3):  # kill it at a different moment each time; each restart continues the chain
        acknowledged += _kill_after(script, store_url, key_file, 150 + 97 * round_)
        summary = verify(store_url, key_file=str(key_file))  # no gap, no fork, no half-written record
        assert summary.chains["main"] + 1 == summary.records
        assert summary.mac_checked > 0  # the newest records were not signed yet: the head's MAC vouched
    public = read_public_key(key_file)
    with pytest.raises(AuditIntegrityError, match="no signature covers"):
        verify(store_url, public_keys=[public], seal_wait=0.2)  # the public key alone cannot vouch for them
    with AuditLog.open(store_url, key_file=str(key_file)) as audit_log:  # and writing goes on after the crash
        audit_log.append(AuditRecord.new(agent="after"))
    assert verify(store_url, public_keys=[public]).mac_checked == 0  # reopening signed them all
    store = open_store(store_url)
    try:
        rows = store.read_audit(AuditQuery(kind="call", limit=1_000_000))
    finally:
        store.close()
    stored = [AuditRecord.from_json(r.doc).record_id for r in rows]
    assert len(stored) == len(set(stored))
    missing = set(acknowledged) - set(stored)
    assert not missing, f"{len(missing)} acknowledged record(s) lost"
    verify(store_url, key_file=str(key_file))
