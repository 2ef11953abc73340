"""The Finding: what a detector reports, without the matched value."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Finding:
    """One detected span.

    ``type`` is a stable finding-type name (``pii.email``, ``sqli``, ``custom.<policy id>`` …), ``start`` and
    ``end`` are character offsets into the scanned text (end exclusive), ``score`` is the detector's
    confidence in [0, 1]. ``message`` is the index of the message the span came from when a list of
    messages was checked, else ``None``. A Finding never holds the matched text itself.
    """

    type: str
    start: int
    end: int
    score: float = 1.0
    message: int | None = None

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"type": self.type, "start": self.start, "end": self.end,
                                  "score": round(self.score, 4)}
        if self.message is not None:
            out["message"] = self.message
        return out
