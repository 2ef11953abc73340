"""Type stub of the optional C scorer (``_ngram.c``); ``injection_model.py`` holds the reference."""

from collections.abc import Mapping

class Table:
    """Integer feature weights keyed by a token or a (token, token) bigram, with the tokeniser's punctuation."""

    def __init__(self, weights: Mapping[str | tuple[str, str], int], punctuation: str) -> None: ...
    def score(self, lowered_text: str, stride: int, /) -> tuple[int, int, int]:
        """The best window's weight sum, the index of its first chunk, and the number of tokens."""
    def size(self) -> int:
        """The number of features in the table."""
