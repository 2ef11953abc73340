"""Runtime of the prompt-injection classifier: tokeniser, JSON model loader, window scorer.

The model is a logistic regression over lower-cased word unigrams and bigrams, trained offline by
``scripts/train_injection.py`` (scikit-learn) and shipped as ``models/injection.json``. Scoring needs no
numpy: one tokenising pass, one dict lookup per unigram and per bigram, then the text is cut into chunks of
``stride`` tokens and every window of two neighbouring chunks is scored; the best window decides, so a short
injection inside a long benign document is not diluted, and the cost stays linear in the text. Inside a
chunk each feature counts once (a word repeated ten times is no stronger than once). Feature weights are
unique numbers (the trainer ensures it and loading checks it), so de-duplicating the looked-up weights of
a chunk de-duplicates its features without building any n-gram key twice.

The scorer here is pure Python and is the reference. Where ``pip install`` could compile ``_ngram.c``, the
same scores come from that C scorer (one pass over the text, no per-token objects): ``score`` uses it, and
tests/detect/test_ngram_native.py checks that both agree exactly.
"""

from __future__ import annotations

import json
import math
import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from itertools import islice
from pathlib import Path
from typing import Any, cast

from proctor.detect.casing import lowered
from proctor.errors import ConfigError

_native: Any
try:  # the optional C scorer (setup.py builds it where a compiler exists); the Python below is the reference
    from proctor.detect import _ngram as _native
except ImportError:  # pragma: no cover - exercised where the extension is not built
    _native = None

NATIVE_AVAILABLE = _native is not None

FORMAT = "proctor.injection.ngram-lr/1"

# Token separators besides whitespace. Training and scoring must agree exactly, so the model file records
# this string and loading refuses a model trained with another one.
PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~“”‘’‚„«»‹›…–—―·•¡¿。、，：；！？（）【】「」『』"

# ASCII text takes the fast path (one bytes.translate lower-cases it and blanks punctuation, then str.split:
# ~4x faster than a regex in CPython); other text uses the equivalent regex.
_ASCII_FOLD = bytes(ord(" ") if chr(b) in PUNCTUATION else ord(chr(b).lower()) for b in range(128)) + bytes(128)
_TOKEN_RE = re.compile("[^\\s" + re.escape(PUNCTUATION) + "]+")


def tokenize(text: str) -> list[str]:
    """Lower-cased tokens: maximal runs of characters that are neither whitespace nor PUNCTUATION."""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_FOLD).decode("ascii").split()
    low = text.lower()
    if low.isascii():  # "K" (Kelvin sign) lower-cases to ASCII "k"
        return low.encode("ascii").translate(_ASCII_FOLD).decode("ascii").split()
    return _TOKEN_RE.findall(low)


_SEPARATORS = "[\\s" + re.escape(PUNCTUATION) + "]*"
# Skips _SKIP tokens (and the separators around them) in one C-level match, so that finding the span of a
# window near the end of a 1 MB text does not step through 200,000 tokens in Python.
_SKIP = 1024
_SKIP_TOKENS = re.compile(f"{_SEPARATORS}(?:{_TOKEN_RE.pattern}{_SEPARATORS}){{{_SKIP}}}")


def token_span(text: str, first: int, last: int) -> tuple[int, int]:
    """Character span in ``text`` of tokens ``first`` to ``last`` (inclusive), counted like ``tokenize``."""
    if text.isascii():
        # tokenize's own split, at C speed: str.split(maxsplit=k)'s last part starts at token k, so its
        # length gives the offset. Stepping through the tokens with the regex took ~40 µs per KB.
        flat = text.encode("ascii").translate(_ASCII_FOLD).decode("ascii")
        n = len(flat)
        head = flat.split(maxsplit=first)
        if len(head) <= first:  # fewer tokens than ``first``: end at the last one
            return 0, len(flat.rstrip())
        start = n - len(head[-1])
        tail = flat.split(maxsplit=last + 1)
        end = len(flat[:n - len(tail[-1])].rstrip()) if len(tail) > last + 1 else len(flat.rstrip())
        return start, max(end, start)
    pos = skipped = 0
    while first - skipped >= _SKIP:
        m = _SKIP_TOKENS.match(text, pos)
        if m is None:
            break
        pos, skipped = m.end(), skipped + _SKIP
    # deque(islice(...), maxlen=1) steps over matches at C speed, keeping only the last one.
    tokens = _TOKEN_RE.finditer(text, pos)
    before = deque(islice(tokens, first - skipped), maxlen=1)
    at_first = next(tokens, None)
    if at_first is None:  # fewer tokens than ``first``: end at the last one
        return 0, before[0].end() if before else 0
    after = deque(islice(tokens, last - first), maxlen=1)
    start = at_first.start()
    return start, max((after[0] if after else at_first).end(), start)


_SCALE = 100_000  # the trainer writes weights with five decimals


@dataclass(frozen=True, slots=True)
class WindowScore:
    """The best-scoring window: its probability and its token range ``[first, last]``."""

    probability: float
    first: int
    last: int


