"""``proctor policy validate | list | test``."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from proctor.cli import cli

POLICY = """\
policies:
  - id: hold-refunds
    match: {keywords: ["refund"]}
    action: require_approval
"""
FIXTURE = """\
policies: [builtin:default, ./refunds.yaml]
cases:
  - name: ssn denied
    input: "My SSN is 123-45-6789"
    expect: {action: deny, types: [pii.ssn], policies: [default-deny-high-risk-pii]}
  - name: refund held
    input: [{role: user, content: "I want a refund"}]
    expect: {action: require_approval, types: [custom.hold-refunds]}
  - name: card in output denied
    input: "Card 4111 1111 1111 1111"
    scope: output
    expect: {action: deny}
"""


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_validate(tmp_path: Path) -> None:
    good = tmp_path / "refunds.yaml"
    good.write_text(POLICY)
    bad = tmp_path / "bad.yaml"
    bad.write_text("policies:\n  - id: y\n    match: {types: [pii.email]}\n    action: nuke\n")
    assert invoke("policy", "validate", str(good), "builtin:default")[0] == 0
    code, out = invoke("policy", "validate", str(good), str(bad))
    assert code == 2
    assert "INVALID" in out and 'line 4, policy \'y\', field "action"' in out


def test_list_shows_packs_and_policies() -> None:
    code, out = invoke("policy", "list")
    assert code == 0
    assert "builtin:pci-dss" in out and "default-deny-secrets" in out and "PCI DSS v4.0" in out


def test_fixtures_pass_and_fail(tmp_path: Path) -> None:
    (tmp_path / "refunds.yaml").write_text(POLICY)
    (tmp_path / "cases.yaml").write_text(FIXTURE)
    code, out = invoke("policy", "test", str(tmp_path), "-v")
    assert code == 0, out
    assert "3 passed, 0 failed" in out
    (tmp_path / "cases.yaml").write_text(FIXTURE.replace("action: require_approval", "action: allow"))
    code, out = invoke("policy", "test", str(tmp_path))
    assert code == 1
    assert "FAIL" in out and "action: expected allow, got require_approval" in out


def test_malformed_fixture_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "cases.yaml").write_text("cases:\n  - input: x\n")
    code, out = invoke("policy", "test", str(tmp_path))
    assert code == 2 and "needs both 'input' and 'expect'" in out


def test_shipped_example_fixtures_pass() -> None:
    code, out = invoke("policy", "test", str(Path(__file__).resolve().parents[2] / "examples" / "policies"))
    assert code == 0, out
    assert "5 passed, 0 failed" in out
