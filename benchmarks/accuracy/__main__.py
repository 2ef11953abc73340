"""python -m benchmarks.accuracy: corpus + external sets → benchmarks/RESULTS.md (accuracy section)."""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
from datetime import date

from benchmarks.accuracy import CORPUS, FAMILIES, evaluate, load_corpus, to_markdown
from benchmarks.results import write_section
from proctor import __version__
from proctor.detect import load_detectors

EXTERNAL = (  # module, scoring prefixes, what it is
    ("benchmarks.accuracy.external_pii", ("pii.",), "presidio-evaluator generated sentences"),
    ("benchmarks.accuracy.external_secrets", ("secret.",), "synthesised provider tokens in realistic carriers"),
    ("benchmarks.accuracy.external_sql", ("sqli", "dangerous.sql"), "sqlmap payloads + benign SQL questions"),
    ("benchmarks.accuracy.external_injection", ("injection",), "pyrit jailbreak templates + benign prose"),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.accuracy", description=__doc__)
    parser.add_argument("--no-write", action="store_true", help="print only; do not update RESULTS.md")
    parser.add_argument("--verbose", "-v", action="store_true", help="show example misses and false positives")
    args = parser.parse_args(argv)
    detectors = load_detectors()
    parts = [f"Measured {date.today().isoformat()} on {platform.machine()} ({platform.processor() or 'cpu'}), "
             f"Python {platform.python_version()}, proctor {__version__}. Command: `make accuracy`.", ""]
    reports = []
    for family, prefixes in FAMILIES.items():
        path = CORPUS / f"{family}.jsonl"
        if path.exists():
            reports.append(evaluate(f"tests/corpus/{family}.jsonl (hand-labelled, incl. benign near-misses)",
                                    load_corpus(path), detectors, only=prefixes))
    for module, prefixes, what in EXTERNAL:
        try:
            mod = importlib.import_module(module)
            samples = mod.load()
        except ImportError as exc:
            parts.append(f"*{module}: skipped ({exc})*\n")
            continue
        reports.append(evaluate(f"{module.rsplit('.', 1)[-1]}: {what}", samples, detectors, only=prefixes))
    for r in reports:
        parts.extend([to_markdown(r), ""])
        if args.verbose:
            for t, c in sorted(r.per_type.items()):
                for ex in c.fn_examples:
                    print(f"  MISS {t}: {ex!r}", file=sys.stderr)
                for ex in c.fp_examples:
                    print(f"  FP   {t}: {ex!r}", file=sys.stderr)
    text = "\n".join(parts)
    print(text)
    if not args.no_write:
        write_section("accuracy", "Detection accuracy", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
