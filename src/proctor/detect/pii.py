"""PII detector: validated identifiers (cards, SSN, Aadhaar, PAN, IBAN, passports), emails, phones and IPs."""

from __future__ import annotations

import ipaddress
import itertools
import operator
import re
from collections.abc import Callable, Sequence

from proctor.detect.pii_validators import (
    IBAN_LENGTHS,
    aadhaar_valid,
    card_brand,
    card_valid,
    iban_valid,
    international_phone,
    is_gtin,
    mrz_line2_valid,
    national_phone_layout,
    pan_valid,
    ssn_valid,
)
from proctor.detect.scan import PatternSet, Rule
from proctor.findings import Finding

try:  # the optional C finder of numeric candidates (setup.py); the regex below is its reference
    from proctor.detect import _digits
except ImportError:  # pragma: no cover - exercised where the extension is not built
    _digits = None  # type: ignore[assignment]

SSN, CARD, EMAIL, PHONE = "pii.ssn", "pii.credit_card", "pii.email", "pii.phone"
AADHAAR, PAN, IBAN, IP, PASSPORT = "pii.aadhaar", "pii.pan", "pii.iban", "pii.ip_address", "pii.passport"

# When spans overlap, the more specific (checksum-backed) type wins: a card inside an IBAN is part of it.
_PRIORITY = {IBAN: 9, CARD: 8, AADHAAR: 7, SSN: 6, PASSPORT: 5, IP: 4, EMAIL: 4, PAN: 3, PHONE: 1}

# -- patterns ----------------------------------------------------------------------------------------
# Every pattern starts with a literal or a small class so `re` can skip ahead fast, and every repetition is
# bounded with disjoint classes on either side of each separator, so matching stays linear. The prefilter
# widens counted repeats above 2 ({6} -> {2,}, see scan.prefilter_pattern), so the parts that make a
# pattern rare in prose (seven digits, three dots, eight hex groups) are written out instead of counted.
_SEP = "[ \u00a0\u2013./()\\-]"  # the characters themselves: Hyperscan rejects "\\u" escapes
_NUM = (
    # One leading digit first: `re` then skips ahead with a fast class scan instead of trying each branch.
    r"[0-9](?:[0-9]{0,2}" + r"\.[0-9]{1,3}" * 3 + r"(?!\.?[0-9])"  # dotted quad: IPv4 or a version
    + f"|{f'{_SEP}{{0,2}}[0-9]' * 6}(?:{_SEP}{{0,2}}[0-9]){{0,150}})"  # >= 7 digits: phone/card/SSN/Aadhaar
)
_HEX = "[0-9A-Fa-f]"
_PASSPORT_WORD = (
    r"[PpRr](?i:assports?|eisepass(?:es|nummer)?|asseports?|asaportes?|assaport[oie]s?|aspoort|ass-?n(?:r|ummer))"
)
_PASSPORT_FILLER = (
    r"n|no|nr|num|number|nummer|numero|número|numéro|n°|nº|id|is|was|ist|est|es|è|de|del|du|der|des|of|my"
)
_PASSPORT_SEP = r"[\s:#.,\-/()]"
# The passport rules' explicit prefilter (see scan.Rule): just the passport word, in ASCII so the database
# builds without UCP. Under (?i) Python also matches "ſ" for s and "İ"/"ı" for i, so those letters are ".".
_PASSPORT_PREFILTER = r"[PpRr](?i:a..port|e..epa..|a..eport|a.aport|a..aport|a.poort|a..-?n(?:r|umm))"
_RULES = (
    Rule("num", _NUM),
    # The domain must end in a real TLD (2+ letters, or punycode), so "a@a.a@a.…" never reaches Python.
    Rule(
        "email",
        r"@(?<=[\w.%+\-]@)[A-Za-z0-9][A-Za-z0-9\-]{0,62}(?:\.[A-Za-z0-9\-]{1,63}){0,7}"
        r"\.(?:[A-Za-z]{2,24}|xn--[A-Za-z0-9\-]{1,59})(?![A-Za-z0-9\-])",
    ),
    # The prefilter starts at a ":" (rare in prose) rather than at any hex digit, which kept an automaton
    # busy on every letter a-f of the text.
    Rule("ipv6", rf"{_HEX}{{1,4}}" + f":{_HEX}{{1,4}}" * 7, prefilter=f":{_HEX}{{1,4}}" * 7),
    Rule("ipv6_short", r"(?<!:)::(?!:)"),
    Rule("iban", r"[A-Za-z]{2}[0-9]{2}" + r"[ \-]?[A-Za-z0-9]" * 11 + r"(?:[ \-]?[A-Za-z0-9]){0,19}"),
    Rule("pan", r"[A-Z][A-Z][A-Z][PCHFATBLJG][A-Z][0-9][0-9][0-9][0-9][A-Z]"),
    Rule(
        "passport",
        rf"{_PASSPORT_WORD}{_PASSPORT_SEP}{{0,4}}(?i:(?:(?:{_PASSPORT_FILLER})(?!\w){_PASSPORT_SEP}{{0,4}}){{0,4}})"
        r"(?=[A-Z]{0,8}[0-9])([A-Z0-9]{6,9})(?![A-Za-z0-9])",
        prefilter=_PASSPORT_PREFILTER,
    ),
    # Farther away ("the passport number of John is 123456789") only a strong passport-number shape counts.
    Rule(
        "passport",
        rf"{_PASSPORT_WORD}(?:{_PASSPORT_SEP}{{1,4}}[^\W\d_]{{1,20}}){{1,6}}{_PASSPORT_SEP}{{1,4}}"
        # US/UK/IN "X1234567", 9 digits, FR "12AB34567", DE "C01X00T47" (its own 27-symbol alphabet)
        r"([A-Z]{1,2}[0-9]{6,8}|[0-9]{9}|[0-9]{2}[A-Z]{2}[0-9]{5}|[CFGHJKLMNPRTVWXYZ][0-9CFGHJKLMNPRTVWXYZ]{8})"
        r"(?![A-Za-z0-9])",
        prefilter=_PASSPORT_PREFILTER,
    ),
    # Unrolled, the prefilter stays exact: the automatic one widens {39} to {2,} and fires on "PDF" and
    # "PS", and merges with the other class-only rules into a database twice the size.
    Rule("mrz1", r"P[A-Z<][A-Z<]{3}[A-Z<]{39}", prefilter="P" + "[A-Z<]" * 43),
    Rule("mrz2", r"[A-Z0-9<]{9}[0-9][A-Z<]{3}[0-9]{6}[0-9][MFX<][0-9]{6}[0-9][A-Z0-9<]{14}[0-9<][0-9]"),
)

