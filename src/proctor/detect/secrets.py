"""Secrets detector: provider tokens, private-key blocks, JWTs and high-entropy credential assignments."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from operator import mul

from proctor.detect.casing import lowered
from proctor.detect.scan import PatternSet, Rule
from proctor.findings import Finding

# Choices made on purpose (each has corpus rows):
# - AWS's documented example keys (AKIAIOSFODNN7EXAMPLE, wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY) ARE
#   reported: they have the exact shape of live keys and detect-secrets reports them too. For the other
#   providers, a body that spells out a placeholder ("your", "example", "xxxx"…) is not a finding.
# - Stripe publishable keys (pk_live_/pk_test_) are NOT findings: they are public by design and ship in
#   every checkout page. Secret (sk_), restricted (rk_) and webhook-signing (whsec_) keys are.
# - ${VAR}, os.environ[...], <your-key>, ******** and the like are references or placeholders, not
#   secrets; each such rule is a small named function below with its own test.

STRUCTURAL_SCORE = 1.0
_PEM_MAX = 16384  # the longest PEM block we follow (a 4096-bit RSA key is ~3.3 KB; PGP blocks run longer)

# --- rules ---------------------------------------------------------------------------------------------
#
# Long bodies (JWT segments, PuTTY lines, assigned values) are only *triggered* by these rules and then read
# at the trigger by an anchored regex or by `_read_value`: the scanning patterns stay short, each trigger
# costs bounded work, and a rejected trigger can mark how far the text was consumed. Every repetition is
# bounded, and no quantified class overlaps what follows it.

# Credential-like words. The full identifier around one is recovered and classified in Python, so that
# "monkey", "max_tokens" and "token_url" are rejected by `secret_name_kind`, not by a regex.
_NAME_KEYWORDS = ("pass", "pw", "secret", "token", "key", "auth", "cred", "bearer", "kennwort", "contrase",
                  "senha")
_KEYWORD = "(?:" + "|".join(_NAME_KEYWORDS) + ")"
# Where a value starts: an opening quote (a JSON-escaped \" too) or a printable ASCII character other than
# space " ' ` , ; & < > { }, followed by 5 more value characters (the shortest value we accept is 6).
# Those 5 are looked ahead at, not consumed, so that a name inside a value that turns out not to count
# (key="ApiSecret" value="…") is still scanned.
_QUOTED_START = r"""\\?["'`](?=[ !#-&(-_a-~]{6})"""
_VALUE_START = rf"""({_QUOTED_START}|[!#-%(-+\--:=?-_a-z|~](?=[!-~]{{5}}))"""
_FLAG_VALUE_START = rf"""({_QUOTED_START}|[!#-%(-+.-:=?-_a-z|~](?=[!-~]{{5}}))"""  # "-x" is the next flag

# Provider shapes, matched case-sensitively on the text as written. Each pattern opens with a literal, and
# its left boundary is a lookbehind placed after that literal ("sk-(?<![…]sk-)"): Python's re then jumps
# between occurrences of the literal instead of testing the lookbehind at every position.
CASED_RULES: tuple[Rule, ...] = (
    # AKIA, ASIA, AGPA, AIDA, AROA, AIPA, ANPA, ANVA, ABIA, ACCA + 16: every AWS access-key-id prefix.
    Rule("aws_key_id",
         r"A(?<![A-Za-z0-9]A)(?:KIA|SIA|GPA|IDA|ROA|IPA|NPA|NVA|BIA|CCA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
    Rule("github",
         r"g(?<![A-Za-z0-9_]g)(?:h[pousr]_[A-Za-z0-9]{36,251}|ithub_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59,200})"
         r"(?![A-Za-z0-9_])"),
    Rule("openai", r"sk-(?<![A-Za-z0-9_-]sk-)(?!ant-)[A-Za-z0-9_-]{20,250}(?![A-Za-z0-9_-])"),
    Rule("anthropic", r"sk-ant-(?<![A-Za-z0-9_-]sk-ant-)[A-Za-z0-9_-]{32,250}(?![A-Za-z0-9_-])"),
    Rule("slack",
         r"x(?<![A-Za-z0-9_.-]x)(?:ox[abposr]|app|oxe(?:\.xox[bp])?)-[0-9]{1,20}-[A-Za-z0-9-]{8,250}"
         r"(?![A-Za-z0-9_-])"),
    # The scheme in front ("https://") joins the span in Python.
    Rule("slack_webhook",
         r"hooks\.slack\.com/(?:services|workflows|triggers)/T[A-Za-z0-9]{6,14}/[A-Za-z0-9]{6,14}"
         r"/[A-Za-z0-9/_-]{8,120}"),
    Rule("stripe:sk", r"sk_(?<![A-Za-z0-9]sk_)(?:live|test)_[A-Za-z0-9]{24,247}(?![A-Za-z0-9])"),
    Rule("stripe:rk", r"rk_(?<![A-Za-z0-9]rk_)(?:live|test)_[A-Za-z0-9]{24,247}(?![A-Za-z0-9])"),
    Rule("stripe:whsec", r"whsec_(?<![A-Za-z0-9]whsec_)[A-Za-z0-9+/]{32,100}(?![A-Za-z0-9])"),
    Rule("private_key", r"----(?:- ?| )?BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)? ?-{4,5}"),
    Rule("putty_key", r"Private-Lines: {0,4}[0-9]{1,3}[ \t]{0,4}\r?\n[A-Za-z0-9+/=]{16}"),
    Rule("jwt", r"eyJ(?<![A-Za-z0-9_-]eyJ)[A-Za-z0-9_-]{8}"),
)

# Names and schemes are case-insensitive. These rules run on a lower-cased copy of the text with the same
# offsets (`fold_case`): re.IGNORECASE makes Python's re ~15x slower on the keyword scan. Values are read
# back from the original text. Name rules come one per keyword ("generic:token", …) so that each opens
# with a literal too; a rule key's family is the part before ":".
#
# Prose keywords: a credential word that ends a name, as in "my password is …" or "my hf token hf_…".
_PROSE_KEYWORDS = ("pass(?:word|wd|phrase|code|wort)?", "pwd", "kennwort", "contrase.a", "senha", "tokens?",
                   "secrets?", "keys?", "auth", "cred(?:s|entials?)?", "bearer")
FOLDED_RULES: tuple[Rule, ...] = (
    # scheme://user:password@host; the scheme before "://" is checked in Python (`_has_scheme`).
    # An unencoded "@" inside the password is allowed: like urllib, the last "@" ends the userinfo.
    Rule("url_credentials", r"://[a-z0-9._~%!$&()*+,;=-]{0,40}:([!#-&(-.0-;=?-~]{6,64})@"),
    # NAME = value, NAME: value, "NAME": "value", NAME => value, <NAME>value, key="NAME" value="…" and
    # | NAME | value | (a Markdown table). The lookahead + backreference makes the name's tail atomic, so
    # "passpasspass…" cannot backtrack.
    *(Rule(f"generic:{kw}",
           rf"({kw}(?=([a-z0-9_.-]{{0,24}}))\2)[\\\"'\]]{{0,3}}[ \t]{{0,3}}"
           rf"(:=|\?=|=>|===?|=|:|>|\||value[ \t]{{0,2}}=)[ \t]{{0,3}}"
           rf"(?:(?:bearer|basic|token|bot|digest)[ \t]{{1,3}})?{_VALUE_START}")
      for kw in _NAME_KEYWORDS),
    # Prose: the value must hold a digit, so "the token is valid" and "password reset link" never reach
    # Python. (ASCII only: a non-ASCII literal would put the whole set in slow UCP mode.)
    *(Rule(f"generic_spaced:{kw.partition('(')[0]}",
           rf"({kw})[ \t]{{1,3}}"
           r"((?:(?:for|of|on|in)[ \t]{1,3}(?:the[ \t]{1,3})?[a-z0-9_.-]{1,24}[ \t]{1,3})?"
           r"(?:is|was|ist|war|es|era|est)[ \t]{1,3})?"
           r"([\"'`]?(?:[!#-%(-+.-:=?-_a-z|~][!-~]{0,120})?[0-9])")
      for kw in _PROSE_KEYWORDS),
    # curl -u user:password, --user user:password; and -p PASSWORD where -p means password: after
    # sshpass, mysql… and "login" (docker/podman/helm login). Both are judged as passwords.
    Rule("user_flag", r"-(?<![a-z0-9_-]-)(?:u|-user)[ \t]{1,3}[\"']?[a-z0-9._@+$-]{1,64}:([!#-&(-~]{6,64})"),
    Rule("p_flag", r"-(?<![a-z0-9_-]-)p[ \t]{0,2}[\"']?([!#-&(-~]{6,64})"),
    # --password VALUE on a command line (--password=VALUE is the generic rule's).
    Rule("generic_flag",
         rf"(-(?<![a-z0-9_-]-)-?(?:[a-z0-9]{{1,16}}[_-]){{0,3}}{_KEYWORD}[a-z0-9_-]{{0,16}})[ \t]{{1,3}}"
         rf"{_FLAG_VALUE_START}"),
)
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,2000}\.[A-Za-z0-9_-]{2,8000}\.[A-Za-z0-9_-]{0,2000}(?![A-Za-z0-9_-])")
_PUTTY_LINES = re.compile(r"(?:[A-Za-z0-9+/=]{1,128}\r?\n){0,63}[A-Za-z0-9+/=]{1,128}")
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]{1,20}", re.IGNORECASE)
_BARE_VALUE = re.compile(r"""[^\s"'`,;&<>{}]{1,300}""")
_AUTH_SCHEME = re.compile(r"(?:bearer|basic|token|bot|digest)[ \t]{1,3}", re.IGNORECASE)


