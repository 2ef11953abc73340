"""python -m benchmarks.gateway: Proctor's server beside the LiteLLM proxy over a zero-latency nginx upstream.

Example: python -m benchmarks.gateway --quick --no-write
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.gateway import gateways, report
from benchmarks.gateway.run import Bench, Plan, TargetRun
from benchmarks.results import RESULTS, write_section
from benchmarks.speed.machine import machine_info

CHART = Path(__file__).resolve().parent / "chart.png"
SBIN = ("/usr/sbin", "/sbin", "/usr/local/sbin")


def find_tool(name: str) -> str | None:
    # nginx lives in /usr/sbin, which a non-root PATH often lacks.
    return shutil.which(name) or shutil.which(name, path=os.pathsep.join(SBIN))


def ensure_tools() -> tuple[str, str] | None:
    """Paths of nginx and wrk; installed with apt-get when missing and running as root. None: not found."""
    missing = [t for t in ("nginx", "wrk") if find_tool(t) is None]
    if missing and os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"installing {' '.join(missing)} with apt-get", file=sys.stderr)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-q", *missing], env=env, check=False)
    nginx, wrk_bin = find_tool("nginx"), find_tool("wrk")
    if nginx is None or wrk_bin is None:
        return None
    return nginx, wrk_bin


def _first_line(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return (done.stdout + done.stderr).strip().splitlines()[0] if (done.stdout + done.stderr).strip() else "unknown"


def cores() -> tuple[int | None, int | None]:
    """(gateway core, load core): the first two usable cores, or no pinning on a one-core machine."""
    usable = sorted(os.sched_getaffinity(0))
    if len(usable) < 2:
        return None, None
    return usable[0], usable[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.gateway",
        description="Requests/s, added latency, CPU per request, peak RSS and streaming times of `proctor serve` "
                    "and the LiteLLM proxy over a zero-latency nginx upstream, each gateway pinned to one core; "
                    "then Proctor's audit chain is verified. Example: python -m benchmarks.gateway --quick")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk phase (default 10; 5 phases "
                        "per target)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up load per target (default 3)")
    parser.add_argument("--stream-requests", type=int, default=300,
                        help="sequential streaming requests per target (default 300)")
    parser.add_argument("--gateway-requests", type=int, default=2000,
                        help="sequential AxonFlow gateway-mode round trips against Proctor (default 2000)")
    parser.add_argument("--quick", action="store_true",
                        help="3 s phases, 1 s warm-up, 50 streams, 300 round trips (a smoke run, not for RESULTS)")
    parser.add_argument("--no-litellm", action="store_true", help="skip the LiteLLM proxy")
    parser.add_argument("--litellm-venv", type=Path, default=gateways.default_litellm_venv(),
                        help="venv for the LiteLLM proxy, created with `pip install litellm[proxy]` when missing "
                             "(default: %(default)s)")
    parser.add_argument("--output", type=Path, default=RESULTS,
                        help="markdown file whose gateway section is rewritten (default: benchmarks/RESULTS.md)")
    parser.add_argument("--chart", type=Path, default=CHART, help="PNG chart path (default: %(default)s)")
    parser.add_argument("--json", type=Path, default=None, help="also write every number as JSON here")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md and the chart alone")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.stream_requests, args.gateway_requests = 3.0, 1.0, 50, 300

    tools = ensure_tools()
    if tools is None:
        print("python -m benchmarks.gateway needs nginx (the upstream) and wrk (the load generator). Install "
              "them, then run it again:\n  sudo apt-get install -y nginx wrk      # Debian, Ubuntu\n"
              "  brew install nginx wrk                 # macOS", file=sys.stderr)
        return 2
    nginx_bin, wrk_bin = tools
    litellm_version = "not run"
    if not args.no_litellm:
        litellm_version = gateways.ensure_litellm(args.litellm_venv)

    info = machine_info()  # before pinning, so it reports the machine's cores rather than the harness's one
    gateway_core, load_core = cores()
    if load_core is not None:
        os.sched_setaffinity(0, {load_core})  # the harness's clients share the load core with wrk and nginx
    plan = Plan(args.duration, args.warmup, args.stream_requests, args.gateway_requests, gateway_core, load_core)
    for name in ("hyperscan", "presidio-analyzer"):
        info.pop(name, None)
    info.update({
        "litellm": litellm_version,
        "nginx": _first_line([nginx_bin, "-v"]).rpartition("/")[2],
        "wrk": _first_line([wrk_bin, "-v"]).split(" [")[0].removeprefix("wrk "),
        "pinning": f"gateway on core {gateway_core}, nginx + wrk + clients on core {load_core}"
                   if load_core is not None else "none (one usable core)",
    })

    runs: dict[str, TargetRun] = {}
    with tempfile.TemporaryDirectory(prefix="proctor-bench-gateway-") as tmp:
        bench = Bench(Path(tmp), plan, wrk_bin, nginx_bin)
        try:
            runs["direct"] = bench.direct()
            runs["proctor"] = bench.proctor()
            if not args.no_litellm:
                runs["litellm"] = bench.litellm(args.litellm_venv, litellm_version)
        finally:
            bench.close()
    info["load average at end"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())

    with_args = " --quick" if args.quick else ("" if args.duration == 10.0 else f" --duration {args.duration:g}")
    settings = {"args": with_args, "seconds": plan.seconds, "warmup_s": plan.warmup_s,
                "stream_requests": plan.stream_requests, "gateway_requests": plan.gateway_requests,
                "gateway_core": gateway_core, "load_core": load_core}
    drew = False
    if not args.no_write:
        drew = report.chart(runs, args.chart)
        if not drew:
            print("matplotlib is not installed, so no chart: pip install matplotlib", file=sys.stderr)
    chart_ref = None
    if drew:
        try:
            chart_ref = os.path.relpath(args.chart, args.output.parent)
        except ValueError:
            chart_ref = str(args.chart)
    body = report.to_markdown(runs, info, settings, chart_ref)
    print(body)
    if args.json is not None:
        args.json.write_text(json.dumps(report.to_json(runs, info, settings), indent=2, default=str), "utf-8")
    if not args.no_write:
        write_section("gateway", "Gateway: Proctor and the LiteLLM proxy on one core", body, path=args.output)
        print(f"\nwritten to {args.output}" + (f" and {args.chart}" if drew else ""), file=sys.stderr)
    failed = [t for t, _, met in report.targets(runs) if met is False and t.startswith("audit chain")]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