# -- context words -----------------------------------------------------------------------------------


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Compared as whole lower-cased words of the text just before a candidate, so "tel" never fires in "hotel".
_PHONE_WORDS = _wordset(
    "phone phones telephone tel tél tele telefon telefono teléfono téléphone telefone mobile mob mobil cell "
    "cellphone handy móvil movil celular cellulare portable call calls called calling ring dial text txt sms "
    "whatsapp fax contact reach hotline helpline landline voicemail message messages answering rufnummer "
    "telefonnummer anrufen appeler appelez llamar llame llámame chiamare chiamami ph tlf"
)
_ID_WORDS = _wordset(
    "order orders invoice inv ticket tracking track shipment parcel package ref reference account acct "
    "serial sku isbn issn ean upc case booking confirmation conf transaction txn receipt policy claim "
    "customer member membership patient mrn record batch lot part model version build population zip "
    "postcode pin otp amount total price qty quantity item product employee student roll registration "
    "voucher coupon license licence vin imei iccid hash port pid uuid guid timestamp epoch row page count "
    # identifiers of other kinds: "Aadhaar 0123 4567 8901" is not a phone even when it is not an Aadhaar
    "aadhaar aadhar uid ssn pan iban passport card credit debit visa mastercard amex "
    "barcode gtin ein tin itin vat gst tax "
    # measures: "call volume: 12345678"
    "volume duration minutes seconds hours size length width height weight bytes users visitors views "
    "score points rank year"
)
# Words that may sit between a label and its value: "order no. 123", "ticket number is 123", "ID: 123".
_LABEL_FILLERS = _wordset("number numbers no nr num is id code")
_VERSION_WORDS = _wordset(
    "version versions ver release releases build builds rev rv revision firmware fw patch update v "
    "kernel sdk android ios windows python node java chrome firefox oid section sections sect sec chapter "
    "chapters ch clause clauses para paragraph paragraphs article articles art figure figures fig table "
    "tables step steps item items rule rules appendix exhibit annex part parts schedule"
)
_NETWORK_WORDS = _wordset(
    "ip ips ipv4 address addresses addr host hostname server servers dns gateway subnet router ping route "
    "firewall allowlist whitelist blocklist blacklist proxy client node peer endpoint lan wan vpn nat"
)
_QUANTITY_AFTER = re.compile(
    r"\s{0,2}(?:%|percent|minutes?|mins?|seconds?|secs?|hours?|hrs?|days?|weeks?|months?|years?|people|persons?|"
    r"users?|visitors?|views?|visits?|downloads?|units?|items?|pieces?|points?|votes?|times?|records?|rows?|"
    r"bytes?|[kmgt]b|km|miles?|kg|lbs?|tons?|dollars?|euros?|rupees?|pounds?|usd|eur|inr|gbp)(?![^\W\d_])",
    re.IGNORECASE,
)
_SSN_WORDS = frozenset({"ssn", "ssns", "ss", "sozialversicherungsnummer"})
_AADHAAR_WORDS = frozenset({"aadhaar", "aadhar", "adhaar", "adhar", "uid", "uidai"})
_CARD_WORDS = _wordset("card cards credit debit visa mastercard amex cc payment pay charge billing")
_ABBREVIATIONS = _wordset("tel tél ph mob no nr num fax tlf ext nos soc sec")
_TOKEN = re.compile(r"[^\W\d_]+|[0-9]+|§|#")
# A label after the number ends its line or clause: "415-555-0132 (mobile)", "…-Office,", not "… Work share".
_PHONE_AFTER = re.compile(
    r"[ \t\-–(/:,]{0,3}(?:office|fax|mobile|cell|home|work|phone|tel|landline|direct|whatsapp|desk)"
    r"[ \t]{0,2}(?:[\n\r,;:)\].|]|\Z)",
    re.IGNORECASE,
)
_DATE_SEPARATORS = frozenset("-/.")
_ALLOWED_SEPS = frozenset(
    {" ", "\u00a0", "-", "\u2013", ".", "/", "(", ")", ") ", " (", ")-", "-(", ").", ")/"}
    | {")\u00a0", "\u00a0("}
)
# Separators that join digit groups inside one word ("415-555-0132", "(0)30"); the rest start a new word.
_JOINING_SEPS = frozenset({"-", "\u2013", ".", "/", "(", ")", ")-", "-(", ").", ")/"})
_SEP_CHARS = " \u00a0\u2013./()-"  # what _SEP allows, at most two of them between digits
_ANY_SEP = frozenset({a + b for a in _SEP_CHARS for b in ("", *_SEP_CHARS)})
_BREAKING_SEP = (_ANY_SEP - _JOINING_SEPS).__contains__  # starts a new word: holds a space, or joins nothing
_HARD_SEP = (_ANY_SEP - _ALLOWED_SEPS).__contains__  # no number uses it: ends the segment
_DIGITS_DELETED = str.maketrans("", "", "0123456789")
_MULTI_DIGIT_WORD = re.compile(r"[0-9][\-\u2013./()]{0,2}[0-9]")
_QUAD = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
_EXTENSION = re.compile(r"\s{0,2}(?:x|ext\.?|extension)\s{0,2}[0-9]{1,6}(?![0-9])", re.IGNORECASE)
_IMAGE_TLDS = frozenset({"png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "tif", "tiff", "avif"})
_LOCAL_CHARS = frozenset("._%+-")


def _words_before(text: str, i: int, width: int = 48) -> list[str]:
    """Lower-cased tokens (words, digit runs, "#", "§") in the ``width`` characters before ``i``."""
    return _TOKEN.findall(text[max(0, i - width) : i].lower())


def _label_before(text: str, i: int) -> tuple[str, bool]:
    """The word labelling the value at ``i`` ("order no. 123" -> "order"), and whether "id"/"code" came
    between them. Returns ("", ...) when a number or nothing stands in that place."""
    tokens = _words_before(text, i, 32)
    idish = False
    while tokens and (tokens[-1] in _LABEL_FILLERS or tokens[-1] == "#"):
        idish = idish or tokens[-1] in ("id", "code")
        tokens.pop()
    if not tokens or tokens[-1][0].isdigit():
        return "", idish
    return tokens[-1], idish


# -- false-positive suppression rules (each one small, named and tested) -----------------------------


def is_date_like(groups: Sequence[str], seps: Sequence[str]) -> bool:
    """Three digit groups forming a calendar date (2024-03-15, 15/03/2024, 03.15.2024, 15 03 2024).

    The three groups must stand alone: "06 12 34 56 78" is a French phone number, not a date plus digits.
    """
    for k in range(len(groups) - 2):
        sep = seps[k]
        if sep != seps[k + 1] or (sep not in _DATE_SEPARATORS and sep != " "):
            continue
        if (k > 0 and seps[k - 1] == sep) or (k + 2 < len(seps) and seps[k + 2] == sep):
            continue
        a, b, c = groups[k : k + 3]
        if len(a) == 4 and len(b) <= 2 and len(c) <= 2:
            if 1 <= int(b) <= 12 and 1 <= int(c) <= 31:
                return True
        elif len(a) <= 2 and len(b) <= 2 and len(c) in (2, 4):
            x, y = int(a), int(b)
            if 1 <= x <= 31 and 1 <= y <= 31 and min(x, y) <= 12:
                return True
    return False


def extends_uniform_grouping(neighbour: str, edge: str) -> bool:
    """A candidate whose next (or previous) digit group has the same width as its edge group is a slice of
    a longer uniform run ("tracking 7489 2010 1234 5678", a table of pairs), not a number of its own."""
    return len(neighbour) == len(edge)


def is_tail_of_alnum_token(text: str, start: int) -> bool:
    """Digits glued to letters continue a code ("IT31 7914 8776 …", "AB12 3456 …"): the digit groups that
    follow belong to it, so nothing in that run is read as a number of its own."""
    return start > 0 and text[start - 1].isalpha()


def is_id_labelled(text: str, start: int) -> bool:
    """The number directly follows an identifier label: "order #", "ticket", "invoice no.", "ISBN"."""
    label, idish = _label_before(text, start)
    return label in _ID_WORDS or idish


def is_version_or_section(text: str, start: int) -> bool:
    """A dotted quad that is a version ("version 1.2.3.4", "build 10.0.1.2") or a section ("§ 1.2.3.4",
    "sections 1.1, 2.1.3 and 2.1.4.1"): such a word shortly before, and no word about networks."""
    words = _words_before(text, start, 40)
    if _VERSION_WORDS.isdisjoint(words) and "§" not in words:
        return False
    return _NETWORK_WORDS.isdisjoint(words)


def is_quantity(text: str, end: int) -> bool:
    """A bare number followed by a unit or a count noun ("12345678 minutes", "4155550 units") is an amount."""
    return _QUANTITY_AFTER.match(text, end) is not None


def is_zero_network(octets: Sequence[str]) -> bool:
    """0.x.x.x is "this network": only 0.0.0.0 is written as an address; "0.9.8.7" is a version."""
    return octets[0] == "0" and octets != ["0", "0", "0", "0"]


def has_leading_zero_octet(octets: Sequence[str]) -> bool:
    """Zero-padded parts ("01.02.03.04") are dates or codes, never how an IPv4 address is written."""
    return any(len(o) > 1 and o[0] == "0" for o in octets)


def is_slice_syntax(text: str, start: int, candidate: str) -> bool:
    """Python/NumPy slices ("a[1::2]", "x[::3]") look like compressed IPv6."""
    if start < 2 or text[start - 1] != "[":
        return False
    before = text[start - 2]
    return (before.isalnum() or before in "_)]") and all(p.isdigit() or not p for p in candidate.split(":"))


def is_scope_operator(candidate: str) -> bool:
    """C++/Perl/Rust paths made of hex letters ("Bad::Face") are not addresses: require a decimal digit."""
    return not any(ch.isdigit() for ch in candidate)


def is_asset_name(domain: str) -> bool:
    """Retina asset names ("logo@2x.png") share the email shape."""
    return domain.rsplit(".", 1)[-1].lower() in _IMAGE_TLDS


def is_ssh_remote(text: str, local: str, end: int) -> bool:
    """"git@github.com:org/repo.git" is a repository address, not a person's mailbox."""
    return local.lower() == "git" and end < len(text) and text[end] == ":"


def is_url_userinfo(text: str, local_start: int) -> bool:
    """"https://user:token@host" is a credential in a URL (the secrets detector's concern), not an email."""
    if local_start == 0 or text[local_start - 1] != ":":
        return False
    return "://" in text[max(0, local_start - 80) : local_start]


def is_date_number(value: str) -> bool:
    """An 8-digit YYYYMMDD/DDMMYYYY value after "passport" is usually an issue or expiry date."""
    if len(value) != 8 or not value.isdigit():
        return False
    y1, m1, d1 = int(value[:4]), int(value[4:6]), int(value[6:])
    d2, m2, y2 = int(value[:2]), int(value[2:4]), int(value[4:])
    return (1900 <= y1 <= 2099 and 1 <= m1 <= 12 and 1 <= d1 <= 31) or (
        1900 <= y2 <= 2099 and 1 <= m2 <= 12 and 1 <= d2 <= 31
    )


# -- token boundaries --------------------------------------------------------------------------------


def _glued_left(text: str, i: int) -> bool:
    """The character before ``i`` continues a longer token (word, path, id "ORD-…", decimal "1.…")."""
    if i == 0:
        return False
    c = text[i - 1]
    if c.isalnum() or c in "_@/\\":
        return True
    if c == "-" or c == "\u2013":
        return i >= 2 and text[i - 2].isalnum()
    return c in ".," and i >= 2 and text[i - 2].isdigit()


def _glued_right(text: str, j: int) -> bool:
    if j >= len(text):
        return False
    c = text[j]
    if c.isalnum() or c in "_@":
        return _EXTENSION.match(text, j) is None
    return c in "-./" and j + 1 < len(text) and text[j + 1].isdigit()


# -- numeric candidates: cards, Aadhaar, SSN, phones -------------------------------------------------
# A numeric candidate ("chunk") is split into groups of digits; groups joined by spaces form words. Every
# run of up to six words is a possible number, tried longest first. Cheap gates (digit count, first digit,
# grouping) run before any checksum, and the context of a chunk is read once, so a megabyte of digit
# groups costs microseconds per group.

_MAX_WORDS = 6  # "+33 6 12 34 56 78" is the widest grouping we read as one number
_GROUP = re.compile(r"([0-9]{1,160})([^0-9]{0,3})")
_CARD_FIRST = frozenset("234568")  # plus "1800…", a legacy 15-digit JCB range


class _Chunk:
    """One numeric candidate and its surroundings; context is computed on first use, then kept."""

    __slots__ = ("_labelled", "_phone", "_words", "end", "start", "text")

    def __init__(self, text: str, start: int, end: int) -> None:
        self.text, self.start, self.end = text, start, end
        self._words: list[str] | None = None
        self._phone: bool | None = None
        self._labelled: bool | None = None

    def labelled(self) -> bool:
        if self._labelled is None:
            self._labelled = is_id_labelled(self.text, self.start)
        return self._labelled

    def words(self) -> list[str]:
        if self._words is None:
            self._words = _words_before(self.text, self.start)
        return self._words

    def phone_context(self) -> bool:
        """A phone word before the chunk, back to the start of its sentence or of the one ending right
        before it ("Call me. 4155550132"), or a line label after it ("4155550132 (mobile)")."""
        if self._phone is None:
            before = self.text[max(0, self.start - 48) : self.start].lower()
            # Cut at the last sentence break that is not right before the number and not after an
            # abbreviation: "Cell towers fell. Sales rose 4155550 units" keeps no "cell".
            stop = len(before.rstrip()) - 1
            cut = max(before.rfind(". ", 0, stop), before.rfind("! ", 0, stop), before.rfind("? ", 0, stop))
            if cut >= 0:
                word = _TOKEN.findall(before[max(0, cut - 8) : cut])
                if not word or word[-1] not in _ABBREVIATIONS:
                    before = before[cut + 2 :]
            words = _TOKEN.findall(before)
            after = _PHONE_AFTER.match(self.text, self.end) is not None
            self._phone = after or not _PHONE_WORDS.isdisjoint(words)
        return self._phone

    def ssn_context(self) -> bool:
        words = self.words()
        if not _SSN_WORDS.isdisjoint(words):
            return True
        return any(a == "social" and b == "security" for a, b in itertools.pairwise(words))

    def aadhaar_context(self) -> bool:
        if not _AADHAAR_WORDS.isdisjoint(self.words()):
            return True
        return "आधार" in self.text[max(0, self.start - 48) : self.start]  # vowel signs split \w words

    def card_context(self) -> bool:
        return not _CARD_WORDS.isdisjoint(self.words())


def _uniform(seps: Sequence[str], allowed: str) -> bool:
    return len(set(seps)) <= 1 and all(s in allowed for s in seps)


def _card(c: _Chunk, groups: list[str], seps: list[str], digits: str, labelled: bool) -> float | None:
    lens = [len(g) for g in groups]
    grouped = (
        len(lens) == 1
        or (lens[:-1] == [4] * (len(lens) - 1) and lens[-1] <= 4)
        or lens in ([4, 6, 5], [4, 6, 4])  # Amex and Diners print 4-6-5 and 4-6-4
    )
    if not grouped or not _uniform(seps, " -") or not card_valid(digits):
        return None
    short_maestro = len(digits) < 16 and card_brand(digits) == "maestro"
    if (short_maestro or is_gtin(digits)) and not c.card_context():
        return None  # short Maestro numbers are rare and collide with barcodes and ids: only when said so
    if labelled and not c.card_context():  # "order 4111…" with no word about cards or payment
        return None
    return 1.0


def _aadhaar(c: _Chunk, groups: list[str], seps: list[str], digits: str, labelled: bool) -> float | None:
    if [len(g) for g in groups] not in ([12], [4, 4, 4]) or not _uniform(seps, " -"):
        return None
    if not aadhaar_valid(digits) or (labelled and not c.aadhaar_context()):
        return None
    return 1.0


def _ssn(c: _Chunk, groups: list[str], seps: list[str], digits: str, labelled: bool) -> float | None:
    formatted = [len(g) for g in groups] == [3, 2, 4] and _uniform(seps, " -")
    if not (formatted or len(groups) == 1) or not ssn_valid(digits):
        return None
    if formatted:
        return 1.0 if c.ssn_context() else 0.9
    return 0.85 if c.ssn_context() else None  # a bare 9-digit run is an SSN only when the text says so


def _phone(
    c: _Chunk, groups: list[str], seps: list[str], digits: str, labelled: bool, plus: bool, end: int
) -> float | None:
    if is_date_like(groups, seps):
        return None
    if plus:
        return international_phone(groups, seps, plus)
    if labelled:
        return None
    if digits[:2] == "00" and digits[2] != "0" and (len(groups) > 1 or c.phone_context()):
        score = international_phone(groups, seps, plus)
        if score is not None:
            return score  # otherwise a national reading may still hold ("0011-070434" with context)
    if len(digits) >= 9 and national_phone_layout(groups, seps, digits):
        return 0.85 if c.phone_context() else 0.75
    # Anything else (bare runs, odd groupings) is a phone only when the text says so; at most one
    # single-digit group, never the last ("06-3/740 6812" is Hungarian; "1 2 3 4 5 6 7" is not a phone).
    if len(groups[-1]) < 2 or sum(len(g) < 2 for g in groups) > 1:
        return None
    if len(groups) == 2 and seps[0] == ".":  # a decimal number
        return None
    if not c.phone_context() or is_quantity(c.text, end):
        return None
    return 0.6


def _card_shapes() -> frozenset[tuple[int, ...]]:
    shapes: set[tuple[int, ...]] = {(n,) for n in range(13, 20)} | {(4, 6, 5), (4, 6, 4)}  # Amex, Diners
    for fours in (3, 4):
        shapes.update((4,) * fours + (last,) for last in range(1, 5))
    return frozenset(s for s in shapes if 13 <= sum(s) <= 19)


_CARD_SHAPES = _card_shapes() | {(12,), (4, 4, 4)}  # 12 digits: Maestro, only with a word about cards
_AADHAAR_SHAPES = frozenset({(12,), (4, 4, 4)})
_NANP_SHAPES = frozenset({(3, 3, 4), (1, 3, 3, 4)})  # "(415) 555-0132", "1 (415) 555-0132"
_FIXED_SHAPES = _CARD_SHAPES | _AADHAAR_SHAPES | _NANP_SHAPES | {(3, 2, 4), (9,), (5, 5)}


def _on_numeric(text: str, m: re.Match[str]) -> list[Finding]:
    raw = m.group()
    if _MULTI_DIGIT_WORD.search(raw) is None:
        return []  # only single digits between spaces: six words hold at most six digits
    one_word = " " not in raw and "\u00a0" not in raw
    if one_word:  # cheap exits before any bookkeeping
        if len(raw) - len(raw.translate(_DIGITS_DELETED)) > 19:
            return []  # 20+ digits ("1.1.1.1.…", a long id) hold no number we read
        if _glued_left(text, m.start()) or _glued_right(text, m.end()):
            return []  # part of a longer token: "ORD-2024-23193", "4155550132abc"
    parts = _GROUP.findall(raw)
    if one_word and not any(map(_HARD_SEP, (s for _, s in parts))):  # the common case: a single reading
        chunk = _Chunk(text, m.start(), m.end())
        plus = m.start() > 0 and text[m.start() - 1] == "+"
        found = _read(chunk, parts, m.start(), m.end(), plus, not plus, False)
        return [found] if found is not None else []
    # Bookkeeping through map/accumulate/compress keeps the per-group work in C: a megabyte of
    # "4111 4111 …" is ~200 000 groups.
    offsets = list(itertools.accumulate(map(len, itertools.chain.from_iterable(parts)), initial=m.start()))
    starts = offsets[0::2]  # where each group starts in text
    lens = list(map(operator.sub, offsets[1::2], starts))
    seps = [s for _, s in parts]
    cum = list(itertools.accumulate(lens, initial=0))  # digits before each group
    n = len(parts)
    # Words start after a space; segments end at separators no number uses ("1985. 4155550132").
    breaks = list(itertools.compress(range(1, n), map(_BREAKING_SEP, seps[:-1])))
    word_starts = [0, *breaks, n]
    hard = [k for k in breaks if seps[k - 1] not in _ALLOWED_SEPS] if any(map(_HARD_SEP, seps)) else []
    if hard:
        cuts = [0, *hard, n]
        segments = [[w for w in word_starts if a <= w <= b] for a, b in itertools.pairwise(cuts)]
    else:
        segments = [word_starts]
    if is_tail_of_alnum_token(text, m.start()):
        segments = segments[1:]
    chunk = _Chunk(text, m.start(), m.end())
    out: list[Finding] = []
    for words in segments:
        nwords = len(words) - 1
        # Only words that start a run of at least seven digits within six words can start a number.
        at = list(map(cum.__getitem__, words))
        reach = list(map(operator.sub, at[_MAX_WORDS:] + [at[-1]] * min(_MAX_WORDS, nwords), at[:nwords]))
        todo = list(itertools.compress(range(nwords), map((7).__le__, reach)))
        # A word right after a group of its own width continues a uniform run ("7489 2010 1234 5678"): it
        # starts a number only straight after a finding (see extends_uniform_grouping).
        inner = words[1:nwords]
        fresh = set(
            itertools.compress(
                range(1, nwords),
                map(operator.ne, map(lens.__getitem__, map(operator.sub, inner, itertools.repeat(1))),
                    map(lens.__getitem__, inner)),
            )
        )
        fresh.add(0)
        after = -1  # the word after the last finding
        for i in sorted(fresh.intersection(todo)):
            while after <= i < nwords:
                j = _match_at(chunk, parts, lens, cum, starts, words, i, out)
                if not j:
                    break
                after = i = j  # the word after a finding may start the next number, fresh or not
    return out


def _match_at(
    chunk: _Chunk,
    parts: list[tuple[str, str]],
    lens: list[int],
    cum: list[int],
    starts: list[int],
    words: list[int],
    i: int,
    out: list[Finding],
) -> int:
    """Try the readings that start at word ``i``, longest first; append a finding and return the next word."""
    text = chunk.text
    g0 = words[i]
    begin = starts[g0]
    if _glued_left(text, begin):
        return 0
    plus = g0 == 0 and begin > 0 and text[begin - 1] == "+"
    # Without "+", "00", a trunk "0" or a word about phones, only the fixed layouts can be read at all. The
    # phone words are looked up only when another layout comes up: cards and SSNs never need them here.
    free: bool | None = None
    nwords = len(words) - 1
    for j in range(min(nwords, i + _MAX_WORDS), i, -1):
        g1 = words[j]
        n = cum[g1] - cum[g0]
        if n < 7 or n > 19:
            continue
        if tuple(lens[g0:g1]) not in _FIXED_SHAPES:
            if free is None:
                free = plus or parts[g0][0][0] == "0" or chunk.phone_context()
            if not free:
                continue
        end = starts[g1 - 1] + lens[g1 - 1]
        # Aadhaar, SSN and national phones must not be followed by one more group of the same width
        # ("… 0130 00", "04 12 23 34 45 56"); cards may be ("4111 1111 1111 1111 0925": an expiry date).
        uniform_after = j < nwords and extends_uniform_grouping(parts[g1][0], parts[g1 - 1][0])
        found = _read(chunk, parts[g0:g1], begin, end, plus, g0 == 0 and not plus, uniform_after)
        if found is not None:
            out.append(found)
            return j
    return 0


def _read(
    chunk: _Chunk,
    parts: list[tuple[str, str]],
    begin: int,
    end: int,
    plus: bool,
    may_be_labelled: bool,
    uniform_after: bool,
) -> Finding | None:
    """The one reading of the digit groups ``parts`` (text[begin:end]) as a card, Aadhaar, SSN or phone.

    ``may_be_labelled``: the reading starts its chunk without "+", so an id label before it ("order no.")
    counts; the label is looked up only when a reading needs it.
    """
    groups = [d for d, _ in parts]
    shape = tuple(map(len, groups))
    head = groups[0]
    first = head[0]
    n = sum(shape)
    # Cheap gates first: most candidates fail on length, first digit or grouping alone.
    card = not plus and shape in _CARD_SHAPES and (first in _CARD_FIRST or head[:4] == "1800")
    aadhaar = not plus and not uniform_after and shape in _AADHAAR_SHAPES and first not in "01"
    if card and aadhaar and chunk.aadhaar_context():
        card = False  # a 12-digit number near "Aadhaar" is read as one, even if it also passes Luhn
    ssn = not plus and not uniform_after and n == 9 and first != "9" and shape in ((3, 2, 4), (9,))
    # The phone reading may look up the context: only when no other reading applies, or all of them failed.
    phone: bool | None = None
    seps = [s for _, s in parts[:-1]]
    if not (card or aadhaar or ssn) and is_date_like(groups, seps):
        return None  # what _phone refuses first
    # An id label before the chunk ("order no."), looked up only now: dates never need it.
    labelled = may_be_labelled and chunk.labelled()
    if not (card or aadhaar or ssn):
        phone = _phone_reading(chunk, shape, head, plus, labelled, uniform_after)
        if not phone:
            return None
    if _glued_right(chunk.text, end):
        return None
    digits = "".join(groups)
    kind, score = CARD, _card(chunk, groups, seps, digits, labelled) if card else None
    if score is None and aadhaar:
        kind, score = AADHAAR, _aadhaar(chunk, groups, seps, digits, labelled)
    if score is None and ssn:
        kind, score = SSN, _ssn(chunk, groups, seps, digits, labelled)
    if score is None and (phone if phone is not None else _phone_reading(chunk, shape, head, plus, labelled,
                                                                        uniform_after)):
        kind, score = PHONE, _phone(chunk, groups, seps, digits, labelled, plus, end)
    if score is None:
        return None
    text = chunk.text
    start = begin - 1 if plus or (begin > 0 and text[begin - 1] == "(") else begin
    if plus and start > 0 and text[start - 1] == "(":
        start -= 1  # "(+44) 20 7946 0958"
    return Finding(kind, start, end, score)


def _phone_reading(chunk: _Chunk, shape: tuple[int, ...], head: str, plus: bool, labelled: bool,
                   uniform_after: bool) -> bool:
    """Whether the digit groups may be read as a phone number at all (``_phone`` then decides)."""
    phone = sum(shape) <= 15 and (
        plus
        or head[:2] == "00"
        or (not labelled and (shape in _NANP_SHAPES or shape == (5, 5) or head[0] == "0"))
        or (not labelled and chunk.phone_context())
    )
    return phone and (plus or not uniform_after or chunk.phone_context())


def _on_ipv4(text: str, m: re.Match[str]) -> list[Finding]:
    octets = m.group().split(".")
    start, end = m.start(), m.end()
    if start > 0 and (text[start - 1].isalnum() or text[start - 1] in "._-"):
        return []
    if end < len(text) and (text[end].isalnum() or (text[end] in ".-" and text[end + 1 : end + 2].isdigit())):
        return []
    if max(map(int, octets)) > 255 or has_leading_zero_octet(octets) or is_zero_network(octets):
        return []
    if is_version_or_section(text, start):
        return []
    return [Finding(IP, start, end, 0.95)]


def _num_dispatch(text: str, m: re.Match[str]) -> list[Finding]:
    # Only the dotted-quad alternative can produce exactly a quad (see _NUM): route it to IPv4.
    if _QUAD.fullmatch(m.group()):
        found = _on_ipv4(text, m)
        if found or len(m.group()) < 10:
            return found
        # "+61.437.406.812": not an address, but it may be a dotted phone number.
    return _on_numeric(text, m)


# -- other handlers ----------------------------------------------------------------------------------


def _on_email(text: str, m: re.Match[str]) -> list[Finding]:
    at = m.start()
    lo = max(0, at - 64)
    i = at
    while i > lo and (text[i - 1].isalnum() or text[i - 1] in _LOCAL_CHARS or text[i - 1] == "_"):
        i -= 1
    if i == lo and lo > 0 and (text[lo - 1].isalnum() or text[lo - 1] in _LOCAL_CHARS):
        return []  # local part longer than RFC 5321 allows
    while i < at and text[i] == ".":
        i += 1
    local = text[i:at]
    if not local or local.endswith(".") or ".." in local or is_url_userinfo(text, i):
        return []
    domain = m.group()[1:]  # the pattern already ends it at a TLD: "x@mail.example.com.2024" stops at ".com"
    if any(lab[0] == "-" or lab[-1] == "-" for lab in domain.split(".")):
        return []
    end = m.end()
    if is_asset_name(domain) or is_ssh_remote(text, local, end):
        return []
    return [Finding(EMAIL, i, end, 0.95)]


def _ipv6_finding(text: str, start: int, candidate: str) -> list[Finding]:
    end = start + len(candidate)
    if start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_:."):
        return []
    if end < len(text) and (text[end].isalnum() or text[end] == "_"):
        return []
    if is_scope_operator(candidate) or is_slice_syntax(text, start, candidate):
        return []
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return []
    return [Finding(IP, start, end, 0.95)]


def _on_ipv6(text: str, m: re.Match[str]) -> list[Finding]:
    if m.end() < len(text) and text[m.end()] in ":.":
        return []  # more groups follow: longer than an address
    return _ipv6_finding(text, m.start(), m.group())


_HEX_COLON = frozenset("0123456789abcdefABCDEF:")


def _on_ipv6_short(text: str, m: re.Match[str]) -> list[Finding]:
    i, j = m.start(), m.end()
    lo, hi = max(0, i - 39), min(len(text), j + 45)
    while i > lo and text[i - 1] in _HEX_COLON:
        i -= 1
    while j < hi and (text[j] in _HEX_COLON or text[j] == "."):
        j += 1
    candidate = text[i:j].rstrip(".")
    if candidate.endswith(":") and not candidate.endswith("::"):
        candidate = candidate[:-1]
    return _ipv6_finding(text, i, candidate)


_IBAN_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}")


def _iban_at(text: str, start: int, limit: int) -> Finding | None:
    length = IBAN_LENGTHS.get(text[start : start + 2].upper())
    if length is None:
        return None
    window = text[start : min(limit, start + length + length // 4 + 2)]
    compact = window.replace(" ", "").replace("-", "")[:length]
    if len(compact) < length or not iban_valid(compact.upper()):
        return None
    # Valid: now find where it ends. One separator between groups, never two, and no longer token.
    seen, end = 0, start
    for k, ch in enumerate(window):
        if ch.isalnum():
            seen += 1
            if seen == length:
                end = start + k + 1
                break
        elif not window[k + 1 : k + 2].isalnum():
            return None
    if end < len(text) and text[end].isalnum():
        return None
    return Finding(IBAN, start, end, 1.0)


def _on_iban(text: str, m: re.Match[str]) -> list[Finding]:
    # The pattern may run on into the next words ("… 0130 00 and GB82WEST…"): try every IBAN start inside.
    out: list[Finding] = []
    pos = m.start()
    limit = min(len(text), m.end() + 34)
    while pos < m.end():
        s = _IBAN_START.search(text, pos, m.end())
        if s is None:
            break
        found = _iban_at(text, s.start(), limit)
        if found is not None:
            out.append(found)
            pos = found.end
        else:
            pos = s.start() + 1
    return out


def _on_pan(text: str, m: re.Match[str]) -> list[Finding]:
    start, end = m.start(), m.end()
    if (start > 0 and text[start - 1].isalnum()) or (end < len(text) and text[end].isalnum()):
        return []
    if not pan_valid(m.group()):
        return []
    before = text[max(0, start - 48) : start].lower()
    context = "pan" in before or "income tax" in before or "permanent account" in before
    return [Finding(PAN, start, end, 1.0 if context else 0.9)]


def _on_passport(text: str, m: re.Match[str]) -> list[Finding]:
    if m.start() > 0 and text[m.start() - 1].isalpha():
        return []  # "...passport" glued inside a longer word
    number = m.group(1)
    start = m.start(1)
    if text[start - 1].isalnum() or sum(ch.isdigit() for ch in number) < 2 or is_date_number(number):
        return []
    if is_quantity(text, m.end(1)):
        return []  # "passport office served 123456789 people"
    return [Finding(PASSPORT, start, m.end(1), 0.8)]


def _mrz_bounded(text: str, m: re.Match[str]) -> bool:
    start, end = m.start(), m.end()
    outside = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"
    return not (start > 0 and text[start - 1] in outside) and not (end < len(text) and text[end] in outside)


def _on_mrz1(text: str, m: re.Match[str]) -> list[Finding]:
    if not _mrz_bounded(text, m) or "<<" not in m.group()[5:]:
        return []
    return [Finding(PASSPORT, m.start(), m.end(), 0.9)]


def _on_mrz2(text: str, m: re.Match[str]) -> list[Finding]:
    if not _mrz_bounded(text, m) or not mrz_line2_valid(m.group()):
        return []
    return [Finding(PASSPORT, m.start(), m.end(), 1.0)]


_HANDLERS: dict[str, Callable[[str, re.Match[str]], list[Finding]]] = {
    "num": _num_dispatch,
    "email": _on_email,
    "ipv6": _on_ipv6,
    "ipv6_short": _on_ipv6_short,
    "iban": _on_iban,
    "pan": _on_pan,
    "passport": _on_passport,
    "mrz1": _on_mrz1,
    "mrz2": _on_mrz2,
}


def _resolve_overlaps(found: list[Finding]) -> list[Finding]:
    """Keep non-overlapping findings, preferring the higher-priority type (then the longer span).

    Kept spans never overlap, so a new span (sorted by start) can only clash with the last one kept.
    """
    found.sort(key=lambda f: (f.start, -f.end))
    kept: list[Finding] = []
    for f in found:
        if kept and kept[-1].end > f.start:
            if _PRIORITY[f.type] > _PRIORITY[kept[-1].type]:
                kept[-1] = f
            continue
        kept.append(f)
    return kept


class PiiDetector:
    """Finds personal data; checksum-validated identifiers score 1.0, context-dependent ones less."""

    name = "pii"
    types: tuple[str, ...] = (SSN, CARD, EMAIL, PHONE, AADHAAR, PAN, IBAN, IP, PASSPORT)

    def __init__(self) -> None:
        # With the C finder the numbers need no prefilter: it is exact, and as fast as the scan that would
        # gate it (the "num" rule was a third of this set's scan time).
        self._patterns = PatternSet(_RULES if _digits is None else _RULES[1:])

    def detect(self, text: str) -> list[Finding]:
        """Return the PII findings in ``text`` (character spans, non-overlapping, sorted by start)."""
        found: list[Finding] = []
        if _digits is not None:
            # The regex's spans in one pass; each is matched again in place (one attempt at a known start)
            # for the handler's Match object.
            match = _NUM_RE.match
            for start, _end in _digits.num_spans(text):
                m = match(text, start)
                if m is not None:  # always: the spans are the regex's own
                    found.extend(_num_dispatch(text, m))
        for rule, m in self._patterns.finditer(text):
            found.extend(_HANDLERS[rule.key](text, m))
        return _resolve_overlaps(found) if found else found


assert _RULES[0].key == "num"  # PiiDetector leaves it out of the prefilter when the C finder is built
_NUM_RE = re.compile(_NUM)
