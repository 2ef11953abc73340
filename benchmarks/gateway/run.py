"""One benchmark run: nginx up, then each target in turn (direct, Proctor, LiteLLM) under wrk and the clients.

Targets run one at a time, each gateway alone on the gateway core; nginx, wrk and the harness share the
load core. A gateway is started fresh, warmed up, measured phase by phase, then stopped, so its peak RSS
covers its whole life under this load and nothing else.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.gateway import audit_check, bodies, clients, gateways, procs, upstream, wrk

# (phase, KiB of document added to the ~1 KB chat, connections)
PHASES: tuple[tuple[str, int, int], ...] = (
    ("1k-c16", 0, 16), ("1k-c64", 0, 64), ("1k-c1", 0, 1), ("32k-c16", 31, 16), ("32k-c1", 31, 1))
WARMUP = "warmup"
GATEWAY_QUERY = ("Summarise the delivery options for a standing desk ordered three weeks ago, and say "
                 "whether a replacement or a refund is the better choice for the customer.")


@dataclass(frozen=True, slots=True)
class Plan:
    """How long and how much: seconds per wrk phase, sequential requests for the clients."""

    seconds: float
    warmup_s: float
    stream_requests: int
    gateway_requests: int
    gateway_core: int | None
    load_core: int | None


@dataclass(frozen=True, slots=True)
class Phase:
    """One wrk phase and the server CPU it cost."""

    name: str
    connections: int
    body_bytes: int
    result: wrk.WrkResult
    cpu_s: float

    @property
    def cpu_ms_per_request(self) -> float:
        return self.cpu_s / self.result.requests * 1000 if self.result.requests else float("nan")


@dataclass(slots=True)
class TargetRun:
    """Everything measured on one target."""

    name: str
    label: str
    version: str
    phases: dict[str, Phase] = field(default_factory=dict)
    stream: clients.StreamResult | None = None
    gateway_mode: clients.GatewayModeResult | None = None
    gateway_mode_cpu_ms: float | None = None
    gateway_plain_ms: tuple[float, ...] = ()
    gateway_plain_sent: int = 0
    hwm_kib: int = 0
    rss_kib: int = 0
    audit: audit_check.AuditCheck | None = None
    startup_s: float = 0.0
    start_rss_kib: int = 0


class Bench:
    """Owns the temp directory, nginx, and the request files the phases post."""

    def __init__(self, tmp: Path, plan: Plan, wrk_bin: str, nginx_bin: str) -> None:
        self.tmp, self.plan, self.wrk_bin = tmp, plan, wrk_bin
        self.upstream_port = procs.free_port()
        conf = upstream.write_site(tmp / "nginx", self.upstream_port)
        self.nginx = procs.Server("nginx", procs.pinned(plan.load_core, [
            nginx_bin, "-p", str(tmp / "nginx"), "-c", str(conf), "-e", str(tmp / "nginx" / "error.log")]),
            self.upstream_port, tmp / "nginx.log")
        self.nginx.wait_listening(15)
        self.bodies: dict[int, Path] = {}
        for kib in sorted({k for _, k, _ in PHASES}):
            path = tmp / f"chat-{kib}.json"
            path.write_bytes(bodies.chat_body(document_kib=kib))
            self.bodies[kib] = path

    def close(self) -> None:
        self.nginx.stop(5)

    def _headers(self, agent: str) -> dict[str, str]:
        return {"Content-Type": "application/json", "Authorization": f"Bearer {gateways.API_KEY}",
                "X-Proctor-Agent": agent}

    def _phase(self, name: str, kib: int, connections: int, port: int, path: str, pid: int,
               seconds: float) -> Phase:
        script = self.tmp / f"{name}-{port}.lua"
        script.write_text(wrk.lua_script(self.bodies[kib], path, self._headers(f"bench-{name}")), "utf-8")
        before = procs.usage(pid).cpu_s
        result = wrk.run(self.wrk_bin, f"http://127.0.0.1:{port}", script, connections=connections,
                         seconds=seconds, prefix=procs.pinned(self.plan.load_core, []))
        cpu = procs.usage(pid).cpu_s - before
        return Phase(name, connections, self.bodies[kib].stat().st_size, result, cpu)

    def measure(self, run: TargetRun, port: int, pid: int, chat_path: str, stream_path: str) -> None:
        """The wrk phases, then streaming; fills ``run``."""
        self._phase(WARMUP, 0, 16, port, chat_path, pid, self.plan.warmup_s)
        for name, kib, connections in PHASES:
            phase = self._phase(name, kib, connections, port, chat_path, pid, self.plan.seconds)
            run.phases[name] = phase
            r = phase.result
            print(f"  {run.name:8} {name:8} {r.rps:10,.0f} req/s  p50 {r.p(50):8.3f} ms  p99 {r.p(99):8.3f} ms  "
                  f"cpu {phase.cpu_ms_per_request:7.3f} ms/req  errors {r.failed}", file=sys.stderr)
        run.stream = clients.time_streams(f"http://127.0.0.1:{port}{stream_path}", bodies.chat_body(stream=True),
                                          self._headers("bench-stream"), self.plan.stream_requests)
        s = run.stream
        print(f"  {run.name:8} stream   ttft p50 {clients.percentile(s.ttft_ms, 50):.3f} ms  ttlt p50 "
              f"{clients.percentile(s.ttlt_ms, 50):.3f} ms  failed {s.failed}", file=sys.stderr)

    def direct(self) -> TargetRun:
        run = TargetRun("direct", "direct (nginx)", "")
        pid = self.nginx.pid
        if pid is None:
            raise RuntimeError("nginx has no pid")
        self.measure(run, self.upstream_port, pid, upstream.CHAT_PATH, upstream.STREAM_PATH)
        u = procs.usage(pid)
        run.hwm_kib, run.rss_kib = u.hwm_kib, u.rss_kib
        return run

    def gateway(self, run: TargetRun, server: procs.Server, extra: Callable[[TargetRun, int, int], None]) -> None:
        """Start ``server`` on the gateway core, measure it, run ``extra``, stop it."""
        started = time.monotonic()
        try:
            pid = server.wait_listening(180)
            run.startup_s = time.monotonic() - started
            run.start_rss_kib = procs.usage(pid).rss_kib
            self.measure(run, server.port, pid, "/v1/chat/completions", "/v1/chat/completions")
            extra(run, server.port, pid)
            u = procs.usage(pid)
            run.hwm_kib, run.rss_kib = u.hwm_kib, u.rss_kib
        finally:
            code = server.stop()
            if code not in (0, None) and run.name == "proctor":
                print(f"  proctor exited with {code}; its log ends:\n{server.tail()}", file=sys.stderr)

    def proctor(self) -> TargetRun:
        tmp = self.tmp / "proctor"
        tmp.mkdir()
        port = procs.free_port()
        config = gateways.proctor_config(tmp, self.upstream_port, port)
        run = TargetRun("proctor", "Proctor", gateways.proctor_version())
        server = procs.Server("proctor", procs.pinned(self.plan.gateway_core, gateways.proctor_argv(config)),
                              port, tmp / "server.log")

        def gateway_mode(run: TargetRun, port: int, pid: int) -> None:
            before = procs.usage(pid).cpu_s
            result = clients.time_gateway_mode(f"http://127.0.0.1:{port}", self.plan.gateway_requests,
                                               GATEWAY_QUERY)
            run.gateway_mode = result
            run.gateway_mode_cpu_ms = (procs.usage(pid).cpu_s - before) / result.sent * 1000
            run.gateway_plain_ms, run.gateway_plain_sent = clients.time_gateway_mode_plain(f"http://127.0.0.1:{port}",
                                                                   self.plan.gateway_requests, GATEWAY_QUERY)
            print(f"  proctor  gateway mode p50 {clients.percentile(result.round_trip_ms, 50):.3f} ms  p99 "
                  f"{clients.percentile(result.round_trip_ms, 99):.3f} ms  failed {result.failed}", file=sys.stderr)

        self.gateway(run, server, gateway_mode)
        run.audit = audit_check.check(tmp / "proctor-audit.db", tmp / "proctor-signing.key")
        return run

    def litellm(self, venv: Path, version: str) -> TargetRun:
        tmp = self.tmp / "litellm"
        tmp.mkdir()
        port = procs.free_port()
        config = gateways.litellm_config(tmp, self.upstream_port)
        run = TargetRun("litellm", "LiteLLM proxy", version)
        argv = procs.pinned(self.plan.gateway_core, gateways.litellm_argv(venv, config, port))
        server = procs.Server("litellm", argv, port, tmp / "server.log", env=gateways.litellm_env(), cwd=tmp)
        self.gateway(run, server, lambda *_: None)
        return run
