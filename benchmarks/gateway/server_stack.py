"""python -m benchmarks.gateway.server_stack: Proctor's app on each ASGI server stack, side by side, by measurement.

Each variant serves the same app (``proctor.server.app``) with the same proctor.yaml (``builtin:default``
policies, audit on to SQLite, the openai provider on the gateway harness's nginx), one process pinned to the
gateway core; the variants are interleaved round by round (the order rotates each round) so a noisy machine
weighs on all of them alike. Per variant and round: wrk at 16 connections, then 1 (~1 KB chat body):
requests/s, server CPU per request (every process of the server, a launcher's workers included), p50/p99;
sequential streams (time to first and last token); a few malformed or refused requests whose answers must
match the base variant's; then a clean stop, after which the audit chain must verify.

Variants: ``uvicorn`` is ``proctor serve`` itself (uvicorn, loop and http "auto": uvloop and httptools);
``uvicorn-asyncio-h11`` is the same call with ``loop="asyncio", http="h11"`` (what uvloop and httptools buy);
``granian`` is ``granian --interface asgi --workers 1 --loop uvloop --factory
proctor.server.app:create_worker_app`` (settings from PROCTOR_CONFIG, as create_worker_app reads them).

Example: python -m benchmarks.gateway.server_stack --rounds 3 --no-write
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError
from pathlib import Path

import httpx

from benchmarks.gateway import audit_check, bodies, clients, gateways, procs, upstream, wrk
from benchmarks.gateway.__main__ import cores, ensure_tools
from benchmarks.gateway.run import Bench, Plan
from benchmarks.gateway.upstream_client import rotated
from benchmarks.results import RESULTS, write_section
from benchmarks.speed.machine import installed_version, machine_info

SECTION = ("server-stack", "Gateway: ASGI server stack")
VARIANTS: dict[str, str] = {
    "uvicorn": "`proctor serve`: uvicorn, loop and http \"auto\" (uvloop, httptools)",
    "uvicorn-asyncio-h11": "uvicorn with `loop=\"asyncio\", http=\"h11\"`",
    "granian": "granian, `--interface asgi --workers 1 --loop uvloop`, the `create_worker_app` factory",
    "granian-rust-tasks": "the same with `--task-impl rust` (Granian's Rust task implementation, Python < 3.12)",
}
CASES = (("16 connections", 16), ("1 connection", 1))
CHAT_PATH = "/v1/chat/completions"
# Requests every server must answer the same way: (name, method, path, body).
PROBES: tuple[tuple[str, str, str, bytes | None], ...] = (
    ("invalid JSON", "POST", CHAT_PATH, b"{not json"),
    ("no messages", "POST", CHAT_PATH, json.dumps({"model": upstream.CHAT_MODEL}).encode()),
    ("policy deny (SSN)", "POST", CHAT_PATH, json.dumps({
        "model": upstream.CHAT_MODEL, "messages": [{"role": "user", "content": "my SSN is 123-45-6789"}]}).encode()),
    ("unknown route", "POST", "/v1/nope", b"{}"),
    ("wrong method", "GET", CHAT_PATH, None),
)
PROBE_AGENT = "bench-probe"
MIN_CPU_GAIN = 0.15  # the brief's bar: a challenger must save more than this share of CPU per request


@dataclass(frozen=True, slots=True)
class Sample:
    """One wrk phase on one variant: server CPU per request (µs), requests/s and latency (ms)."""

    variant: str
    case: str
    round: int
    cpu_us: float
    rps: float
    p50_ms: float
    p99_ms: float
    failed: int


@dataclass(slots=True)
class RoundCheck:
    """What one variant's round showed beyond speed: streams, error answers, shutdown and the audit chain."""

    variant: str
    round: int
    startup_s: float = 0.0
    rss_kib: int = 0
    ttft_ms: float = float("nan")
    ttlt_ms: float = float("nan")
    stream_failed: int = 0
    stream_chars: int = 0
    probes: dict[str, str] = field(default_factory=dict)
    server_header: str = ""
    exit_code: int | None = None
    audit_verified: bool = False
    audit_records: int = 0
    audit_output: str = ""
    not_ok: int = 0


