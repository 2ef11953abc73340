"""Train the prompt-injection classifier and write ``src/proctor/detect/models/injection.json``.

Training-only requirements (the runtime needs neither)::

    .venv/bin/pip install scikit-learn
    .venv/bin/pip install --no-deps pyrit      # MIT; its data files are read here, never copied into the repo

Data: pyrit's jailbreak templates (``pyrit/datasets/jailbreak/templates``), filled with harmful requests
from pyrit's AdvBench copy and with harmless tasks; as non-injection text, pyrit's model responses and the
evaluation requests no rule fires on (``scorer_evals``, weighted x6 as the most realistic text) and the
AdvBench requests themselves; the hand-written and templated text of ``scripts/injection_data.py``.
Features: word unigrams (minus stop words) and the ``--bigrams`` strongest bigrams of a first fit on all of
them (then refit, and weights below ``--min-weight`` dropped: a small model is faster to score and as
accurate held out), counted once per 48-token chunk, on windows of two chunks, exactly as
``proctor.detect.injection_model`` scores them. One in five templates (by a hash of its
path) is held out, as is one in five texts of every other source; the threshold is the lowest probability
that keeps the false-positive rate of every held-out benign group at most ``--max-fpr``, and the held-out
metrics (classifier alone, rules alone, rules + classifier) are written into the model's metadata.
pyrit's garak system-prompt-extraction prompts are never trained on and are reported separately. The run
is deterministic (fixed seeds); it takes a few minutes on two cores.

Usage: ``python scripts/train_injection.py [--out PATH] [--c 1.0] [--bigrams 2000] [--min-weight 0.1] [--max-fpr 0.01]``
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import importlib.util
import io
import json
import random
import re
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

import injection_data  # noqa: E402

from proctor.detect.injection import InjectionDetector  # noqa: E402
from proctor.detect.injection_model import FORMAT, PUNCTUATION, model_from_dict, tokenize  # noqa: E402

WINDOW, STRIDE = 96, 48
# "You are a helpful assistant. {{prompt}}" is not a jailbreak.
EXCLUDED_TEMPLATES = {"dt_stereotypes_benign.yaml"}


# -- pyrit data ---------------------------------------------------------------------------------------------

def pyrit_datasets() -> Path:
    spec = importlib.util.find_spec("pyrit")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("pyrit is not installed: .venv/bin/pip install --no-deps pyrit")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets"


def pyrit_version() -> str:
    from importlib.metadata import version
    return version("pyrit")


_JINJA_BLOCK = re.compile(r"\{%-?\s*for .*?\{%-?\s*endfor\s*-?%\}", re.S)
_JINJA_TAG = re.compile(r"\{%-?.*?-?%\}", re.S)
_JINJA_VAR = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def render(template: str, payload: str) -> str:
    """Fill a pyrit template the way its SeedPrompt would, without needing jinja2."""
    text = _JINJA_BLOCK.sub("", template)
    text = _JINJA_TAG.sub("", text)
    return _JINJA_VAR.sub(lambda m: payload if m.group(1).startswith("prompt") else "people", text).strip()


def load_templates(root: Path) -> list[tuple[str, str]]:
    """(relative path, template text) for every jailbreak template."""
    base = root / "jailbreak" / "templates"
    out = []
    for path in sorted(base.rglob("*.yaml")):
        if path.name in EXCLUDED_TEMPLATES:
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        value = data.get("value") if isinstance(data, dict) else None
        if isinstance(value, str) and value.strip():
            out.append((str(path.relative_to(base)), value))
    return out


def load_seeds(path: Path) -> list[str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [s["value"].strip() for s in data.get("seeds", []) if isinstance(s.get("value"), str)]


_JAILBROKEN_REPLY = re.compile(r"(?i)\bDAN\b|jailbr|developer mode|🔓|\bSDA\b|\[🔒")


def load_responses(root: Path) -> tuple[list[str], list[str]]:
    """Model responses and user requests from pyrit's scorer evaluations: realistic text, not injections."""
    responses: set[str] = set()
    requests: set[str] = set()
    rules = InjectionDetector(classifier=False)
    for path in sorted((root / "scorer_evals").rglob("*.csv")):
        lines = [ln for ln in path.read_text(encoding="utf-8").splitlines(True) if not ln.startswith("#")]
        for row in csv.DictReader(io.StringIO("".join(lines))):
            text = (row.get("assistant_response") or "").strip()
            # replies written in a jailbreak's persona format echo the attack: not clean negatives
            if len(text) > 40 and not _JAILBROKEN_REPLY.search(text):
                responses.add(text)
            ask = (row.get("objective") or "").strip()
            # a few evaluation requests are themselves jailbreaks: keep only those no rule fires on
            if ask and not rules.detect(ask):
                requests.add(ask)
    return sorted(responses), sorted(requests)


