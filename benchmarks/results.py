"""Keep benchmarks/RESULTS.md as named sections, each rewritten by the benchmark that owns it."""

from __future__ import annotations

import re
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HEADER = "# Benchmark results\n\nEach section is rewritten by the command it names; numbers come from one run.\n"


def write_section(key: str, title: str, body: str, path: Path = RESULTS) -> None:
    """Replace (or append) the section ``key`` of RESULTS.md with ``body``."""
    text = path.read_text("utf-8") if path.exists() else HEADER
    block = f"<!-- {key}:start -->\n## {title}\n\n{body.rstrip()}\n<!-- {key}:end -->"
    pattern = re.compile(rf"<!-- {re.escape(key)}:start -->.*?<!-- {re.escape(key)}:end -->", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, "utf-8")
