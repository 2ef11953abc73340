"""Load with wrk: a Lua script that posts one chat body, and a parser for what the script prints.

The script's ``done`` hook prints one ``WRK_RESULT {json}`` line (wrk's own summary rounds latencies to two
digits); the parser also reads wrk's ``Non-2xx or 3xx responses`` line as a cross-check.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

MARK = "WRK_RESULT "
PERCENTILES = (50, 90, 99, 99.9)

_LUA = """-- Written by python -m benchmarks.gateway: POST one fixed chat body, report the summary as JSON.
local f = assert(io.open(%(body)s, "rb"))
wrk.method = "POST"
wrk.path = %(path)s
wrk.body = f:read("*a")
f:close()
%(headers)s
done = function(summary, latency, requests)
  local e = summary.errors
  local p = {}
  for _, q in ipairs({%(percentiles)s}) do
    p[#p + 1] = string.format('"%%s":%%d', tostring(q), latency:percentile(q))
  end
  io.write(string.format(
    '%(mark)s{"requests":%%d,"duration_us":%%d,"bytes":%%d,"connect":%%d,"read":%%d,"write":%%d,' ..
    '"status":%%d,"timeout":%%d,"mean_us":%%.1f,"max_us":%%d,"percentiles_us":{%%s}}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, table.concat(p, ",")))
end
"""


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal of ASCII text is a valid Lua string literal


def lua_script(body_file: Path, path: str, headers: Mapping[str, str]) -> str:
    """The wrk script posting ``body_file``'s bytes to ``path`` with ``headers``."""
    for text in (str(body_file), path, *headers, *headers.values()):
        if not text.isascii():
            raise ValueError(f"wrk script values must be ASCII; found {text!r}")
    lines = "\n".join(f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items())
    return _LUA % {"body": _lua_string(str(body_file)), "path": _lua_string(path), "headers": lines,
                   "percentiles": ", ".join(str(p) for p in PERCENTILES), "mark": MARK}


@dataclass(frozen=True, slots=True)
class WrkResult:
    """One wrk run: completed requests, errors by kind, and latency in microseconds."""

    requests: int
    seconds: float
    errors: Mapping[str, int]
    mean_us: float
    max_us: int
    percentiles_us: Mapping[str, int]
    non_2xx: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def failed(self) -> int:
        """Requests that did not end in a 2xx/3xx answer: non-2xx statuses, timeouts, socket errors."""
        return sum(self.errors.values())

    def p(self, q: float) -> float:
        """Latency percentile ``q`` in milliseconds."""
        return self.percentiles_us[str(q)] / 1000.0


_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")


def parse(output: str) -> WrkResult:
    """Parse wrk's stdout when run with :func:`lua_script`. Raises ValueError when the result line is absent."""
    for line in output.splitlines():
        if line.startswith(MARK):
            doc = json.loads(line[len(MARK):])
            break
    else:
        raise ValueError(f"wrk printed no {MARK.strip()} line; its output ends:\n{output[-2000:]}")
    match = _NON_2XX.search(output)
    errors = {k: int(doc[k]) for k in ("connect", "read", "write", "status", "timeout")}
    return WrkResult(
        requests=int(doc["requests"]),
        seconds=int(doc["duration_us"]) / 1e6,
        errors=errors,
        mean_us=float(doc["mean_us"]),
        max_us=int(doc["max_us"]),
        percentiles_us={k: int(v) for k, v in doc["percentiles_us"].items()},
        non_2xx=int(match.group(1)) if match else errors["status"],
    )


def run(wrk: str, url: str, script: Path, *, connections: int, seconds: float,
        prefix: Sequence[str] = (), timeout_s: float = 10.0) -> WrkResult:
    """Run wrk with one thread (it shares a core with the upstream) and ``connections`` connections."""
    argv = [*prefix, wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
            f"--timeout={timeout_s:g}s", "-s", str(script), url]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + timeout_s + 60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk exited with {done.returncode}: {done.stderr.strip()[-1000:]}")
    return parse(done.stdout)
