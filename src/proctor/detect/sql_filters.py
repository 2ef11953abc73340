"""SQL detector filters: the named context tests that keep SQL questions, prose and code from matching."""

from __future__ import annotations

import re
from collections.abc import Callable

from proctor.detect.sql_rules import WORD_CHARS, kw, words

# All of them work on lower-cased text. Window regexes start with a literal too (no leading `\b`): validators
# run them once per candidate.
_APOSTROPHE = re.compile(r"'(?<=[a-z]')(?:s|t|d|m|ll|re|ve)\b(?!')")
_DML = re.compile(kw("select", "insert", "update", "delete", "with", "merge"))


def segment_start(text: str, pos: int, limit: int = 300) -> int:
    """Start of the line or statement holding ``pos`` (after the last newline or `;`), within ``limit``."""
    lo = max(0, pos - limit)
    return max(text.rfind("\n", lo, pos), text.rfind(";", lo, pos)) + 1 or lo


def _quotes_before(text: str, lo: int, pos: int, quote: str) -> int:
    seg = text[lo:pos]
    n = seg.count(quote) - 3 * seg.count(quote * 3)  # a docstring's triple quotes open no SQL literal
    if quote == "'" and n:
        n -= len(_APOSTROPHE.findall(seg))  # it's, user's: prose apostrophes, not SQL quotes
    return n


def is_quote_break(text: str, qpos: int) -> bool:
    """The quote at ``qpos`` closes nothing opened in its line: it breaks out of a literal outside the text.

    `name = 'x' -- note` closes its own literal (no break); `admin' --` and `' OR 1=1` break out. Prose
    apostrophes (`it's`, `user's`) and docstring triple quotes are not counted.
    """
    return _quotes_before(text, segment_start(text, qpos), qpos, text[qpos]) % 2 == 0


def in_complete_statement(text: str, pos: int) -> bool:
    """``pos`` sits inside an ordinary statement (a DML keyword before it, quotes balanced up to it)."""
    lo = max(0, pos - 300)
    semi = text.rfind(";", lo, pos)
    lo = semi + 1 if semi >= 0 else lo
    m = _DML.search(text, lo, pos)
    if m is None:
        return False
    return all(_quotes_before(text, m.start(), pos, q) % 2 == 0 for q in "'\"")


_QUESTION_START = re.compile(
    r"(?:what|what's|whats|how|why|when|which|who|is|are|was|were|does|do|did|should|shall|explain|describe"
    r"|define|compare|difference|tell me (?:about|what|how|why)|help me understand|i wonder|i'm wondering"
    r"|(?:can|could|would|will) you (?:explain|tell|describe|help me understand|show me what))\b")
_REQUEST_START = re.compile(r"(?:can|could|would|will) you\b|please\b")
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|\n")
_LEAD = " \t\"'`*->#([:"


def is_question_about_sql(text: str, start: int, end: int) -> bool:
    """The sentence holding ``[start, end)`` asks about SQL rather than being SQL to run."""
    lo = max(0, start - 300)
    head = max(text.rfind(". ", lo, start), text.rfind("! ", lo, start), text.rfind("? ", lo, start),
               text.rfind("\n", lo, start)) + 1 or lo
    sentence_head = text[head:start].lstrip(_LEAD)
    if _QUESTION_START.match(sentence_head):
        return True
    qmark = text.find("?", end, end + 300)
    if qmark < 0:
        return False
    m = _SENTENCE_END.search(text, end, qmark + 1)  # the first sentence end must be that question mark
    if m is None or m.group() != "?":
        return False
    if text[m.start() - 1] in " =,(":  # `WHERE id = ?` is a placeholder, not a question mark
        return False
    return not _REQUEST_START.match(sentence_head)


_MATH_WORDS = re.compile(kw(*sorted(words("""
    algebra boolean equation identity identities theorem prove proof logic logical truth math maths
    mathematics arithmetic formula solve variable expression axiom lemma x y n"""))))
SQL_CUES = re.compile(r"--|#|/\*|;|inject(?<!\winject)|" + kw("select", "where", "from", "union", "admin",
                                                                  "login", "password", "query", "sql"))


