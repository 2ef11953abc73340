"""The workers comparison's pure parts: which processes are workers, chains, record counts, shares, ratios."""

from __future__ import annotations

import json
import math

from benchmarks.gateway import workers
from benchmarks.gateway.workers import RoundCheck, Sample


def test_one_worker_serves_in_the_launcher_and_several_are_the_spawned_processes() -> None:
    spawn = "/venv/bin/python -c from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=7, "
    cmdlines = {
        100: "/venv/bin/python /venv/bin/proctor serve --config p.yaml --workers 2",
        101: "/venv/bin/python -c from multiprocessing.resource_tracker import main;main(6)",
        102: spawn + "pipe_handle=9)",
        103: spawn + "pipe_handle=11)",
    }
    assert workers.worker_pids(100, cmdlines, 2) == [102, 103]
    assert workers.worker_pids(100, {100: cmdlines[100]}, 1) == [100]


def test_chains_are_counted_from_verify_json() -> None:
    out = json.dumps({"ok": True, "records": 12, "chains": {"host-1": 5, "host-2": 5}, "signatures": 2})
    assert workers.chain_count(out) == 2
    assert workers.chain_count("ERROR: chain host-1 broken at seq 3") == 0
    assert workers.chain_count("[1, 2]") == 0


def test_records_may_exceed_requests_only_by_those_in_flight() -> None:
    assert workers.calls_match(1000, 1000, 96)
    assert workers.calls_match(1096, 1000, 96)
    assert not workers.calls_match(1097, 1000, 96)
    assert not workers.calls_match(999, 1000, 96)
    check = RoundCheck("workers-2", 0, 2, exit_code=0, audit_verified=True, chains=2, calls=1010, requests=1000,
                       in_flight_max=96)
    assert check.ok
    check.chains = 1
    assert not check.ok


def test_shares_and_the_rate_the_leftover_cpu_allows() -> None:
    assert workers.share(1.0, 10.0, 2) == 0.05
    assert math.isnan(workers.share(1.0, 0.0, 2))
    # 2 cores, 20% taken by nginx + wrk, 500 µs per request: 1.6 cores / 0.0005 s = 3,200 req/s.
    assert round(workers.leftover_rate(500.0, 0.1, 0.1, 2)) == 3200
    assert math.isnan(workers.leftover_rate(float("nan"), 0.1, 0.1, 2))


def test_rates_are_compared_round_by_round() -> None:
    samples = [Sample(v, "16 connections", r, rps * load, 1.0, 2.0, 500.0, 0, 0.5, 0.05, 0.05)
               for r, load in enumerate((1.0, 0.5, 0.8))
               for v, rps in (("workers-1", 2000.0), ("workers-2", 3000.0))]
    assert workers.paired_ratios(samples, "workers-2", "workers-1", "16 connections") == [1.5, 1.5, 1.5]
    med = workers.medians(samples)
    assert med[("workers-2", "16 connections")].rps == 2400.0
