"""Secrets detector: provider token shapes, key blocks, JWTs, credential assignments, and what stays quiet."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proctor.detect import Detector, load_detectors, scan
from proctor.detect.secrets import (
    SecretsDetector,
    fold_case,
    is_code_reference,
    is_credible_value,
    is_low_variety,
    is_masked,
    is_object_id,
    is_placeholder_body,
    is_placeholder_text,
    is_public_or_digest,
    is_sequential,
    is_shouted_word,
    is_template_reference,
    is_url_or_path,
    is_word_like,
    jwt_header_is_json,
    lacks_randomness,
    names_aws_secret,
    openai_body_is_credible,
    pem_has_key_material,
    secret_name_kind,
)

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "secrets.jsonl"

# Fake but well-formed bodies (random-looking, no placeholder words, not sequential).
B36 = "q8W3eR5tY7uI9oP1aS3dF6gH2jK4lZ0xC7vB5nM1"  # 40 mixed alphanumerics
B64 = "Kq7Tz2mr7SZiAMfQyuvBjM9Oi6Z0d4cZz3XkzxR8aE5+Q1eH/wJ4pLs9Vn2B"
AWS_ID = "AKIA2E0A8F3B244C9986"
AWS_SECRET = "Txs+OHKDpnJh/rgiOaPq/N9RtlnnudSkpmKog0Qw"
GHP = "ghp_" + B36[:36]
GH_PAT = "github_pat_" + B36[:22] + "_" + (B36 * 2)[:59]
OPENAI = "sk-proj-" + (B36 * 3)[:74] + "T3BlbkFJ" + (B36 * 3)[3:77]
OPENAI_LEGACY = "sk-" + B36[:20] + "T3BlbkFJ" + B36[20:40]
ANTHROPIC = "sk-ant-api03-" + (B36 * 3)[:93] + "AA"
SLACK_BOT = "xoxb-263594206564-2343124861841-" + B36[:24]
SLACK_HOOK = "https://hooks.slack.com/services/T024BE7LD/B01ABCD9XYZ/" + B36[:24]
STRIPE = "sk_live_" + B36[:24]
PEM_BODY = "\n".join(B64[i:] + B64[:i] for i in range(0, 50, 7))
PEM = f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----"


def _jwt(header: object) -> str:
    def seg(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    payload = seg(json.dumps({"sub": "42"}).encode())
    return f"{seg(json.dumps(header).encode())}.{payload}.{B36[:43]}"


JWT = _jwt({"alg": "HS256", "typ": "JWT"})


@pytest.fixture(scope="module")
def detector() -> SecretsDetector:
    return SecretsDetector()


def types_in(detector: SecretsDetector, text: str) -> set[str]:
    return {f.type for f in detector.detect(text)}


# -- the table: every provider format, and as many benign near-misses -----------------------------------

HOSTILE = [
    (f"AWS_ACCESS_KEY_ID={AWS_ID}", {"secret.aws_access_key"}),
    (f"aws_secret_access_key = {AWS_SECRET}", {"secret.aws_access_key"}),
    ("docs key AKIAIOSFODNN7EXAMPLE", {"secret.aws_access_key"}),
    (f"role {AWS_ID.replace('AKIA', 'AROA')} assumed", {"secret.aws_access_key"}),
    (f"GITHUB_TOKEN={GHP}", {"secret.github_token"}),
    (f"git clone https://{GHP}@github.com/acme/repo.git", {"secret.github_token"}),
    (f"my PAT is {GH_PAT}", {"secret.github_token"}),
    (f"OPENAI_API_KEY={OPENAI}", {"secret.openai_key"}),
    (f"openai.api_key = '{OPENAI_LEGACY}'", {"secret.openai_key"}),
    (f'-H "x-api-key: {ANTHROPIC}"', {"secret.anthropic_key"}),
    (f"token: {SLACK_BOT}", {"secret.slack_token"}),
    (f"post to {SLACK_HOOK}", {"secret.slack_token"}),
    (f"stripe.api_key = '{STRIPE}'", {"secret.stripe_key"}),
    (f"STRIPE_WEBHOOK_SECRET=whsec_{B36[:32]}", {"secret.stripe_key"}),
    (PEM, {"secret.private_key"}),
    ('{"private_key": "-----BEGIN PRIVATE KEY-----\\n' + B64 + '\\n-----END PRIVATE KEY-----\\n"}',
     {"secret.private_key"}),
    (f"Authorization: Bearer {JWT}", {"secret.jwt"}),
    (f"DB_PASSWORD={B36[:8]}!x", {"secret.generic"}),
    ('password = "hunter2x"', {"secret.generic"}),
    (f"client_secret: {B36[:32]}", {"secret.generic"}),
    (f'{{"apiKey": "{B36[5:29]}"}}', {"secret.generic"}),
    (f"postgres://app:{B36[:12]}@db:5432/app", {"secret.generic"}),
    (f"my database password is {B36[:10]}", {"secret.generic"}),
    (f"mysql --password {B36[:12]} -u root", {"secret.generic"}),
    (f"<add key=\"ApiSecret\" value=\"{B36[:30]}\" />", {"secret.generic"}),
    (f"my huggingface token hf_{B36[:34]}", {"secret.generic"}),
    (f"curl -u deploy:{B36[:12]}! https://api.example.com", {"secret.generic"}),
    (f"docker login -u ci -p {B36[:14]} registry.example.com", {"secret.generic"}),
    (f"| password | {B36[:12]}! |", {"secret.generic"}),
    (f"AWS_ACCESS_KEY_ID={AWS_ID}\nGITHUB_TOKEN={GHP}", {"secret.aws_access_key", "secret.github_token"}),
]

BENIGN = [
    "Fixed in commit 3f2a9c1d4e5b6a7f8091a2b3c4d5e6f708192a3b.",
    "Request 550e8400-e29b-41d4-a716-446655440000 failed.",
    "sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "<img src='data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk'>",
    "Thank you, a token of appreciation.",
    "color: #ff5733; background: #abcdef",
    "See https://docs.python.org/3/library/secrets.html",
    "requests==2.32.3, urllib3==2.2.2",
    "Click the password reset link.",
    "STRIPE_PUBLISHABLE_KEY=pk_live_" + B36[:30],
    "eyJub3QganNvbiBhdCBhbGw.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
    "password: ${DB_PASSWORD}",
    "API_KEY=<your-api-key>",
    'token = os.environ["GITHUB_TOKEN"]',
    "password: ********",
    "SECRET=YOUR_TOKEN_HERE",
    'password = "changeme"',
    "api_key: xxxxxxxxxxxxxxxxxxxxxxxx",
    "GITHUB_TOKEN=ghp_" + "x" * 36,
    "OPENAI_API_KEY=sk-...",
    "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
    "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----",
    "-----BEGIN PUBLIC KEY-----\n" + B64 + "\n-----END PUBLIC KEY-----",
    "max_tokens: 4096, and each token is about four characters.",
    "The token is valid for 24 hours.",
    "DATABASE_URL=postgres://user:password@localhost/app",
    "PASSWORD=12345678",
    'token = "aaaaaaaaaaaaaaaa"',
    "password: Required",
    "token_url: https://oauth2.googleapis.com/token",
    "ASIANFOODMARKETPLACE is a vendor code.",
    "The sk-learn question: you mean scikit-learn?",
    "Authorization: Bearer <token>",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl dev@laptop",
    "docker run -u 1000:1000 -p 8080:80 nginx",
    "curl -u $USER:$TOKEN https://api.example.com",
    "mkdir -p /var/lib/app/data-2024",
]


@pytest.mark.parametrize(("text", "expected"), HOSTILE)
def test_hostile(detector: SecretsDetector, text: str, expected: set[str]) -> None:
    assert types_in(detector, text) == expected


@pytest.mark.parametrize("text", BENIGN)
def test_benign(detector: SecretsDetector, text: str) -> None:
    assert types_in(detector, text) == set()


def test_table_is_balanced() -> None:
    assert len(BENIGN) >= len(HOSTILE)


def test_corpus(detector: SecretsDetector) -> None:
    rows = [json.loads(line) for line in CORPUS.read_text("utf-8").splitlines() if line.strip()]
    wrong = []
    for row in rows:
        got = sorted(t for t in types_in(detector, row["text"]) if t.startswith("secret."))
        if got != sorted(row["types"]):
            wrong.append((row["note"], row["types"], got))
    assert not wrong, wrong[:10]
    positives = [t for row in rows for t in row["types"]]
    for kind in SecretsDetector.types:
        assert positives.count(kind) >= 25, kind
    assert sum(1 for row in rows if not row["types"]) >= sum(1 for row in rows if row["types"])


# -- spans, scores and the seam ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (f"export GITHUB_TOKEN={GHP}", GHP),
        (f"aws_secret_access_key = '{AWS_SECRET}'", AWS_SECRET),
        (f'{{"password": "{B36[:14]}"}}', B36[:14]),
        (f'{{\\"password\\": \\"{B36[:14]}\\"}}', B36[:14]),
        (f"DB_PASSWORD={B36[:12]}.", B36[:12]),
        (f"redis://:{B36[:16]}@cache:6379", B36[:16]),
        (f"Authorization: Basic {B36[:24]}", B36[:24]),
        (f"id_token={JWT}; Path=/", JWT),
        (f"hook {SLACK_HOOK} now", SLACK_HOOK),
        (f"before\n{PEM}\nafter", PEM),
        ("key:\n-----BEGIN EC PRIVATE KEY-----\n" + B64 + "\n" + B64 + "\nThanks for the help",
         "-----BEGIN EC PRIVATE KEY-----\n" + B64 + "\n" + B64),  # truncated paste: no END line
    ],
)
def test_span_is_the_value(detector: SecretsDetector, text: str, value: str) -> None:
    (finding,) = detector.detect(text)
    assert text[finding.start : finding.end] == value


def test_structural_scores_beat_entropy_guesses(detector: SecretsDetector) -> None:
    found = detector.detect(f"GITHUB_TOKEN={GHP}\napi_key = '{B36[:32]}'\n{PEM}")
    scores = {f.type: f.score for f in found}
    assert scores["secret.github_token"] == scores["secret.private_key"] == 1.0
    assert 0.5 <= scores["secret.generic"] < 1.0


def test_a_token_in_an_assignment_is_reported_once(detector: SecretsDetector) -> None:
    found = detector.detect(f"OPENAI_API_KEY={OPENAI}\nid_token: {JWT}\nAPI_KEY=sk-ant-xyz {ANTHROPIC}")
    assert [f.type for f in found] == ["secret.openai_key", "secret.jwt", "secret.anthropic_key"]


def test_is_a_registered_detector() -> None:
    (loaded,) = load_detectors(["secrets"], plugins=False)
    assert isinstance(loaded, SecretsDetector) and isinstance(loaded, Detector)
    assert loaded.name == "secrets"
    assert set(loaded.types) == {"secret.aws_access_key", "secret.github_token", "secret.openai_key",
                                 "secret.anthropic_key", "secret.slack_token", "secret.stripe_key",
                                 "secret.private_key", "secret.jwt", "secret.generic"}


def test_empty_and_odd_text(detector: SecretsDetector) -> None:
    assert detector.detect("") == []
    assert types_in(detector, f"\x00\udc80 İİ password={B36[:12]} İ") == {"secret.generic"}


def test_same_findings_without_hyperscan(monkeypatch: pytest.MonkeyPatch, detector: SecretsDetector) -> None:
    texts = [json.loads(line)["text"] for line in CORPUS.read_text("utf-8").splitlines() if line.strip()]
    texts += [text for text, _ in HOSTILE] + BENIGN
    monkeypatch.setattr(scan, "HYPERSCAN_AVAILABLE", False)
    plain = SecretsDetector()
    for text in texts:
        assert plain.detect(text) == detector.detect(text), text


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_fold_case_keeps_offsets(text: str) -> None:
    folded = fold_case(text)
    assert len(folded) == len(text)


SHARED = SecretsDetector()  # hypothesis runs many examples; compile the prefilter once


@settings(deadline=None)  # the first example compiles the prefilter
@given(st.text(alphabet="aA0 =:\"'-_./@+kKeyYpPasSwordtTn\n", max_size=300))
def test_spans_stay_inside_the_text(text: str) -> None:
    for f in SHARED.detect(text):
        assert 0 <= f.start < f.end <= len(text)


@pytest.mark.slow
@pytest.mark.parametrize(
    "unit",
    ["7", '"', "a", ".", "@", "password=", "key: ", "token is ", "api_key='", "pass", "eyJ", "eyJaaaaaaaa.",
     "-----BEGIN PRIVATE KEY-----\n", "sk-", "a://b:cccccc@", "AKIA", "xoxb-1-", "--password ",
     "aws_secret_access_key=", "Private-Lines: 1\n" + "A" * 30 + "\n", f"pw={B36[:8]}! "],
)
def test_linear_on_adversarial_input(detector: SecretsDetector, unit: str) -> None:
    text = unit * (200_000 // len(unit))  # 200 KB; the 1 MB figures live in benchmarks/
    start = time.perf_counter()
    detector.detect(text)
    assert time.perf_counter() - start < 3.0


# -- false-positive rules: one test each ------------------------------------------------------------------


def test_is_template_reference() -> None:
    for v in ("${DB_PASSWORD}", "{{ vault_token }}", "$API_KEY", "<your-api-key>", "[TOKEN]", "%(pw)s",
              "%API_KEY%", "#{SECRET}", "$(cat /run/secrets/x)", "{token}", "!vault"):
        assert is_template_reference(v), v
    for v in (B36[:20], "p$ssw0rd!", "a<b>c", "$Wgaw^gFwL%6KQeT"):
        assert not is_template_reference(v), v


def test_is_code_reference() -> None:
    for v in ("os.environ[", "get_token()", "settings.SECRET_KEY", "self._token", "DEFAULT_TOKEN",
              "db_password", "$db_pass", "process.env.API_KEY"):
        assert is_code_reference(v), v
    for v in (B36[:20], "hunter2x", "a1b2c3d4e5", "-rd$JUpUNNg2bw"):
        assert not is_code_reference(v), v


def test_is_masked() -> None:
    for v in ("********", "xxxxxxxxxxxx", "XXXX-XXXX-XXXX", "••••••••", "...", "sk-abc123...", "ab12…"):
        assert is_masked(v), v
    for v in (B36[:20], "x9Kd93jfLq0z"):
        assert not is_masked(v), v


def test_is_low_variety() -> None:
    for v in ("aaaaaaaa", "abababab", "00000000", "abcabcabcabcabcabcabc"):
        assert is_low_variety(v), v
    assert not is_low_variety(B36[:16])


def test_is_sequential() -> None:
    for v in ("abcdefgh", "12345678", "0123456789abcdef", "qwertyuiop", "ZYXWVUTS", "sk1234567890abcdef"):
        assert is_sequential(v), v
    for v in (B36[:20], "a1b2c3", "hunter22"):
        assert not is_sequential(v), v


def test_is_placeholder_text() -> None:
    for v in ("YOUR_TOKEN_HERE", "changeme", "example-key-123", "mysecretpassword", "P@ssw0rd", "Adm1n123!",
              "dummy", "REPLACE_ME", "test1234", "none", "n/a"):
        assert is_placeholder_text(v), v
    for v in (B36[:20], "Tr0ub4dor&3", "hunter2x", "S3cr3tPa55"):
        assert not is_placeholder_text(v), v


def test_is_placeholder_body() -> None:
    for v in ("x" * 36, "your-api-key-here-1234567890", "0123456789abcdefghijklmnopqrstuvwxyz", "EXAMPLE"):
        assert is_placeholder_body(v), v
    assert not is_placeholder_body(B36[:36])


def test_is_url_or_path() -> None:
    for v in ("https://oauth2.googleapis.com/token", "/run/secrets/db", "./key.pem", "~/.ssh/id_rsa",
              "C:\\keys\\prod.pfx", "uploads/2024/report.pdf", "service-account.json"):
        assert is_url_or_path(v), v
    assert not is_url_or_path(B64[:40])


def test_is_public_or_digest() -> None:
    for v in ("pk_live_" + B36[:24], "ssh-rsa AAAAB3Nza", "sha256:abcdef", "0x" + "a1" * 20):
        assert is_public_or_digest(v), v
    for v in ("sk_live_" + B36[:24], "0x" + "a1" * 32):
        assert not is_public_or_digest(v), v


def test_is_object_id() -> None:
    for v in ("tok_1Hh1X2Y3Z4a5b6c7d8e9", "cus_NffrFeUfNV2Hib", "pm_1MqLiJLkdIwHu7ixUEgbFdYF"):
        assert is_object_id(v), v
    for v in ("sk_live_" + B36[:24], "token_" + B36[:20]):
        assert not is_object_id(v), v


def test_is_word_like() -> None:
    for v in ("user_service_v2", "Required", "my-app-client", "correcthorsebattery", "DEFAULT_VALUE"):
        assert is_word_like(v), v
    for v in (B36[:20], "Tr0ub4dor&3", "9f86d081884c7d659a2feaa0c55ad015"):
        assert not is_word_like(v), v


def test_is_shouted_word() -> None:
    assert is_shouted_word("NFOODMARKETPLACE")
    assert not is_shouted_word("IOSFODNN7EXAMPLE")
    assert not is_shouted_word("QZXKJVBNMWRTYPLK")


def test_lacks_randomness() -> None:
    assert lacks_randomness("hunter", "password")  # one character class
    assert not lacks_randomness("hunter2", "password")
    assert lacks_randomness("abc123", "token")  # too short for a token
    assert lacks_randomness("2024-01-01T00:00:00Z", "token")  # a date, low entropy
    assert not lacks_randomness(B36[:20], "token")
    assert not lacks_randomness("9f86d081884c7d659a2feaa0c55ad015", "token")  # hex


def test_is_credible_value_needs_quotes_for_bare_words() -> None:
    assert not is_credible_value("SOME_VARIABLE", "token", quoted=False)
    assert is_credible_value(B36[:20], "token", quoted=False)
    assert is_credible_value("Welcome1!", "password", quoted=True)  # words plus a digit: a human password
    assert not is_credible_value("Welcome", "password", quoted=True)


@pytest.mark.parametrize(
    ("name", "kind"),
    [("password", "password"), ("DB_PASSWORD", "password"), ("dbpassword", "password"), ("pwd", "password"),
     ("api_key", "token"), ("apiKey", "token"), ("x-api-key", "token"), ("client_secret", "token"),
     ("SECRET_KEY_BASE", "token"), ("GITHUB_TOKEN", "token"), ("_authToken", "token"),
     ("Authorization", "token"),
     ("signing_key", "token"), ("AccountKey", "token"),
     ("key", None), ("monkey", None), ("keyboard", None), ("max_tokens", None), ("token_url", None),
     ("token_type", None), ("password_min_length", None), ("public_key", None), ("primary_key", None),
     ("cache_key", None), ("api_key_id", None), ("tokenizer", None), ("passwordless", None),
     ("author", None)],
)
def test_secret_name_kind(name: str, kind: str | None) -> None:
    assert secret_name_kind(name) == kind


def test_jwt_header_is_json() -> None:
    assert jwt_header_is_json(JWT.split(".")[0])
    assert not jwt_header_is_json("eyJub3QganNvbiBhdCBhbGw")  # '{"not json at all'
    assert not jwt_header_is_json(_jwt({"typ": "JWT"}).split(".")[0])  # JSON, but no alg
    assert not jwt_header_is_json("eyJ!!!")
    deep = base64.urlsafe_b64encode(b'{"alg":' + b"[" * 1400).rstrip(b"=").decode()
    assert not jwt_header_is_json(deep)  # nested past the recursion limit: rejected, not raised


@pytest.mark.parametrize(
    ("text", "ok"),
    [("aws_secret_access_key", True), ("SecretAccessKey", True), ("AWS Secret Access Key", True),
     ("AWS_SECRET", True), ("secret_key", False), ("aws_access_key_id", False), ("client_secret", False)],
)
def test_names_aws_secret(text: str, ok: bool) -> None:
    assert names_aws_secret(text, 0, len(text)) is ok


def test_openai_body_is_credible() -> None:
    assert openai_body_is_credible(OPENAI[3:])
    assert openai_body_is_credible(OPENAI_LEGACY[3:])
    assert openai_body_is_credible(B36[:40] + "Ab1")
    assert not openai_body_is_credible("spinner-fading-circle-bounce-dots")


def test_pem_has_key_material() -> None:
    assert pem_has_key_material(PEM_BODY)
    assert pem_has_key_material(B64.replace("/", "\\n"))
    for body in ("\n...\n", "\n<your private key here>\n", "A" * 64,
                 "\nYOUR_PRIVATE_KEY_CONTENT_HERE_PLEASE\n"):
        assert not pem_has_key_material(body), body
