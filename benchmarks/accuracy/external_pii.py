"""External PII set: sentences built at run time with presidio-evaluator's generator data and Faker.

presidio-evaluator's ``PresidioSentenceFaker`` needs spaCy, pandas and transformers just to import, so this
module re-implements its sampling loop (``RecordGenerator``) on the package's own data files instead:
its ``templates.txt`` sentence templates, its ``FakeNameGenerator.com_3000.csv`` person records (phone
numbers and e-mails come from there, as in presidio), its ``PhoneNumberProviderNew`` phone formats (read
from its source with ``ast``) and Faker for everything else. Install with
``pip install --no-deps presidio-evaluator faker``. Nothing is copied into the repository.

Labels map presidio entity types to ours (``CREDIT_CARD`` -> ``pii.credit_card``, ``US_SSN`` -> ``pii.ssn``,
``IBAN_CODE`` -> ``pii.iban``, ``EMAIL_ADDRESS``, ``PHONE_NUMBER``, ``IP_ADDRESS``). Generated identifiers
are labelled positive only when they pass the real check (Luhn, MOD-97, SSA area/group/serial, Verhoeff):
an identifier that fails its checksum is not one, and the detector is right to leave it alone.

presidio-evaluator ships no template for passports, Aadhaar or PAN, so a small supplement (``SUPPLEMENT``,
sentence frames written here, values from Faker's ``en_US`` passport and ``en_IN`` Aadhaar/PAN providers)
covers those; it is reported under the same types.

Run ``python -m benchmarks.accuracy.external_pii`` for per-type precision and recall.
"""

from __future__ import annotations

import ast
import csv
import importlib.util
import random
import re
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

Sample = tuple[str, frozenset[str]]

SEED = 42
N_SENTENCES = 800  # random template draws, as PresidioSentenceFaker.generate_new_fake_sentences(800)
N_PER_ENTITY = 60  # extra draws from the templates holding each of our entities (SSN has only 2 of 209)
LOWER_CASE_RATIO = 0.05  # presidio's default share of fully lower-cased sentences

ENTITY_TYPES = {  # template placeholder -> our finding type
    "credit_card_number": "pii.credit_card",
    "credit_card": "pii.credit_card",
    "iban": "pii.iban",
    "ssn": "pii.ssn",
    "email": "pii.email",
    "phone_number": "pii.phone",
    "ip_address": "pii.ip_address",
}
_TOKEN = re.compile(r"\{\{\s*([a-zA-Z_]+)\s*\}\}")

# Supplementary frames (ours) for the types presidio-evaluator has no template for.
SUPPLEMENT: dict[str, tuple[str, ...]] = {
    "passport": (
        "My passport number is {}.",
        "Passport: {}",
        "I lost my passport ({}) in Rome, what should I do?",
        "Please update passport no. {} on my booking.",
        "US passport {} expires next year",
        "Traveller details - passport number {}, nationality USA",
    ),
    "aadhaar": (
        "My Aadhaar number is {}",
        "Aadhaar: {}",
        "Link Aadhaar {} with my bank account please",
        "KYC failed for aadhaar {}",
        "UID {} belongs to my father",
    ),
    "pan": (
        "My PAN is {}",
        "PAN card number: {}",
        "Please update PAN {} for TDS",
        "Is {} a valid PAN?",
        "vendor PAN {} missing in invoice",
    ),
}


def _package_dir() -> Path:
    spec = importlib.util.find_spec("presidio_evaluator")  # locate without importing (it imports spaCy)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "presidio-evaluator is not installed; install it with: "
            "pip install --no-deps presidio-evaluator faker"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data_generator"


def _faker(locale: str) -> Any:
    try:
        from faker import Faker
    except ImportError as exc:
        raise ImportError("faker is not installed; install it with: pip install faker") from exc
    return Faker(locale)


