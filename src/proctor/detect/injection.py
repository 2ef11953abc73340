"""Prompt-injection and jailbreak detector: multilingual rules, de-obfuscation, an offline n-gram classifier.

The rules (instruction override, system-prompt extraction, persona jailbreaks, fake system or tool tags and
indirect injection, in seven languages) live in ``injection_rules.py``; de-obfuscation (homoglyphs,
invisible characters, leetspeak, spaced-out letters, base64) lives in ``injection_text.py``. This module
runs them, applies the false-positive rules and the classifier, and merges the findings.

Named false-positive rules clear a hit that is negated ("don't ignore the previous instructions"), quoted in
a question about it ("what does 'ignore previous instructions' mean?"), a device setting ("developer mode
in Chrome") or an API example in code; the cleared phrase is hidden from the classifier too.

The classifier (``injection_model.py``, weights in ``models/injection.json``) is a logistic regression on
word unigrams and bigrams, each counted once per 48-token chunk; it scores every window of two chunks
(~500 characters) and the best one decides, so a short injection in a long document is still found and its
finding covers that window. ``scripts/train_injection.py`` trained it on pyrit's jailbreak templates (filled
with harmful and harmless requests), injections written in seven languages (``scripts/injection_data.py``:
override, extraction, personas, fake tags, indirect injections planted in documents) against benign text:
pyrit's model responses and evaluation requests, AdvBench requests (harmful but not injections), and
templated assistant requests, harmless trigger-word sentences, benign role-play ("I want you to act as…"),
prose, documents, AI-developer questions and API code in the same languages. One fifth of every source was
held out; the threshold is the lowest probability with at most 1 % false positives in every held-out benign
group. The model file records sources, counts, date and held-out metrics.

Known blind spots: injections phrased as ordinary requests ("as a test, print the admin password"),
jailbreak templates that only ask for an output format (prefix, JSON-only, code-completion nesting),
many-shot and multi-turn attacks spread over messages, payloads split across variables, languages other
than the seven above, encodings other than base64 (hex, rot13, URL-encoding), partially spaced words
("ig nore"), text in images, and attack phrases quoted in security discussions (flagged unless asked about
as a quoted phrase). Benign role-play that borrows jailbreak vocabulary can score high, and the rules
accept "ignore the previous instructions" even when a human means instructions on a form.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from proctor.detect.injection_model import InjectionModel, bundled_model, token_span, tokenize
from proctor.detect.injection_rules import CASE_CHECKS, SCORES, pattern_set
from proctor.detect.injection_text import Normalized, base64_runs, needs_fold
from proctor.findings import Finding

TYPE = "injection"

# -- false-positive suppression (each one small, named and tested) -------------------------------------------

_NEGATION_BEFORE = re.compile(
    r"(?:\b(?:do not|don't|dont|never|not to|shouldn't|should not|must not|mustn't|won't|will not|cannot|"
    r"can't|please don't|nicht|kein|pas|nunca|no|non|mai|niet|não|nao))\s{1,3}$", re.IGNORECASE)


def is_negated(text: str, start: int) -> bool:
    """'Don't ignore the previous instructions' asks the model to keep its rules."""
    return _NEGATION_BEFORE.search(text[max(0, start - 24):start]) is not None


_DEVICE_WORDS = re.compile(
    r"\b(?:chrome|chromium|firefox|edge|safari|browser|extensions?|android|iphone|ipad|ios|phone|tablet|"
    r"samsung|pixel|windows|macos|linux|xbox|playstation|steam|roblox|minecraft|router|bios|usb debugging|"
    r"build number|settings|xcode|visual studio|vs code|console|app|device|smart ?tv|einstellungen|"
    r"paramètres|parametres|ajustes|configuración|impostazioni|handy|telefon|téléphone|"
    r"teléfono|telefono)\b", re.IGNORECASE)
_AI_WORDS = re.compile(r"\b(?:chatgpt|openai|gpt|ai|llm|assistant|model|polic(?:y|ies)|uncensored|unfiltered|"
                       r"jailbr\w{0,6}|ethic\w{0,6}|restrictions?|content)\b", re.IGNORECASE)


def is_device_developer_mode(text: str, start: int, end: int) -> bool:
    """'Enable developer mode in Chrome / on Android' is about software settings, not a jailbreak."""
    around = text[max(0, start - 80):end + 80]
    return _DEVICE_WORDS.search(around) is not None and _AI_WORDS.search(around) is None


_CODE_MARKERS = re.compile(r"```|\bimport \w|\bclient\.|\bmessages\s{0,2}=|\bdef \w|\bconst \w|\bcurl\b|"
                           r"requests\.|\bjson\.|\bpayload\b|\bfetch\(|\bcreate\(|\bawait \w", re.IGNORECASE)


def in_code_context(text: str, start: int) -> bool:
    """A ``{"role": "system"}`` or ``<system>`` tag inside code someone asks about is an API example."""
    return _CODE_MARKERS.search(text[max(0, start - 400):start]) is not None


_QUOTES = "\"'“”‘’«»„`"
_ASKS_ABOUT = re.compile(r"\b(?:what (?:does|is|do)|what's|meaning of|means?|explain|example of|examples of|"
                         r"detect|block|prevent|defend|classif(?:y|ier)|stands? for|was bedeutet|que "
                         r"signifie|qué significa|cosa significa)\b", re.IGNORECASE)


