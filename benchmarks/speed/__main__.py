"""python -m benchmarks.speed: time Proctor's check next to Presidio and write the results section.

Example: python -m benchmarks.speed --quick --no-presidio
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

from benchmarks.results import write_section
from benchmarks.speed.inputs import KB, MB
from benchmarks.speed.measure import QUICK, Settings, run
from benchmarks.speed.report import to_json, to_markdown

RESULTS = Path(__file__).resolve().parents[1] / "RESULTS.md"


def _size(value: str) -> int:
    units = {"kb": KB, "k": KB, "mb": MB, "m": MB}
    v = value.strip().lower()
    for suffix, mult in units.items():
        if v.endswith(suffix):
            return int(float(v[: -len(suffix)]) * mult)
    return int(v)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.speed",
        description="Median Governor().check time per 1 KB prompt next to Presidio's pattern recognizers, "
                    "per-detector cost, time vs input size, and adversarial inputs. "
                    "Example: python -m benchmarks.speed --quick --no-presidio",
    )
    parser.add_argument("--quick", action="store_true",
                        help="few iterations (3 rounds, 1 call per large input): a smoke run, noisy numbers")
    parser.add_argument("--no-presidio", action="store_true",
                        help="do not time Presidio (default: time it when presidio-analyzer is installed)")
    parser.add_argument("--max-size", type=_size, default=MB, metavar="SIZE",
                        help="largest linearity size and the adversarial input size, e.g. 64KB "
                             "(default: 1MB; the targets are stated for 1MB)")
    parser.add_argument("--limit", type=float, default=30.0, metavar="SECONDS",
                        help="stop a large-input measurement after this many seconds per call (default: 30)")
    parser.add_argument("--output", type=Path, default=RESULTS, metavar="FILE",
                        help="markdown file whose speed section is rewritten (default: benchmarks/RESULTS.md)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write every number as JSON to FILE")
    parser.add_argument("--no-write", action="store_true", help="print only; write no file")
    args = parser.parse_args(argv)
    if args.max_size < KB:
        parser.error(f"--max-size must be at least 1KB, got {args.max_size} characters")
    if args.limit <= 0:
        parser.error(f"--limit must be positive, got {args.limit}")

    base = QUICK if args.quick else Settings()
    settings = replace(base, presidio=not args.no_presidio, max_size=args.max_size, limit_s=args.limit)
    start = time.perf_counter()

    def progress(line: str) -> None:
        print(f"[{time.perf_counter() - start:6.1f}s] {line}", file=sys.stderr, flush=True)

    result = run(settings, progress=progress)
    progress("done")
    text = to_markdown(result)
    print(text)
    if not args.no_write:
        write_section("speed", "Speed", text, path=args.output)
        print(f"wrote {args.output}", file=sys.stderr)
    if args.json:
        args.json.write_text(to_json(result), "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