def is_math_context(text: str, start: int, end: int) -> bool:
    """`x or 1 = 1` in a sentence about algebra or logic is mathematics, not a tautology payload."""
    window = text[max(0, start - 80):min(len(text), end + 40)]
    if SQL_CUES.search(window):
        return False
    prev = text[max(0, start - 40):start].split()
    single_var = bool(prev) and len(prev[-1]) == 1 and prev[-1].isalpha()  # `x or 1 = 1`
    return single_var or _MATH_WORDS.search(window) is not None


TERMINATOR = re.compile(r"[\s+)'\"]{0,8}(?:--(?:[\s\-+]|$)|#|/\*|;|%00|$)")


def terminated(text: str, pos: int) -> bool:
    """A comment, `;` or the end of the text follows ``pos``: the rest of the original query is cut off."""
    return TERMINATOR.match(text, pos) is not None


_COMMENT_AT = re.compile(r"[ \t+)]{0,24}(--|#|/\*)")


def is_trailing_sql_comment(text: str, pos: int) -> bool:
    """A SQL comment ending the line follows ``pos``: `#`, `/*`, or `--` with at most one token after it.

    Not a code comment with words after it (`'M'   # push 2-byte int`), a flag (`"--verbose"`), a prose dash
    (`'dir' -- as for mkstemp`) or a table border (`'+-----+`).
    """
    cm = _COMMENT_AT.match(text, pos)
    if cm is None:
        return False
    rest = text[cm.end():cm.end() + 80]  # the rest of the line, bounded: a 1 MB line must not be re-read
    rest = rest[:rest.find("\n")] if "\n" in rest else rest
    if cm.group(1) == "#":
        return not rest.strip()
    # `&` ends a URL parameter: `username=admin'--&password=x`
    return cm.group(1) == "/*" or (rest[:1] in ("", " ", "\t", "+", "&") and len(rest.split()) <= 1)


_CODE_DEF = frozenset(("def", "function", "fn", "func", "void", "int"))


def _last_word(text: str) -> str:
    return text[len(text.rstrip(WORD_CHARS)):]  # str.rstrip runs in C: no regex scanning backwards


def is_code_call(text: str, pos: int) -> bool:
    """The name at ``pos`` is a method call or a definition (`mf.load_file(`, `def convert(`), i.e. code."""
    if text[pos - 1:pos] == ".":
        return True
    before = text[max(0, pos - 16):pos]
    return before != before.rstrip(" \t*") and _last_word(before.rstrip(" \t*")) in _CODE_DEF


def _num(s: str) -> float | None:
    try:
        return float(s)
    except ValueError:
        return None


_NUMERIC_CMP: dict[str, Callable[[float, float], bool]] = {
    "=": lambda a, b: a == b, "<=>": lambda a, b: a == b, "like": lambda a, b: a == b,
    "rlike": lambda a, b: a == b, "regexp": lambda a, b: a == b, "in": lambda a, b: a == b,
    "<>": lambda a, b: a != b,
    "!=": lambda a, b: a != b, ">": lambda a, b: a > b, "<": lambda a, b: a < b, ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
}


def is_tautology(lhs: str, cmp: str, rhs: str) -> bool:
    """``lhs cmp rhs`` is always true: `1=1`, `'a'='a`, `2>1`, `'a'<>'b'`, `x like '%'`."""
    if rhs[:2] == "n'":  # T-SQL's N'text' is the same string as 'text'
        rhs = rhs[1:]
    a, b, op = lhs.strip("'\"() "), rhs.strip("'\"() "), cmp.strip()
    literals = lhs[:1] in "'\"" and rhs[:1] in "'\""
    if op == "in" and not (literals or (_num(a) is not None and _num(b) is not None)):
        return False  # `'schema' in schema` is Python membership, not `'x' IN ('x')`
    na, nb = _num(a), _num(b)
    if na is not None and nb is not None:
        test = _NUMERIC_CMP.get(op)
        return test is not None and test(na, nb)
    if op == "like" and b in ("%", "%%"):
        return True
    if op in ("=", "<=>", "like", "rlike", "regexp", "in", ">=", "<="):
        return a == b
    return op in ("<>", "!=") and literals and a != b


_STATEMENT_HEAD = re.compile(
    r"(?:select|insert|update|delete|create|alter|drop|truncate|grant|revoke|with|exec|execute|declare|set"
    r"|begin|use|show|call|merge|replace|copy|if|end|commit|rollback|go|print|return|values|vacuum"
    r"|analyze)\b")
