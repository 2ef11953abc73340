"""The C finder (proctor.detect._digits) gives exactly the spans of the PII detector's numeric regex."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proctor.detect import pii
from tests.conftest import REQUIRE_SERVICES

if pii._digits is None:
    if REQUIRE_SERVICES:  # CI builds it (a fresh machine has a C compiler)
        pytest.fail("proctor.detect._digits is not built: pip install -e . needs a C compiler", pytrace=False)
    pytest.skip("proctor.detect._digits is not built (no C compiler at install time)", allow_module_level=True)

NUM = re.compile(pii._NUM)
# Digits, every separator the pattern allows, look-alikes it does not ("٣" is a digit to \d, not to [0-9]),
# and characters of each string width.
ALPHABET = [*"0123456789 ./()-\u00a0\u2013", "x", ",", ":", "+", "\u2014", "٣", "é", "😀", "\n"]


def _regex(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in NUM.finditer(text)]


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=st.sampled_from(ALPHABET), max_size=80))
def test_native_spans_equal_the_regex(text: str) -> None:
    assert pii._digits.num_spans(text) == _regex(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["1", "12", "123", "1234", ".", "..", " ", "  ", "-", "(", ")", "x", "4111"]),
                max_size=120))
def test_native_spans_equal_the_regex_on_digit_groups(parts: list[str]) -> None:
    text = "".join(parts)
    assert pii._digits.num_spans(text) == _regex(text)


@pytest.mark.parametrize("text", [
    "1.2.3.4", "1.2.3.4.5", "1234.5.6.7", "12.34.56.78.", "1.2.3.4.x", "10.0.0.1 and 192.168.1.1",
    "4111 1111 1111 1111", "+1 (415) 555-0132", "1" * 200, "1 2 3 4 5 6 7", "1  2  3  4  5  6  7",
    "1   2 3 4 5 6 7 8", "123-45-6789", "", "no digits at all", "٣٣٣٣٣٣٣٣", "12\u00a034\u201356 78 90",
])
def test_native_spans_on_known_shapes(text: str) -> None:
    assert pii._digits.num_spans(text) == _regex(text)


def test_long_runs_stop_where_the_regex_stops() -> None:
    text = " ".join(["4111"] * 400)  # 1,600 digits: matches are cut at 157 digits, as the regex cuts them
    assert pii._digits.num_spans(text) == _regex(text)
    with pytest.raises(TypeError):
        pii._digits.num_spans(b"123")  # type: ignore[arg-type]
