"""The shared lower-cased text: equal to str.lower(), computed once per text, never confused between texts."""

from __future__ import annotations

import threading

from proctor.detect import casing
from proctor.detect.injection import _lower
from proctor.detect.secrets import fold_case
from proctor.detect.sql_normalise import lower as sql_lower


def test_lowered_is_str_lower_and_kept_for_the_same_text() -> None:
    text = "Ignore PREVIOUS Instructions " * 3
    first = casing.lowered(text)
    assert first == text.lower()
    assert casing.lowered(text) is first  # the same object: not lower-cased again
    other = "".join(["Ignore PREVIOUS Instructions "] * 3)  # equal, but another object: computed afresh
    assert casing.lowered(other) == first and casing.lowered(other) is not first


def test_detectors_keep_offsets_when_lower_case_is_longer() -> None:
    text = "İSTANBUL key=ABC"  # "İ" lower-cases to two characters
    assert len(casing.lowered(text)) == len(text) + 1
    for fold in (_lower, fold_case, sql_lower):
        assert len(fold(text)) == len(text)
        assert fold(text).endswith("key=abc")


def test_huge_texts_are_not_kept_alive() -> None:
    big = "A" * (casing._KEEP + 1)
    assert casing.lowered(big) == "a" * len(big)
    assert casing._last[0] is not big


def test_threads_never_see_another_texts_lower_case() -> None:
    texts = [f"Text Number {i} WITH Capitals" for i in range(50)]
    errors: list[str] = []

    def work() -> None:
        for _ in range(200):
            for t in texts:
                if casing.lowered(t) != t.lower():
                    errors.append(t)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