def argv_env(variant: str, config: Path, port: int) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that start ``variant`` on ``config``, listening on ``port``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCTOR_")}
    if variant == "uvicorn":
        return gateways.proctor_argv(config), env
    if variant == "uvicorn-asyncio-h11":
        return [sys.executable, "-m", "benchmarks.gateway.server_stack", "--serve-h11", str(config)], env
    if variant in ("granian", "granian-rust-tasks"):
        env["PROCTOR_CONFIG"] = str(config)
        granian = str(Path(sys.executable).with_name("granian"))
        tasks = ["--task-impl", "rust"] if variant == "granian-rust-tasks" else []
        return [granian, "--interface", "asgi", "--workers", "1", "--loop", "uvloop", *tasks, "--host", "127.0.0.1",
                "--port", str(port), "--log-level", "warning", "--no-access-log", "--factory",
                "proctor.server.app:create_worker_app"], env
    raise ValueError(f"unknown variant {variant!r}; expected one of {', '.join(VARIANTS)}")


def serve_h11(config: str) -> None:
    """``proctor serve``'s one-worker path, on the asyncio loop and h11 instead of uvloop and httptools."""
    import uvicorn

    from proctor.config import load_settings
    from proctor.governor import Governor
    from proctor.server import create_app

    settings = load_settings(config)
    app = create_app(settings, Governor.from_settings(settings))
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", access_log=False,
                server_header=False, loop="asyncio", http="h11")


def _phase(bench: Bench, name: str, connections: int, port: int, pgid: int,
           seconds: float) -> tuple[wrk.WrkResult, float]:
    """One wrk phase, and the CPU seconds the server's whole process group spent in it."""
    script = bench.tmp / f"{name}-{port}.lua"
    script.write_text(wrk.lua_script(bench.bodies[0], CHAT_PATH, bench._headers(f"bench-{name}")), "utf-8")
    before = procs.group_cpu_s(pgid)
    result = wrk.run(bench.wrk_bin, f"http://127.0.0.1:{port}", script, connections=connections, seconds=seconds,
                     prefix=procs.pinned(bench.plan.load_core, []))
    return result, procs.group_cpu_s(pgid) - before


def probe_answers(base: str) -> tuple[dict[str, str], str]:
    """Each probe's answer as "status content-type body" (ids dropped), and the server header of the last."""
    answers: dict[str, str] = {}
    header = ""
    headers = {"content-type": "application/json", "authorization": f"Bearer {gateways.API_KEY}",
               "x-proctor-agent": PROBE_AGENT}
    with httpx.Client(base_url=base, timeout=30.0) as client:
        for name, method, path, body in PROBES:
            response = client.request(method, path, content=body, headers=headers)
            answers[name] = f"{response.status_code} {response.headers.get('content-type', '-')} " \
                            f"{comparable(response.text)}"
            header = response.headers.get("server", "")
    return answers, header


def comparable(text: str) -> str:
    """``text`` with the per-request values (ids, times) of a JSON answer dropped, so two servers compare."""
    try:
        doc = json.loads(text)
    except ValueError:
        return text[:200]

    def strip(value: object) -> object:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in sorted(value.items()) if not k.endswith(("id", "_at", "time"))}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return json.dumps(strip(doc), sort_keys=True)[:300]


def run_one(bench: Bench, variant: str, round_no: int, seconds: float, warmup_s: float,
            streams: int) -> tuple[list[Sample], RoundCheck]:
    """Start ``variant`` on the gateway core, measure it, probe it, stop it, verify its audit chain."""
    tmp = bench.tmp / f"{variant}-{round_no}"
    tmp.mkdir()
    port = procs.free_port()
    config = gateways.proctor_config(tmp, bench.upstream_port, port)
    argv, env = argv_env(variant, config, port)
    started = time.monotonic()
    server = procs.Server(variant, procs.pinned(bench.plan.gateway_core, argv), port, tmp / "server.log",
                          env=env, cwd=gateways.ROOT)
    check = RoundCheck(variant, round_no)
    samples: list[Sample] = []
    pgid = server.proc.pid  # start_new_session: the launcher leads its own group, its workers stay in it
    try:
        server.wait_listening(120)
        check.startup_s = time.monotonic() - started
        _phase(bench, f"{variant}-{round_no}-warmup", 16, port, pgid, warmup_s)
        for case, connections in CASES:
            r, cpu_s = _phase(bench, f"{variant}-{round_no}-c{connections}", connections, port, pgid, seconds)
            if r.failed:
                raise RuntimeError(f"{variant}: {r.failed} failed requests; log ends:\n{server.tail()}")
            samples.append(Sample(variant, case, round_no, cpu_s / r.requests * 1e6, r.rps, r.p(50), r.p(99),
                                  r.failed))
        if streams:
            s = clients.time_streams(f"http://127.0.0.1:{port}{CHAT_PATH}", bodies.chat_body(stream=True),
                                     bench._headers("bench-stream"), streams)
            check.ttft_ms = clients.percentile(s.ttft_ms, 50)
            check.ttlt_ms = clients.percentile(s.ttlt_ms, 50)
            check.stream_failed, check.stream_chars = s.failed, s.content_chars
        check.probes, check.server_header = probe_answers(f"http://127.0.0.1:{port}")
        check.rss_kib = procs.group_rss_kib(pgid)
    finally:
        check.exit_code = server.stop()
    audit = audit_check.check(tmp / "proctor-audit.db", tmp / "proctor-signing.key")
    check.audit_verified, check.audit_records, check.audit_output = audit.verified, audit.records, audit.verify_output
    check.not_ok = sum(n for agent, n in audit.not_ok.items() if agent != PROBE_AGENT)
    return samples, check


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def medians(samples: Sequence[Sample]) -> dict[tuple[str, str], Sample]:
    """Per (variant, case): a Sample of the medians over the rounds (round -1)."""
    by: dict[tuple[str, str], list[Sample]] = defaultdict(list)
    for s in samples:
        by[(s.variant, s.case)].append(s)
    return {key: Sample(key[0], key[1], -1, _median([s.cpu_us for s in got]), _median([s.rps for s in got]),
                        _median([s.p50_ms for s in got]), _median([s.p99_ms for s in got]), sum(s.failed for s in got))
            for key, got in by.items()}


