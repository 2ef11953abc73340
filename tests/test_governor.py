"""Governor.check: strings and messages in, a Decision out; strictest action wins; redaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from proctor import Action, Governor, Identity, load_policies

CUSTOM = """\
policies:
  - id: hold-refunds
    description: Refunds need a human reviewer
    match: {patterns: ["(?i)\\\\brefund\\\\b"], keywords: ["wire transfer"]}
    action: require_approval
  - id: log-acme-support
    match: {keywords: ["invoice"]}
    action: log
    when: {tenant: [acme], agent: ["support-*"]}
  - id: redact-codenames
    match: {keywords: ["Project Falcon", "Blue Heron"]}
    scope: both
    action: redact
"""


@pytest.fixture(scope="module")
def governor() -> Governor:
    return Governor()


@pytest.fixture
def custom(tmp_path: Path) -> Governor:
    path = tmp_path / "custom.yaml"
    path.write_text(CUSTOM, encoding="utf-8")
    return Governor([str(path)])


def test_benign_text_is_allowed(governor: Governor) -> None:
    d = governor.check("What is the capital of France? Order #48213 shipped on 2024-03-15 for $1,234.56.")
    assert d.action is Action.ALLOW
    assert d.findings == () and d.policies == ()
    assert d.allowed


def test_high_risk_pii_is_denied_with_a_reason_that_never_names_the_value(governor: Governor) -> None:
    d = governor.check("My SSN is 123-45-6789, please file my taxes")
    assert d.action is Action.DENY
    assert d.policies == ("default-deny-high-risk-pii",)
    assert [f.type for f in d.findings] == ["pii.ssn"]
    assert (d.findings[0].start, d.findings[0].end) == (10, 21)
    assert "pii.ssn" in d.reason and "123-45-6789" not in d.reason
    assert not d.allowed


def test_redaction_is_typed_and_consistent(governor: Governor) -> None:
    d = governor.check("Mail jane@example.com or bob@example.org; again jane@example.com")
    assert d.action is Action.REDACT
    assert d.redacted == "Mail [EMAIL_1] or [EMAIL_2]; again [EMAIL_1]"
    assert d.placeholders == {}  # reversible redaction is off by default


def test_reversible_redaction_keeps_the_map() -> None:
    gov = Governor(reversible_redaction=True)
    d = gov.check("Write to jane@example.com")
    assert d.placeholders == {"[EMAIL_1]": "jane@example.com"}


def test_strictest_action_wins(governor: Governor) -> None:
    d = governor.check("Email jane@example.com, SSN 123-45-6789")
    assert d.action is Action.DENY
    assert set(d.policies) == {"default-deny-high-risk-pii", "default-redact-contact"}
    assert d.redacted is None
    assert d.reason.startswith("Denied by policy default-deny-high-risk-pii")
    assert "Also matched: default-redact-contact" in d.reason


def test_messages_every_role_parts_tools(governor: Governor) -> None:
    messages = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": [{"type": "text", "text": "Reach me at jane@example.com"},
                                      {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]},
        {"role": "assistant", "content": None,
         "tool_calls": [{"id": "c1", "type": "function",
                         "function": {"name": "lookup", "arguments": '{"email": "bob@example.org"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "Found: bob@example.org, jane@example.com"},
    ]
    d = governor.check(messages)
    assert d.action is Action.REDACT
    assert sorted({f.message for f in d.findings}) == [1, 2, 3]
    red = d.redacted
    assert isinstance(red, list)
    assert red[1]["content"][0]["text"] == "Reach me at [EMAIL_1]"
    assert red[1]["content"][1] == messages[1]["content"][1]
    assert red[2]["tool_calls"][0]["function"]["arguments"] == '{"email": "[EMAIL_2]"}'
    assert red[3]["content"] == "Found: [EMAIL_2], [EMAIL_1]"
    # the caller's messages are untouched
    assert messages[1]["content"][0]["text"] == "Reach me at jane@example.com"
    assert messages[2]["tool_calls"][0]["function"]["arguments"] == '{"email": "bob@example.org"}'


def test_output_scope_uses_output_policies(governor: Governor) -> None:
    assert governor.check("Contact jane@example.com", scope="output").action is Action.ALLOW
    d = governor.check("Your card 4111 1111 1111 1111 is on file", scope="output")
    assert d.action is Action.DENY
    assert d.policies == ("default-deny-output-secrets",)


def test_custom_patterns_keywords_and_when(custom: Governor) -> None:
    d = custom.check("Please process a REFUND by wire transfer")
    assert d.action is Action.REQUIRE_APPROVAL
    assert [f.type for f in d.findings] == ["custom.hold-refunds", "custom.hold-refunds"]
    assert custom.check("Send the invoice").action is Action.ALLOW
    acme = Identity(tenant="acme", agent="support-bot")
    d = custom.check("Send the invoice", acme)
    assert d.action is Action.LOG and d.policies == ("log-acme-support",)
    assert custom.check("Send the invoice", Identity(tenant="acme", agent="billing")).action is Action.ALLOW
    d = custom.check("Status of project falcon?", scope="output")
    assert d.redacted == "Status of [REDACT_CODENAMES_1]?"


def test_policy_without_matching_detector_costs_nothing() -> None:
    gov = Governor(load_policies("builtin:secrets"))
    assert {d.name for d in gov._plan("input", Identity()).detectors} == {"secrets"}


@pytest.mark.parametrize("bad", [42, None, [1, 2], [{"role": "user", "content": 5}]])
def test_bad_input_types_raise_clear_type_errors(governor: Governor, bad: object) -> None:
    with pytest.raises(TypeError, match=r"expected|message 0"):
        governor.check(bad)  # type: ignore[arg-type]


def test_bad_scope(governor: Governor) -> None:
    with pytest.raises(ValueError, match="scope must be 'input' or 'output'"):
        governor.check("x", scope="both")


def test_policies_as_a_string_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="list of sources"):
        Governor("builtin:default")  # type: ignore[arg-type]
