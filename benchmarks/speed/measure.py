"""The measurements: the prompt mix through each engine and detector, linearity, and adversarial inputs.

``run(settings)`` does everything one ``python -m benchmarks.speed`` run reports and returns a ``Run``;
rendering it is ``report.py``'s job.
"""

from __future__ import annotations

import hashlib
import time
import unittest.mock
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

from benchmarks.speed.inputs import KB, MB, adversarial_inputs, benign_text, mixed_text, realistic_prompts
from benchmarks.speed.machine import machine_info
from benchmarks.speed.presidio import PresidioEngine, build_presidio
from benchmarks.speed.timing import Stats, median_seconds, per_kb_rounds, summarise, time_once, with_time_limit
from proctor import Governor
from proctor.detect import BUILTIN_DETECTORS, Detector, load_detectors
from proctor.detect.scan import PatternSet

LINEARITY_SIZES = (KB, 10 * KB, 100 * KB, MB)


@dataclass(frozen=True, slots=True)
class Settings:
    """How hard to measure. The defaults are a full run; ``QUICK`` is for smoke tests."""

    name: str = "full"
    rounds: int = 30  # timed rounds over the prompt mix, per engine and detector
    warmup: int = 2
    presidio_rounds: int = 5  # Presidio is 10-100x slower: fewer rounds keep the run short
    presidio: bool = True
    max_size: int = MB  # largest linearity size and the adversarial input size
    large_repeats: int = 3  # timed calls per large text (linearity sizes at least this, adversarial inputs)
    limit_s: float = 30.0  # a large-input measurement still running after this is stopped and reported


QUICK = Settings(name="quick", rounds=3, warmup=1, presidio_rounds=1, large_repeats=1)


@dataclass(frozen=True, slots=True)
class MixResult:
    """One engine (or one detector) over the prompt mix: µs per KB, overall and per prompt kind."""

    name: str
    overall: Stats
    per_kind: dict[str, Stats]
    # Each text's fastest round, then the median over texts: the cost with the neighbours' noise taken out
    # (noise only ever adds time). Context for the overall median, which is what the targets judge.
    fastest: Stats | None = None


@dataclass(frozen=True, slots=True)
class SizeResult:
    """Seconds for one check of a text of ``size`` characters; ``None`` when over the time limit."""

    size: int
    repeats: int
    benign_s: float | None
    mixed_s: float | None


@dataclass(frozen=True, slots=True)
class AdversarialResult:
    """Seconds for one adversarial input: the whole check, the check without prefilter, and each detector."""

    name: str
    description: str
    chars: int
    utf8_bytes: int
    check_s: float | None
    no_prefilter_s: float | None
    same_decision: bool | None  # the Decision is identical with and without the prefilter
    per_detector: dict[str, float | None]


@dataclass
class Run:
    """Everything one run measured, plus the machine it ran on."""

    settings: Settings
    machine: dict[str, str]
    prompts: int
    prompt_chars: float
    detectors: list[str]
    missing_detectors: list[str]
    construct_s: float
    first_call_s: dict[str, float]
    proctor: MixResult
    per_detector: list[MixResult]
    no_prefilter: MixResult | None = None
    per_detector_no_prefilter: list[MixResult] = field(default_factory=list)
    prefilter_same_findings: bool | None = None
    presidio: MixResult | None = None
    presidio_note: str = ""
    presidio_recognizers: tuple[str, ...] = ()
    linearity: list[SizeResult] = field(default_factory=list)
    adversarial: list[AdversarialResult] = field(default_factory=list)


# -- set-up ------------------------------------------------------------------------------------------------

@dataclass
class Setup:
    """The Governor under test, what was left out of it, and what building it cost."""

    governor: Governor
    missing: list[str]
    construct_s: float  # Governor() (loading policies and detectors)
    first_call_s: dict[str, float]  # per detector: first detect() call, which builds lazy state


def build_governor(probe: Sequence[str]) -> Setup:
    """``Governor()`` on builtin:default, minus any detector that fails to load or raises on ``probe`` texts.

    Detectors are written in parallel with this harness; a partial run still measures what works and says
    loudly what was left out (and why), rather than failing.
    """
    start = time.perf_counter()
    gov: Governor | None
    missing: list[str] = []
    try:
        gov = Governor()
        detectors = list(gov.detectors)
    except Exception:  # some detector does not load yet: find out which, one by one
        gov, detectors = None, []
        for name, _target in BUILTIN_DETECTORS:
            try:
                detectors.extend(load_detectors([name], plugins=False))
            except Exception as exc:  # any failure to load is reported, not fatal
                missing.append(f"{name} did not load ({type(exc).__name__}: {exc})")
    construct_s = time.perf_counter() - start
    working: list[Detector] = []
    first: dict[str, float] = {}
    for d in detectors:
        try:
            first[d.name] = time_once(d.detect, probe[0])
            for text in probe:
                d.detect(text)
        except Exception as exc:  # a half-written detector: leave it out and say so
            missing.append(f"{d.name} raised {type(exc).__name__}: {exc}")
            first.pop(d.name, None)
        else:
            working.append(d)
    if gov is None or len(working) < len(detectors):
        gov = Governor(detectors=working)
    return Setup(gov, missing, construct_s, first)


@contextmanager
def prefilter_off() -> Iterator[None]:
    """Every PatternSet runs all its rules under ``re``: what a platform without a Hyperscan wheel gets."""

    def all_rules(self: PatternSet, text: str) -> list[int]:
        return list(range(len(self.rules)))

    with unittest.mock.patch.object(PatternSet, "candidates", all_rules):
        yield


# -- the prompt mix ----------------------------------------------------------------------------------------