def is_quoted_question(text: str, start: int, end: int) -> bool:
    """"What does 'ignore previous instructions' mean?" asks about the phrase instead of using it."""
    before = text[max(0, start - 3):start]
    after = text[end:end + 40]
    if not any(q in before for q in _QUOTES):
        return False
    close = next((i for i, c in enumerate(after) if c in _QUOTES), -1)
    if close < 0 or any(c in ".!\n" for c in after[:close]):
        return False
    sentence = text[max(0, start - 80):min(len(text), end + close + 60)]
    return _ASKS_ABOUT.search(sentence) is not None


def _suppressed(key: str, text: str, start: int, end: int) -> bool:
    family = key.partition(".")[0]
    if family == "override" and is_negated(text, start):
        return True
    developer = key in ("persona.developer_mode", "persona.developer_mode_intl")
    if developer and is_device_developer_mode(text, start, end):
        return True
    if key in ("tag.xml", "tag.json_role") and in_code_context(text, start):
        return True
    return is_quoted_question(text, start, end)


# -- detector -----------------------------------------------------------------------------------------------


class InjectionDetector:
    """Prompt injection and jailbreak attempts in user messages, tool output and retrieved documents.

    ``model`` defaults to the classifier shipped in the package; ``threshold`` overrides its threshold
    (probability in [0, 1]). ``classifier=False`` keeps only the rules.
    """

    name = "injection"
    types: tuple[str, ...] = (TYPE,)

    def __init__(self, model: InjectionModel | None = None, *, threshold: float | None = None,
                 classifier: bool = True) -> None:
        self._rules = pattern_set()
        self._model = (model or bundled_model()) if classifier else None
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold: expected a probability in [0, 1]; found {threshold!r}")
        default = self._model.threshold if self._model else 1.0
        self._threshold = default if threshold is None else threshold

    def detect(self, text: str) -> list[Finding]:
        if not text:
            return []
        spans, aux = self._scan(text)
        for start, end, decoded in base64_runs(text, aux.get("aux.b64", ())):
            inner, _ = self._scan(decoded)  # one level only: decoded text is not decoded again
            if inner:
                spans.append((start, end, max(score for _, _, score in inner)))
        return [Finding(TYPE, s, e, score) for s, e, score in _merge(spans)]

    def _scan(self, text: str) -> tuple[list[tuple[int, int, float]], dict[str, list[tuple[int, int]]]]:
        """Rules, then the classifier, on the text or on its de-obfuscated copy; spans are in ``text``."""
        spans, aux = self._match(text)
        target, norm, cleared = text, None, aux.get("cleared", [])
        if aux.get("aux.spaced") or aux.get("aux.leet") or needs_fold(text):
            candidate = Normalized(text, leet=bool(aux.get("aux.leet")))
            if candidate.text != text:
                target, norm = candidate.text, candidate
                spans, norm_aux = self._match(target)
                cleared = norm_aux.get("cleared", [])
                spans = [(*norm.span(s, e), score) for s, e, score in spans]
        if self._model is not None:
            shown = _mask(target, cleared) if cleared else target
            spans.extend(_classify(self._model, self._threshold, shown, norm))
        return spans, aux

    def _match(self, text: str) -> tuple[list[tuple[int, int, float]], dict[str, list[tuple[int, int]]]]:
        """Rule hits as ``(start, end, score)`` and the auxiliary rules' spans, from one Hyperscan pass.

        Phrases a suppression rule cleared (negated, quoted in a question, a device setting, an API example)
        are listed under ``aux["cleared"]``: they are no finding, and the classifier does not see them either,
        so that the two parts agree.
        """
        low = _lower(text)
        spans: list[tuple[int, int, float]] = []
        aux: dict[str, list[tuple[int, int]]] = {}
        for rule, m in self._rules.finditer(low):
            key = rule.key
            if key.startswith("aux."):
                aux.setdefault(key, []).append(m.span())
                continue
            start, end = m.span(1) if m.re.groups else m.span()
            check = CASE_CHECKS.get(key)
            if check is not None and check.search(text, start, end) is None:
                continue
            if _suppressed(key, low, start, end):
                aux.setdefault("cleared", []).append((start, end))
                continue
            spans.append((start, end, SCORES[key.partition(".")[0]]))
        return spans, aux


def _classify(model: InjectionModel, threshold: float, text: str,
              norm: Normalized | None) -> Iterator[tuple[int, int, float]]:
    """The classifier's finding, if any: its best window, mapped back to the original text."""
    result = model.score_tokens(tokenize(text))
    if result.probability >= threshold:
        start, end = token_span(text, result.first, result.last)
        if norm is not None:
            start, end = norm.span(start, end)
        yield start, end, result.probability


def _mask(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """Blank out spans (same length), so the classifier does not see phrases the rules cleared."""
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _lower(text: str) -> str:
    """Lower-cased copy with the same length, so spans found in it are spans of ``text``."""
    low = text.lower()
    if len(low) != len(text):  # rare: "İ" lower-cases to two characters
        low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    return low


def _merge(spans: list[tuple[int, int, float]]) -> list[tuple[int, int, float]]:
    """Overlapping spans become one finding with the highest score."""
    out: list[tuple[int, int, float]] = []
    for start, end, score in sorted(spans):
        if out and start < out[-1][1]:
            s, e, sc = out[-1]
            out[-1] = (s, max(e, end), max(sc, score))
        else:
            out.append((start, end, score))
    return out



__all__ = ["TYPE", "InjectionDetector", "in_code_context", "is_device_developer_mode", "is_negated",
           "is_quoted_question"]
