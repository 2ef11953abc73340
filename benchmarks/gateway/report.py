"""The gateway section of RESULTS.md, its JSON twin, and the chart, from one run's measurements."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks.gateway import upstream
from benchmarks.gateway.clients import percentile
from benchmarks.gateway.run import WARMUP, TargetRun

MB = 1024  # KiB per MiB
TARGET_THROUGHPUT_X = 10.0
TARGET_LATENCY_FRACTION = 0.1
TARGET_TTFT_MS = 1.0
TARGET_RSS_MB = 150.0
TARGET_GATEWAY_P50_MS = 3.0  # AxonFlow's published gateway-mode target


def _num(x: float, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.{digits}f}"


def added(run: TargetRun, direct: TargetRun, phase: str, q: float) -> float:
    """Latency ``run`` adds over the direct call at percentile ``q`` of a phase, in ms."""
    return run.phases[phase].result.p(q) - direct.phases[phase].result.p(q)


def _errors(run: TargetRun) -> tuple[int, int]:
    non_2xx = sum(p.result.errors["status"] for p in run.phases.values())
    other = sum(p.result.failed for p in run.phases.values()) - non_2xx
    if run.stream is not None:
        other += run.stream.failed
    if run.gateway_mode is not None:
        other += run.gateway_mode.failed
    return non_2xx, other


def _ttft(run: TargetRun, q: float) -> float:
    return percentile(run.stream.ttft_ms, q) if run.stream else math.nan


def _ttlt(run: TargetRun, q: float) -> float:
    return percentile(run.stream.ttlt_ms, q) if run.stream else math.nan


def targets(runs: Mapping[str, TargetRun]) -> list[tuple[str, str, bool | None]]:
    """(target, result, met) for every target the issue sets; met is None when it could not be measured."""
    direct, proctor, lite = runs["direct"], runs["proctor"], runs.get("litellm")
    rows: list[tuple[str, str, bool | None]] = []
    if lite is not None:
        ratios = [proctor.phases[p].result.rps / lite.phases[p].result.rps for p in ("1k-c16", "1k-c64")]
        rows.append((f"throughput >= {TARGET_THROUGHPUT_X:g}x the LiteLLM proxy's (1 KB, 16 and 64 connections)",
                     f"{ratios[0]:.1f}x, {ratios[1]:.1f}x", min(ratios) >= TARGET_THROUGHPUT_X))
        mine, theirs = added(proctor, direct, "1k-c1", 50), added(lite, direct, "1k-c1", 50)
        rows.append(("added p50 at 1 connection <= 1/10 of the LiteLLM proxy's",
                     f"{mine:.3f} ms vs {theirs:.3f} ms ({mine / theirs:.2f} of it)",
                     mine <= TARGET_LATENCY_FRACTION * theirs))
    else:
        rows.append(("throughput >= 10x the LiteLLM proxy's", "LiteLLM not run", None))
    ttft = _ttft(proctor, 50) - _ttft(direct, 50)
    rows.append((f"streaming time to first token within {TARGET_TTFT_MS:g} ms of direct (p50)",
                 f"+{ttft:.3f} ms", ttft <= TARGET_TTFT_MS))
    rss = proctor.hwm_kib / MB
    rows.append((f"peak RSS of the server process under load < {TARGET_RSS_MB:g} MB", f"{rss:.0f} MB",
                 rss < TARGET_RSS_MB))
    bad = {r.label: sum(_errors(r)) for r in runs.values()}
    rows.append(("0 non-2xx or failed requests", ", ".join(f"{k}: {v}" for k, v in bad.items()),
                 not any(bad.values())))
    audit = proctor.audit
    if audit is not None:
        ok, text = audit_matches(proctor)
        rows.append(("audit chain verifies, one record per request", text, audit.verified and ok))
    gm = proctor.gateway_mode
    if gm is not None:
        p50 = percentile(gm.round_trip_ms, 50)
        rows.append((f"gateway mode (AxonFlow SDK) pre-check + audit round trip p50 < {TARGET_GATEWAY_P50_MS:g} ms",
                     f"{p50:.3f} ms", p50 < TARGET_GATEWAY_P50_MS))
    return rows


def audit_rows(run: TargetRun) -> list[tuple[str, int, int, int]]:
    """(phase, requests wrk completed or the client sent, call records, the most in flight at cut-off)."""
    assert run.audit is not None
    calls = run.audit.calls
    rows = [(name, p.result.requests, calls.get(f"bench-{name}", 0), p.connections) for name, p in run.phases.items()]
    if run.stream is not None:
        rows.append(("stream", run.stream.sent, calls.get("bench-stream", 0), 0))
    if run.gateway_mode is not None:
        rows.append(("gateway mode", run.gateway_mode.sent, calls.get("bench-gateway-mode", 0), 0))
    if run.gateway_plain_sent:
        rows.append(("gateway mode, plain client", run.gateway_plain_sent, calls.get("bench-gateway-plain", 0), 0))
    return rows


def audit_matches(run: TargetRun) -> tuple[bool, str]:
    """Whether every phase holds one record per request (wrk's cut-off allows up to c extra), and a summary."""
    rows = audit_rows(run)
    ok = all(req <= rec <= req + extra for _, req, rec, extra in rows)
    requests = sum(r[1] for r in rows)
    records = sum(r[2] for r in rows)
    verdict = "verified" if run.audit and run.audit.verified else "**verification failed**"
    return ok, f"{verdict}; {records:,} call records for {requests:,} counted requests (+{records - requests} " \
               f"in flight when wrk stopped)"


def _cell(runs: Sequence[TargetRun], value: Any) -> list[str]:
    return [value(r) for r in runs]


def to_markdown(runs: Mapping[str, TargetRun], info: Mapping[str, str], settings: Mapping[str, Any],
                chart: str | None) -> str:
    order = [runs[k] for k in ("direct", "proctor", "litellm") if k in runs]
    direct, proctor = runs["direct"], runs["proctor"]
    lines = [
        f"Command: `make bench-gateway` (`python -m benchmarks.gateway{settings['args']}`). One run; a shared "
        "machine is noisy, so rerun before comparing small differences.",
        "",
        "| machine | |", "|---|---|", *[f"| {k} | {v} |" for k, v in info.items()], "",
        f"Set-up: a zero-latency upstream (nginx {info.get('nginx', '')}, one process, fixed `chat.completion` and "
        "SSE bodies from static files) on loopback. Each gateway runs alone as one process pinned to core "
        f"{settings['gateway_core']}; nginx, wrk (one thread) and the Python clients share core "
        f"{settings['load_core']}. Proctor: `proctor serve`, `builtin:default` policies (every detector runs on "
        "input and output), audit on to SQLite (sealed, hash-chained, signed), fail-closed. LiteLLM: `litellm "
        "--config` with the model as `openai/` + `api_base`, a master key (it refuses to start without one), no "
        "callbacks, no database, local cost map, error logs only. Both on uvicorn + uvloop. Bodies: a ~1 KB "
        f"support chat ({proctor.phases['1k-c16'].body_bytes:,} bytes) and the same with a retrieved document "
        f"({proctor.phases['32k-c16'].body_bytes:,} bytes); both benign, so every request is forwarded. "
        f"Each wrk phase ran {settings['seconds']:g} s after a {settings['warmup_s']:g} s warm-up.",
        "",
        "### Targets", "", "| target | result | met |", "|---|---|---|",
    ]
    for what, result, met in targets(runs):
        lines.append(f"| {what} | {result} | {'-' if met is None else ('yes' if met else '**no**')} |")
    lines += ["", "### 1 KB chat completions", "", "| | " + " | ".join(r.label for r in order) + " |",
              "|---|" + "---:|" * len(order)]

    def row(name: str, value: Any) -> None:
        lines.append(f"| {name} | " + " | ".join(_cell(order, value)) + " |")

    row("requests/s, 16 connections", lambda r: _num(r.phases["1k-c16"].result.rps))
    row("requests/s, 64 connections", lambda r: _num(r.phases["1k-c64"].result.rps))
    row("share of direct's requests/s, 64 connections",
        lambda r: f"{r.phases['1k-c64'].result.rps / direct.phases['1k-c64'].result.rps:.1%}")
    row("latency p50 / p99, 16 connections (ms)",
        lambda r: f"{_num(r.phases['1k-c16'].result.p(50))} / {_num(r.phases['1k-c16'].result.p(99))}")
    row("latency p50 / p99, 1 connection (ms)",
        lambda r: f"{r.phases['1k-c1'].result.p(50):.3f} / {r.phases['1k-c1'].result.p(99):.3f}")
    row("added latency p50 / p99 over direct, 1 connection (ms)",
        lambda r: "-" if r is direct else f"{added(r, direct, '1k-c1', 50):.3f} / {added(r, direct, '1k-c1', 99):.3f}")
    row("server CPU per request, 16 / 64 connections (ms)",
        lambda r: f"{r.phases['1k-c16'].cpu_ms_per_request:.3f} / {r.phases['1k-c64'].cpu_ms_per_request:.3f}")
    row("requests/s one core could serve at that CPU cost (1000 / ms), 64 connections",
        lambda r: _num(1000 / r.phases["1k-c64"].cpu_ms_per_request))
    row("peak RSS of the server process, VmHWM (MB)", lambda r: f"{r.hwm_kib / MB:.0f}")
    row("RSS once listening / at the end (MB)",
        lambda r: f"{'-' if r is direct else f'{r.start_rss_kib / MB:.0f}'} / {r.rss_kib / MB:.0f}")
    row("non-2xx / other failed requests, all phases", lambda r: "{} / {}".format(*_errors(r)))
    row("start-up to listening (s)", lambda r: "-" if r is direct else f"{r.startup_s:.1f}")

    lines += ["", "Proctor's RSS includes SQLite's page cache for the audit store, which `store/sqlite.py` sizes at "
              "up to 64 MiB (`PRAGMA cache_size = -65536`); it fills as the audit file grows (about 1.4 KB a record "
              "here) and then stays flat, so the peak depends on how many records a run writes."]
    lines += ["", "### 1 KB vs 32 KB prompts", "", "| | " + " | ".join(r.label for r in order) + " |",
              "|---|" + "---:|" * len(order)]
    row("requests/s, 16 connections, 1 KB", lambda r: _num(r.phases["1k-c16"].result.rps))
    row("requests/s, 16 connections, 32 KB", lambda r: _num(r.phases["32k-c16"].result.rps))
    row("server CPU per request, 32 KB (ms)", lambda r: f"{r.phases['32k-c16'].cpu_ms_per_request:.3f}")
    row("latency p50, 1 connection, 32 KB (ms)", lambda r: f"{r.phases['32k-c1'].result.p(50):.3f}")
    row("added latency p50 / p99 over direct, 32 KB (ms)", lambda r: "-" if r is direct else
        f"{added(r, direct, '32k-c1', 50):.3f} / {added(r, direct, '32k-c1', 99):.3f}")

    lines += ["", f"### Streaming ({settings['stream_requests']} sequential requests, one keep-alive connection)",
              "", "| | " + " | ".join(r.label for r in order) + " |", "|---|" + "---:|" * len(order)]
    row("time to first token p50 / p99 (ms)", lambda r: f"{_ttft(r, 50):.3f} / {_ttft(r, 99):.3f}")
    row("time to last token p50 / p99 (ms)", lambda r: f"{_ttlt(r, 50):.3f} / {_ttlt(r, 99):.3f}")
    row("added time to first token, p50 (ms)",
        lambda r: "-" if r is direct else f"{_ttft(r, 50) - _ttft(direct, 50):.3f}")
    row("failed streams", lambda r: str(r.stream.failed if r.stream else "-"))
    events = upstream.stream_events()
    chars = len(upstream.REPLY)
    lines += ["", f"The upstream sends its whole stream ({len(events)} events, {chars} characters of content) at "
              "once, so these "
              "times are the gateways' own processing. Proctor holds back `limits.stream_holdback_chars` (256) "
              "characters of output so a finding split across chunks is caught before the client sees it; its "
              "first token leaves once 256 characters have arrived and been checked. With a real model that is "
              "the time to generate those characters, which this zero-latency upstream does not show."]

    gm = proctor.gateway_mode
    if gm is not None:
        lines += ["", f"### Gateway mode (AxonFlow SDK {gm.sdk_version}, {len(gm.round_trip_ms):,} sequential "
                  "round trips)", "", "| | p50 (ms) | p99 (ms) |", "|---|---:|---:|"]
        for name, values in (("pre-check + audit round trip", gm.round_trip_ms),
                             ("`POST /api/policy/pre-check`", gm.pre_check_ms),
                             ("`POST /api/audit/llm-call`", gm.audit_ms)):
            lines.append(f"| {name} | {percentile(values, 50):.3f} | {percentile(values, 99):.3f} |")
        plain = proctor.gateway_plain_ms
        if plain:
            lines.append(f"| the same round trip from a plain `httpx` client ({len(plain):,}) | "
                         f"{percentile(plain, 50):.3f} | {percentile(plain, 99):.3f} |")
        lines += ["", f"Proctor's CPU per round trip: {proctor.gateway_mode_cpu_ms or 0:.3f} ms; failed round trips: "
                  f"{gm.failed}. Times include the SDK's own work on the client side (the sync client wraps the "
                  "async one). AxonFlow publishes a P50 < 3 ms target for its gateway-mode pre-check."]

    if proctor.audit is not None:
        lines += ["", "### Proctor's audit trail after the run", "",
                  "| phase | requests counted | call records | at most in flight at cut-off |", "|---|---:|---:|---:|"]
        for name, requests, records, extra in audit_rows(proctor):
            lines.append(f"| {name} | {requests:,} | {records:,} | {extra} |")
        warm = proctor.audit.calls.get(f"bench-{WARMUP}", 0)
        not_ok = sum(proctor.audit.not_ok.values())
        lines += ["", f"`proctor audit verify`: {'intact' if proctor.audit.verified else 'FAILED'}, "
                  f"{proctor.audit.records:,} records (warm-up {warm:,} and the chain's genesis included); "
                  f"records with a status other than ok: {not_ok}. wrk counts the requests it completed; those "
                  "in flight when it stops are served and recorded but not counted."]
    if chart:
        lines += ["", f"![Gateway throughput and added latency]({chart})"]
    return "\n".join(lines)


def to_json(runs: Mapping[str, TargetRun], info: Mapping[str, str], settings: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"machine": dict(info), "settings": dict(settings), "targets": {}}
    for name, run in runs.items():
        doc: dict[str, Any] = {
            "version": run.version, "hwm_kib": run.hwm_kib, "rss_kib": run.rss_kib,
            "phases": {p.name: {"connections": p.connections, "body_bytes": p.body_bytes, "requests": p.result.requests,
                                "seconds": p.result.seconds, "rps": p.result.rps, "errors": dict(p.result.errors),
                                "non_2xx": p.result.non_2xx, "latency_ms": {k: v / 1000 for k, v in
                                                                           p.result.percentiles_us.items()},
                                "cpu_ms_per_request": p.cpu_ms_per_request} for p in run.phases.values()},
        }
        if run.stream:
            doc["stream"] = {"ttft_ms_p50": _ttft(run, 50), "ttft_ms_p99": _ttft(run, 99),
                             "ttlt_ms_p50": _ttlt(run, 50), "ttlt_ms_p99": _ttlt(run, 99), "failed": run.stream.failed}
        if run.gateway_mode:
            gm = run.gateway_mode
            doc["gateway_mode"] = {"round_trip_ms_p50": percentile(gm.round_trip_ms, 50),
                                   "round_trip_ms_p99": percentile(gm.round_trip_ms, 99), "failed": gm.failed,
                                   "cpu_ms": run.gateway_mode_cpu_ms}
        if run.audit:
            doc["audit"] = {"verified": run.audit.verified, "records": run.audit.records,
                            "calls": dict(run.audit.calls)}
        out["targets"][name] = doc
    out["goals"] = [{"target": t, "result": r, "met": m} for t, r, m in targets(runs)]
    return out


def chart(runs: Mapping[str, TargetRun], path: Path) -> bool:
    """Requests/s and added latency per target as a PNG; False when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    order = [runs[k] for k in ("direct", "proctor", "litellm") if k in runs]
    gateways = [r for r in order if r.name != "direct"]
    colours = {"direct": "#9e9e9e", "proctor": "#2e7d32", "litellm": "#c62828"}
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    width = 0.8 / len(order)
    for i, r in enumerate(order):
        xs = [j + (i - (len(order) - 1) / 2) * width for j in range(2)]
        values = [r.phases[p].result.rps for p in ("1k-c16", "1k-c64")]
        bars = left.bar(xs, values, width, label=r.label, color=colours[r.name])
        left.bar_label(bars, labels=[f"{v:,.0f}" for v in values], fontsize=7)
    left.set_yscale("log")
    left.set_xticks([0, 1], ["16 connections", "64 connections"])
    left.set_ylabel("requests/s (log scale)")
    left.set_title("Throughput, 1 KB chat, one core per gateway")
    left.legend(fontsize=8)
    direct = runs["direct"]
    width = 0.8 / max(1, len(gateways))
    phases = (("1k-c1", "1 KB"), ("32k-c1", "32 KB"))
    for i, r in enumerate(gateways):
        xs = [j + (i - (len(gateways) - 1) / 2) * width for j in range(len(phases))]
        values = [added(r, direct, p, 50) for p, _ in phases]
        bars = right.bar(xs, values, width, label=r.label, color=colours[r.name])
        right.bar_label(bars, labels=[f"{v:.2f}" for v in values], fontsize=7)
    right.set_xticks(range(len(phases)), [f"{label} prompt" for _, label in phases])
    right.set_ylabel("ms over the direct call (p50, 1 connection)")
    right.set_title("Added latency")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True

