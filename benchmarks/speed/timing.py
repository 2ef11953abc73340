"""Clocks and statistics: time a call, summarise samples, and run a measurement with a time limit.

Machines are often shared, so single samples are noisy: calls are timed in interleaved rounds (every text
once per round) and summarised by the median, which a few preempted samples barely move, and the p90, which
shows the tail (neighbours' load included).
"""

from __future__ import annotations

import gc
import math
import multiprocessing
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Stats:
    """Median and 90th percentile of a set of samples (whatever unit they were given in)."""

    median: float
    p90: float
    samples: int


def summarise(samples: Sequence[float]) -> Stats:
    """Median and p90 (nearest rank) of ``samples``; raises on an empty list."""
    if not samples:
        raise ValueError("no samples to summarise")
    ordered = sorted(samples)
    rank = max(1, math.ceil(0.9 * len(ordered)))
    return Stats(statistics.median(ordered), ordered[rank - 1], len(ordered))


def time_once(fn: Callable[[str], object], text: str) -> float:
    """Seconds one ``fn(text)`` call takes."""
    start = time.perf_counter()
    fn(text)
    return time.perf_counter() - start


def per_kb_rounds(fn: Callable[[str], object], texts: Sequence[str], rounds: int, warmup: int) -> list[list[float]]:
    """Microseconds per KB (1024 characters) of ``fn(text)``: one list per text, one sample per round.

    Rounds interleave the texts, so a burst of load from a neighbour spreads over all of them. ``warmup``
    untimed rounds come first: they build lazy state such as Hyperscan databases and scratch space.
    """
    for _ in range(warmup):
        for text in texts:
            fn(text)
    gc.collect()
    out: list[list[float]] = [[] for _ in texts]
    for _ in range(rounds):
        for samples, text in zip(out, texts, strict=True):
            samples.append(time_once(fn, text) * 1e6 * 1024 / max(1, len(text)))
    return out


def median_seconds(fn: Callable[[str], object], text: str, repeats: int, enough_s: float = 1.0) -> float:
    """Median seconds of up to ``repeats`` calls of ``fn(text)``, stopping after a call of ``enough_s`` or more.

    A call that slow has already missed every target; repeating it only makes the run longer.
    """
    samples: list[float] = []
    for _ in range(max(1, repeats)):
        samples.append(time_once(fn, text))
        if samples[-1] >= enough_s:
            break
    return statistics.median(samples)


def with_time_limit(fn: Callable[[], T], limit_s: float) -> T | None:
    """Run ``fn`` in a forked child and return its result, or ``None`` if it is still running after ``limit_s``.

    A detector that goes quadratic on a 1 MB input would otherwise hang the whole benchmark; the child is
    killed instead and the caller reports "over the limit". Where ``fork`` does not exist the call runs
    in-process, without a limit.
    """
    if "fork" not in multiprocessing.get_all_start_methods():
        return fn()
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)

    def target() -> None:
        try:
            child.send((True, fn()))
        except BaseException as exc:  # report the failure to the parent rather than dying silently
            child.send((False, f"{type(exc).__name__}: {exc}"))

    proc = ctx.Process(target=target, daemon=True)
    proc.start()
    child.close()
    answer: tuple[bool, object] | None = None
    try:
        if parent.poll(limit_s):
            answer = parent.recv()
    except EOFError:  # the child died without answering (killed for memory, crashed)
        answer = (False, "the measurement process exited without a result")
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()
        parent.close()
    if answer is None:
        return None
    ok, value = answer
    if not ok:
        raise RuntimeError(f"measurement failed: {value} (exit code {proc.exitcode})")
    return value  # type: ignore[return-value]
