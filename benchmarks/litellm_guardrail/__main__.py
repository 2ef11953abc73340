"""python -m benchmarks.litellm_guardrail: the added time per request of Proctor's LiteLLM proxy guardrail.

Three `litellm --config` proxies with the same config apart from the guardrail: plain, with a do-nothing
guardrail (`benchmarks/litellm_guardrail/noop.py`: LiteLLM's own cost of any registered guardrail) and with
`proctor.integrations.litellm.ProctorGuardrail` (sync mode: input check, output check, one audit record in
SQLite). All pinned to the same core and pointed at the same fast fake upstream (a fixed `chat.completion`,
served on another core). Requests carry a 1 KB benign prompt, one at a time, to each proxy in turn, the order
cycling through every permutation so drift hits all alike. The added time is the difference of the median
latencies; each proxy's CPU time per request is read from /proc, and the guardrail's own hooks are also timed
in-process, without the network and the proxy's noise. Target: < 1 ms added per request.

Example: python -m benchmarks.litellm_guardrail --requests 3000 --core 0
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, suppress
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx

from benchmarks.results import RESULTS, write_section
from benchmarks.speed.machine import cpu_model, installed_version, usable_cores

TARGET_MS = 1.0
MASTER_KEY = "sk-bench-" + "0123456789abcdef" * 2
PROMPT = ("Please summarise the delivery status of my recent order and tell me when the parcel is expected to "
          "arrive, which carrier handles it, and what I can do if it is late. ") * 8
PROMPT = PROMPT[:1024]
REPLY = ("Your order shipped on Tuesday and is in transit with the carrier. Delivery usually takes three to five "
         "working days; if it has not arrived by next Friday, reply here and we will send a replacement.")
BODY = json.dumps({"id": "chatcmpl-bench", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
                   "choices": [{"index": 0, "message": {"role": "assistant", "content": REPLY},
                                "finish_reason": "stop"}],
                   "usage": {"prompt_tokens": 256, "completion_tokens": 48, "total_tokens": 304}}).encode()


async def upstream(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A fixed chat.completion for any request: never the bottleneck."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": BODY})


def serve_upstream(port: int) -> None:
    import uvicorn

    config = uvicorn.Config(upstream, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    threading.Thread(target=uvicorn.Server(config).run, daemon=True).start()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


PROXIES: dict[str, str | None] = {  # name -> the guardrail class it registers
    "plain LiteLLM": None,
    "do-nothing guardrail": "benchmarks.litellm_guardrail.noop.NoopGuardrail",
    "with Proctor": "proctor.integrations.litellm.ProctorGuardrail",
}
REPO = Path(__file__).resolve().parents[2]


def start_proxy(root: Path, name: str, upstream_url: str, core: int | None, guardrail: str | None
                ) -> tuple[str, Any]:
    root.mkdir(parents=True)
    (root / "proctor.yaml").write_text(f"storage: sqlite:///{root / 'proctor.db'}\n", "utf-8")
    config: dict[str, Any] = {
        "model_list": [{"model_name": "gpt-4o-mini", "litellm_params": {
            "model": "openai/gpt-4o-mini", "api_base": f"{upstream_url}/v1", "api_key": "sk-upstream"}}],
        "general_settings": {"master_key": MASTER_KEY}}
    if guardrail:
        config["guardrails"] = [{"guardrail_name": "bench", "litellm_params": {
            "guardrail": guardrail, "mode": ["pre_call", "post_call"], "default_on": True}}]
    (root / "config.yaml").write_text(json.dumps(config), "utf-8")
    port = free_port()
    cmd = [str(Path(sys.executable).with_name("litellm")), "--config", str(root / "config.yaml"), "--host",
           "127.0.0.1", "--port", str(port)]
    if core is not None:
        cmd = ["taskset", "-c", str(core), *cmd]
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)  # for the do-nothing one
    env = {**os.environ, "PROCTOR_CONFIG": str(root / "proctor.yaml"), "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "LITELLM_LOG": "ERROR", "PYTHONPATH": path}
    log = (root / f"{name.replace(' ', '-')}.log").open("wb")
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    return f"http://127.0.0.1:{port}", proc


def wait_ready(url: str, proc: Any, timeout: float = 300) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        with suppress(httpx.HTTPError):
            if httpx.get(f"{url}/health/liveliness", timeout=1).status_code == 200:
                return
        time.sleep(0.25)
    raise RuntimeError(f"proxy at {url} did not start (see its log)")


def measure(urls: dict[str, str], requests: int, warmup: int) -> dict[str, list[float]]:
    """Latency in ms per request for each proxy, one request at a time; the order of the proxies cycles
    through every permutation, so each is first, middle and last equally often."""
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": PROMPT}]}
    headers = {"authorization": f"Bearer {MASTER_KEY}"}
    times: dict[str, list[float]] = {name: [] for name in urls}
    orders = list(itertools.permutations(urls))
    with httpx.Client(headers=headers, timeout=30, trust_env=False) as client:
        for i in range(warmup + requests):
            for name in orders[i % len(orders)]:
                start = time.perf_counter()
                r = client.post(f"{urls[name]}/v1/chat/completions", json=body)
                elapsed = (time.perf_counter() - start) * 1000
                if r.status_code != 200:
                    raise RuntimeError(f"{name}: HTTP {r.status_code}: {r.text[:300]}")
                if i >= warmup:
                    times[name].append(elapsed)
    return times


def hooks_in_process(n: int, store: str) -> float:
    """Median ms of the guardrail's pre-call and post-call hooks for one request, in this process."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    from proctor import Governor
    from proctor.audit import AuditLog
    from proctor.integrations.litellm import ProctorGuardrail

    gov = Governor(audit=AuditLog.open(store))
    gov.warm_up()
    guard = ProctorGuardrail(governor=gov, guardrail_name="proctor")
    response = litellm.ModelResponse(**json.loads(BODY))
    samples = []

    async def one(i: int) -> None:
        data = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": PROMPT}], "litellm_call_id": str(i)}
        start = time.perf_counter()
        await guard.async_pre_call_hook(None, None, data, "acompletion")
        await guard.async_post_call_success_hook(data, None, response)
        samples.append((time.perf_counter() - start) * 1000)

    async def run() -> None:
        for i in range(n):
            await one(i)

    asyncio.run(run())
    gov.audit.close()  # type: ignore[union-attr]
    return statistics.median(samples[n // 10:])


def machine(core: int | None) -> dict[str, str]:
    return {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "cpu": cpu_model(),
            "cores": f"{usable_cores()} usable; the three proxies on core {core}" if core is not None
            else f"{os.cpu_count()} (not pinned: taskset missing)",
            "load average at start": ", ".join(f"{x:.2f}" for x in os.getloadavg()),
            "python": platform.python_version(), "litellm": installed_version("litellm"),
            "proctor": installed_version("proctor")}


def cpu_ms(pid: int) -> float:
    """User + system CPU time of a process so far, all its threads, in ms."""
    fields = Path(f"/proc/{pid}/stat").read_text("utf-8").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.litellm_guardrail", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="measured requests per proxy (default 3000)")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured requests per proxy first (default 200)")
    parser.add_argument("--core", type=int, default=0, help="the core the proxies are pinned to (default 0)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="results file (default benchmarks/RESULTS.md)")
    args = parser.parse_args(argv)
    core: int | None = args.core if subprocess.run(["which", "taskset"], capture_output=True).returncode == 0 \
        else None
    info = machine(core)
    others = set(os.sched_getaffinity(0)) - {args.core}
    if core is not None and others:
        os.sched_setaffinity(0, others)  # the client and the upstream stay off the proxies' core
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-litellm-")))
        port = free_port()
        serve_upstream(port)
        upstream_url = f"http://127.0.0.1:{port}"
        started = {name: start_proxy(tmp / name.replace(" ", "-"), name, upstream_url, core, guardrail)
                   for name, guardrail in PROXIES.items()}
        for _, proc in started.values():
            stack.callback(proc.wait, 15)
            stack.callback(proc.terminate)
        for url, proc in started.values():
            wait_ready(url, proc)
        print(f"measuring {args.requests} requests per proxy ...", file=sys.stderr)
        before = {name: cpu_ms(proc.pid) for name, (_, proc) in started.items()}
        times = measure({name: url for name, (url, _) in started.items()}, args.requests, args.warmup)
        cpu = {name: (cpu_ms(proc.pid) - before[name]) / (args.requests + args.warmup)
               for name, (_, proc) in started.items()}
        info["load average at end"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        hooks = hooks_in_process(max(500, args.requests // 2), f"sqlite:///{tmp / 'hooks.db'}")
    med = {name: statistics.median(t) for name, t in times.items()}
    plain, noop, governed = med["plain LiteLLM"], med["do-nothing guardrail"], med["with Proctor"]
    added = governed - plain
    rows = [f"| {name} | {med[name]:.2f} | {med[name] - plain:+.2f} | {pct(t, 0.9):.2f} | {pct(t, 0.99):.2f} | "
            f"{cpu[name]:.2f} | {len(t)} |" for name, t in times.items()]
    verdict = "met" if added < TARGET_MS else "not met"
    body = "\n".join([
        "Command: `make bench-litellm` (`python -m benchmarks.litellm_guardrail`). One request at a time, a 1 KB "
        "benign prompt, to three proxies in turn (the order cycles through every permutation): plain LiteLLM, "
        "LiteLLM with a do-nothing guardrail (`benchmarks/litellm_guardrail/noop.py`: the same hooks, each "
        "returning at once, so it shows what LiteLLM's guardrail machinery costs by itself) and LiteLLM with "
        "Proctor's guardrail in sync mode (input check, output check, one audit record in SQLite, batched "
        "writer). All three pinned to one core, the client and the fake upstream on the others; same config "
        f"apart from the guardrail; {args.warmup} warm-up requests each first (the Governor is built then). "
        "One run; the machine is shared, so rerun before comparing small differences.",
        "",
        "| proxy | median ms | vs plain | p90 ms | p99 ms | CPU ms/request | requests |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"**Added per request: {added:.3f} ms** (difference of medians; target < {TARGET_MS:g} ms: {verdict}): "
        f"LiteLLM's own cost of a registered guardrail {noop - plain:+.3f} ms, Proctor's {governed - noop:+.3f} ms.",
        "CPU ms/request is the proxy process's user + system time (all threads, Proctor's audit writer "
        "included) over the measured and warm-up requests.",
        f"The guardrail's hooks alone, in-process (pre-call check + post-call check + audit enqueue): "
        f"{hooks:.3f} ms median.",
        "",
        *[f"- {k}: {v}" for k, v in info.items()],
    ])
    print(body)
    write_section("litellm-guardrail", "LiteLLM proxy guardrail: added time per request", body, path=args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