@dataclass(frozen=True)
class InjectionModel:
    """A loaded classifier. ``weights`` maps a token (str) or a bigram (tuple of two str) to its weight."""

    weights: Mapping[str | tuple[str, str], float]
    bias: float
    threshold: float
    window: int = 96  # tokens per window: two chunks of ``stride`` tokens
    stride: int = 48
    metadata: Mapping[str, Any] = field(default_factory=dict)
    # The weights as integers (x _SCALE) when that is exact and keeps them unique, else the weights: a set of
    # ints hashes and sums ~15% faster than a set of floats, and their sum is exact.
    _table: Mapping[str | tuple[str, str], float | int] = field(init=False, repr=False, compare=False)
    _scale: int = field(init=False, repr=False, compare=False)
    _native: Any = field(init=False, repr=False, compare=False)  # the C scorer's table, when it applies

    def __post_init__(self) -> None:
        scaled = {k: round(w * _SCALE) for k, w in self.weights.items()}
        exact = all(scaled[k] / _SCALE == w for k, w in self.weights.items())
        if exact and len(set(scaled.values())) == len(scaled):
            object.__setattr__(self, "_table", scaled)
            object.__setattr__(self, "_scale", _SCALE)
        else:
            object.__setattr__(self, "_table", self.weights)
            object.__setattr__(self, "_scale", 1)
        # The C scorer sums integer weights: it applies when the weights scale exactly (every shipped model).
        native = _native.Table(self._table, PUNCTUATION) if _native is not None and self._scale == _SCALE else None
        object.__setattr__(self, "_native", native)

    def score(self, text: str) -> WindowScore:
        """The highest-scoring window of ``text``: the probability that it holds an injection, and where.

        Uses the C scorer when it is built (same result as ``score_tokens(tokenize(text))``).
        """
        if self._native is None:
            return self.score_tokens(tokenize(text))
        best, at, n = self._native.score(lowered(text), self.stride)
        return self._window(best, at, n)

    def _window(self, best: float, at: int, n: int) -> WindowScore:
        last = min(n, (at + 2) * self.stride) - 1
        return WindowScore(_sigmoid(self.bias + best / self._scale), at * self.stride, max(last, 0))

    def score_tokens(self, toks: list[str]) -> WindowScore:
        """``score`` on tokens from ``tokenize``: the pure-Python reference the C scorer must equal."""
        n = len(toks)
        get = self._table.get
        step = self.stride
        # One lookup pass for the unigrams and one for the bigrams (bigram i starts at token i, so a chunk's
        # last bigram reaches into the next chunk); then each chunk only slices. zip over a slice, not
        # itertools.pairwise: it is ~25% faster here.
        unigrams = list(map(get, toks))
        bigrams = list(map(get, zip(toks, toks[1:], strict=False)))  # noqa: RUF007
        # Sums stay in the table's units (integers when scaled: exact) and are divided once, at the end.
        chunks: list[float] = []
        for s in range(0, n, step):
            found = set(unigrams[s:s + step])
            found.update(bigrams[s:s + step])
            found.discard(None)
            chunks.append(sum(cast("set[float]", found)))
        chunks = chunks or [0]
        if len(chunks) == 1:
            best, at = chunks[0], 0
        else:
            pairs = [a + b for a, b in zip(chunks, chunks[1:], strict=False)]  # noqa: RUF007
            at = max(range(len(pairs)), key=pairs.__getitem__)
            best = pairs[at]
        return self._window(best, at, n)


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def model_from_dict(data: Mapping[str, Any], source: str = "model") -> InjectionModel:
    """Build an InjectionModel from the JSON structure written by ``scripts/train_injection.py``."""
    if data.get("format") != FORMAT:
        raise ConfigError(f'{source}: field "format": expected {FORMAT!r}; found {data.get("format")!r}. '
                          "Retrain with scripts/train_injection.py.")
    tok = data.get("tokenizer", {})
    if tok.get("punctuation") != PUNCTUATION or tok.get("lowercase") is not True:
        raise ConfigError(f'{source}: field "tokenizer": the model was trained with another tokeniser than '
                          "this runtime uses. Retrain with scripts/train_injection.py.")
    weights: dict[str | tuple[str, str], float] = {}
    for key, value in data["unigrams"].items():
        weights[key] = float(value)
    for key, value in data["bigrams"].items():
        a, _, b = key.partition(" ")
        weights[(a, b)] = float(value)
    if len(set(weights.values())) != len(weights):
        raise ConfigError(f'{source}: fields "unigrams"/"bigrams": expected unique weights (the scorer '
                          "relies on it); found duplicates. Retrain with scripts/train_injection.py.")
    win = data.get("window", {})
    stride = int(win.get("stride", 48))
    if int(win.get("tokens", 2 * stride)) != 2 * stride:
        raise ConfigError(f'{source}: field "window": expected "tokens" to be twice "stride" (a window is '
                          f"two chunks); found {win!r}. Retrain with scripts/train_injection.py.")
    return InjectionModel(
        weights=weights,
        bias=float(data["bias"]),
        threshold=float(data["threshold"]),
        window=2 * stride,
        stride=stride,
        metadata=data.get("metadata", {}),
    )


def load_model(path: str | Path) -> InjectionModel:
    """Load a model file written by ``scripts/train_injection.py``."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        message = f"injection model {str(path)!r}: expected a readable JSON model file; {exc}"
        raise ConfigError(message) from exc
    return model_from_dict(data, str(path))


@lru_cache(maxsize=1)
def bundled_model() -> InjectionModel:
    """The model shipped inside the package (loaded once, then shared: it is immutable)."""
    ref = resources.files("proctor.detect").joinpath("models/injection.json")
    data = json.loads(ref.read_text(encoding="utf-8"))
    return model_from_dict(data, "proctor/detect/models/injection.json")
