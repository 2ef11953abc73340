"""External SQL accuracy set: sqlmap's payload templates (positives) and natural SQL questions (negatives).

sqlmap is GPL: its files are read here at run time only and nothing from it is stored in the repo. Install it
with ``pip install sqlmap``. Positives combine each ``<test>``'s ``<payload>`` with compatible ``<boundary>``
prefixes/suffixes from ``boundaries.xml`` the way sqlmap's ``agent.prefixQuery``/``suffixQuery`` do, fill the
``[RANDNUM]``/``[SLEEPTIME]``/``[DELIMITER_START]``… placeholders, build UNION probes from
``union_query.xml``, and run a share of them through sqlmap's own tamper scripts (encodings, comment
whitespace, case, versioned comments…). Labels: ``sqli`` for every payload, plus ``dangerous.sql`` when it
reads a system catalog (that is what ``dangerous.sql`` means for a SELECT). Negatives are the benign SQL
statements, SQL questions and near-miss prose written below.

Run: ``python benchmarks/accuracy/external_sql.py`` (prints per-type precision/recall and a few misses).
"""

from __future__ import annotations

import importlib
import os
import random
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable

SQLI = "sqli"
DANGEROUS = "dangerous.sql"

# Written for this benchmark (not from sqlmap): things people really send an LLM that must pass.
BENIGN: tuple[str, ...] = (
    "explain UNION ALL vs UNION",
    "What is the difference between UNION and UNION ALL?",
    "what does DROP TABLE do?",
    "how do I truncate a table in postgres?",
    "Is it safe to run DELETE without a WHERE clause?",
    "Write a query that selects the top 10 customers by revenue",
    "Write a SQL query to find the second highest salary from the Employee table.",
    "How do I join three tables in MySQL?",
    "Explain the difference between INNER JOIN and LEFT JOIN with an example.",
    "What does GROUP BY do in SQL?",
    "Why does my query with ORDER BY run slowly on a large table?",
    "How can I prevent SQL injection in a Flask app?",
    "What is a prepared statement and why does it stop SQL injection?",
    "Can you explain what a SQL injection attack is?",
    "What is the purpose of the HAVING clause?",
    "When should I use TRUNCATE instead of DELETE?",
    "How do I grant read-only access to a user in PostgreSQL?",
    "What privileges does GRANT ALL give?",
    "Is DROP DATABASE reversible?",
    "How do I create a new user in MySQL 8?",
    "What does the SLEEP function do in MySQL?",
    "Why would someone call pg_sleep in a query?",
    "How do I list all tables in a SQLite database?",
    "What is information_schema used for?",
    "How do I see which columns a table has in SQL Server?",
    "Explain what WAITFOR DELAY does in T-SQL.",
    "How do I convert a string to an integer in SQL Server?",
    "What is the difference between CAST and CONVERT?",
    "Should passwords be stored hashed in the users table?",
    "How can I update a column only for rows that match a condition?",
    "How do I delete duplicate rows in PostgreSQL?",
    "What is the syntax for ALTER TABLE ADD COLUMN?",
    "Can you review this schema design for an orders table?",
    "SELECT name FROM customers WHERE id = 42",
    "SELECT name, email FROM customers WHERE id = 42;",
    "SELECT * FROM orders WHERE status = 'shipped' AND total > 100 ORDER BY created_at DESC LIMIT 20;",
    "SELECT c.name, SUM(o.total) AS revenue FROM customers c JOIN orders o ON o.customer_id = c.id "
    "GROUP BY c.name ORDER BY revenue DESC LIMIT 10;",
    "SELECT id, title FROM posts WHERE author_id = 7 OR editor_id = 7;",
    "SELECT * FROM products WHERE name LIKE '%phone%' AND price < 500;",
    "SELECT department, COUNT(*) FROM employees GROUP BY department HAVING COUNT(*) > 5;",
    "SELECT a FROM t1 UNION SELECT a FROM t2;",
    "SELECT city FROM customers UNION ALL SELECT city FROM suppliers ORDER BY city;",
    "SELECT * FROM events WHERE created_at BETWEEN '2024-01-01' AND '2024-01-31';",
    "SELECT CAST(price AS INTEGER) FROM products;",
    "SELECT CONVERT(varchar(10), GETDATE(), 120);",
    "SELECT SUBSTRING(name, 1, 3) AS prefix FROM users;",
    "SELECT ASCII(LEFT(code, 1)) FROM items;",
    "SELECT LENGTH(description) FROM products WHERE id = 3;",
    "SELECT * FROM t WHERE x IN (SELECT x FROM u WHERE u.active = 1);",
    "SELECT * FROM orders o WHERE EXISTS (SELECT 1 FROM refunds r WHERE r.order_id = o.id);",
    "WITH recent AS (SELECT * FROM orders WHERE created_at > NOW() - INTERVAL '7 days') "
    "SELECT COUNT(*) FROM recent;",
    "SELECT * FROM logs WHERE 1=1 AND level = 'error'",
    "DELETE FROM sessions WHERE expires_at < NOW();",
    "DELETE FROM cart_items WHERE cart_id = 12 AND product_id = 4;",
    "UPDATE accounts SET balance = balance - 10 WHERE id = 7;",
    "UPDATE users SET last_login = NOW() WHERE id = 42;",
    "INSERT INTO audit (event, at) VALUES ('login', NOW());",
    "CREATE TABLE notes (id SERIAL PRIMARY KEY, body TEXT NOT NULL);",
    "ALTER TABLE orders ADD COLUMN notes TEXT;",
    "CREATE INDEX idx_orders_created ON orders (created_at);",
    "BEGIN; UPDATE stock SET qty = qty - 1 WHERE sku = 'A1'; COMMIT;",
    "cursor.execute(\"SELECT * FROM users WHERE id = %s\", (user_id,))",
    "db.query('SELECT * FROM items WHERE owner = ?', [owner])",
    "In Boolean algebra, x or 1 = 1 and x and 0 = 0.",
    "Select all that apply.",
    "The union of two sets A and B contains every element of either.",
    "Please drop the table from the meeting agenda.",
    "I need sleep(8 hours) tonight.",
    "The union select committee meets on Friday.",
    "Delete from your drafts anything older than a month.",
    "Update the set of slides before the meeting.",
    "We will grant all requests that arrive before Friday.",
    "Shutdown the laptop before you pack it.",
    "Truncate the summary to 100 words.",
    "Load data from the CSV file into a pandas DataFrame.",
    "He said 'yes' and 'no' in the same sentence.",
    "The quick brown fox jumps over the lazy dog.",
    "It's the user's choice and it's final.",
    "Our order by date feature sorts results newest first.",
    "Give me 1 or 2 examples.",
    "Rate it 4 or 5 stars.",
    "if user and len(user.name) > 3: print('ok')",
    "while retries < 3 and not done: time.sleep(1)",
    "const ok = a === 'x' || b === 'y';",
    "color = 0xFFAA00; mask = 0x0F",
    "printf(\"%d items\\n\", n);",
    "50% off -- today only!",
    "https://example.com/search?q=union%20station&page=2",
    "Use `--force` to overwrite; `#` starts a comment in bash.",
    "The benchmark ran 100000 iterations in 2 seconds.",
    "password reset emails go out from users@example.com",
    "How do I select the password hash column from the users table safely?",
    "What does `DROP TABLE users;` do?",
    # text-to-SQL style gold queries
    "SELECT count(*) FROM singer",
    "SELECT name, country, age FROM singer ORDER BY age DESC",
    "SELECT avg(age), min(age), max(age) FROM singer WHERE country = 'France'",
    "SELECT T2.name FROM singer_in_concert AS T1 JOIN singer AS T2 ON T1.singer_id = T2.singer_id "
    "WHERE T1.concert_id = 3",
    "SELECT name FROM stadium EXCEPT SELECT T2.name FROM concert AS T1 JOIN stadium AS T2 "
    "ON T1.stadium_id = T2.stadium_id WHERE T1.year = 2014",
    "SELECT name FROM people WHERE height > 200 OR height < 190",
    "SELECT first_name FROM professionals UNION SELECT first_name FROM owners",
    "SELECT col1, col2 FROM t1 UNION ALL SELECT col1, col2 FROM t2 ORDER BY 1;",
    "SELECT CASE WHEN score >= 90 THEN 'A' ELSE 'B' END AS grade FROM grades",
    "SELECT * FROM users WHERE email LIKE '%@gmail.com'",
    "SELECT id FROM t WHERE name = 'O''Brien' OR name = 'Smith'",
    "SELECT * FROM t WHERE a = 'x' -- only active rows",
    "SELECT user_id, COUNT(*) FROM logins GROUP BY user_id HAVING COUNT(*) > 3;",
    "SELECT * FROM t WHERE x = 1 AND (SELECT count(*) FROM u WHERE u.t_id = t.id) > 0;",
    "UPDATE t SET x = 1 WHERE id IN (SELECT id FROM u);",
    "Find users where age > 18 and country = 'US'",
    "What's wrong with: SELECT * FROM t WHERE a = 1 OR b = 2",
)

