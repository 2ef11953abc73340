"""Presidio's AnalyzerEngine restricted to its pattern recognizers, built fully offline.

Presidio's default engine loads a spaCy model (a download). Its ``NoOpNlpEngine`` is the supported way to
run without one: no NER recognizer is registered and every text gets empty NLP artifacts, so only the
predefined pattern recognizers (credit card, email, phone via ``phonenumbers``, IBAN, IP, US SSN,
passport, crypto, URL, date, ...) run. Its email recognizer calls ``tldextract``, which by default fetches
the public suffix list from the network on first use; we point it at the snapshot bundled in the wheel.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any


@dataclass(frozen=True, slots=True)
class PresidioEngine:
    """A ready analyzer plus what it runs, for the report."""

    analyzer: Any
    version: str
    recognizers: tuple[str, ...]

    def analyze(self, text: str) -> object:
        return self.analyzer.analyze(text=text, language="en")


def _offline_tldextract() -> None:
    import tldextract.tldextract as tld

    # An empty URL list with the snapshot fallback: no network, no cache directory written.
    tld.TLD_EXTRACTOR = tld.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


def build_presidio() -> PresidioEngine | str:
    """The pattern-only analyzer, or a sentence saying why it cannot be built (not installed, ...)."""
    try:
        presidio_version = version("presidio-analyzer")
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import NoOpNlpEngine
    except (ImportError, PackageNotFoundError) as exc:
        return f"presidio-analyzer is not installed ({exc}); run: pip install presidio-analyzer"
    with suppress(ImportError):  # an older Presidio without tldextract: nothing to make offline
        _offline_tldextract()
    engine = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "no_op"}])
    analyzer = AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])
    names = tuple(type(r).__name__ for r in analyzer.registry.recognizers)
    return PresidioEngine(analyzer, presidio_version, names)