# -- splitting, windows, features ----------------------------------------------------------------------------

def held_out(key: str) -> bool:
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 5 == 0


def chunk_features(tokens: list[str], bigrams: frozenset[str] | None = None) -> list[list[str]]:
    """Per chunk of STRIDE tokens: its distinct non-stop-word unigrams and distinct bigrams starting in it.

    ``bigrams`` keeps only those bigrams (None: all). Mirrors InjectionModel.score_tokens exactly (a feature
    counts once per chunk; a bigram the model does not hold weighs nothing).
    """
    out = []
    for s in range(0, len(tokens), STRIDE):
        uni = {t for t in tokens[s:s + STRIDE] if t not in STOPWORDS}
        bi = {f"{a} {b}" for a, b in zip(tokens[s:s + STRIDE], tokens[s + 1:s + STRIDE + 1], strict=False)}
        if bigrams is not None:
            bi &= bigrams
        out.append(sorted(uni | bi))
    return out or [[]]


def windows(tokens: list[str], bigrams: frozenset[str] | None = None) -> list[list[str]]:
    """Feature lists of the windows the runtime scores: each pair of neighbouring chunks (or the only one)."""
    chunks = chunk_features(tokens, bigrams)
    if len(chunks) == 1:
        return chunks
    return [chunks[k] + chunks[k + 1] for k in range(len(chunks) - 1)]


# Function words are not unigram features: otherwise a language's articles and pronouns become evidence
# (most multilingual training text is injections). They still count inside bigrams ("ignore all").
STOPWORDS = frozenset("""
a an the and or of to in on at for with by from as is are was were be been it its this that these those i
you he
she we they me him her us them my your our their his do does did not no so if then than but can could would
should
will shall may might must have has had there here what which who when where how why all any some just also
very
der die das den dem des ein eine einen einem einer und oder zu im in am an auf für mit von aus ist sind war
ich du er sie es wir ihr mich dich mir dir uns euch mein dein sein nicht kein keine auch noch nur wie was
wer
le la les un une des du de et ou à au aux en dans sur pour par avec est sont je tu il elle nous vous ils
elles
me te se moi toi ce cette ces mon ma mes ton ta tes son sa ses ne pas que qui
el los las una unos unas del al y o en con por para es son yo tú él ella nosotros me te se mi mis tu tus su
sus
no que quien lo
il lo gli i uno di da con su per tra fra e o è sono io lui lei noi voi loro mi ti si ci mio tuo suo non che
chi
o os as um uma do da dos das no na nos nas em com por para é são eu ele ela nós vocês meu seu não
de het een en of in op aan voor met van is zijn ik jij je hij zij wij jullie mij mijn jouw niet dat wie
""".split())  # noqa: SIM905 - a word list reads better as text


class Doc:
    __slots__ = ("group", "label", "text", "tokens")

    def __init__(self, text: str, label: int, group: str) -> None:
        self.text, self.label, self.group = text, label, group
        self.tokens = tokenize(text)


def build_docs(root: Path, rng: random.Random) -> tuple[list[Doc], list[Doc], dict[str, object]]:
    templates = load_templates(root)
    adv = load_seeds(root / "seed_datasets" / "local" / "adv_bench.prompt")
    adv_train = [a for a in adv if not held_out(a)]
    adv_test = [a for a in adv if held_out(a)]
    harmless = [t for lang in ("en", "de", "fr", "es", "it") for t in injection_data.TASKS[lang]]
    train: list[Doc] = []
    test: list[Doc] = []
    n_train_templates = n_test_templates = 0
    for name, template in templates:
        if held_out(name):
            n_test_templates += 1
            for payload in rng.sample(adv_test, 2):
                test.append(Doc(render(template, payload), 1, "pyrit_template"))
        else:
            n_train_templates += 1
            for payload in [*rng.sample(adv_train, 2), rng.choice(harmless)]:
                train.append(Doc(render(template, payload), 1, "pyrit_template"))
    for a in adv:  # plain harmful requests are not injections
        (test if held_out(a) else train).append(Doc(a, 0, "advbench_request"))
    responses, requests = load_responses(root)
    for r in responses:
        (test if held_out(r) else train).append(Doc(r, 0, "pyrit_response"))
    for r in requests:
        (test if held_out(r) else train).append(Doc(r, 0, "pyrit_request"))
    for text, tag in injection_data.injections():
        (test if held_out(text) else train).append(Doc(text, 1, "own_injection." + tag.split(".")[0]))
    for text, tag in injection_data.benign():
        (test if held_out(text) else train).append(Doc(text, 0, "own_benign." + tag.split(".")[0]))
    for s in load_seeds(root / "seed_datasets" / "local" / "garak" / "system_prompt_extraction.prompt"):
        test.append(Doc(s, 1, "garak_extraction (never trained)"))
    sources = {
        "pyrit": {"version": pyrit_version(), "license": "MIT",
                  "jailbreak_templates": {"train": n_train_templates, "held_out": n_test_templates,
                                          "excluded": sorted(EXCLUDED_TEMPLATES)},
                  "advbench_requests": len(adv), "model_responses": sum(1 for d in train + test
                                                                         if d.group == "pyrit_response")},
        "own": "scripts/injection_data.py (hand-written and templated, 7 languages)",
        "split": "held out when sha256(template path or text) % 5 == 0",
    }
    return train, test, sources