# What makes a sqlmap payload also `dangerous.sql`: reading a real system catalog (not a one-row dummy table
# such as DUAL, SYSIBM.SYSDUMMY1, RDB$DATABASE or SYSMASTER:SYSDUAL), or a destructive statement.
_CATALOG = re.compile(
    r"\b(?:from|join)\b[\s(]{1,8}(?:information_schema\.\w+|mysql\.\w+|pg_(?!sleep)\w+|sys\.\w+|sysusers"
    r"|sysobjects|all_users|dba_users|sqlite_master|sysibm\.(?!sysdummy)\w+|rdb\$(?!database)\w+|domain\.\w+"
    r"|sysmaster:(?!sysdual)\w+)|\bdrop\s+(?:table|function|database|procedure)\b", re.I)
_TAMPER_NAMES = """
    space2comment randomcase charencode chardoubleencode charunicodeencode charunicodeescape space2plus
    space2randomblank space2mysqlblank space2mssqlblank space2hash space2dash space2mssqlhash space2mysqldash
    space2morecomment versionedkeywords versionedmorekeywords halfversionedmorekeywords modsecurityversioned
    modsecurityzeroversioned randomcomments between equaltolike equaltorlike symboliclogical htmlencode
    decentities hexentities overlongutf8 apostrophemask 0eunion dunion misunion unionalltounion unionvalues
    hex2char commentbeforeparentheses appendnullbyte uppercase lowercase multiplespaces percentage
"""
_TAMPERS = _TAMPER_NAMES.split()