def paired_ratios(samples: Sequence[Sample], variant: str, base: str, case: str) -> list[float]:
    """``variant``'s CPU per request over ``base``'s, round by round (rounds where both ran)."""
    cpu = {(s.variant, s.round): s.cpu_us for s in samples if s.case == case}
    return [cpu[(variant, r)] / cpu[(base, r)] for r in sorted({s.round for s in samples})
            if (variant, r) in cpu and (base, r) in cpu]


def decide(samples: Sequence[Sample], checks: Sequence[RoundCheck], base: str = "uvicorn",
           challenger: str = "granian") -> tuple[bool, str]:
    """Whether ``challenger`` beats ``base``: more than MIN_CPU_GAIN less CPU per request in every case (the
    median of the round-by-round ratios, so load that drifts between rounds cancels out), and
    no correctness problem (streams, error answers, clean stop, audit chain). Returns (wins, why)."""
    gains: list[str] = []
    fast_enough = True
    for case, _ in CASES:
        ratios = paired_ratios(samples, challenger, base, case)
        if not ratios:
            return False, f"{challenger} or {base} has no samples at {case}"
        ratio = statistics.median(ratios)
        gains.append(f"{ratio - 1:+.0%} CPU per request at {case} (rounds: "
                     f"{', '.join(f'{r - 1:+.0%}' for r in ratios)})")
        fast_enough = fast_enough and 1 - ratio > MIN_CPU_GAIN
    problems = correctness_problems(checks, base, challenger)
    wins = fast_enough and not problems
    why = "; ".join(gains) + f" (the bar: {MIN_CPU_GAIN:.0%} less in every case, as the median of the rounds)"
    ttft = {v: _median([c.ttft_ms for c in checks if c.variant == v]) for v in (base, challenger)}
    if ttft[base] == ttft[base] and ttft[challenger] == ttft[challenger]:  # NaN: no streams ran
        why += f"; streaming time to first token p50 {ttft[challenger]:.2f} ms against {ttft[base]:.2f} ms"
    why += "; correctness: " + ("; ".join(problems) if problems else "streams, error answers, shutdown and "
                                "audit chain all as on " + base)
    header = next((c.server_header for c in checks if c.variant == challenger and c.server_header), "")
    if header:
        why += f" (but it sends `server: {header}`, a header `proctor serve` turns off on uvicorn)"
    return wins, why


def correctness_problems(checks: Sequence[RoundCheck], base: str, challenger: str) -> list[str]:
    """What ``challenger`` got wrong that ``base`` got right, in words (empty: nothing)."""
    problems: list[str] = []
    base_probes = next((c.probes for c in checks if c.variant == base and c.probes), {})
    for c in checks:
        if c.variant != challenger:
            continue
        where = f"round {c.round + 1}"
        if not c.audit_verified:
            problems.append(f"{where}: audit chain did not verify")
        if c.not_ok:
            problems.append(f"{where}: {c.not_ok} call records not ok")
        if c.stream_failed:
            problems.append(f"{where}: {c.stream_failed} streams failed")
        if c.stream_chars not in (0, len(upstream.REPLY)):
            problems.append(f"{where}: a stream carried {c.stream_chars} characters, not {len(upstream.REPLY)}")
        if c.exit_code not in (0, None):
            problems.append(f"{where}: exit code {c.exit_code} on SIGINT")
        for name, answer in c.probes.items():
            if base_probes and base_probes.get(name) != answer:
                problems.append(f"{where}: {name!r} answered {answer!r}, {base} {base_probes.get(name)!r}")
    return problems