RESPONSE_WEIGHT = 6.0  # pyrit's real requests and responses count more than templated benign text


def window_samples(docs: Iterable[Doc], bigrams: frozenset[str] | None = None,
                   ) -> tuple[list[list[str]], list[int], list[float]]:
    """Windows as training rows; each document's windows share a total weight of one to three."""
    rows: list[list[str]] = []
    labels: list[int] = []
    weights: list[float] = []
    for doc in docs:
        wins = windows(doc.tokens, bigrams)
        share = min(3.0, float(len(wins))) / len(wins)
        if doc.group in ("pyrit_response", "pyrit_request"):
            share *= RESPONSE_WEIGHT
        for w in wins:
            rows.append(w)
            labels.append(doc.label)
            weights.append(share)
    return rows, labels, weights


def fit(train: list[Doc], c: float, bigrams: frozenset[str] | None) -> tuple[dict[str, float], float]:
    """Logistic regression on the windows of ``train``: every feature's weight, and the bias."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    rows, labels, sample_w = window_samples(train, bigrams)
    vec = CountVectorizer(analyzer=lambda feats: feats, min_df=2)
    x = vec.fit_transform(rows)
    clf = LogisticRegression(C=c, class_weight="balanced", max_iter=5000, solver="liblinear")
    clf.fit(x, labels, sample_weight=sample_w)
    names = vec.get_feature_names_out()
    return {str(n): float(w) for n, w in zip(names, clf.coef_[0], strict=True)}, float(clf.intercept_[0])


def train_model(train: list[Doc], c: float, n_bigrams: int, min_weight: float) -> tuple[dict[str, float], float]:
    """Fit on unigrams and every bigram, keep the ``n_bigrams`` strongest bigrams, refit, drop small weights.

    A small model scores faster (the runtime looks up every token and bigram in it, and a big dict misses
    the CPU caches) and, on the held-out data, is as accurate: the strongest two thousand bigrams carry what
    bigrams add (41,000 features before, 6,700 now), and weights below ``min_weight`` move no decision.
    """
    first, _ = fit(train, c, None)
    ranked = sorted((f for f in first if " " in f), key=lambda f: (-abs(first[f]), f))
    weights, bias = fit(train, c, frozenset(ranked[:n_bigrams]))
    return unique_weights({f: w for f, w in weights.items() if abs(w) >= min_weight}), bias


def unique_weights(weights: dict[str, float], digits: int = 5) -> dict[str, float]:
    """Round, then nudge ties apart: the runtime de-duplicates a chunk's features by their weights."""
    step = 10.0 ** -digits
    seen: set[float] = set()
    out: dict[str, float] = {}
    for key in sorted(weights, key=lambda k: (-abs(weights[k]), k)):
        w = round(weights[key], digits)
        while w in seen or w == 0.0:
            w = round(w + (step if w >= 0 else -step), digits)
        seen.add(w)
        out[key] = w
    return out


def _as_json(weights: dict[str, float], bias: float, threshold: float) -> dict[str, object]:
    return {
        "format": FORMAT,
        "tokenizer": {"lowercase": True, "punctuation": PUNCTUATION, "ngrams": [1, 2]},
        "window": {"tokens": WINDOW, "stride": STRIDE},
        "bias": round(bias, 4),
        "threshold": round(threshold, 4),
        "unigrams": {k: v for k, v in sorted(weights.items()) if " " not in k},
        "bigrams": {k: v for k, v in sorted(weights.items()) if " " in k},
    }


def _runtime(weights: dict[str, float], bias: float, threshold: float):  # type: ignore[no-untyped-def]
    return model_from_dict(_as_json(weights, bias, threshold))


# -- evaluation ----------------------------------------------------------------------------------------------