def _sqlmap_dir() -> str:
    try:
        import sqlmap
    except ImportError as exc:
        raise ImportError("external_sql needs sqlmap's payload files: pip install sqlmap") from exc
    return os.path.dirname(sqlmap.__file__)


def _ints(field: str | None) -> set[int]:
    return {int(x) for x in (field or "0").split(",") if x.strip().isdigit()}


def _fill(s: str, rng: random.Random) -> str:
    """Replace sqlmap's placeholders the way a real run would (random numbers, delimiters, sleep time)."""
    def num(_: re.Match[str]) -> str:
        return str(rng.randint(1000, 9999))

    shared = str(rng.randint(1000, 9999))
    s = s.replace("[GENERIC_SQL_COMMENT]", "-- [RANDSTR]")
    s = s.replace("[RANDNUM]", shared)
    s = re.sub(r"\[RANDNUM\d\]", num, s)
    s = re.sub(r"\[RANDSTR\d?\]", lambda _: "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=4)), s)
    for key, val in (("[SLEEPTIME]", "5"), ("[DELIMITER_START]", "qkvxq"), ("[DELIMITER_STOP]", "qzjpq"),
                     ("[ORIGVALUE]", "1"), ("[ORIGINAL]", "1"), ("[INFERENCE]", shared + "=" + shared),
                     ("[QUERY]", "SELECT " + shared), ("[SPACE_REPLACE]", " "), ("[AT_REPLACE]", "@"),
                     ("[DOLLAR_REPLACE]", "$"), ("[HASH_REPLACE]", "#"), ("[CHAR]", "NULL")):
        s = s.replace(key, val)
    return s


def _assemble(value: str, prefix: str, payload: str, comment: str | None, suffix: str, where: int) -> str:
    """sqlmap's agent.prefixQuery + suffixQuery, reduced to the parts that shape the payload text."""
    if where == 3:
        query = ""
    else:
        query = prefix
        if not payload.startswith(";") and not (query and query[-1] in "()" and payload[:1] in "()"):
            query += " "
    out = query + payload
    if comment:
        out += comment
    elif where != 3 and suffix:
        if re.search(r"\w\Z", out) and re.search(r"\A\w", suffix):
            out += " "
        out += suffix
    head = {1: value, 2: "-" + value, 3: ""}[where]
    return head + out


def _union_payloads(root: ET.Element, rng: random.Random) -> Iterable[tuple[str, str | None]]:
    for test in root.iter("test"):
        req = test.find("request")
        if req is None:
            continue
        char = (req.findtext("char") or "NULL").replace("[CHAR]", "NULL")
        comment = req.findtext("comment")
        for _ in range(2):
            n = rng.randint(1, 10)
            cols = [char] * n
            marker = "".join(rng.choices("0123456789abcdef", k=20))
            cols[rng.randrange(n)] = "CONCAT(0x716b767871,0x" + marker + ",0x717a6a7071)"
            tail = req.findtext("payload") or ""
            yield "UNION ALL SELECT " + ",".join(cols) + (" " + tail if tail else ""), comment


def _base_payloads(root_dir: str, rng: random.Random) -> list[str]:
    xml_dir = os.path.join(root_dir, "data", "xml")
    boundaries = [
        (_ints(b.findtext("clause")), _ints(b.findtext("where")), b.findtext("prefix") or "",
         b.findtext("suffix") or "")
        for b in ET.parse(os.path.join(xml_dir, "boundaries.xml")).getroot().iter("boundary")
    ]
    out: list[str] = []
    for name in sorted(os.listdir(os.path.join(xml_dir, "payloads"))):
        root = ET.parse(os.path.join(xml_dir, "payloads", name)).getroot()
        if name.startswith("union"):
            items: Iterable[tuple[str, str | None, set[int], set[int]]] = (
                (p, c, {1, 2, 3}, {1}) for p, c in _union_payloads(root, rng))
        else:
            items = (
                (t.findtext("request/payload") or "", t.findtext("request/comment"),
                 _ints(t.findtext("clause")), _ints(t.findtext("where")))
                for t in root.iter("test"))
        for payload, comment, clauses, wheres in items:
            if not payload.strip():
                continue
            fits = [b for b in boundaries if (0 in b[0] or 0 in clauses or b[0] & clauses) and b[1] & wheres]
            for _clause, bwhere, prefix, suffix in rng.sample(fits, min(3, len(fits))):
                where = rng.choice(sorted(bwhere & wheres))
                text = _assemble(str(rng.randint(1, 999)), prefix, payload, comment, suffix, where)
                out.append(_fill(text, rng))
    return out


def _tampered(root_dir: str, payloads: list[str]) -> list[tuple[str, str]]:
    """(tampered, original) pairs: the label comes from the original, the detector sees the tampered text."""
    sys.path.insert(0, root_dir)  # tamper scripts import sqlmap's own `lib.*` and `tamper.*`
    try:
        from lib.core.data import kb  # type: ignore[import-not-found]

        with open(os.path.join(root_dir, "data", "txt", "keywords.txt")) as fh:
            kb.keywords = {ln.strip().upper() for ln in fh if ln.strip() and not ln.startswith("#")}
        funcs = []
        for name in _TAMPERS:
            try:
                funcs.append(importlib.import_module("tamper." + name).tamper)
            except Exception:  # a tamper that needs a live sqlmap run is simply skipped
                continue
    finally:
        sys.path.remove(root_dir)
    out: list[tuple[str, str]] = []
    saved = random.getstate()  # tamper scripts use the global RNG: seed it per payload, then restore it
    try:
        for i, payload in enumerate(payloads):
            random.seed(i)
            try:
                out.append((funcs[i % len(funcs)](payload), payload))
            except Exception:  # the tamper rejected this payload shape
                continue
    finally:
        random.setstate(saved)
    return out


def load() -> list[tuple[str, frozenset[str]]]:
    """Labelled samples: sqlmap payloads (raw and tampered) and benign SQL questions/statements."""
    root_dir = _sqlmap_dir()
    rng = random.Random(1234)
    base = _base_payloads(root_dir, rng)
    pairs = dict.fromkeys([(p, p) for p in base] + _tampered(root_dir, base))
    out: list[tuple[str, frozenset[str]]] = []
    for text, original in pairs:
        labels = {SQLI} | ({DANGEROUS} if _CATALOG.search(original) else set())
        out.append((text, frozenset(labels)))
    out.extend((text, frozenset()) for text in BENIGN)
    return out


def main() -> None:
    from proctor.detect.sql import SqlDetector

    detector = SqlDetector()
    data = load()
    types = (SQLI, DANGEROUS)
    tp = dict.fromkeys(types, 0)
    fp = dict.fromkeys(types, 0)
    fn = dict.fromkeys(types, 0)
    misses: dict[str, list[str]] = {t: [] for t in types}
    false_pos: dict[str, list[str]] = {t: [] for t in types}
    for text, labels in data:
        got = {f.type for f in detector.detect(text)}
        for t in types:
            if t in got and t in labels:
                tp[t] += 1
            elif t in got:
                fp[t] += 1
                false_pos[t].append(text)
            elif t in labels:
                fn[t] += 1
                misses[t].append(text)
    n_pos = sum(1 for _, labels in data if labels)
    print(f"samples: {len(data)} ({n_pos} sqlmap payloads, {len(data) - n_pos} benign)")
    for t in types:
        p = tp[t] / (tp[t] + fp[t]) if tp[t] + fp[t] else 1.0
        r = tp[t] / (tp[t] + fn[t]) if tp[t] + fn[t] else 1.0
        print(f"{t:14s} precision {p:.3f}  recall {r:.3f}  (tp {tp[t]}, fp {fp[t]}, fn {fn[t]})")
    for t in types:
        for label, rows in (("miss", misses[t]), ("false positive", false_pos[t])):
            for text in rows[: int(os.environ.get("SHOW", "5"))]:
                print(f"  {t} {label}: {text[:150]!r}")


if __name__ == "__main__":
    main()