def _mix(name: str, fn: Callable[[str], object], texts: Sequence[str], kinds: Sequence[str],
         rounds: int, warmup: int) -> MixResult:
    samples = per_kb_rounds(fn, texts, rounds, warmup)
    by_kind: dict[str, list[float]] = {}
    for kind, s in zip(kinds, samples, strict=True):
        by_kind.setdefault(kind, []).extend(s)
    flat = [x for s in samples for x in s]
    return MixResult(name, summarise(flat), {k: summarise(v) for k, v in by_kind.items()},
                     summarise([min(s) for s in samples]))


def _findings(gov: Governor, text: str) -> list[tuple[str, int, int]]:
    return [(f.type, f.start, f.end) for f in gov.check(text).findings]


# -- large inputs -------------------------------------------------------------------------------------------

def _timed(fn: Callable[[str], object], text: str, repeats: int, limit_s: float,
           no_prefilter: bool = False) -> tuple[float, str] | None:
    """Median seconds of ``fn(text)`` and a digest of its result, or ``None`` past the time limit.

    The untimed first call gives the digest; the detectors are already warm from the prompt mix.
    """

    def measure() -> tuple[float, str]:
        with prefilter_off() if no_prefilter else nullcontext():
            start = time.perf_counter()
            result = fn(text)
            first = time.perf_counter() - start
            digest = hashlib.sha256(repr(result).encode("utf-8", "replace")).hexdigest()
            if first >= 1.0:  # too slow to be worth repeating: report this call alone
                return first, digest
            return median_seconds(fn, text, repeats), digest

    return with_time_limit(measure, limit_s * (repeats + 1))


def _seconds(timed: tuple[float, str] | None) -> float | None:
    return None if timed is None else timed[0]


def _linearity(gov: Governor, settings: Settings) -> list[SizeResult]:
    out: list[SizeResult] = []
    for size in (s for s in LINEARITY_SIZES if s <= settings.max_size):
        repeats = max(settings.large_repeats, min(10 * settings.rounds, settings.rounds * 10 * KB // size))
        benign = _seconds(_timed(gov.check, benign_text(size), repeats, settings.limit_s))
        mixed = _seconds(_timed(gov.check, mixed_text(size), repeats, settings.limit_s))
        out.append(SizeResult(size, repeats, benign, mixed))
    return out


def _adversarial(gov: Governor, settings: Settings) -> list[AdversarialResult]:
    out: list[AdversarialResult] = []
    repeats = settings.large_repeats
    for name, what, text in adversarial_inputs(settings.max_size):
        per_detector = {d.name: _seconds(_timed(d.detect, text, repeats, settings.limit_s)) for d in gov.detectors}
        check = plain = None
        if all(v is not None for v in per_detector.values()):  # else the whole check would run past it too
            check = _timed(gov.check, text, repeats, settings.limit_s)
            # One timed call: the no-prefilter column is a secondary number and ~100x slower.
            plain = _timed(gov.check, text, 1, settings.limit_s, no_prefilter=True)
        same = None if check is None or plain is None else check[1] == plain[1]
        out.append(AdversarialResult(name, what, len(text), len(text.encode("utf-8", "replace")),
                                     _seconds(check), _seconds(plain), same, per_detector))
    return out


# -- the whole run -------------------------------------------------------------------------------------------

def run(settings: Settings, progress: Callable[[str], None] = lambda _: None) -> Run:
    """Measure everything ``settings`` asks for; ``progress`` receives one line per step."""
    machine = machine_info()
    prompts = realistic_prompts()
    texts = [p.text for p in prompts]
    kinds = [p.kind for p in prompts]
    progress("proctor: building Governor() and warming each detector up")
    setup = build_governor(texts)
    gov = setup.governor
    r, w = settings.rounds, settings.warmup

    progress(f"proctor: Governor().check on {len(texts)} prompts x {r} rounds")
    result = Run(settings, machine, len(texts), sum(map(len, texts)) / len(texts),
                 [d.name for d in gov.detectors], setup.missing, setup.construct_s, setup.first_call_s,
                 proctor=_mix("proctor Governor().check", gov.check, texts, kinds, r, w), per_detector=[])
    for d in gov.detectors:
        progress(f"proctor: detector {d.name}")
        result.per_detector.append(_mix(d.name, d.detect, texts, kinds, r, w))

    progress("proctor: Hyperscan prefilter off")
    with prefilter_off():
        result.no_prefilter = _mix("proctor Governor().check, prefilter off", gov.check, texts, kinds, r, w)
        for d in gov.detectors:
            result.per_detector_no_prefilter.append(_mix(d.name, d.detect, texts, kinds, r, w))
        plain = [_findings(gov, t) for t in texts]
    result.prefilter_same_findings = plain == [_findings(gov, t) for t in texts]

    if settings.presidio:
        engine = build_presidio()
        if isinstance(engine, PresidioEngine):
            progress(f"presidio {engine.version}: {len(engine.recognizers)} pattern recognizers")
            machine["presidio-analyzer"] = engine.version
            result.presidio_recognizers = engine.recognizers
            result.presidio = _mix("Presidio AnalyzerEngine (pattern recognizers)", engine.analyze, texts, kinds,
                                   settings.presidio_rounds, 1)
        else:
            result.presidio_note = engine
    else:
        result.presidio_note = "skipped (--no-presidio)"

    progress("linearity: benign and mixed text, 1 KB .. " + f"{settings.max_size // KB} KB")
    result.linearity = _linearity(gov, settings)
    progress(f"adversarial: {settings.max_size // KB} KB inputs")
    result.adversarial = _adversarial(gov, settings)
    return result
