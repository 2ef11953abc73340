"""Detectors: text in, findings out. The Detector seam and the registry of built-ins and plugins.

A detector is pure: no I/O, no clock, no global settings, linear time in the text. It never decides what
happens (policies do). Built-ins are listed in ``BUILTIN_DETECTORS``; third parties register a factory under
the ``proctor.detectors`` entry-point group and are loaded by ``load_detectors()`` the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from importlib import import_module
from importlib.metadata import entry_points
from typing import Protocol, runtime_checkable

from proctor.findings import Finding

ENTRY_POINT_GROUP = "proctor.detectors"


@runtime_checkable
class Detector(Protocol):
    """The detector seam: ``name`` is a stable key, ``types`` the finding types it can produce."""

    name: str
    types: tuple[str, ...]

    def detect(self, text: str) -> list[Finding]:
        """Return the findings in ``text``, spans as character offsets, in any order."""
        ...


# (stable name, "module:factory") — imported lazily so `import proctor` stays fast.
BUILTIN_DETECTORS: tuple[tuple[str, str], ...] = (
    ("pii", "proctor.detect.pii:PiiDetector"),
    ("secrets", "proctor.detect.secrets:SecretsDetector"),
    ("sql", "proctor.detect.sql:SqlDetector"),
    ("injection", "proctor.detect.injection:InjectionDetector"),
)


def _load(target: str) -> Detector:
    module, _, attr = target.partition(":")
    factory = getattr(import_module(module), attr)
    detector = factory()
    if not isinstance(detector, Detector):
        raise TypeError(f"{target} did not produce a Detector (needs name, types and detect(text))")
    return detector


def load_detectors(names: Iterable[str] | None = None, *, plugins: bool = True) -> list[Detector]:
    """Instantiate built-in detectors (all, or those named) plus entry-point plugins."""
    wanted = None if names is None else set(names)
    found: list[Detector] = []
    for name, target in BUILTIN_DETECTORS:
        if wanted is None or name in wanted:
            found.append(_load(target))
    if plugins:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if wanted is None or ep.name in wanted:
                found.append(_load(ep.value))
    return found


def run_detectors(detectors: Sequence[Detector], text: str) -> list[Finding]:
    """All findings of all detectors on ``text``, sorted by position."""
    out: list[Finding] = []
    for d in detectors:
        out.extend(d.detect(text))
    out.sort(key=lambda f: (f.start, f.end, f.type))
    return out


__all__ = ["BUILTIN_DETECTORS", "ENTRY_POINT_GROUP", "Detector", "load_detectors", "run_detectors"]
