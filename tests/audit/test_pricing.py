"""Estimated cost: the built-in price table, glob specificity, provider prefixes and config overrides."""

from __future__ import annotations

import pytest

from proctor.audit import PriceTable, estimate_cost
from proctor.errors import ConfigError


@pytest.mark.parametrize(
    ("model", "per_million"),
    [
        ("gpt-4o", (2.50, 10.00)),
        ("gpt-4o-2024-08-06", (2.50, 10.00)),
        ("gpt-4o-mini", (0.15, 0.60)),
        ("gpt-4o-mini-2024-07-18", (0.15, 0.60)),
        ("openai/gpt-4.1-nano", (0.10, 0.40)),
        ("o3-mini", (1.10, 4.40)),
        ("claude-3-5-sonnet-20241022", (3.00, 15.00)),
        ("anthropic/claude-3-haiku-20240307", (0.25, 1.25)),
        ("bedrock/anthropic.claude-3-5-haiku-20241022-v1:0", (0.80, 4.00)),
        ("claude-opus-4-1-20250805", (15.00, 75.00)),
        ("models/gemini-1.5-flash-002", (0.075, 0.30)),
        ("gemini-2.5-flash-lite", (0.10, 0.40)),
        ("mistral-large-latest", (2.00, 6.00)),
        ("groq/llama-3.3-70b-versatile", (0.88, 0.88)),
        ("meta-llama/Llama-3.1-8B-Instruct", (0.18, 0.18)),
    ],
)
def test_known_models_are_priced(model: str, per_million: tuple[float, float]) -> None:
    price = PriceTable().lookup(model)
    assert price is not None and (price.input, price.output) == per_million


def test_cost_is_per_million_tokens() -> None:
    assert estimate_cost("gpt-4o", 1_000_000, 1_000_000) == 12.5
    assert estimate_cost("gpt-4o-mini", 1000, 500) == pytest.approx(0.00045)
    assert estimate_cost("gpt-4o", 100, None) == pytest.approx(0.00025)


@pytest.mark.parametrize("model", ["my-private-model", "", None, "echo"])
def test_unknown_models_have_no_cost(model: str | None) -> None:
    assert estimate_cost(model, 100, 100) is None


def test_no_tokens_means_no_cost() -> None:
    assert estimate_cost("gpt-4o", None, None) is None


def test_overrides_win_over_the_builtin_table() -> None:
    table = PriceTable({"gpt-4o*": {"input": 1.0, "output": 2.0}, "my-model": (3, 4)})
    assert table.cost("gpt-4o-mini", 1_000_000, 0) == 1.0
    assert table.cost("my-model", 0, 1_000_000) == 4.0
    assert table.cost("claude-3-haiku", 1_000_000, 0) == 0.25


@pytest.mark.parametrize("bad", [{"input": 1.0}, "cheap", (1.0, -2.0), {"input": "x", "output": 1}])
def test_bad_overrides_name_the_pattern(bad: object) -> None:
    with pytest.raises(ConfigError, match="pricing\\['gpt-x'\\]"):
        PriceTable({"gpt-x": bad})