# what a parameter value looks like when `;` follows it: `1`, `admin'`, `x')`, `id=5)`, or nothing at all
_VALUE_FRAGMENT = re.compile(r"(?:[\w.@:/=%\-]{0,64}(?:['\"]|\d)\){0,4}|\){1,4})?")
_QUOTE_END = re.compile(r"['\"]\){0,4}$")


def is_injected_fragment(before: str) -> bool:
    """What precedes a `;` is an injected value (`1`, `admin'`, `x')`, `n='x'`): not a statement or prose.

    `CREATE TABLE a (x int); INSERT ...` is a script and "I did step 1; select..." is a sentence: neither is
    a stacked query.
    """
    seg = before.strip()
    if _STATEMENT_HEAD.match(seg):
        return False
    if _VALUE_FRAGMENT.fullmatch(seg):
        return True
    # `name = 'x'; DROP ...`: the `;` right after a quote that closes nothing opened in the text
    return bool(_QUOTE_END.search(seg)) and any(_quotes_before(seg, 0, len(seg), q) % 2 for q in "'\"")


_SQL_LEFT_WORDS = words("and or xor select then else not rlike like if do when in elt make_set iif")


def has_sql_left_context(text: str, pos: int) -> bool:
    """What precedes ``pos`` is SQL (`AND `, `(SELECT `, `'||`, `=`) rather than code (`time.`, `await `)."""
    before = text[max(0, pos - 32):pos].rstrip(" \t\n+")
    if not before:
        return False
    if before[-1] == "(":
        word = _last_word(before[:-1].rstrip(" \t\n+"))
        return not word or word in _SQL_LEFT_WORDS
    if before[-1] in "'\"=!,|&*-":
        return True
    return _last_word(before) in _SQL_LEFT_WORDS


_STOPWORDS = words("""
    the a an this that these those it its them my your our their his her from in on at with to of for by
    do does did is are was will would can could should and or if not statement command keyword keywords
    clause query queries table tables database databases schema all any some everything something
    without when what how why which there here so then
""")


def is_object_name(ident: str) -> bool:
    """A table/user name (`users`, `dbo.orders`), not an English word (`drop table do`, `truncate a`)."""
    name = ident.strip("`\"'[]").lower()
    return bool(name) and name not in _STOPWORDS


def statement_start(text: str, pos: int) -> bool:
    before = text[max(0, pos - 64):pos].rstrip(" \t+")
    return not before or before[-1] in ";\n`'\"(:>"


def looks_like_statement(text: str, start: int, end: int, keyword: str) -> bool:
    """``text[start:end]`` is SQL rather than a sentence using its words ("we drop table users later").

    Evidence: the keyword as written is upper case, it starts a statement (text start, after `;`, a newline,
    a backtick or quote, `:`), or `;`/the end of the text follows.
    """
    if keyword.isupper() or statement_start(text, start):
        return True
    rest = text[end:end + 8].lstrip(" \t")
    return rest == "" or rest[0] == ";"


_WHERE = re.compile(kw("where"))
_WHERE_TAUT = re.compile(
    r"[\s+(]{1,24}(?:1|true|(?P<a>\d{1,12})[\s+]{0,8}=[\s+]{0,8}(?P<b>\d{1,12})|'(?P<c>\w{0,16})'[\s+]{0,8}="
    r"[\s+]{0,8}'(?P<d>\w{0,16})')[\s+)]{0,8}(?:;|--|#|$|\bor\b)")


def statement_tail(text: str, pos: int, limit: int = 400) -> str:
    """The statement from ``pos`` to its `;` (or a blank line), ``limit`` characters at most."""
    hi = min(len(text), pos + limit)
    ends = [i for i in (text.find(";", pos, hi), text.find("\n\n", pos, hi)) if i >= 0]
    return text[pos:min(ends) if ends else hi]


def writes_every_row(text: str, pos: int) -> bool:
    """The DELETE/UPDATE whose target ends at ``pos`` has no WHERE, or `WHERE 1=1` / `WHERE true`."""
    tail = statement_tail(text, pos)
    w = _WHERE.search(tail)
    if w is None:
        return True
    t = _WHERE_TAUT.match(tail, w.end())
    if t is None:
        return False
    a, b, c, d = t.group("a", "b", "c", "d")
    return (a is None or a == b) and (c is None or c == d)
