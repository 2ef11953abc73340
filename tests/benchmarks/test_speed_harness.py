"""The speed benchmark runs end to end on small inputs and reports well-formed numbers (no timing asserted)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    """One `--quick` run at 10 KB: its JSON document and the markdown file it wrote."""
    out = tmp_path_factory.mktemp("speed")
    cmd = [sys.executable, "-m", "benchmarks.speed", "--quick", "--max-size", "10KB",
           "--output", str(out / "RESULTS.md"), "--json", str(out / "speed.json")]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((out / "speed.json").read_text("utf-8")), (out / "RESULTS.md").read_text("utf-8")


def _positive(x: object) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def _well_formed(stats: dict[str, Any], samples: int) -> None:
    assert _positive(stats["median"]) and _positive(stats["p90"])
    assert stats["p90"] >= stats["median"]
    assert stats["samples"] == samples


def test_prompt_mix_numbers(quick_run: tuple[dict[str, Any], str]) -> None:
    doc, _ = quick_run
    rounds, prompts = doc["settings"]["rounds"], doc["prompts"]
    assert prompts >= 40 and 900 <= doc["prompt_chars"] <= 1200
    _well_formed(doc["proctor"]["overall"], rounds * prompts)
    _well_formed(doc["no_prefilter"]["overall"], rounds * prompts)
    _well_formed(doc["proctor"]["fastest"], prompts)  # one fastest round per prompt
    assert doc["proctor"]["fastest"]["median"] <= doc["proctor"]["overall"]["median"] * 1.01
    assert doc["prefilter_same_findings"] is True
    assert [d["name"] for d in doc["per_detector"]] == doc["detectors"]
    for d in doc["per_detector"]:
        _well_formed(d["overall"], rounds * prompts)
        assert set(d["per_kind"]) == set(doc["proctor"]["per_kind"])


def test_presidio_side_by_side_or_reason(quick_run: tuple[dict[str, Any], str]) -> None:
    doc, _ = quick_run
    if doc["presidio"] is None:  # presidio-analyzer is installed by `make speed`, not by the test extras
        assert "not installed" in doc["presidio_note"]
    else:
        _well_formed(doc["presidio"]["overall"], doc["settings"]["presidio_rounds"] * doc["prompts"])
        assert doc["presidio_recognizers"]
        assert _positive(doc["speedup_vs_presidio"])


def test_size_and_adversarial_numbers(quick_run: tuple[dict[str, Any], str]) -> None:
    doc, _ = quick_run
    assert [r["size"] for r in doc["linearity"]] == [1024, 10 * 1024]
    for r in doc["linearity"]:
        assert _positive(r["benign_s"]) and _positive(r["mixed_s"])
    assert len(doc["adversarial"]) >= 15
    for a in doc["adversarial"]:
        assert a["chars"] == 10 * 1024 and a["utf8_bytes"] >= a["chars"]
        assert _positive(a["check_s"]) and _positive(a["no_prefilter_s"])
        assert set(a["per_detector"]) == set(doc["detectors"])
    assert {t["met"] for t in doc["targets"]} <= {"yes", "**no**", "n/a", "n/a (input < 1 MB)"}


def test_markdown_section(quick_run: tuple[dict[str, Any], str]) -> None:
    _, md = quick_run
    assert "<!-- speed:start -->" in md and "<!-- speed:end -->" in md
    for heading in ("### Targets", "### Realistic ~1 KB prompts", "### Linearity", "### Adversarial inputs"):
        assert heading in md
    assert "| cpu |" in md and "| python |" in md
