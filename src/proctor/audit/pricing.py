"""Estimated call cost: a maintained USD price table per 1M input/output tokens, matched by model-name glob.

Prices are list prices for standard (non-batch, non-cached, short-context) usage as published by each
provider; Meta's open models are priced at typical hosted rates (Together AI serverless) because Meta
sells no API of its own. They change: override or extend them in config (``pricing:`` mapping a glob to
``{input: USD, output: USD}`` per 1M tokens), and update this table in the commit that notices a change.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass

from proctor.errors import ConfigError

PRICES_AS_OF = "2025-08"


@dataclass(frozen=True, slots=True)
class Price:
    """USD per 1M input (prompt) and output (completion) tokens."""

    input: float
    output: float


# glob -> (input, output) USD per 1M tokens. The most specific pattern wins (longest text before the first
# wildcard, then the longest pattern), so "gpt-4o-mini*" beats "gpt-4o*" whatever the order here.
BUILTIN_PRICES: Mapping[str, tuple[float, float]] = {
    # OpenAI
    "gpt-5": (1.25, 10.00),
    "gpt-5-2025-*": (1.25, 10.00),
    "gpt-5-chat*": (1.25, 10.00),
    "gpt-5-mini*": (0.25, 2.00),
    "gpt-5-nano*": (0.05, 0.40),
    "gpt-4.1*": (2.00, 8.00),
    "gpt-4.1-mini*": (0.40, 1.60),
    "gpt-4.1-nano*": (0.10, 0.40),
    "gpt-4.5*": (75.00, 150.00),
    "gpt-4o*": (2.50, 10.00),
    "gpt-4o-2024-05-13": (5.00, 15.00),
    "gpt-4o-mini*": (0.15, 0.60),
    "chatgpt-4o*": (5.00, 15.00),
    "gpt-4-turbo*": (10.00, 30.00),
    "gpt-4-*-preview": (10.00, 30.00),
    "gpt-4": (30.00, 60.00),
    "gpt-4-0613": (30.00, 60.00),
    "gpt-4-32k*": (60.00, 120.00),
    "gpt-3.5-turbo*": (0.50, 1.50),
    "gpt-35-turbo*": (0.50, 1.50),
    "o1*": (15.00, 60.00),
    "o1-mini*": (1.10, 4.40),
    "o1-pro*": (150.00, 600.00),
    "o3*": (2.00, 8.00),
    "o3-mini*": (1.10, 4.40),
    "o3-pro*": (20.00, 80.00),
    "o4-mini*": (1.10, 4.40),
    "text-embedding-3-small*": (0.02, 0.0),
    "text-embedding-3-large*": (0.13, 0.0),
    "text-embedding-ada-002*": (0.10, 0.0),
    # Anthropic
    "claude-opus-4*": (15.00, 75.00),
    "claude-4-opus*": (15.00, 75.00),
    "claude-sonnet-4*": (3.00, 15.00),
    "claude-4-sonnet*": (3.00, 15.00),
    "claude-3-7-sonnet*": (3.00, 15.00),
    "claude-3-5-sonnet*": (3.00, 15.00),
    "claude-3-5-haiku*": (0.80, 4.00),
    "claude-3-haiku*": (0.25, 1.25),
    "claude-3-opus*": (15.00, 75.00),
    "claude-3-sonnet*": (3.00, 15.00),
    # Google (prompts up to 128k/200k tokens)
    "gemini-2.5-pro*": (1.25, 10.00),
    "gemini-2.5-flash*": (0.30, 2.50),
    "gemini-2.5-flash-lite*": (0.10, 0.40),
    "gemini-2.0-flash*": (0.10, 0.40),
    "gemini-2.0-flash-lite*": (0.075, 0.30),
    "gemini-1.5-pro*": (1.25, 5.00),
    "gemini-1.5-flash*": (0.075, 0.30),
    "gemini-1.5-flash-8b*": (0.0375, 0.15),
    # Mistral
    "mistral-large*": (2.00, 6.00),
    "mistral-medium*": (0.40, 2.00),
    "mistral-small*": (0.10, 0.30),
    "codestral*": (0.30, 0.90),
    "pixtral-large*": (2.00, 6.00),
    "pixtral-12b*": (0.15, 0.15),
    "open-mistral-nemo*": (0.15, 0.15),
    "mistral-nemo*": (0.15, 0.15),
    "ministral-8b*": (0.10, 0.10),
    "ministral-3b*": (0.04, 0.04),
    "open-mixtral-8x22b*": (2.00, 6.00),
    "open-mixtral-8x7b*": (0.70, 0.70),
    "open-mistral-7b*": (0.25, 0.25),
    # Meta Llama (hosted rates)
    "*llama-3.1-8b*": (0.18, 0.18),
    "*llama-3.1-70b*": (0.88, 0.88),
    "*llama-3.1-405b*": (3.50, 3.50),
    "*llama-3.2-3b*": (0.06, 0.06),
    "*llama-3.3-70b*": (0.88, 0.88),
    "*llama-4-scout*": (0.18, 0.59),
    "*llama-4-maverick*": (0.27, 0.85),
}


class PriceTable:
    """Looks up prices by model name; ``overrides`` (same shape as config) take precedence over built-ins.

    Model names are matched lower-cased, as given and without a provider prefix (``openai/gpt-4o``,
    ``bedrock/anthropic.claude-3-5-sonnet-…``, ``models/gemini-1.5-pro``).
    """

    def __init__(self, overrides: Mapping[str, object] | None = None, *, builtins: bool = True) -> None:
        self._tables: list[list[tuple[str, Price]]] = []
        # model name -> price: fnmatch over every pattern cost ~7% of a governed request; the names a
        # deployment sees are few, so remember them (bounded, in case callers invent names).
        self._seen: dict[str, Price | None] = {}
        if overrides:
            self._tables.append(_ranked({k.lower(): _price(k, v) for k, v in overrides.items()}))
        if builtins:
            self._tables.append(_ranked({k: Price(*v) for k, v in BUILTIN_PRICES.items()}))

    def lookup(self, model: str | None) -> Price | None:
        """The price for ``model``, or None when no pattern matches."""
        if not model:
            return None
        try:
            return self._seen[model]
        except KeyError:
            pass
        found = None
        names = _candidates(model)
        for table in self._tables:
            found = next((price for pattern, price in table
                          if any(fnmatch.fnmatchcase(name, pattern) for name in names)), None)
            if found is not None:
                break
        if len(self._seen) >= _SEEN_MAX:
            self._seen.clear()
        self._seen[model] = found
        return found

    def cost(self, model: str | None, tokens_in: int | None, tokens_out: int | None) -> float | None:
        """Estimated USD cost of one call, or None when the model or both token counts are unknown."""
        price = self.lookup(model)
        if price is None or (tokens_in is None and tokens_out is None):
            return None
        total = ((tokens_in or 0) * price.input + (tokens_out or 0) * price.output) / 1_000_000
        return round(total, 10)


_SEEN_MAX = 4096


def estimate_cost(
    model: str | None,
    tokens_in: int | None,
    tokens_out: int | None,
    overrides: Mapping[str, object] | None = None,
) -> float | None:
    """Estimated USD cost with the built-in table (plus ``overrides``); None when unknown."""
    table = PriceTable(overrides) if overrides else _default_table()
    return table.cost(model, tokens_in, tokens_out)


def _candidates(model: str) -> tuple[str, ...]:
    name = model.strip().lower()
    short = name.rsplit("/", 1)[-1]
    for vendor in ("anthropic.", "meta.", "mistral.", "openai.", "google."):
        if short.startswith(vendor):
            short = short[len(vendor) :]
    short = short.split(":", 1)[0] if short.startswith("claude") else short  # bedrock "…-v1:0"
    return (name, short) if short != name else (name,)


def _ranked(table: Mapping[str, Price]) -> list[tuple[str, Price]]:
    def specificity(pattern: str) -> tuple[int, int]:
        literal = len(pattern) - len(pattern.lstrip("*"))  # leading "*": rank by the text after it
        body = pattern.lstrip("*")
        cut = min((body.find(c) for c in "*?[" if c in body), default=len(body))
        return (cut + (0 if literal else 1), len(pattern))

    return sorted(table.items(), key=lambda item: specificity(item[0]), reverse=True)


def _price(pattern: str, value: object) -> Price:
    try:
        if isinstance(value, Mapping):
            price = Price(float(value["input"]), float(value["output"]))
        elif isinstance(value, (tuple, list)) and len(value) == 2:
            price = Price(float(value[0]), float(value[1]))
        else:
            raise TypeError
    except (KeyError, TypeError, ValueError):
        raise ConfigError(
            f"pricing[{pattern!r}]: expected {{input: USD, output: USD}} per 1M tokens; found {value!r}"
        ) from None
    if price.input < 0 or price.output < 0:
        raise ConfigError(f"pricing[{pattern!r}]: expected non-negative prices; found {value!r}")
    return price


_DEFAULT: list[PriceTable] = []


def _default_table() -> PriceTable:
    if not _DEFAULT:
        _DEFAULT.append(PriceTable())
    return _DEFAULT[0]