def _phone_formats(source: Path) -> list[str]:
    """``PhoneNumberProviderNew.formats`` from presidio-evaluator's providers.py, without importing it."""
    tree = ast.parse(source.read_text("utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "PhoneNumberProviderNew":
            for stmt in node.body:
                if isinstance(stmt, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "formats" for t in stmt.targets
                ):
                    return list(ast.literal_eval(stmt.value))
    raise ImportError(f"{source}: PhoneNumberProviderNew.formats not found (presidio-evaluator changed?)")


def _records(path: Path, rng: random.Random) -> list[dict[str, str]]:
    """The person records, renamed as presidio's load_fake_person_df does (minus its credit-card column)."""
    rename = {
        "CountryFull": "country", "Country": "country_code", "NameSet": "nationality",
        "StreetAddress": "street_name", "StateFull": "state", "State": "state_abbr",
        "GivenName": "first_name", "Surname": "last_name", "Title": "prefix", "EmailAddress": "email",
        "TelephoneNumber": "phone_number", "Birthday": "date_of_birth", "Occupation": "job",
        "ZipCode": "zipcode", "City": "city", "Company": "organization", "MiddleInitial": "middle_initial",
        "Gender": "gender", "Age": "age",
    }
    out = []
    with path.open(encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            rec = {new: row[old] for old, new in rename.items() if row.get(old)}
            if rng.random() > 0.2:
                rec["person"] = f"{rec['first_name']} {rec['last_name']}"
            else:
                rec["person"] = f"{rec['first_name']} {rec['middle_initial']}. {rec['last_name']}"
            rec["name"] = rec["person"]
            gender = rec.get("gender", "")
            for field in ("first_name", "last_name", "prefix"):
                rec[f"{field}_{gender}"] = rec.get(field, "")
            out.append(rec)
    return out


# -- independent checks deciding which generated identifiers are real positives -------------------------


def _luhn(d: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(d)):
        v = int(ch) * (2 if i % 2 else 1)
        total += v - 9 if v > 9 else v
    return total % 10 == 0


def _iban_ok(s: str) -> bool:
    s = s.replace(" ", "").upper()
    return int("".join(str(int(c, 36)) for c in s[4:] + s[:4])) % 97 == 1


def _ssn_ok(s: str) -> bool:
    d = s.replace("-", "").replace(" ", "")
    return (len(d) == 9 and d.isdigit() and d[:3] not in ("000", "666") and d[0] != "9"
            and d[3:5] != "00" and d[5:] != "0000")


def _verhoeff(d: str) -> bool:
    mult = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
            [3, 4, 0, 1, 2, 8, 9, 5, 6, 7], [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
            [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3], [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
            [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]]
    perm = [list(range(10))]
    step = [1, 5, 7, 6, 2, 8, 3, 0, 9, 4]
    for _ in range(7):
        perm.append([step[x] for x in perm[-1]])
    c = 0
    for i, ch in enumerate(reversed(d)):
        c = mult[c][perm[i % 8][int(ch)]]
    return c == 0


def _verhoeff_fix(body: str) -> str:
    return next(body + d for d in "0123456789" if _verhoeff(body + d))


_VALID: dict[str, Callable[[str], bool]] = {
    "pii.credit_card": lambda v: _luhn(re.sub(r"\D", "", v)),
    "pii.iban": _iban_ok,
    "pii.ssn": _ssn_ok,
}


def load() -> list[Sample]:
    """presidio-evaluator template sentences (plus the passport/Aadhaar/PAN supplement), labelled."""
    samples, _ = _generate()
    return samples


def _generate() -> tuple[list[Sample], Counter[str]]:
    base = _package_dir()
    lines = (base / "raw_data" / "templates.txt").read_text("utf-8").splitlines()
    templates = [line.strip() for line in lines if line.strip()]
    formats = _phone_formats(base / "faker_extensions" / "providers.py")
    rng = random.Random(SEED)
    records = _records(base / "raw_data" / "FakeNameGenerator.com_3000.csv", rng)
    fake = _faker("en_US")
    fake.seed_instance(SEED)
    aliases = {"person": "name", "credit_card": "credit_card_number", "birthday": "date_of_birth",
               "organization": "company", "nationality": "country", "nation_woman": "country",
               "nation_man": "country", "nation_plural": "country", "us_driver_license": "license_plate"}
    stats: Counter[str] = Counter()

    def provide(name: str) -> str:
        if name == "phone_number":
            return str(fake.numerify(rng.choice(formats)))
        if name == "ip_address":  # presidio's IpAddressProvider: 80 % IPv4, 20 % IPv6
            return str(fake.ipv4() if rng.random() < 0.8 else fake.ipv6())
        if name == "age":
            return str(rng.randint(1, 99))
        if name in ("date_time", "date_of_birth", "birthday"):  # Faker's defaults move with today's date
            return str(fake.date_time_between(start_date=datetime(1950, 1, 1), end_date=datetime(2024, 1, 1)))
        method = getattr(fake, aliases.get(name, name), None)
        return str(method()) if callable(method) else fake.word()

    draws = [rng.choice(templates) for _ in range(N_SENTENCES)]
    for name in ("credit_card_number", "iban", "ssn", "email", "phone_number", "ip_address"):
        holding = [t for t in templates if "{{" + name + "}}" in t]
        draws.extend(rng.choice(holding) for _ in range(N_PER_ENTITY))
    out: list[Sample] = []
    for template in draws:
        template = template.replace("\\n", "\n")
        template = template.replace("<", "{{").replace(">", "}}")  # presidio's _preprocess_template
        record = dict(rng.choice(records))
        pieces: list[str] = []
        types: set[str] = set()
        pos = 0
        for m in _TOKEN.finditer(template):
            name = m.group(1).lower()
            value = record.pop(name, "") or provide(name)
            pieces.append(template[pos : m.start()])
            pieces.append(value)
            pos = m.end()
            kind = ENTITY_TYPES.get(name)
            if kind:
                stats[f"{kind} generated"] += 1
                if kind in _VALID and not _VALID[kind](value):
                    stats[f"{kind} dropped: fails checksum"] += 1
                    continue
                types.add(kind)
        pieces.append(template[pos:])
        text = "".join(pieces)
        if rng.random() < LOWER_CASE_RATIO:
            text = text.lower()
        out.append((text, frozenset(types)))

    india = _faker("en_IN")
    india.seed_instance(SEED)
    for kind, frames in SUPPLEMENT.items():
        for _ in range(40):
            if kind == "passport":
                value, label = str(fake.passport_number()), "pii.passport"
            elif kind == "aadhaar":
                # Faker's aadhaar_id() appends a Luhn digit, not UIDAI's Verhoeff digit: use both its raw
                # values (mostly invalid: benign samples) and the same digits with the Verhoeff digit fixed.
                value, label = str(india.aadhaar_id()), "pii.aadhaar"
                if rng.random() < 0.5:
                    value = _verhoeff_fix(value[:11])
                    stats["pii.aadhaar check digit recomputed"] += 1
                if rng.random() < 0.5:
                    value = " ".join(value[i : i + 4] for i in range(0, 12, 4))
            else:
                value, label = str(india.pan()), "pii.pan"
            stats[f"{label} generated"] += 1
            digits = value.replace(" ", "")
            valid = label != "pii.aadhaar" or (digits[0] not in "01" and _verhoeff(digits))
            if not valid:
                stats[f"{label} dropped: fails checksum or first digit"] += 1
            out.append((rng.choice(frames).format(value), frozenset({label}) if valid else frozenset()))
    return out, stats


def main() -> int:
    from benchmarks.accuracy import evaluate, to_markdown
    from proctor.detect.pii import PiiDetector

    samples, stats = _generate()
    for key in sorted(stats):
        print(f"{key}: {stats[key]}")
    report = evaluate("external_pii: presidio-evaluator templates + Faker", samples, [PiiDetector()],
                      only=("pii.",))
    print(to_markdown(report))
    for t, c in sorted(report.per_type.items()):
        for ex in c.fn_examples:
            print(f"  MISS {t}: {ex!r}")
        for ex in c.fp_examples:
            print(f"  FP   {t}: {ex!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
