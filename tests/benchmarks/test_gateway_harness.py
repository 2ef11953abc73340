"""The gateway benchmark's pure parts: wrk's result line, the /proc readers, the upstream's bodies (no load)."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import pytest
from benchmarks.gateway import bodies, procs, upstream, wrk
from benchmarks.gateway.clients import percentile

WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:8080
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    31.40ms    8.12ms 120.33ms   91.02%
  4560 requests in 10.01s, 5.10MB read
  Non-2xx or 3xx responses: 3
Requests/sec:    455.54
WRK_RESULT {"requests":4560,"duration_us":10010000,"bytes":5347000,"connect":0,"read":0,"write":0,"status":3,\
"timeout":1,"mean_us":31400.5,"max_us":120330,"percentiles_us":{"50":28700,"90":40100,"99":70250,"99.9":110000}}
"""


def test_wrk_result_line_is_parsed() -> None:
    r = wrk.parse(WRK_OUTPUT)
    assert (r.requests, r.non_2xx, r.failed) == (4560, 3, 4)
    assert r.rps == pytest.approx(4560 / 10.01)
    assert (r.p(50), r.p(99), r.p(99.9)) == (28.7, 70.25, 110.0)


def test_wrk_output_without_the_result_line_is_refused() -> None:
    with pytest.raises(ValueError, match="WRK_RESULT"):
        wrk.parse("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_lua_script_posts_the_body_with_the_headers(tmp_path: Path) -> None:
    script = wrk.lua_script(tmp_path / "body.json", "/v1/chat/completions", {"X-Proctor-Agent": "bench-1k-c16"})
    assert 'wrk.path = "/v1/chat/completions"' in script
    assert 'wrk.headers["X-Proctor-Agent"] = "bench-1k-c16"' in script
    assert json.dumps(str(tmp_path / "body.json")) in script and wrk.MARK in script
    with pytest.raises(ValueError, match="ASCII"):
        wrk.lua_script(tmp_path / "body.json", "/v1", {"X-Agent": "bänch"})


def test_cpu_ticks_count_after_a_command_name_with_spaces_and_parentheses() -> None:
    fields = ["S", "1", "2", "3", "0", "-1", "4194560", "100", "0", "0", "0", "250", "40", "0", "0"]
    assert procs.cpu_ticks("4242 (my (odd) server) " + " ".join(fields)) == 290


def test_status_kib_reads_peak_and_current_rss() -> None:
    text = "Name:\tproctor\nVmPeak:\t  900000 kB\nVmHWM:\t   91234 kB\nVmRSS:\t   88000 kB\n"
    assert (procs.status_kib(text, "VmHWM"), procs.status_kib(text, "VmRSS")) == (91234, 88000)
    with pytest.raises(KeyError):
        procs.status_kib(text, "VmSwap")


def test_listen_inodes_match_port_and_listen_state_only() -> None:
    text = (
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1\n"
        "   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 222 1\n"
        "   2: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 333 1\n"
    )
    assert procs.listen_inodes(text, 8080) == {111}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads Linux's /proc")
def test_this_process_is_found_listening_and_measured() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        pid = procs.listening_pid(s.getsockname()[1])
    assert pid is not None
    usage = procs.usage(pid)
    assert usage.cpu_s > 0 and usage.hwm_kib >= usage.rss_kib > 0


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 99), percentile(values, 100)) == (50.0, 99.0, 100.0)
    assert percentile([3.0], 99) == 3.0


def test_upstream_bodies_are_openai_shaped(tmp_path: Path) -> None:
    completion = json.loads(upstream.completion_body())
    assert completion["object"] == "chat.completion" and completion["usage"]["total_tokens"] > 0
    events = upstream.stream_body().split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""]
    chunks = [json.loads(e[6:]) for e in events[:-2]]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"]) == upstream.REPLY
    conf = upstream.write_site(tmp_path, 18080)
    assert "listen 127.0.0.1:18080" in conf.read_text()
    assert (tmp_path / "www" / upstream.STREAM_PATH.lstrip("/")).read_text() == upstream.stream_body()


def test_request_bodies_are_benign_so_every_request_is_forwarded() -> None:
    import proctor

    gov = proctor.Governor()
    for body in (bodies.chat_body(), bodies.chat_body(document_kib=31), bodies.chat_body(stream=True)):
        assert gov.check(json.loads(body)["messages"]).findings == ()
    assert gov.check(upstream.REPLY, scope="output").findings == ()
    assert 900 < len(bodies.chat_body()) < 1100 and 31 * 1024 < len(bodies.chat_body(document_kib=31)) < 33 * 1024


def test_upstream_client_rounds_rotate_so_each_client_goes_first_once() -> None:
    from benchmarks.gateway.upstream_client import rotated

    orders = [rotated(["aiohttp", "http11", "httpx"], r) for r in range(3)]
    assert [o[0] for o in orders] == ["aiohttp", "http11", "httpx"]
    assert all(sorted(o) == ["aiohttp", "http11", "httpx"] for o in orders)


def test_upstream_client_table_shows_medians_against_the_base() -> None:
    from benchmarks.gateway.upstream_client import Sample, median_table

    samples = [Sample("a", "sequential", r, cpu, 1000.0) for r, cpu in enumerate((100.0, 300.0, 200.0))]
    samples += [Sample("b", "sequential", r, cpu, 500.0) for r, cpu in enumerate((420.0, 380.0, 400.0))]
    rows = median_table(samples, ["a", "b"], ["sequential"], "a", "case")
    assert rows[2] == "| sequential | a | 200 | 1.00x | 1,000 | 100, 300, 200 |"
    assert rows[3] == "| sequential | b | 400 | 2.00x | 500 | 420, 380, 400 |"


def test_serve_switch_points_the_providers_at_the_named_client(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks.gateway import serve

    import proctor.providers.anthropic
    import proctor.providers.openai

    for module in (proctor.providers.openai, proctor.providers.anthropic):
        monkeypatch.setattr(module, "open_upstream", module.open_upstream)  # restored after the test
    assert "aiohttp" in serve.available()
    serve.use("aiohttp")
    for module in (proctor.providers.openai, proctor.providers.anthropic):
        opened = module.open_upstream("up", "http://127.0.0.1:9/v1", 1.0)
        assert isinstance(opened, serve.client_class("aiohttp"))  # type: ignore[arg-type]
