"""Prompt-injection de-obfuscation: Unicode and leetspeak folding, spaced-letter collapsing, base64 runs.

When the text holds suspicious characters, letter-spacing or a trigger word written in leetspeak ("1gn0r3",
"pr0mpt"; decided by the rules' own Hyperscan pass, through the ``aux.*`` rules of ``injection_rules.py``,
plus a C-speed character-class search on non-ASCII text), rules and classifier see a normalised copy:
compatibility folding (fullwidth, mathematical and circled letters, Unicode spaces), Cyrillic/Greek
homoglyphs folded to Latin, zero-width and format characters removed, Unicode tag characters decoded,
combining marks dropped, leetspeak folded (1→i, 0→o, 3→e, 4→a, 5→s, 7→t, @→a, $→s) and spaced-out letters
collapsed ("i g n o r e", "i.g.n.o.r.e"; a run with no word gaps is re-split on known trigger words). Spans
found in the copy are mapped back to the original (a collapsed run is covered whole). Base64 runs of 16+
characters (at most 8 of them, 4 KB each) are decoded and scanned; a finding covers the run.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator

_HOMOGLYPHS = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    "һ": "h", "ӏ": "l", "ɡ": "g", "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O",
    "Р": "P", "С": "C", "Т": "T", "У": "Y", "Х": "X", "І": "I", "Ј": "J", "Ѕ": "S", "Ԁ": "D", "Ԛ": "Q",
    "Ԝ": "W", "Һ": "H", "Ӏ": "I", "ԍ": "G",
    # Greek
    "α": "a", "β": "b", "γ": "y", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "ω": "w", "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K",
    "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    # Latin look-alikes, Armenian, small capitals
    "ı": "i", "ȷ": "j", "ℓ": "l", "ɑ": "a", "ɩ": "i", "օ": "o", "ս": "u", "ց": "g", "ᴀ": "a", "ʙ": "b",
    "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ꜰ": "f", "ɢ": "g", "ʜ": "h", "ɪ": "i", "ᴊ": "j", "ᴋ": "k", "ʟ": "l",
    "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ʀ": "r", "ꜱ": "s", "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w",
    "ʏ": "y", "ᴢ": "z",
}
_INVISIBLE = ("\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u200e\u200f"
              "\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069"
              "\u206a\u206b\u206c\u206d\u206e\u206f\u3164\ufeff\uffa0"
              + "".join(chr(c) for c in range(0xFE00, 0xFE10)))
_NFKC_RANGES = ((0x00A0, 0x00BF), (0x2000, 0x200A), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000),
(0x1D2C, 0x1D6A), (0x2070, 0x209F), (0x2100, 0x214F), (0x2460, 0x24FF),
                (0xFF01, 0xFF5E), (0x1D400, 0x1D7FF), (0x1F100, 0x1F1FF))


def _fold_table() -> dict[int, str]:
    """Single-character (or deleting) replacements, so folding keeps a simple offset map."""
    table: dict[int, str] = {}
    for lo, hi in _NFKC_RANGES:
        for cp in range(lo, hi + 1):
            norm = unicodedata.normalize("NFKC", chr(cp))
            if len(norm) == 1 and norm != chr(cp) and norm.isascii():
                table[cp] = norm
    for cp in range(0x1F130, 0x1F18A):  # squared / negative circled / negative squared Latin capitals
        table[cp] = chr(ord("A") + (cp - 0x1F130) % 26)
    for cp in range(0x1F1E6, 0x1F200):  # regional indicator letters
        table[cp] = chr(ord("a") + cp - 0x1F1E6)
    for cp in range(0xE0020, 0xE007F):  # Unicode tag characters smuggle ASCII invisibly: decode them
        table[cp] = chr(cp - 0xE0000)
    table.update({ord(k): v for k, v in _HOMOGLYPHS.items()})
    table.update({ord(c): "" for c in _INVISIBLE})
    table.update({cp: "" for cp in range(0x0300, 0x0370)})  # combining marks used to break up words
    table.update({0xE0001: "", 0xE007F: "", 0x0085: "\n", 0x1680: " ", 0x2028: "\n", 0x2029: "\n"})
    return table


_FOLD = _fold_table()
_DELETED_RUN = re.compile(
    "[" + "".join(re.escape(chr(c)) for c in sorted(_FOLD) if _FOLD[c] == "") + "]{1,4096}")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_SPACED_RUN = re.compile(r"(?<![^\W_])[^\W_](?:[ \t.\-_*·~+|/]{1,3}[^\W_](?![^\W_])){3,511}")
_SPACED_SEP = re.compile(r"[ \t.\-_*·~+|/]{1,3}")

# Words used to re-split a spaced run that has no visible word gaps ("i g n o r e p r e v i o u s").
_SEGMENT_WORDS = frozenset("""
ignore disregard forget bypass override skip reveal print repeat show display output tell give system prompt
instructions instruction rules guidelines previous prior above earlier all any your you the and now are new
from on will act as developer mode pretend restrictions no longer bound jailbreak jailbroken dan anything do
initial original hidden secret text message everything before this that what is me
ignoriere vergiss alle vorherigen anweisungen deine regeln zeig systemprompt
ignora ignorez oublie toutes les instructions précédentes tes olvida todas las anteriores tus dimentica tutte
istruzioni precedenti tue
""".split())  # noqa: SIM905 - a word list reads better as text
_SEGMENT_MAX = max(map(len, _SEGMENT_WORDS))
_SEGMENT_BUDGET = 8192  # characters per text that may be re-split; keeps adversarial input linear and cheap


class _OffsetMap:
    """Maps positions in a rewritten string back to the source: sorted anchors (new_pos, old_pos)."""

    __slots__ = ("new", "old", "old_len")

    def __init__(self, old_len: int) -> None:
        self.new: list[int] = [0]
        self.old: list[int] = [0]
        self.old_len = old_len

    def add(self, new_pos: int, old_pos: int) -> None:
        self.new.append(new_pos)
        self.old.append(old_pos)

    def to_old(self, pos: int) -> int:
        i = bisect_right(self.new, pos) - 1
        limit = self.old[i + 1] if i + 1 < len(self.old) else self.old_len
        return min(self.old[i] + (pos - self.new[i]), max(limit, self.old[i]))


def _segment(word: str) -> str:
    """Greedy longest-match split of a gap-less run on trigger words; unknown letters stay together."""
    out: list[str] = []
    pending: list[str] = []
    i, n = 0, len(word)
    low = word.lower()
    while i < n:
        for size in range(min(_SEGMENT_MAX, n - i), 1, -1):
            if low[i:i + size] in _SEGMENT_WORDS:
                if pending:
                    out.append("".join(pending))
                    pending = []
                out.append(word[i:i + size])
                i += size
                break
        else:
            pending.append(word[i])
            i += 1
    if pending:
        out.append("".join(pending))
    return " ".join(out)


def _collapse_run(run: str, budget: list[int]) -> str:
    """'i g n o r e  a l l' -> 'ignore all': the commonest separator joins letters, the others split words."""
    seps = _SPACED_SEP.findall(run)
    letters = _SPACED_SEP.split(run)
    counts = Counter(seps)
    if len(counts) == 1:
        words = ["".join(letters)]
    else:
        common = counts.most_common(1)[0][0]
        words = []
        current: list[str] = [letters[0]]
        for sep, letter in zip(seps, letters[1:], strict=True):
            if sep == common:
                current.append(letter)
            else:
                words.append("".join(current))
                current = [letter]
        words.append("".join(current))
    if len(words) == 1 and budget[0] > 0:
        budget[0] -= len(words[0])
        return _segment(words[0])
    return " ".join(words)


class Normalized:
    """A de-obfuscated copy of a text and the way back to the original's offsets."""

    __slots__ = ("fold_map", "runs", "space_map", "text")

    def __init__(self, text: str, *, leet: bool) -> None:
        self.fold_map = _OffsetMap(len(text))
        folded = text
        if not text.isascii():
            folded = text.translate(_FOLD)
            if len(folded) != len(text):
                shift = 0
                for m in _DELETED_RUN.finditer(text):
                    shift += m.end() - m.start()
                    self.fold_map.add(m.end() - shift, m.end())
        if leet:
            folded = folded.translate(_LEET)
        self.space_map = _OffsetMap(len(folded))
        self.runs: list[tuple[int, int, int,
        int]] = []  # collapsed runs: (new start, new end, old start, old end)
        pieces: list[str] = []
        last = 0
        out_len = 0
        budget = [_SEGMENT_BUDGET]
        for m in _SPACED_RUN.finditer(folded):
            s, e = m.span()
            pieces.append(folded[last:s])
            out_len += s - last
            collapsed = _collapse_run(m.group(), budget)
            self.space_map.add(out_len, s)
            self.runs.append((out_len, out_len + len(collapsed), s, e))
            pieces.append(collapsed)
            out_len += len(collapsed)
            self.space_map.add(out_len, e)
            last = e
        pieces.append(folded[last:])
        self.text = "".join(pieces) if len(pieces) > 1 else folded

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of ``[start, end)``; a span touching a collapsed run covers the whole run."""
        if len(self.space_map.new) == 1 and len(self.fold_map.new) == 1:  # nothing moved: leetspeak, homoglyphs
            length = self.fold_map.old_len
            s = min(start, length)
            return s, max(min(max(start, end - 1), length) + 1, s + 1)
        s = self.space_map.to_old(start)
        e = self.space_map.to_old(max(start, end - 1)) + 1
        if self.runs:
            i = bisect_right(self.runs, (start, 1 << 62)) - 1
            if i >= 0 and self.runs[i][0] <= start < self.runs[i][1]:
                s = self.runs[i][2]
            j = bisect_right(self.runs, (end - 1, 1 << 62)) - 1
            if j >= 0 and self.runs[j][0] <= end - 1 < self.runs[j][1]:
                e = self.runs[j][3]
        s = self.fold_map.to_old(s)
        e = self.fold_map.to_old(e - 1) + 1
        return s, max(e, s + 1)


_SUSPICIOUS = re.compile("[\u0085\u00a0\u00b7\u1680\u3000\u0370-\u03ff\u0400-\u052f\u0530-\u058f\u1d00-\u1dbf"
                         "\u2000-\u206f\u2100-\u214f\u2460-\u24ff\uff00-\uffef\ufe00-\ufe0f\ufeff"
                         "\u0300-\u036f"
                         "\u00ad\u3164\U0001d400-\U0001d7ff\U0001f100-\U0001f1ff\U000e0000-\U000e007f]")


def needs_fold(text: str) -> bool:
    """Cheap test: only non-ASCII text with look-alike, invisible or compatibility characters is folded."""
    return not text.isascii() and _SUSPICIOUS.search(text) is not None


# -- base64 -------------------------------------------------------------------------------------------------

_B64_MAX_RUNS = 8
_B64_PIECE = 4096  # a longer run is decoded in pieces of this many characters
_B64_RUN = re.compile("[a-z0-9+/]{16,4096}={0,2}")  # on lower-cased text: what base64_spans finds
_B64_MASK = bytes(ord("a") if chr(b).isascii() and (chr(b).isalnum() or chr(b) in "+/") else 32 for b in range(256))
_B64_SIXTEEN = b"a" * 16


def base64_spans(text: str, low: str) -> Iterator[tuple[int, int]]:
    """Runs of 16 or more base64 characters (pieces of at most 4096, with up to two trailing "=").

    These are the matches of ``_B64_RUN`` on ``low`` (``text`` lower-cased, same length), found by
    ``bytes.translate`` and ``bytes.find`` at C speed: sre tried the pattern at every letter, ~20 µs per KB of
    ordinary text. Encoding to ASCII with "replace" writes one "?" per other code point, so byte offsets are
    character offsets, and the run alphabet is ASCII.
    """
    # Base64 characters become "a", the rest " ": the next run of 16 or more starts where the next 16 "a"s
    # do (bytes.find, at C speed), and ends at the next " ". Stepping through every word took ~10 µs per KB.
    flat = low.encode("ascii", "replace").translate(_B64_MASK)
    at = flat.find(_B64_SIXTEEN)
    while at >= 0:
        end = flat.find(b" ", at)
        end = len(flat) if end < 0 else end
        for start in range(at, end, _B64_PIECE):
            stop = min(end, start + _B64_PIECE)
            if stop - start < 16:
                break
            if stop == end:
                stop += len(low[stop:stop + 2]) - len(low[stop:stop + 2].lstrip("="))
            yield start, stop
        at = flat.find(_B64_SIXTEEN, end)


def _looks_like_base64(run: str) -> bool:
    """Long words, paths and CamelCase names also match the alphabet; real base64 mixes case and digits."""
    body = run.rstrip("=")
    if len(body) % 4 == 1 or body.islower() or body.isupper():
        return False  # one case only: paths, words and ids, never the mixed case checked below
    # map() over str methods counts at C speed: most runs checked are long words and paths in ordinary text.
    upper_inside = sum(map(str.isupper, body[1:]))
    if upper_inside < 2 or sum(map(str.islower, body)) < 2:
        return False
    return upper_inside >= 4 or "+" in body or "/" in body or any(map(str.isdigit, body))


def base64_runs(text: str, runs: Iterable[tuple[int, int]]) -> Iterator[tuple[int, int, str]]:
    """Decodable base64 runs as ``(start, end, decoded text)``; at most _B64_MAX_RUNS are tried."""
    tried = 0
    for start, end in runs:
        if tried >= _B64_MAX_RUNS:
            return
        run = text[start:end]
        if not _looks_like_base64(run):
            continue
        tried += 1
        decoded = _decode_base64(run)
        if decoded is not None:
            yield start, end, decoded


def _decode_base64(run: str) -> str | None:
    body = run.rstrip("=")
    padded = body + "=" * (-len(body) % 4)
    try:
        decoded = base64.b64decode(padded, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    if not decoded:
        return None
    printable = sum(1 for c in decoded if c.isprintable() or c in "\n\r\t")
    letters = sum(1 for c in decoded if c.isalpha())
    if printable < 0.95 * len(decoded) or letters < 0.5 * len(decoded.replace(" ", "")):
        return None
    return decoded


__all__ = ["Normalized", "base64_runs", "base64_spans", "needs_fold"]
