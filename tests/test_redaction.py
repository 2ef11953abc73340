"""Typed placeholders, consistent within a request, reversible on demand."""

from proctor.findings import Finding
from proctor.redaction import Redactor, label_for, restore


def test_labels() -> None:
    assert label_for("pii.email") == "EMAIL"
    assert label_for("pii.credit_card") == "CREDIT_CARD"
    assert label_for("custom.hold-refunds") == "HOLD_REFUNDS"
    assert label_for("secret.generic") == "GENERIC"


def test_same_value_same_placeholder_and_numbering() -> None:
    text = "a@x.io, b@y.io and a@x.io again"
    r = Redactor()
    out = r.redact(text, [Finding("pii.email", 0, 6), Finding("pii.email", 8, 14), Finding("pii.email", 19, 25)])
    assert out == "[EMAIL_1], [EMAIL_2] and [EMAIL_1] again"
    assert r.placeholders == {"[EMAIL_1]": "a@x.io", "[EMAIL_2]": "b@y.io"}


def test_overlapping_spans_merge() -> None:
    r = Redactor()
    assert r.redact("0123456789", [Finding("pii.phone", 2, 6), Finding("pii.ssn", 4, 8)]) == "01[PHONE_1]89"


def test_restore_only_known_placeholders() -> None:
    assert restore("Hi [EMAIL_1], see [EMAIL_9]", {"[EMAIL_1]": "a@x.io"}) == "Hi a@x.io, see [EMAIL_9]"
    assert restore("unchanged", {}) == "unchanged"
