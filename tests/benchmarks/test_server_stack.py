"""The server-stack comparison's pure parts: process groups, the variants' command lines, the verdict."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from benchmarks.gateway import procs, server_stack
from benchmarks.gateway.server_stack import RoundCheck, Sample


def test_process_group_is_read_after_a_command_name_with_spaces_and_parentheses() -> None:
    fields = ["S", "1", "4242", "4242", "0", "-1", "4194560", "100", "0", "0", "0", "250", "40", "0", "0"]
    assert procs.process_group("4243 (my (odd) server) " + " ".join(fields)) == 4242


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads Linux's /proc")
def test_a_launcher_and_its_worker_are_measured_together() -> None:
    code = ("import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']); "
            "time.sleep(30)")
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while len(procs.group_pids(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(procs.group_pids(proc.pid)) == 2
        assert procs.group_cpu_s(proc.pid) > 0 and procs.group_rss_kib(proc.pid) > 0
    finally:
        import os
        import signal

        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_granian_runs_the_worker_factory_with_the_config_in_the_environment(tmp_path: Path) -> None:
    argv, env = server_stack.argv_env("granian", tmp_path / "proctor.yaml", 9123)
    assert env["PROCTOR_CONFIG"] == str(tmp_path / "proctor.yaml")
    assert argv[-2:] == ["--factory", "proctor.server.app:create_worker_app"]
    assert "--port" in argv and argv[argv.index("--port") + 1] == "9123"
    argv, env = server_stack.argv_env("uvicorn", tmp_path / "proctor.yaml", 9123)
    assert argv[1:3] == ["serve", "--config"] and "PROCTOR_CONFIG" not in env
    with pytest.raises(ValueError, match="unknown variant"):
        server_stack.argv_env("hypercorn", tmp_path / "proctor.yaml", 9123)


def test_answers_compare_without_their_per_request_ids() -> None:
    a = json.dumps({"error": {"message": "denied", "code": "policy_denied", "decision_id": "d-1"}, "created_at": 1})
    b = json.dumps({"error": {"message": "denied", "code": "policy_denied", "decision_id": "d-2"}, "created_at": 2})
    assert server_stack.comparable(a) == server_stack.comparable(b)
    assert server_stack.comparable(a) != server_stack.comparable(a.replace("denied", "allowed"))
    assert server_stack.comparable("Method Not Allowed") == "Method Not Allowed"


def _samples(variant: str, c16: float, c1: float) -> list[Sample]:
    return [Sample(variant, case, r, cpu * (1 + r / 100), 1000.0, 1.0, 5.0, 0)
            for r in range(3) for case, cpu in (("16 connections", c16), ("1 connection", c1))]


def _checks(variant: str, **changes: object) -> list[RoundCheck]:
    checks = [RoundCheck(variant, r, audit_verified=True, exit_code=0, probes={"invalid JSON": "400 x"})
              for r in range(3)]
    for name, value in changes.items():
        setattr(checks[1], name, value)
    return checks


def test_a_challenger_wins_only_with_more_than_15_percent_less_cpu_in_every_case() -> None:
    base = _samples("uvicorn", 500.0, 600.0)
    wins, why = server_stack.decide(base + _samples("granian", 400.0, 480.0), _checks("uvicorn") + _checks("granian"))
    assert wins and "-20% CPU per request at 16 connections" in why
    wins, why = server_stack.decide(base + _samples("granian", 400.0, 540.0), _checks("uvicorn") + _checks("granian"))
    assert not wins and "-10% CPU per request at 1 connection" in why


@pytest.mark.parametrize(("change", "problem"), [
    ({"audit_verified": False}, "audit chain did not verify"),
    ({"stream_failed": 2}, "2 streams failed"),
    ({"exit_code": 1}, "exit code 1"),
    ({"probes": {"invalid JSON": "500 x"}}, "'invalid JSON' answered '500 x'"),
])
def test_a_faster_challenger_that_gets_something_wrong_loses(change: dict[str, object], problem: str) -> None:
    samples = _samples("uvicorn", 500.0, 600.0) + _samples("granian", 300.0, 300.0)
    wins, why = server_stack.decide(samples, _checks("uvicorn") + _checks("granian", **change))
    assert not wins and f"round 2: {problem}" in why


def test_the_verdict_names_the_server_header_and_the_time_to_first_token() -> None:
    samples = _samples("uvicorn", 500.0, 600.0) + _samples("granian", 500.0, 600.0)
    checks = _checks("uvicorn", ttft_ms=1.5) + _checks("granian", server_header="granian", ttft_ms=3.0)
    _, why = server_stack.decide(samples, checks)
    assert "`server: granian`" in why and "first token p50" in why


def test_the_decision_keeps_uvicorn_unless_a_challenger_clears_the_bar() -> None:
    kept = server_stack.conclude(["`granian` does not clear the bar: -6% CPU saved."], 20.4)
    assert "stays on uvicorn" in kept and "20 MiB" in kept
    assert "gains `--server granian`" in server_stack.conclude(["`granian` clears the bar: +30%."], 20.4)


def test_cpu_is_compared_round_by_round_so_drifting_load_cancels_out() -> None:
    samples = [Sample(v, "1 connection", r, cpu, 1.0, 1.0, 1.0, 0)
               for r, load in enumerate((1.0, 2.0, 1.5))
               for v, cpu in (("uvicorn", 500 * load), ("granian", 400 * load))]
    assert server_stack.paired_ratios(samples, "granian", "uvicorn", "1 connection") == [0.8, 0.8, 0.8]
