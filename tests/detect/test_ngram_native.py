"""The C scorer (proctor.detect._ngram) gives exactly what the pure-Python reference gives."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proctor.detect import injection_model
from proctor.detect.injection_model import PUNCTUATION, InjectionModel, bundled_model, tokenize
from tests.conftest import REQUIRE_SERVICES

if not injection_model.NATIVE_AVAILABLE:
    # CI builds it (a fresh machine has a C compiler); elsewhere the reference is what runs.
    if REQUIRE_SERVICES:
        pytest.fail("proctor.detect._ngram is not built: pip install -e . needs a C compiler", pytrace=False)
    pytest.skip("proctor.detect._ngram is not built (no C compiler at install time)", allow_module_level=True)

from proctor.detect import _ngram

MODEL = bundled_model()
WORDS = ["ignore", "all", "previous", "instructions", "you", "are", "now", "dan", "the", "report", "jailbreak",
         "mode", "ignorez", "instructions", "précédentes", "anweisungen", "vorherigen", "system", "prompt", "é"]
SEPARATORS = [" ", "  ", "\n", "\t", "\x1c", "\u00a0", "\u2003", "\u3000", ".", ",", "…", "«", "»", "—", "¿", "“",
              "。", "'", "-", "_", "/"]
# Letters whose lower case is special: Kelvin sign, dotted capital I, sharp s, Greek final sigma, astral.
ODD = ["K", "İ", "ẞ", "Σ", "ς", "𝔄", "😀", "\x00", "ÿ", "Ā", "ǅ"]


def _reference(model: InjectionModel, text: str) -> injection_model.WindowScore:
    return model.score_tokens(tokenize(text))


def test_the_shipped_model_uses_the_native_scorer() -> None:
    assert MODEL._native is not None
    assert MODEL._native.size() == len(MODEL.weights)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(WORDS + SEPARATORS + ODD) | st.text(max_size=6), max_size=400))
def test_native_scores_equal_the_reference(parts: list[str]) -> None:
    text = "".join(parts)
    assert MODEL.score(text) == _reference(MODEL, text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=300), st.sampled_from(SEPARATORS))
def test_native_windows_equal_the_reference_on_long_texts(words: list[str], sep: str) -> None:
    text = sep.join(words)
    assert MODEL.score(text) == _reference(MODEL, text)


def test_each_feature_counts_once_per_chunk_and_bigrams_belong_to_their_first_token() -> None:
    scaled = {"a": 100, ("a", "b"): 7, "b": 1000, ("b", "a"): 30}
    model = InjectionModel({k: v / 100_000 for k, v in scaled.items()}, bias=0.0, threshold=0.5, window=4, stride=2)
    assert model._native is not None
    for text in ("a a a a", "a b a b a b", "b a", "x a", "a b", "", "   ", "a\u00a0b—a", "b a b b a a b"):
        assert model.score(text) == _reference(model, text), text


def test_float_weights_off_the_grid_use_the_reference() -> None:
    model = InjectionModel({"ignore": 1.234567}, bias=-1.0, threshold=0.5)
    assert model._native is None  # the C scorer sums integers only
    assert model.score("ignore it").probability == _reference(model, "ignore it").probability


def test_bad_tables_are_refused_with_a_clear_error() -> None:
    with pytest.raises(TypeError, match="integers"):
        _ngram.Table({"a": 1.5}, PUNCTUATION)
    with pytest.raises(TypeError, match="32 bits"):
        _ngram.Table({"a": 2**31}, PUNCTUATION)
    with pytest.raises(ValueError, match="non-empty"):
        _ngram.Table({"a" * 70_000: 1}, PUNCTUATION)
    with pytest.raises(TypeError, match="str or a tuple"):
        _ngram.Table({3: 1}, PUNCTUATION)
    with pytest.raises(ValueError, match="non-empty"):
        _ngram.Table({"": 1}, PUNCTUATION)
    with pytest.raises(ValueError, match="stride"):
        _ngram.Table({"a": 1}, PUNCTUATION).score("a", 0)