def to_markdown(samples: Sequence[Sample], checks: Sequence[RoundCheck], variants: Sequence[str],
                info: Mapping[str, str], args: argparse.Namespace, decision: str) -> str:
    base = variants[0]
    med = medians(samples)
    lines = [
        f"Command: `python -m benchmarks.gateway.server_stack --rounds {args.rounds}` ({args.rounds} rounds; each "
        "starts every variant fresh, in an order that rotates by round). Medians over the rounds, every round "
        "shown.", "", "| machine | |", "|---|---|", *[f"| {k} | {v} |" for k, v in info.items()], "",
        "Variants, each one process (granian: its launcher and one worker) pinned to the gateway core, serving "
        "`proctor.server.app` with one proctor.yaml (`builtin:default`, audit on to SQLite, the openai provider "
        "on the harness's nginx):", "", *[f"- `{k}`: {v}" for k, v in VARIANTS.items() if k in variants], "",
        f"### Under wrk (~1 KB chat, {args.duration:g} s phases after {args.warmup:g} s warm-up)", "",
        "CPU per request is the server's CPU (all its processes and threads) over the phase, divided by the "
        "requests wrk completed: the measure to decide on. Requests/s and p99 also move with whatever else runs on "
        "the machine (see the load average), so read them across rounds with care.", "",
        f"| load | server | requests/s | CPU per request (µs) | vs {base} (median of rounds) | p50 (ms) | p99 (ms) | "
        "CPU per request, each round (µs) |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for case, _ in CASES:
        b = med.get((base, case))
        for v in variants:
            m = med.get((v, case))
            if m is None:
                continue
            each = ", ".join(f"{s.cpu_us:,.0f}" for s in sorted(samples, key=lambda s: s.round)
                             if s.variant == v and s.case == case)
            ratios = paired_ratios(samples, v, base, case)
            ratio = f"{statistics.median(ratios):.2f}x" if b and ratios else "-"
            lines.append(f"| {case} | {v} | {m.rps:,.0f} | {m.cpu_us:,.0f} | {ratio} | {m.p50_ms:.3f} | "
                         f"{m.p99_ms:.3f} | {each} |")
    lines += ["", f"### Streaming, correctness, shutdown ({args.streams} sequential streams per round)", "",
              "| server | TTFT p50 (ms) | TTLT p50 (ms) | streams failed | error answers same as "
              f"{base} | `server` header | start-up (s) | RSS at end (MiB) | exit on SIGINT | audit chain |",
              "|---|---:|---:|---:|---|---|---:|---:|---|---|"]
    base_probes = next((c.probes for c in checks if c.variant == base and c.probes), {})
    for v in variants:
        got = [c for c in checks if c.variant == v]
        if not got:
            continue
        same = all(c.probes == base_probes for c in got)
        verified = sum(c.audit_verified for c in got)
        not_ok = sum(c.not_ok for c in got)
        codes = sorted({str(c.exit_code) for c in got})
        lines.append(
            f"| {v} | {_median([c.ttft_ms for c in got]):.3f} | {_median([c.ttlt_ms for c in got]):.3f} | "
            f"{sum(c.stream_failed for c in got)} | {'yes' if same else 'NO'} ({len(PROBES)} probes) | "
            f"{got[0].server_header or '(none)'} | {_median([c.startup_s for c in got]):.1f} | "
            f"{_median([c.rss_kib / 1024 for c in got]):.0f} | {', '.join(codes)} | "
            f"{verified}/{len(got)} verified, {sum(c.audit_records for c in got):,} records, {not_ok} not ok |")
    lines += ["", "Probes: " + ", ".join(f"{name} ({method} {path})" for name, method, path, _ in PROBES) + ".",
              "", "### Decision", "", decision]
    return "\n".join(lines)


def installed_mib(dist: str) -> float:
    """The size of ``dist``'s installed files in MiB (NaN when it is not installed)."""
    from importlib.metadata import distribution

    try:
        files = distribution(dist).files or []
    except PackageNotFoundError:
        return float("nan")
    total = 0
    for f in files:
        path = Path(str(f.locate()))
        if path.is_file():
            total += path.stat().st_size
    return total / 2**20


def conclude(verdicts: Sequence[str], granian_mib: float) -> str:
    """The decision paragraph: each challenger's verdict, then what follows for ``proctor serve``."""
    if not verdicts:
        return "No granian variant ran, so nothing to decide."
    won = any(" clears the bar" in v for v in verdicts)
    cost = (f"Granian would be a new core dependency: a {granian_mib:.0f} MiB compiled wheel (its Rust server) "
            "plus click, beside uvicorn, which stays for `--workers`.")
    if won:
        return " ".join(verdicts) + f" So `proctor serve` gains `--server granian` (default uvicorn). {cost}"
    return (" ".join(verdicts) + f" So `proctor serve` stays on uvicorn with uvloop and httptools, and gains no "
            f"`--server` option: granian does not save enough CPU per request to pay for a second server stack. {cost}")



def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gateway.server_stack",
                                     description="Proctor's app on uvicorn (uvloop + httptools), uvicorn (asyncio + "
                                                 "h11) and granian, one core each, interleaved over several rounds.")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help="comma-separated, from: " + ", ".join(VARIANTS) + " (default: all; the first is the "
                             "base)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; each runs every variant once (default 3)")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per wrk phase (default 8)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per server (default 2)")
    parser.add_argument("--streams", type=int, default=200, help="sequential streams per variant and round "
                        "(default 200; 0 skips them)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="markdown file (default: benchmarks/RESULTS.md)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    parser.add_argument("--serve-h11", metavar="CONFIG", help=argparse.SUPPRESS)  # the uvicorn-asyncio-h11 server
    args = parser.parse_args(argv)
    if args.serve_h11:
        serve_h11(args.serve_h11)
        return 0
    variants = [v for v in args.variants.split(",") if v]
    for v in variants:
        if v not in VARIANTS:
            parser.error(f"unknown variant {v!r}; expected some of {', '.join(VARIANTS)}")
    tools = ensure_tools()
    if tools is None:
        print("needs nginx and wrk: sudo apt-get install -y nginx wrk", file=sys.stderr)
        return 2
    nginx_bin, wrk_bin = tools
    info = machine_info()
    for name in ("hyperscan", "presidio-analyzer"):
        info.pop(name, None)
    stack = ("uvicorn", "uvloop", "httptools", "h11", "granian", "starlette")
    info.update({name: installed_version(name) for name in stack})
    info["date"] = time.strftime("%Y-%m-%d %H:%M %Z")
    info["load average at start"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    gateway_core, load_core = cores()
    info["pinning"] = (f"server on core {gateway_core}, nginx + wrk + stream client on core {load_core}"
                       if load_core is not None else "none (one usable core)")
    if load_core is not None:
        os.sched_setaffinity(0, {load_core})
    plan = Plan(args.duration, args.warmup, args.streams, 0, gateway_core, load_core)
    samples: list[Sample] = []
    checks: list[RoundCheck] = []
    with tempfile.TemporaryDirectory(prefix="proctor-bench-stack-") as tmp:
        bench = Bench(Path(tmp), plan, wrk_bin, nginx_bin)
        try:
            for round_no in range(args.rounds):
                for v in rotated(variants, round_no):
                    got, check = run_one(bench, v, round_no, args.duration, args.warmup, args.streams)
                    samples += got
                    checks.append(check)
                    for s in got:
                        print(f"  round {round_no + 1} {v:20} {s.case:15} {s.rps:8,.0f} req/s {s.cpu_us:7,.0f} µs "
                              f"CPU/req  p50 {s.p50_ms:.3f} ms  p99 {s.p99_ms:.3f} ms", file=sys.stderr)
                    print(f"  round {round_no + 1} {v:20} ttft p50 {check.ttft_ms:.3f} ms  streams failed "
                          f"{check.stream_failed}  exit {check.exit_code}  audit "
                          f"{'verified' if check.audit_verified else 'FAILED: ' + check.audit_output}"
                          f" ({check.audit_records} records, {check.not_ok} not ok)", file=sys.stderr)
        finally:
            bench.close()
    info["load average at end"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    verdicts = []
    for challenger in variants[1:]:
        if challenger.startswith("granian"):
            wins, why = decide(samples, checks, variants[0], challenger)
            verdicts.append(f"`{challenger}` {'clears' if wins else 'does not clear'} the bar: {why}.")
    decision = conclude(verdicts, installed_mib("granian"))
    body = to_markdown(samples, checks, variants, info, args, decision)
    print(body)
    if not args.no_write:
        write_section(*SECTION, body, path=args.output)
        print(f"\nwritten to {args.output}", file=sys.stderr)
    failed = [c for c in checks if not c.audit_verified]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