def choose_threshold(docs: list[Doc], probs: list[float], max_fpr: float, min_group: int = 50) -> float:
    """The lowest probability at which every benign group (with enough texts) stays within ``max_fpr``.

    Per group rather than overall: a large, easy group must not buy a high false-positive rate on the
    realistic ones (pyrit's model responses and requests).
    """
    groups: dict[str, list[float]] = {}
    for doc, p in zip(docs, probs, strict=True):
        if doc.label == 0:
            groups.setdefault(doc.group.split(".")[0] if doc.group.startswith("own_") else doc.group,
[]).append(p)
    threshold = 0.5
    for scores in groups.values():
        if len(scores) < min_group:
            continue
        ranked = sorted(scores, reverse=True)
        allowed = int(max_fpr * len(ranked))
        threshold = max(threshold, ranked[allowed] + 1e-4)
    return min(threshold, 0.995)


def evaluate(docs: list[Doc], flagged: list[bool]) -> dict[str, dict[str, float]]:
    per: dict[str, Counter[str]] = {}
    for doc, hit in zip(docs, flagged, strict=True):
        c = per.setdefault(doc.group, Counter())
        c["n"] += 1
        c["hit"] += int(hit)
    out: dict[str, dict[str, float]] = {}
    for group, c in sorted(per.items()):
        label = next(d.label for d in docs if d.group == group)
        key = "recall" if label == 1 else "false_positive_rate"
        out[group] = {"n": c["n"], key: round(c["hit"] / c["n"], 4)}
    pos = [h for d, h in zip(docs, flagged, strict=True) if d.label == 1]
    neg = [h for d, h in zip(docs, flagged, strict=True) if d.label == 0]
    tp, fp = sum(pos), sum(neg)
    out["all"] = {"recall": round(tp / len(pos), 4), "false_positive_rate": round(fp / len(neg), 4),
                  "precision": round(tp / max(1, tp + fp), 4), "positives": len(pos), "negatives": len(neg)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "src/proctor/detect/models/injection.json")
    ap.add_argument("--c", type=float, default=1.0, help="inverse L2 regularisation strength (default 1.0)")
    ap.add_argument("--bigrams", type=int, default=2000,
                    help="bigram features kept: the strongest of a first fit on all of them (default 2000)")
    ap.add_argument("--min-weight", type=float, default=0.1,
                    help="features whose absolute weight is smaller are dropped (default 0.1)")
    ap.add_argument("--max-fpr", type=float, default=0.01,
                    help="false-positive rate allowed on held-out benign text when choosing the threshold")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    train, test, sources = build_docs(pyrit_datasets(), rng)
    print(f"train docs: {len(train)}  held-out docs: {len(test)}", flush=True)
    weights, bias = train_model(train, args.c, args.bigrams, args.min_weight)

    probe = _runtime(weights, bias, 0.5)
    probs = [probe.score_tokens(d.tokens).probability for d in test]
    threshold = choose_threshold(test, probs, args.max_fpr)
    model = _runtime(weights, bias, threshold)
    classifier_hits = [model.score_tokens(d.tokens).probability >= threshold for d in test]
    combined = InjectionDetector(model)
    combined_hits = [bool(combined.detect(d.text)) for d in test]
    rules_only = InjectionDetector(classifier=False)
    rules_hits = [bool(rules_only.detect(d.text)) for d in test]

    metrics = {"classifier": evaluate(test, classifier_hits), "rules": evaluate(test, rules_hits),
               "rules+classifier": evaluate(test, combined_hits)}
    data = _as_json(weights, bias, threshold)
    data["metadata"] = {
        "trained": dt.date.today().isoformat(),
        "script": "scripts/train_injection.py",
        "model": f"logistic regression (liblinear, L2, C={args.c}, balanced classes), word unigrams and "
                 f"the {args.bigrams} strongest bigrams (refit), weights below {args.min_weight} dropped, "
                 f"counted once per {STRIDE}-token chunk, windows of two chunks, pyrit text weighted "
                 f"x{RESPONSE_WEIGHT}",
        "threshold_rule": f"lowest probability with held-out FPR <= {args.max_fpr} in every benign group",
        "sources": sources,
        "counts": {
            "train": dict(Counter(d.group for d in train)), "held_out": dict(Counter(d.group for d in test)),
            "features": len(weights),
        },
        "held_out_metrics": metrics,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=False) + "\n",
                        encoding="utf-8")
    print(json.dumps(metrics, indent=1))
    size = args.out.stat().st_size / 1e6
    print(f"threshold {threshold:.4f}, {len(weights)} features, {size:.2f} MB -> {args.out}")


if __name__ == "__main__":
    main()
