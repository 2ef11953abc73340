"""python -m benchmarks.gateway.upstream_client: the providers' upstream HTTP clients side by side, by measurement.

Two parts, both against the gateway harness's nginx upstream, the clients interleaved round by round (the
order rotates each round) so a noisy machine weighs on all of them alike:

- the client alone: N posts of the ~1 KB chat body, one at a time and 16 at once, and N/4 streams read to
  the end, in this process (uvloop, pinned to the gateway core): CPU time per call;
- ``proctor serve`` on each client (benchmarks/gateway/serve.py swaps it in), pinned to the gateway core
  under wrk with 16 connections, then 1: requests/s, server CPU per request, latency.

Example: python -m benchmarks.gateway.upstream_client --rounds 3 --no-write
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.gateway import bodies, gateways, procs, serve, upstream
from benchmarks.gateway.__main__ import cores, ensure_tools
from benchmarks.gateway.run import Bench, Plan
from benchmarks.results import RESULTS, write_section
from benchmarks.speed.machine import installed_version, machine_info

SECTION = ("upstream-client", "Gateway: upstream HTTP client")
HEADERS = {"content-type": "application/json", "authorization": f"Bearer {gateways.API_KEY}"}
CONCURRENCY = 16


@dataclass(frozen=True, slots=True)
class Sample:
    """One measurement of one client: CPU per call (microseconds) and calls per second."""

    client: str
    case: str
    round: int
    cpu_us: float
    per_s: float
    p50_ms: float = float("nan")


async def _calls(client: Any, case: str, n: int) -> None:
    body = bodies.chat_body()
    stream_body = bodies.chat_body(stream=True)
    if case == "sequential":
        for _ in range(n):
            status, _ = await client.post("/chat/completions", body, HEADERS)
            if status != 200:
                raise RuntimeError(f"upstream answered {status}")
    elif case == f"{CONCURRENCY} at once":
        async def worker(count: int) -> None:
            for _ in range(count):
                status, _ = await client.post("/chat/completions", body, HEADERS)
                if status != 200:
                    raise RuntimeError(f"upstream answered {status}")
        await asyncio.gather(*(worker(n // CONCURRENCY) for _ in range(CONCURRENCY)))
    else:  # stream: read each to [DONE], as the openai provider does
        for _ in range(n):
            response = await client.post_stream("/chat/completions", stream_body, HEADERS)
            try:
                async for line in response.lines():
                    if line == "data: [DONE]":
                        break
            finally:
                await response.aclose()


MICRO_CASES = ("sequential", f"{CONCURRENCY} at once", "stream")


def micro_one(name: str, base_url: str, case: str, n: int, round_no: int) -> Sample:
    """CPU per call of client ``name`` for ``case``, in a fresh event loop after a warm-up."""
    cls = serve.client_class(name)
    calls = n // 4 if case == "stream" else n

    async def main() -> tuple[float, float]:
        client = cls("bench", base_url, 30.0)
        try:
            await _calls(client, case, max(CONCURRENCY, calls // 10))  # warm: connections open, code paths hot
            cpu, wall = time.process_time(), time.perf_counter()
            await _calls(client, case, calls)
            return time.process_time() - cpu, time.perf_counter() - wall
        finally:
            await client.aclose()

    cpu_s, wall_s = _run(main)
    return Sample(name, case, round_no, cpu_s / calls * 1e6, calls / wall_s)


def _run(main: Callable[[], Awaitable[tuple[float, float]]]) -> tuple[float, float]:
    try:
        import uvloop  # what `proctor serve` runs on
    except ImportError:  # pragma: no cover - uvloop is a core dependency where it installs
        return asyncio.run(main())  # type: ignore[arg-type]
    loop = uvloop.new_event_loop()
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


def gateway_one(bench: Bench, name: str, round_no: int, seconds: float, warmup_s: float) -> list[Sample]:
    """``proctor serve`` on client ``name``: wrk at 16 connections, then at 1; server CPU per request."""
    tmp = bench.tmp / f"proctor-{name}-{round_no}"
    tmp.mkdir()
    port = procs.free_port()
    config = gateways.proctor_config(tmp, bench.upstream_port, port)
    argv = [sys.executable, "-m", "benchmarks.gateway.serve", name, "serve", "--config", str(config),
            "--log-level", "warning"]
    server = procs.Server(f"proctor ({name})", procs.pinned(bench.plan.gateway_core, argv), port,
                          tmp / "server.log", cwd=gateways.ROOT)
    samples = []
    try:
        pid = server.wait_listening(120)
        bench._phase("warmup", 0, CONCURRENCY, port, "/v1/chat/completions", pid, warmup_s)
        for case, connections in ((f"{CONCURRENCY} connections", CONCURRENCY), ("1 connection", 1)):
            phase = bench._phase(f"{name}-{round_no}-c{connections}", 0, connections, port, "/v1/chat/completions",
                                 pid, seconds)
            if phase.result.failed:
                raise RuntimeError(f"proctor on {name}: {phase.result.failed} failed requests; log ends:\n"
                                   f"{server.tail()}")
            samples.append(Sample(name, case, round_no, phase.cpu_ms_per_request * 1000, phase.result.rps,
                                  phase.result.p(50)))
    finally:
        server.stop()
    return samples


def rotated(names: Sequence[str], round_no: int) -> list[str]:
    """``names`` rotated by the round number, so no client always goes first (or last)."""
    k = round_no % len(names)
    return [*names[k:], *names[:k]]


def median_table(samples: Sequence[Sample], clients: Sequence[str], cases: Sequence[str], base: str,
                 what: str) -> list[str]:
    """Markdown rows: per case and client, the median CPU per call, its ratio to ``base``, the rate, each round."""
    by: dict[tuple[str, str], list[Sample]] = defaultdict(list)
    for s in samples:
        by[(s.client, s.case)].append(s)
    gateway = any(s.p50_ms == s.p50_ms for s in samples)  # NaN != NaN: micro samples carry no latency
    head = f"| {what} | client | CPU per call (µs), median | vs {base} | {'requests' if gateway else 'calls'}/s, " \
           "median |" + (" latency p50 (ms) |" if gateway else "") + " CPU per call, each round (µs) |"
    lines = [head, "|---|---|---:|---:|---:|" + ("---:|" if gateway else "") + "---|"]
    for case in cases:
        base_cpu = statistics.median(s.cpu_us for s in by[(base, case)]) if by.get((base, case)) else float("nan")
        for name in clients:
            got = by.get((name, case))
            if not got:
                continue
            cpu = statistics.median(s.cpu_us for s in got)
            rate = statistics.median(s.per_s for s in got)
            cells = [case, name, f"{cpu:,.0f}", f"{cpu / base_cpu:.2f}x", f"{rate:,.0f}"]
            if gateway:
                cells.append(f"{statistics.median(s.p50_ms for s in got):.3f}")
            cells.append(", ".join(f"{s.cpu_us:,.0f}" for s in sorted(got, key=lambda s: s.round)))
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def _http11_first(name: str) -> int:
    return 0 if name == "http11" else 1  # the providers' own pool is the base the others are compared with



def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gateway.upstream_client",
                                     description="CPU per call of each upstream HTTP client, alone and inside "
                                                 "`proctor serve`, interleaved over several rounds.")
    parser.add_argument("--clients", default=",".join(sorted(serve.available(), key=_http11_first)),
                        help="comma-separated, from: " + ", ".join(serve.CLIENTS) + " (default: all importable)")
    parser.add_argument("--base", default=None, help="the client the others are compared with (default: the first)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; each runs every client once (default 3)")
    parser.add_argument("--calls", type=int, default=4000, help="posts per client alone, per case (default 4000)")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per wrk phase (default 8)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per server (default 2)")
    parser.add_argument("--no-gateway", action="store_true", help="measure the clients alone only")
    parser.add_argument("--output", type=Path, default=RESULTS, help="markdown file (default: benchmarks/RESULTS.md)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args(argv)
    clients = [c for c in args.clients.split(",") if c]
    base = args.base or clients[0]
    tools = ensure_tools()
    if tools is None:
        print("needs nginx and wrk: sudo apt-get install -y nginx wrk", file=sys.stderr)
        return 2
    nginx_bin, wrk_bin = tools
    info = machine_info()
    for name in ("hyperscan", "presidio-analyzer"):
        info.pop(name, None)
    info.update({name: installed_version(name) for name in ("aiohttp", "httpx", "httpcore", "uvloop")})
    gateway_core, load_core = cores()
    if load_core is not None:
        os.sched_setaffinity(0, {load_core})
    plan = Plan(args.duration, args.warmup, 0, 0, gateway_core, load_core)
    micro: list[Sample] = []
    served: list[Sample] = []
    with tempfile.TemporaryDirectory(prefix="proctor-bench-upstream-") as tmp:
        bench = Bench(Path(tmp), plan, wrk_bin, nginx_bin)
        base_url = f"http://127.0.0.1:{bench.upstream_port}/v1"
        stream_url = f"http://127.0.0.1:{bench.upstream_port}/stream/v1"
        try:
            for round_no in range(args.rounds):
                for name in rotated(clients, round_no):
                    if gateway_core is not None:  # the client alone runs where the gateway would
                        os.sched_setaffinity(0, {gateway_core})
                    for case in MICRO_CASES:
                        url = stream_url if case == "stream" else base_url
                        sample = micro_one(name, url, case, args.calls, round_no)
                        micro.append(sample)
                        print(f"  round {round_no + 1} {name:8} alone {case:12} {sample.cpu_us:8.1f} µs CPU/call "
                              f"{sample.per_s:9,.0f}/s", file=sys.stderr)
                    if load_core is not None:
                        os.sched_setaffinity(0, {load_core})
                    if args.no_gateway:
                        continue
                    for sample in gateway_one(bench, name, round_no, args.duration, args.warmup):
                        served.append(sample)
                        print(f"  round {round_no + 1} {name:8} proctor {sample.case:14} {sample.per_s:8,.0f} req/s "
                              f"{sample.cpu_us / 1000:6.3f} ms CPU/req  p50 {sample.p50_ms:.3f} ms", file=sys.stderr)
        finally:
            bench.close()
    info["load average at end"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    body = to_markdown(micro, served, clients, base, info, args)
    print(body)
    if not args.no_write:
        write_section(*SECTION, body, path=args.output)
        print(f"\nwritten to {args.output}", file=sys.stderr)
    return 0


def to_markdown(micro: Sequence[Sample], served: Sequence[Sample], clients: Sequence[str], base: str,
                info: dict[str, str], args: argparse.Namespace) -> str:
    lines = [
        f"Command: `python -m benchmarks.gateway.upstream_client --rounds {args.rounds}` ({args.rounds} rounds; "
        "each runs every client, in an order that rotates by round). Medians over the rounds, every round shown.",
        "", "| machine | |", "|---|---|", *[f"| {k} | {v} |" for k, v in info.items()], "",
        "Clients: `http11` (`proctor.providers.http11`, the providers' hand-written asyncio-streams keep-alive "
        "pool), `aiohttp` (`benchmarks/gateway/aiohttp_upstream.py`: `ClientSession` + `TCPConnector`, C parser, "
        "same interface) and `httpx` (`AsyncClient`, httpcore's pool; what the providers used before). Upstream: "
        f"the gateway harness's nginx, one process on core {args_core(info)}.",
    ]
    if served:
        lines += ["", f"### `proctor serve` on each client ({upstream.CHAT_MODEL}, ~1 KB chat, `builtin:default` "
                  f"policies, audit on; {args.duration:g} s wrk phases after {args.warmup:g} s warm-up)", "",
                  "CPU per call is the server process's CPU per request, everything included.", ""]
        lines += median_table(served, clients, [f"{CONCURRENCY} connections", "1 connection"], base, "load")
    lines += ["", f"### The client alone ({args.calls:,} posts per case, {args.calls // 4:,} streams; uvloop, one "
              "process on the gateway core)", ""]
    lines += median_table(micro, clients, MICRO_CASES, base, "case")
    return "\n".join(lines)


def args_core(info: dict[str, str]) -> str:
    _, load_core = cores()
    return "shared with wrk" if load_core is None else f"{load_core}, with wrk"


if __name__ == "__main__":
    raise SystemExit(main())
