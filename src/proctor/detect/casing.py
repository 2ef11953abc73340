"""``text.lower()`` once per check: four detectors and the classifier each need the lower-cased text.

Lower-casing is ~6 instructions a character, and a check lower-cased the same text four or five times. The
last result is kept (for texts up to ``_KEEP`` characters, so at most a few MB stay alive), keyed by the
text object itself: the detectors of one check are handed the same ``str``. The (text, lower) pair is one
tuple, replaced whole, so threads sharing the cache only ever read a matching pair.
"""

from __future__ import annotations

_KEEP = 1 << 20
_last: tuple[str, str] = ("", "")


def lowered(text: str) -> str:
    """``text.lower()``, computed once for the text most recently asked about.

    Its length may differ from ``text``'s ("İ" lower-cases to two characters): callers that need offsets to
    carry over check the length and fall back to their own same-length folding.
    """
    global _last
    last = _last
    if last[0] is text:
        return last[1]
    low = text.lower()
    if len(text) <= _KEEP:
        _last = (text, low)
    return low