def fold_case(text: str) -> str:
    """``text`` lower-cased with every offset kept (a few characters, such as "İ", lengthen under lower())."""
    folded = lowered(text)
    if len(folded) == len(text):
        return folded
    return "".join(low if len(low := ch.lower()) == 1 else ch for ch in text)


# --- value statistics ------------------------------------------------------------------------------------

_HAS_LOWER = re.compile(r"[a-z]").search
_HAS_UPPER = re.compile(r"[A-Z]").search
_HAS_DIGIT = re.compile(r"[0-9]").search
_HAS_SYMBOL = re.compile(r"[^A-Za-z0-9_. -]").search  # separators don't count; other scripts do
_DROP_VOWELS = str.maketrans("", "", "aeiouyAEIOUY")
_WORDS_RE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_WORDISH_RE = re.compile(r"[A-Z]?[a-z]{2,11}|[A-Z]{3,12}(?![a-z])")


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value`` (0 for an empty string)."""
    n = len(value)
    if not n:
        return 0.0
    counts = Counter(value).values()
    weighted: float = sum(map(mul, counts, map(math.log2, counts)))
    return math.log2(n) - weighted / n


def char_classes(value: str) -> int:
    """How many of lower, upper, digit and symbol ``value`` mixes (``_ - .`` and space don't count)."""
    return sum(1 for probe in (_HAS_LOWER, _HAS_UPPER, _HAS_DIGIT, _HAS_SYMBOL) if probe(value))


def _words(name: str) -> list[str]:
    """Lower-cased words of an identifier: ``xApiKEY_v2`` -> x, api, key, v, 2."""
    return [w.lower() for w in _WORDS_RE.findall(name)]


def _vowels(word: str) -> int:
    return len(word) - len(word.translate(_DROP_VOWELS))


# --- false-positive rules: one small named function each, each tested ---------------------------------

_TEMPLATE_RE = re.compile(
    r"\$\{|\{\{|\$\(|#\{|%\([A-Za-z_]+\)s|^%[A-Za-z_]+%$"
    r"|^\$(?:[A-Z_][A-Z0-9_]{0,80}|[a-z_][a-z0-9_]{0,80})$"  # $VAR, $var; "$Wg^a%6K" is a password
    r"|^<[^<>]{1,80}>$|^\[[^\[\]]{1,80}\]$|^\{[A-Za-z0-9_.: -]{1,80}\}$|^![A-Za-z_]{1,40}$"
)


def is_template_reference(value: str) -> bool:
    """``${VAR}``, ``{{ var }}``, ``$VAR``, ``<your-api-key>``, ``[TOKEN]``, ``%(pw)s``, ``!vault``: filled
    in elsewhere."""
    return _TEMPLATE_RE.search(value) is not None


_DOTTED_NAME_RE = re.compile(r"[A-Za-z_$][A-Za-z_]*[0-9]{0,2}(?:\.[A-Za-z_][A-Za-z_]*[0-9]{0,2}){1,8}")
_BARE_NAME_RE = re.compile(r"\$?[A-Za-z_][A-Za-z_]{0,80}")


def is_code_reference(value: str) -> bool:
    """An unquoted right-hand side that is code: ``os.environ[...]``, ``get_token()``, ``settings.KEY``."""
    if "(" in value or "[" in value:
        return True
    # A bare identifier without digits (DEFAULT_TOKEN, db_password) names a variable, not a literal.
    return _DOTTED_NAME_RE.fullmatch(value) is not None or _BARE_NAME_RE.fullmatch(value) is not None


def is_masked(value: str) -> bool:
    """``********``, ``xxxx-xxxx``, ``••••``, ``sk-abc...``: a value shown hidden or elided."""
    if not value.strip(".…") or value.endswith(("...", "…")):
        return True
    return sum(map(value.count, "*•●·xX#")) * 2 >= len(value)


def is_low_variety(value: str) -> bool:
    """``aaaaaaaa``, ``abababab``, ``00000000``: too few distinct characters for anything random."""
    distinct = len(set(value))
    return distinct <= 3 or (len(value) >= 16 and distinct < 6)


def _sequence_pairs() -> frozenset[tuple[str, str]]:
    runs = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl", "zxcvbnm", "90", "9a")
    pairs = {(a, b) for run in runs for a, b in pairwise(run)}
    return frozenset(pairs | {(b, a) for a, b in pairs})


_SEQUENCE_PAIRS = _sequence_pairs()
_NON_ALNUM = re.compile(r"[^a-z0-9]")


def is_sequential(value: str) -> bool:
    """``abcdefgh``, ``12345678``, ``0123456789abcdef``, ``qwertyuiop``: counting, not randomness."""
    chars = _NON_ALNUM.sub("", value[:64].lower())
    if len(chars) < 6:
        return False
    steps = sum(map(_SEQUENCE_PAIRS.__contains__, pairwise(chars)))
    return steps >= 0.7 * (len(chars) - 1)


# Matched against lower-cased text: re.IGNORECASE is several times slower on alternations.
_PLACEHOLDER_RE = re.compile(
    r"example|placeholder|change[_-]?me|redacted|dummy|sample|your|xxxx|fake|replace|insert|passw(?:or)?d"
    r"|secret|token|api[_-]?key|todo|fixme|lorem|foobar")
_PLACEHOLDER_WORDS = frozenset({
    "here", "my", "key", "test", "demo", "none", "null", "nil", "undefined", "string", "str", "value",
    "enter", "put", "hidden", "mask", "masked", "foo", "bar", "baz", "abc", "pass", "pwd", "tbd", "na", "n",
    "a", "required",
})


# Documentation's stock passwords, also in leetspeak (P@ssw0rd, Adm1n123!), but only as the whole value.
_UNLEET = str.maketrans("@0134$57", "aoieasst")
_STOCK_PASSWORD_RE = re.compile(r"password|passwd|pass|secret|changeme|letmein|admin|root|qwerty|default")


def is_placeholder_text(value: str) -> bool:
    """``YOUR_TOKEN_HERE``, ``changeme``, ``example-key``, ``P@ssw0rd``: words that ask to be filled in."""
    low = value.lower()
    if _PLACEHOLDER_RE.search(low):
        return True
    core = low.rstrip("0123456789!#$%^&*._-")  # "Adm1n123!" -> "adm1n" -> "admin"
    if len(low) - len(core) <= 6 and _STOCK_PASSWORD_RE.fullmatch(core.translate(_UNLEET)):
        return True
    seen = False
    for word in _WORDS_RE.findall(value):  # every word a filler word: "my_key_here", "test1234", "n/a"
        if not word.isdigit():
            if word.lower() not in _PLACEHOLDER_WORDS:
                return False
            seen = True
    return seen


_BODY_PLACEHOLDER_RE = re.compile(
    r"example|placeholder|changeme|redacted|dummy|sample|your|xxxx|fake|insert|replace")


def is_placeholder_body(body: str) -> bool:
    """A provider-prefixed token whose body is masked, repetitive, counting, or says "your…here"."""
    return (is_masked(body) or is_low_variety(body) or is_sequential(body)
            or _BODY_PLACEHOLDER_RE.search(body.lower()) is not None)


_URLISH_RE = re.compile(r"^(?:[a-z][a-z0-9+.-]{1,20}://|www\.|/|~/|\./|\.\./|[a-z]:\\)"
                        r"|\.(?:pem|key|json|ya?ml|txt|env|crt|p12|pfx|ini|cfg|conf|toml)$"
                        r"|/[^/]{1,80}\.[a-z]{2,4}$", re.IGNORECASE)


def is_url_or_path(value: str) -> bool:
    """``https://…/token``, ``/run/secrets/db``, ``./key.pem``, ``uploads/x.pdf``: where something lives."""
    return _URLISH_RE.search(value) is not None


_PUBLIC_PREFIXES = ("pk_live_", "pk_test_", "ssh-rsa ", "ssh-ed25519 ", "ecdsa-sha2-", "ssh-dss ",
                    "-----BEGIN", "sha256:", "sha512-", "sha384-", "sha1-", "md5:")
_ADDRESS_RE = re.compile(r"0x[0-9a-fA-F]{40}")


_OBJECT_ID_RE = re.compile(r"(?:tok|pm|cus|ch|src|card|acct|price|prod|sub|evt|req|txn|po|seti|pi|in)_"
                           r"[A-Za-z0-9]{8,40}")


def is_object_id(value: str) -> bool:
    """Stripe-style object ids (``tok_…``, ``cus_…``, ``pm_…``): references to records, not credentials."""
    return _OBJECT_ID_RE.fullmatch(value) is not None


def is_public_or_digest(value: str) -> bool:
    """Publishable keys, public SSH keys, PEM text (its own rule's business), digests, 0x… addresses."""
    return value.startswith(_PUBLIC_PREFIXES) or _ADDRESS_RE.fullmatch(value) is not None


def is_word_like(value: str) -> bool:
    """``user_service_v2``, ``Required``, ``my-app-client``: mostly pronounceable words, not random."""
    wordy = 0
    for word in _WORDISH_RE.findall(value):
        if 0.25 <= _vowels(word) / len(word) <= 0.7:
            wordy += len(word)
    return wordy >= 0.6 * len(value)


def is_shouted_word(body: str) -> bool:
    """An AWS-shaped id with no digit that reads as capitals (``ASIANFOODMARKETPLACE``)."""
    return not _HAS_DIGIT(body) and _vowels(body) >= 0.3 * len(body)


def lacks_randomness(value: str, kind: str) -> bool:
    """Too short, too few character classes or too little entropy for a ``kind`` secret.

    Passwords are short and human-made: 6 characters and two character classes suffice. Token-like values
    need 10 characters and >= 3.0 bits/char (3.3 from 20 characters), which random base16/base62/base64
    strings exceed and identifiers, words and dates do not.
    """
    return _entropy_if_random(value, kind) is None


def _entropy_if_random(value: str, kind: str) -> float | None:
    n = len(value)
    if n < (6 if kind == "password" else 10) or char_classes(value) < 2:
        return None
    entropy = shannon_entropy(value)
    floor = 2.3 if kind == "password" else 3.3 if n >= 20 else 3.0
    return entropy if entropy >= floor else None


def is_credible_value(value: str, kind: str, *, quoted: bool) -> bool:
    """True when ``value``, assigned to a ``kind`` name, passes every false-positive rule."""
    return credible_entropy(value, kind, quoted=quoted) is not None


def credible_entropy(value: str, kind: str, *, quoted: bool) -> float | None:
    """The entropy of ``value`` when it passes every false-positive rule, else None (cheap rules first)."""
    entropy = _entropy_if_random(value, kind)
    if (entropy is None or (not quoted and is_code_reference(value)) or is_masked(value)
            or is_low_variety(value) or is_public_or_digest(value) or is_object_id(value)
            or is_url_or_path(value)
            or is_template_reference(value) or is_sequential(value) or is_placeholder_text(value)):
        return None
    # Human passwords are often words plus a digit or symbol ("Welcome1!"); only bare words are excused.
    if is_word_like(value) and not (kind == "password" and (_HAS_DIGIT(value) or _HAS_SYMBOL(value))):
        return None
    return entropy


# --- credential-like names ---------------------------------------------------------------------------------

_PASSWORD_WORDS = frozenset({
    "password", "passwords", "passwd", "pwd", "pw", "pass", "passphrase", "passcode", "passwort", "kennwort",
    "contrase", "senha", "passe", "motdepasse",
})
_TOKEN_WORDS = frozenset({
    "secret", "secrets", "token", "apikey", "credential", "credentials", "creds", "cred", "auth",
    "authorization", "bearer", "pat",
})
_PASSWORD_ENDINGS = ("password", "passwd", "pass")  # dbpass, requirepass, masterpassword
_PASS_WORDS = frozenset({"bypass", "compass", "surpass", "overpass", "underpass", "trespass", "encompass"})
_TOKEN_ENDINGS = ("secret", "token", "apikey")
_KEY_QUALIFIERS = frozenset({
    "api", "access", "secret", "private", "auth", "master", "signing", "encryption", "client", "session",
    "app", "service", "admin", "shared", "webhook", "hmac", "consumer", "license", "account", "sas",
    "subscription", "priv", "db",
})
# "<word> key" is a credential unless the word makes it a data-structure, UI or public key.
_NON_SECRET_KEY_WORDS = frozenset({
    "public", "publishable", "pub", "primary", "foreign", "sort", "partition", "cache", "idempotency",
    "lookup", "map", "dict", "row", "object", "unique", "composite", "hot", "shortcut", "routing", "dedup",
    "dedupe", "group", "join", "index", "record", "item", "message", "cursor", "page", "order", "tag",
    "label", "name", "field", "column", "attribute", "attr", "property", "prop", "entry", "config", "setting",
    "translation", "locale", "lang", "registry", "bucket", "redis", "react", "list", "version", "meta",
    "query", "param", "event", "state", "instance", "keyboard", "music", "answer", "the", "a", "one",
    "natural", "surrogate", "hash", "range", "s3",
})
# A name ending in one of these describes a credential (its url, type, length …) rather than holding it.
_NON_SECRET_LAST = frozenset({
    "id", "ids", "url", "uri", "urls", "endpoint", "host", "hostname", "type", "kind", "name", "names",
    "file", "filename", "filepath", "path", "paths", "dir", "format", "length", "len", "size", "count", "min",
    "max", "limit", "ttl", "timeout", "expiry", "expires", "expire", "expiration", "lifetime", "age",
    "header", "headers", "field", "prefix", "suffix", "hint", "policy", "regex", "pattern", "enabled",
    "enable", "disabled", "required", "method", "methods", "mode", "provider", "version", "location",
    "source", "rotation", "reset", "label", "description", "help", "placeholder", "strength", "index",
    "column", "param", "usage", "validator", "validation", "input", "prompt", "error", "errors", "message",
    "msg", "title", "status", "state", "scope", "scopes", "audience", "issuer", "algorithm", "alg",
    "encoding", "ref", "arn", "hash", "digest", "checksum", "fingerprint", "rate", "budget", "used",
    "remaining", "window", "manager", "store", "storage", "env", "var", "variable", "flag", "option",
    "options", "level", "strategy", "box", "link", "button", "form", "dialog", "page", "screen", "view",
    "template", "changed", "confirmation", "reuse", "history", "salt", "rounds", "iterations", "cost",
    "encryption", "cipher", "scheme", "mechanism", "protocol", "plugin", "backend", "hasher", "complexity",
    "requirements", "rules",
})
_NON_SECRET_ANY = frozenset({
    "public", "publishable", "pub", "checksum", "digest", "fingerprint", "placeholder", "example", "sample",
    "dummy", "fake", "regex", "pattern", "tokenizer",
})


def secret_name_kind(name: str) -> str | None:
    """``"password"`` or ``"token"`` when identifier ``name`` holds a credential, else ``None``."""
    words = _words(name)
    if not words or words[-1] in _NON_SECRET_LAST or not _NON_SECRET_ANY.isdisjoint(words):
        return None
    kind: str | None = None
    prev = ""
    for w in words:
        if w in _PASSWORD_WORDS:
            return "password"
        if w in _TOKEN_WORDS:
            kind = "token"
        elif w in ("key", "keys"):
            if prev and prev not in _NON_SECRET_KEY_WORDS:
                kind = "token"
        elif len(w) > 5:  # run-together names: dbpassword, clientsecret, apikey, secretkey
            if w.endswith(_PASSWORD_ENDINGS) and w not in _PASS_WORDS:
                return "password"
            if w.endswith(_TOKEN_ENDINGS) or (w.endswith("key") and w[:-3] in _KEY_QUALIFIERS):
                kind = "token"
        prev = w
    return kind


# --- structural validators ---------------------------------------------------------------------------------


def jwt_header_is_json(segment: str) -> bool:
    """The first JWT segment must base64url-decode to a JSON object carrying ``alg``."""
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    # JSONDecodeError and UnicodeDecodeError are ValueErrors; a crafted header nested 1000 deep is a
    # RecursionError, which must not escape a detector.
    except (binascii.Error, ValueError, RecursionError):
        return False
    return isinstance(header, dict) and "alg" in header


def openai_body_is_credible(body: str) -> bool:
    """``sk-`` bodies: a known sub-prefix, the legacy ``T3BlbkFJ`` marker, or 32+ random characters."""
    if body.startswith(("proj-", "svcacct-", "admin-", "None-")) or "T3BlbkFJ" in body:
        return True
    return (len(body) >= 32 and bool(_HAS_DIGIT(body)) and bool(_HAS_LOWER(body) or _HAS_UPPER(body))
            and shannon_entropy(body) >= 3.5)


def pem_has_key_material(body: str) -> bool:
    """A key body with >= 40 base64 characters of some variety (not ``...`` or ``<your key here>``)."""
    compact = "".join(body[:_PEM_MAX].split()).replace("\\n", "").replace("\\r", "")
    head = compact[:400]
    return len(compact) >= 40 and len(set(head)) >= 16 and _BODY_PLACEHOLDER_RE.search(head.lower()) is None


def _rstrip_end(text: str, start: int, end: int) -> int:
    """``end`` moved back over trailing whitespace and escaped newlines in ``text[start:end]``."""
    piece = text[start:end].rstrip()
    while piece.endswith(("\\n", "\\r")):
        piece = piece[:-2].rstrip()
    return start + len(piece)


_PEM_LINE = re.compile(r"(?:[A-Za-z0-9+/=]|\\[nr]){1,16384}")  # base64, or JSON-escaped base64 lines
_PEM_HEADER = re.compile(r"[A-Za-z-]{1,30}: [^\r\n]{0,200}")  # Proc-Type:, DEK-Info:, Version:, Comment:


def _pem_tail(text: str, body_start: int, limit: int) -> int:
    """Where a block without an END line stops: after its last line of base64. Header lines may come first;
    prose or two blank lines end it."""
    end = pos = body_start
    lines = blanks = 0
    while pos < limit:
        nl = text.find("\n", pos, limit)
        line_end = limit if nl < 0 else nl
        raw = text[pos:line_end]
        core = raw.strip()
        if not core:
            blanks += 1
            if blanks > 1:
                break
        else:
            blanks = 0
            lead = pos + len(raw) - len(raw.lstrip())
            m = _PEM_LINE.match(core)
            # A line may stop early only where it opens the body or before words ("…AB12 (truncated)").
            if m is not None and (m.end() == len(core) or pos == body_start
                                  or (m.end() >= 16 and core[m.end()].isspace())):
                end = lead + m.end()
                if m.end() < len(core):
                    break
            elif not (lines < 6 and _PEM_HEADER.fullmatch(core)):
                break
            lines += 1
        if nl < 0:
            break
        pos = nl + 1
    return _rstrip_end(text, body_start, end)


def _pem_block(text: str, m: re.Match[str]) -> tuple[int, str]:
    """End of the PEM block opened by ``m`` (after its END line when there is one) and the body text."""
    body_start = m.end()
    limit = min(len(text), body_start + _PEM_MAX)
    marker = text.find("----", body_start, limit)
    if marker < 0:  # no END line: a pasted, truncated key
        end = _pem_tail(text, body_start, limit)
        return end, text[body_start:end]
    body = text[body_start:marker]
    j = marker + 4 + (text[marker + 4:marker + 5] == "-")
    j += text[j:j + 1] == " "
    if text.startswith("END", j):
        close = text.find("----", j, min(len(text), j + 80))
        if close >= 0:
            return close + 4 + (text[close + 4:close + 5] == "-"), body
    return _rstrip_end(text, body_start, marker), body


# --- reading names and values around a match ---------------------------------------------------------------

_IDENT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_TRAILING_PUNCT = ".,;:)]}'\""  # sentence punctuation after a bare value; "!" and "?" end many passwords
_SPACED_QUALIFIER = re.compile(r"([A-Za-z]{2,15})[ \t]$")
# "<word> key" written with a space is a credential only for these words ("API key", "AWS key"), not for
# "add key", "the key" or "primary key".
_SPACED_KEY_QUALIFIERS = _KEY_QUALIFIERS | {
    "aws", "openai", "anthropic", "stripe", "github", "gitlab", "slack", "google", "azure", "gcp", "twilio",
    "sendgrid", "mailgun", "datadog",
}


def _identifier(text: str, kw_start: int, name_end: int) -> tuple[str, int]:
    """The whole identifier around a keyword hit and where it starts, a spaced qualifier of "key" ("API
    key") included."""
    start = kw_start
    floor = max(0, kw_start - 64)
    while start > floor and text[start - 1] in _IDENT_CHARS:
        start -= 1
    name = text[start:name_end]
    if name.lower() in ("key", "keys"):
        before = _SPACED_QUALIFIER.search(text, max(0, start - 16), start)
        if before and before.group(1).lower() in _SPACED_KEY_QUALIFIERS:
            return before.group(1) + "_" + name, before.start()
    return name, start


_AWS_SECRET_VALUE = re.compile(r"[A-Za-z0-9/+]{40}")


def names_aws_secret(text: str, name_start: int, name_end: int) -> bool:
    """The name (or the words just before it) says AWS secret: ``aws_secret_access_key``,
    ``SecretAccessKey``, ``AWS Secret Access Key:``."""
    window = text[max(0, name_start - 24):name_end].lower()
    return "secret" in window and ("aws" in window or "access" in window)


def _has_scheme(text: str, sep: int) -> bool:
    """``text[:sep]`` ends in a URL scheme (``postgres``, ``git+ssh``) that starts a word."""
    start = sep
    floor = max(0, sep - 21)
    while start > floor and (text[start - 1] in _IDENT_CHARS or text[start - 1] == "+"):
        start -= 1
    starts_word = start == 0 or text[start - 1] not in _IDENT_CHARS
    return starts_word and _SCHEME.fullmatch(text, start, sep) is not None


def _read_value(text: str, start: int) -> tuple[str, int, bool, int] | None:
    """The value opening at ``start``: its text, offset, whether it was quoted, and where it ends."""
    quote = text[start]
    if quote == "\\" and text[start + 1:start + 2] in ("\"", "'"):
        start += 1
        quote = text[start]
    if quote in "\"'`":
        close = text.find(quote, start + 1, start + 302)
        if close < 0:
            return None
        raw = text[start + 1:close].rstrip("\\")
        if "\n" in raw or "\r" in raw:
            return None
        value = raw.strip()
        offset = start + 1 + len(raw) - len(raw.lstrip())
        scheme = _AUTH_SCHEME.match(value)
        if scheme:  # "Bearer <token>" inside quotes: the token is the value
            value, offset = value[scheme.end():], offset + scheme.end()
        return (value, offset, True, close) if value else None
    m = _BARE_VALUE.match(text, start)
    if m is None:
        return None
    raw = m.group()
    value = raw if raw.endswith(("...", "…")) else raw.rstrip(_TRAILING_PUNCT)  # keep an elision visible
    return (value, start, False, m.end()) if value else None


# --- the detector ------------------------------------------------------------------------------------------

_STRUCTURAL_BODIES: dict[str, Callable[[str], tuple[str, str]]] = {
    "github": lambda t: ("secret.github_token", t[11:] if t.startswith("github_pat_") else t[4:]),
    "openai": lambda t: ("secret.openai_key", t[3:]),
    "anthropic": lambda t: ("secret.anthropic_key", t.split("-", 3)[-1]),
    "slack": lambda t: ("secret.slack_token", t.rsplit("-", 1)[-1]),
    "stripe": lambda t: ("secret.stripe_key", t.split("_", 2)[-1]),
}

_Result = tuple[Finding | None, int]  # a finding or None, and the offset up to which the text was consumed


@dataclass(slots=True)
class _Memo:
    """Per-call state: identifier -> kind, (value, kind, quoted) -> score or None, the structural findings
    already made (sorted, non-nested, so their values need no entropy judgement), and where commands that
    take ``-p PASSWORD`` appear (found on first need)."""

    kinds: dict[str, str | None]
    scores: dict[tuple[str, str, bool], float | None]
    taken: list[Finding]
    commands: list[int] | None = None


class SecretsDetector:
    """Finds credentials: provider keys and tokens by their documented shapes, PEM/PuTTY private keys and
    JWTs whose header is JSON (score 1.0), and high-entropy values assigned to credential-like names or
    written into URLs as ``scheme://user:password@host`` (``secret.generic``, score 0.6-0.9)."""

    name = "secrets"
    types: tuple[str, ...] = (
        "secret.aws_access_key", "secret.github_token", "secret.openai_key", "secret.anthropic_key",
        "secret.slack_token", "secret.stripe_key", "secret.private_key", "secret.jwt", "secret.generic",
    )

    def __init__(self) -> None:
        self._cased = PatternSet(CASED_RULES)
        self._folded = PatternSet(FOLDED_RULES)

    def detect(self, text: str) -> list[Finding]:
        """Return the secret findings in ``text``; a span covers the secret value, never its name."""
        if not text:
            return []
        structural: list[Finding] = []
        generic: list[Finding] = []
        # A match that starts inside text an earlier match of the same rule already read (a BEGIN line
        # inside a key block, "password=" inside a long value) is skipped: this keeps the work linear.
        reach: dict[str, int] = {}
        for rule, m in self._cased.finditer(text):
            if m.start() >= reach.get(rule.key, 0):
                found, reach[rule.key] = self._structural(text, m, rule.key)
                if found is not None:
                    structural.append(found)
        structural = _drop_nested(structural)
        reach.clear()
        memo = _Memo({}, {}, list(structural))  # repeated names and values are judged once
        for rule, m in self._folded.finditer(fold_case(text)):
            if m.start() >= reach.get(rule.key, 0):
                found, reach[rule.key] = self._assigned(text, m, rule.key, memo)
                if found is not None:
                    (generic if found.type == "secret.generic" else structural).append(found)
        generic = _drop_overlapping(generic)  # two rules reading one value ("token: Bearer x") report it once
        if not structural:
            return generic
        structural = _drop_nested(structural)
        return structural + [g for g in generic if not _overlaps(structural, g.start, g.end)]

    def _structural(self, text: str, m: re.Match[str], key: str) -> _Result:
        if key == "private_key":
            end, body = _pem_block(text, m)
            found = Finding("secret.private_key", m.start(), end) if pem_has_key_material(body) else None
            return found, end
        if key == "putty_key":
            lines = _PUTTY_LINES.match(text, m.end() - 16)
            if lines is None or not pem_has_key_material(lines.group()):
                return None, m.end()
            return Finding("secret.private_key", lines.start(), lines.end()), lines.end()
        if key == "jwt":
            jwt = _JWT.match(text, m.start())
            if jwt is None:
                return None, m.end()
            ok = jwt_header_is_json(jwt.group().partition(".")[0])
            return (Finding("secret.jwt", jwt.start(), jwt.end()) if ok else None), jwt.end()
        token = m.group()
        if key == "slack_webhook":
            start = m.start()
            for scheme in ("https://", "http://"):
                if text.startswith(scheme, start - len(scheme)):
                    start -= len(scheme)
                    break
            if is_placeholder_body(token.rsplit("/", 1)[-1]):
                return None, m.end()
            return Finding("secret.slack_token", start, m.end(), STRUCTURAL_SCORE), m.end()
        if key == "aws_key_id":
            body = token[4:]
            # No placeholder-word rule here: AWS's own example keys are reported (see the top of the module).
            if is_shouted_word(body) or is_masked(body) or is_low_variety(body) or is_sequential(body):
                return None, m.end()
            return Finding("secret.aws_access_key", m.start(), m.end(), STRUCTURAL_SCORE), m.end()
        ftype, body = _STRUCTURAL_BODIES[key.partition(":")[0]](token)
        if is_placeholder_body(body) or (key == "openai" and not openai_body_is_credible(body)):
            return None, m.end()
        return Finding(ftype, m.start(), m.end(), STRUCTURAL_SCORE), m.end()

    def _assigned(self, text: str, m: re.Match[str], key: str, memo: _Memo) -> _Result:
        """A folded-text match ``m`` judged on the original ``text``, where every value is read."""
        family = key.partition(":")[0]
        if family in ("url_credentials", "user_flag", "p_flag"):
            if family == "p_flag" and not _p_means_password(text, m.start(), memo):
                return None, m.end()
            score = _judge(text[m.start(1):m.end(1)], "password", True, memo)
            if score is None or (family == "url_credentials" and not _has_scheme(text, m.start())):
                return None, m.end()
            return Finding("secret.generic", m.start(1), m.end(1), score), m.end()
        if family == "generic_flag":
            name, name_start = text[m.start(1):m.end(1)], m.start(1)
        else:
            name, name_start = _identifier(text, m.start(1), m.end(1))
        if name not in memo.kinds:
            memo.kinds[name] = secret_name_kind(name)
        kind = memo.kinds[name]
        got = None if kind is None else _read_value(text, m.start(m.lastindex or 0))
        if kind is None or got is None:
            return None, m.end()
        value, start, quoted, end = got
        if _overlaps(memo.taken, start, start + len(value)):  # "OPENAI_API_KEY=sk-…": already a finding
            return None, end
        if _AWS_SECRET_VALUE.fullmatch(value) and names_aws_secret(text, name_start, m.end(1)):
            # An AWS secret access key has no prefix of its own: its name is what identifies it. Only
            # masks are excused here, so that AWS's documented example key is reported like the key id.
            if is_masked(value) or is_low_variety(value) or is_sequential(value) or char_classes(value) < 2:
                return None, end
            return Finding("secret.aws_access_key", start, start + len(value), STRUCTURAL_SCORE), end
        if family == "generic_spaced" and m.group(2) is None:  # no operator at all: token-grade values only
            kind = "token"
        score = _judge(value, kind, quoted, memo)
        return (None if score is None else Finding("secret.generic", start, start + len(value), score)), end


_P_FLAG_COMMANDS = re.compile(r"sshpass|login|mysql", re.IGNORECASE)


def _p_means_password(text: str, at: int, memo: _Memo) -> bool:
    """``-p`` at ``at`` follows sshpass, mysql… or a ``login`` command earlier on its line (within 120
    characters); elsewhere -p is a port, a path or a parent flag. Command positions are found once."""
    if memo.commands is None:
        memo.commands = [m.start() for m in _P_FLAG_COMMANDS.finditer(text)]
    i = bisect_left(memo.commands, at) - 1
    return i >= 0 and at - memo.commands[i] <= 120 and "\n" not in text[memo.commands[i]:at]


def _judge(value: str, kind: str, quoted: bool, memo: _Memo) -> float | None:
    """The ``secret.generic`` score of ``value``, or None when it is not credible."""
    key = (value, kind, quoted)
    if key not in memo.scores:
        entropy = credible_entropy(value, kind, quoted=quoted)
        # An entropy-based guess never reaches the certainty of a structural match.
        memo.scores[key] = None if entropy is None else round(min(0.9, 0.35 + 0.12 * entropy), 2)
    return memo.scores[key]


def _drop_overlapping(findings: list[Finding]) -> list[Finding]:
    """Sorted by start; of findings that overlap, the one starting first (then the longer) is kept."""
    findings.sort(key=lambda f: (f.start, -f.end))
    out: list[Finding] = []
    reach = -1
    for f in findings:
        if f.start >= reach:
            out.append(f)
            reach = f.end
    return out


def _drop_nested(findings: list[Finding]) -> list[Finding]:
    """Sorted by start, keeping one finding per region (a key id inside a longer match counts once)."""
    findings.sort(key=lambda f: (f.start, -f.end))
    out: list[Finding] = []
    reach = -1
    for f in findings:
        if f.end > reach:
            out.append(f)
            reach = f.end
    return out


def _overlaps(sorted_findings: list[Finding], start: int, end: int) -> bool:
    """Whether [start, end) overlaps a finding of ``sorted_findings`` (non-nested, so ends ascend too)."""
    i = bisect_left(sorted_findings, start + 1, key=lambda x: x.end)
    return i < len(sorted_findings) and sorted_findings[i].start < end


__all__ = ["SecretsDetector"]
