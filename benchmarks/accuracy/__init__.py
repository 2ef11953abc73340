"""Detection quality: precision and recall per finding type, on the corpus and on external sets.

Run ``python -m benchmarks.accuracy`` (or ``make accuracy``). External sets are built at run time from
packages installed then (``presidio-evaluator``, ``pyrit``, ``sqlmap``) and never copied into the repo.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from proctor.detect import Detector, load_detectors, run_detectors

CORPUS = Path(__file__).resolve().parents[2] / "tests" / "corpus"
Sample = tuple[str, frozenset[str]]
# Each corpus file is labelled for one detector family; it is scored on that family's types only.
FAMILIES: dict[str, tuple[str, ...]] = {
    "pii": ("pii.",),
    "secrets": ("secret.",),
    "sql": ("sqli", "dangerous.sql"),
    "injection": ("injection",),
}


def load_corpus(path: Path | None = None) -> list[Sample]:
    """Every labelled row of ``tests/corpus/*.jsonl`` (or one file) as (text, expected types)."""
    files = [path] if path else sorted(CORPUS.glob("*.jsonl"))
    out: list[Sample] = []
    for f in files:
        for n, line in enumerate(f.read_text("utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                out.append((row["text"], frozenset(row["types"])))
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ValueError(f"{f}:{n}: bad corpus row ({exc}); expected {{'text': ..., 'types': [...]}}") from exc
    return out


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    fp_examples: list[str] = field(default_factory=list)
    fn_examples: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


@dataclass
class Report:
    name: str
    samples: int
    benign: int
    benign_flagged: int
    per_type: dict[str, Counts]


def evaluate(name: str, samples: Iterable[Sample], detectors: Sequence[Detector] | None = None,
             only: Iterable[str] | None = None) -> Report:
    """Text-level scoring: a type counts as found in a text when any finding of that type is reported.

    ``only`` restricts scoring to type prefixes (e.g. ``("pii.",)``) for external sets labelled for one family.
    """
    detectors = list(detectors) if detectors is not None else load_detectors()
    prefixes = tuple(only) if only else None
    per_type: dict[str, Counts] = {}
    total = benign = benign_flagged = 0
    for text, expected in samples:
        total += 1
        got = {f.type for f in run_detectors(detectors, text)}
        if prefixes:
            got = {t for t in got if t.startswith(prefixes)}
            expected = frozenset(t for t in expected if t.startswith(prefixes))
        if not expected:
            benign += 1
            benign_flagged += bool(got)
        for t in expected | got:
            c = per_type.setdefault(t, Counts())
            if t in expected and t in got:
                c.tp += 1
            elif t in got:
                c.fp += 1
                if len(c.fp_examples) < 3:
                    c.fp_examples.append(text[:100])
            else:
                c.fn += 1
                if len(c.fn_examples) < 3:
                    c.fn_examples.append(text[:100])
    return Report(name, total, benign, benign_flagged, per_type)


def to_markdown(report: Report) -> str:
    lines = [f"**{report.name}** — {report.samples} texts, {report.benign} benign "
             f"({report.benign_flagged} of them flagged)", "",
             "| type | TP | FP | FN | precision | recall |", "|---|---:|---:|---:|---:|---:|"]
    for t in sorted(report.per_type):
        c = report.per_type[t]
        lines.append(f"| `{t}` | {c.tp} | {c.fp} | {c.fn} | {c.precision:.3f} | {c.recall:.3f} |")
    return "\n".join(lines)
