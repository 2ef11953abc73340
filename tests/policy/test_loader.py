"""Policy files: the schema, composition, and errors that name file, line, policy and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from proctor import Action, PolicyFileError, load_policies
from proctor.policy import builtin_packs

GOOD = """\
policies:
  - id: hold-refunds
    description: Refunds need a human reviewer
    match:
      types: [pii.iban, "secret.*"]
      patterns: ["(?i)\\\\brefund\\\\b"]
      keywords: ["wire transfer"]
    scope: input
    action: require_approval
    severity: high
    when: {tenant: [acme], agent: ["support-*"], model: ["gpt-4*"]}
"""


def write(tmp_path: Path, text: str, name: str = "p.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_issue_schema_loads(tmp_path: Path) -> None:
    (p,) = load_policies(write(tmp_path, GOOD))
    assert p.id == "hold-refunds"
    assert p.action is Action.REQUIRE_APPROVAL
    assert p.types == ("pii.iban", "secret.*")
    assert p.patterns == ("(?i)\\brefund\\b",)
    assert p.keywords == ("wire transfer",)
    assert p.severity == "high"
    assert dict(p.when) == {"tenant": ("acme",), "agent": ("support-*",), "model": ("gpt-4*",)}
    assert p.custom_type == "custom.hold-refunds"


def test_every_builtin_pack_loads_and_composes() -> None:
    packs = builtin_packs()
    for required in ("default", "pii", "secrets", "sql", "injection", "pci-dss", "hipaa", "gdpr", "eu-ai-act",
                     "rbi", "sebi", "mas-feat"):
        assert required in packs
    composed = load_policies(*(f"builtin:{p}" for p in packs))
    assert len(composed) > len(packs)
    for p in composed:
        assert p.description, p.id


def test_compliance_packs_cite_their_rule() -> None:
    cites = {"pci-dss": "PCI DSS", "hipaa": "164.", "gdpr": "GDPR Art.", "eu-ai-act": "EU AI Act Art.",
             "rbi": "RBI", "sebi": "SEBI", "mas-feat": "MAS"}
    for pack, cite in cites.items():
        for p in load_policies(f"builtin:{pack}"):
            assert cite in p.description or "Aadhaar" in p.description or "PDPA" in p.description, (pack, p.id)


@pytest.mark.parametrize(
    ("text", "line", "field", "needle"),
    [
        ("policies:\n  - id: a\n    match: {types: [pii.emial]}\n    action: deny\n", 3, "match.types",
         'Did you mean "pii.email"'),
        ("policies:\n  - id: a\n    match: {types: [pii.email]}\n    action: block\n", 4, "action",
         "expected one of allow, log, redact, deny, require_approval; found 'block'"),
        ("policies:\n  - id: a\n    match: {patterns: ['(unclosed']}\n    action: deny\n", 3, "match.patterns",
         "invalid regular expression"),
        ("policies:\n  - id: a\n    match: {patterns: ['(a+)+$']}\n    action: deny\n", 3, "match.patterns",
         "exponential time"),
        ("policies:\n  - id: a\n    match: {types: [pii.email]}\n    action: deny\n"
         "  - id: a\n    match: {types: [pii.phone]}\n    action: deny\n", 5, "id", "duplicate policy id 'a'"),
        ("policies:\n  - id: Bad Id\n    match: {types: [pii.email]}\n    action: deny\n", 2, "id", "[a-z0-9_-]"),
        ("policies:\n  - id: a\n    match: {types: [pii.email]}\n    action: deny\n    scope: everywhere\n", 5,
         "scope", "expected one of input, output, both"),
        ("policies:\n  - id: a\n    match: {types: [pii.email]}\n    action: deny\n    acton: deny\n", 5,
         "acton", 'did you mean "action"'),
        ("policies:\n  - id: a\n    action: deny\n", 2, "match", "missing required field 'match'"),
        ("policies:\n  - id: a\n    match: {}\n    action: deny\n", 3, "match", "at least one of"),
        ("policies:\n  - id: a\n    match: {types: [pii.email]}\n    action: deny\n    when: {team: [x]}\n", 5,
         "when.team", "unknown field 'team'"),
        ("policies:\n  - id: a\n    match: {keywords: ['  ']}\n    action: deny\n", 3, "match.keywords",
         "non-empty keyword"),
    ],
)
def test_bad_file_names_line_and_field(tmp_path: Path, text: str, line: int, field: str, needle: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PolicyFileError) as info:
        load_policies(path)
    err = info.value
    assert err.source == path
    assert err.line == line, str(err)
    assert err.field == field
    assert needle in str(err)
    assert str(err).startswith(path)


def test_invalid_yaml_and_empty_and_missing(tmp_path: Path) -> None:
    with pytest.raises(PolicyFileError, match=r"line 3.*invalid YAML"):
        load_policies(write(tmp_path, "policies:\n  - id: a\n   bad: [\n"))
    with pytest.raises(PolicyFileError, match="file is empty"):
        load_policies(write(tmp_path, "", "empty.yaml"))
    with pytest.raises(PolicyFileError, match="file not found"):
        load_policies(str(tmp_path / "nope.yaml"))
    with pytest.raises(PolicyFileError, match=r"no built-in pack named 'defualt'.*builtin:default"):
        load_policies("builtin:defualt")


def test_a_bad_file_loads_nothing_even_after_good_ones(tmp_path: Path) -> None:
    good = write(tmp_path, GOOD, "good.yaml")
    bad = write(tmp_path, "policies:\n  - id: x\n    match: {types: [nope]}\n    action: deny\n", "bad.yaml")
    with pytest.raises(PolicyFileError) as info:
        load_policies(good, bad)
    assert info.value.source == bad


def test_duplicate_ids_across_files_are_refused(tmp_path: Path) -> None:
    a = write(tmp_path, GOOD, "a.yaml")
    b = write(tmp_path, GOOD, "b.yaml")
    with pytest.raises(PolicyFileError, match=r"duplicate policy id 'hold-refunds', already defined in .*a\.yaml"):
        load_policies(a, b)


def test_directory_source_loads_policy_files_only(tmp_path: Path) -> None:
    write(tmp_path, GOOD, "refunds.yaml")
    write(tmp_path, "cases: []\n", "fixtures.yaml")
    assert [p.id for p in load_policies(str(tmp_path))] == ["hold-refunds"]
