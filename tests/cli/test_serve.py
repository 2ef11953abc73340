"""`proctor serve` as a real process on embedded defaults, called with the openai SDK; then the audit verifies."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import pytest

from tests.server.conftest import free_port


def start_serve(cwd: Path, *args: str) -> tuple[subprocess.Popen[bytes], str]:
    """Start `proctor serve` on a free port in ``cwd``; return the process and its base URL once healthy."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCTOR_")}
    proc = subprocess.Popen([sys.executable, "-m", "proctor", "serve", "--port", str(port), "--log-level", "warning",
                             *args], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            _, err = proc.communicate()
            raise RuntimeError(f"proctor serve did not start: {err.decode()[-2000:]}")
        time.sleep(0.1)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def server(tmp_path: Path):  # type: ignore[no-untyped-def]
    proc, base = start_serve(tmp_path)
    yield base, tmp_path
    stop(proc)


def test_serve_defaults_end_to_end(server) -> None:  # type: ignore[no-untyped-def]
    base, cwd = server
    client = openai.OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0)
    resp = client.chat.completions.create(model="echo", messages=[{"role": "user", "content": "hello there"}])
    assert resp.choices[0].message.content == "hello there"
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="echo", messages=[{"role": "user", "content": "SSN 123-45-6789"}])
    red = client.chat.completions.create(model="echo", messages=[{"role": "user", "content": "mail jane@example.com"}])
    assert red.choices[0].message.content == "mail [EMAIL_1]"
    assert (cwd / "proctor.db").exists()
    time.sleep(0.5)  # the writer seals off the request path
    verify = subprocess.run([sys.executable, "-m", "proctor", "audit", "verify", "--store",
                             f"sqlite:///{cwd / 'proctor.db'}"], capture_output=True, cwd=cwd, timeout=60)
    assert verify.returncode == 0, verify.stderr.decode() + verify.stdout.decode()


def test_bad_config_refused_naming_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "proctor.yaml"
    cfg.write_text("failure_mode: sometimes\n")
    proc = subprocess.run([sys.executable, "-m", "proctor", "serve", "--config", str(cfg)], capture_output=True,
                          timeout=60)
    assert proc.returncode == 2
    assert b"key 'failure_mode'" in proc.stderr and b"Traceback" not in proc.stderr


def test_audit_reads_the_store_named_in_the_config(tmp_path: Path) -> None:
    from proctor.audit import AuditLog, AuditRecord

    db = tmp_path / "trail.db"
    with AuditLog.open(f"sqlite:///{db}", sync=True) as log:
        log.append(AuditRecord.new(action="deny", status="blocked", agent="billing-bot"))
    cfg = tmp_path / "proctor.yaml"
    cfg.write_text(f"storage: sqlite:///{db}\n")
    proc = subprocess.run([sys.executable, "-m", "proctor", "audit", "--config", str(cfg), "query", "--json"],
                          capture_output=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"billing-bot" in proc.stdout


def test_two_workers_write_their_own_chains(tmp_path: Path) -> None:
    proc, base = start_serve(tmp_path, "--workers", "2")
    try:
        time.sleep(1.0)  # let the second worker come up too
        with httpx.Client(base_url=base, timeout=10) as client:
            for i in range(40):
                r = client.post("/v1/chat/completions", json={"model": "echo",
                                                              "messages": [{"role": "user", "content": f"hi {i}"}]},
                                headers={"connection": "close"})
                assert r.status_code == 200
    finally:
        stop(proc)
    verify = subprocess.run([sys.executable, "-m", "proctor", "audit", "verify", "--json", "--store",
                             f"sqlite:///{tmp_path / 'proctor.db'}"], capture_output=True, timeout=60)
    assert verify.returncode == 0, verify.stderr.decode()
    import json

    summary = json.loads(verify.stdout)
    calls = summary["records"] - len(summary["chains"])  # one genesis record per chain
    assert calls == 40, summary
    assert summary["chains"] and "main" not in summary["chains"]  # per-worker chains, named host-pid
