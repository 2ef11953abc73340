"""Type stub of the optional C finder (``_digits.c``); the regex ``pii._NUM`` is its reference."""

def num_spans(text: str, /) -> list[tuple[int, int]]:
    """The spans of ``re.finditer(pii._NUM, text)``, found in one pass."""
