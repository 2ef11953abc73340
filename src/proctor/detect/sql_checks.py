"""SQL detector checks: per-rule scoring of candidates as ``sqli`` or ``dangerous.sql`` (``CHECKS``)."""

from __future__ import annotations

import re
from collections.abc import Callable

from proctor.detect.sql_filters import (
    SQL_CUES,
    TERMINATOR,
    has_sql_left_context,
    in_complete_statement,
    is_code_call,
    is_injected_fragment,
    is_math_context,
    is_object_name,
    is_quote_break,
    is_tautology,
    is_trailing_sql_comment,
    looks_like_statement,
    segment_start,
    statement_start,
    statement_tail,
    terminated,
    writes_every_row,
)
from proctor.detect.sql_rules import IDENT, OWS, RWS, SYS_TABLES, kw, words

SQLI = "sqli"
DANGEROUS = "dangerous.sql"


# -- sqli checks: (lower-cased text, match, original-case text) -> score or None -----------------------------

_Check = Callable[[str, re.Match[str], str], float | None]


def _quote_logic(text: str, m: re.Match[str], orig: str) -> float | None:
    """`' OR '1'='1`, `') or ('a'='a`, `" or ""="`, `admin' AND 1=1--`, `' || 'x'='x`, `' or ''-'`."""
    if m.group("cmp") is not None:
        if text.startswith("=", m.end("cmp")):  # `==` is code, not SQL
            return None
        if is_tautology(m.group("lhs"), m.group("cmp"), m.group("rhs")):
            return 0.95
    if not (terminated(text, m.end()) and is_quote_break(text, m.start())):
        return None
    return 0.9 if m.group("bool") is not None else 0.85


_VALUE_BEFORE = re.compile(r"(?:[\d'\")]|=[\s+]{0,4}[\w'\"]{1,32})[\s+)]{0,8}$")


def _num_logic(text: str, m: re.Match[str], orig: str) -> float | None:
    """`1 OR 1=1`, `1 AND 4821=4821`, `OR 'a'='a'`, `HAVING 1=1`, `CASE WHEN (5=5)`, `IF(1=1,...)`."""
    if text.startswith("=", m.end("cmp")) or text[m.start("cmp") - 1:m.start("cmp")] in ("=", "!", "<", ">"):
        return None
    lhs, rhs = m.group("lhs"), m.group("rhs")
    if not is_tautology(lhs, m.group("cmp"), rhs):
        return None
    quoted = lhs[:1] in "'\"" and rhs[:1] in "'\""
    probe = len(lhs.lstrip("-").split(".")[0]) >= 3  # `AND 4821=4821`: random self-equal numbers
    if m.group().startswith("("):
        # `(4821=4821)*1`: only the bare numeric probe; `get('a') != '/'` is a call, not a parenthesised test
        closed = ")" not in text[m.end("lhs"):m.start("cmp")] and text[m.start() - 1:m.start()].strip() == ""
        return 0.85 if probe and closed and m.group("cmp") == "=" else None
    if m.group().startswith("where"):
        return 0.85 if probe or quoted else None  # `WHERE 1=1` is a query-builder idiom; 4821=4821 is not
    if quoted or probe:
        return 0.9  # nobody writes `'a'='a'` or `4821=4821` in prose
    if is_math_context(text, m.start(), m.end()):
        return None
    term = TERMINATOR.match(text, m.end())
    if term is not None and term.group().strip(" \t\n+)'\"") not in ("", ";"):
        return 0.9  # a comment cuts the original query off: `1 OR 1=1--`
    if term is not None or _VALUE_BEFORE.search(text, max(0, m.start() - 40), m.start()):
        return 0.85
    return 0.8 if SQL_CUES.search(text, segment_start(text, m.start()), m.start()) else None


def _bool_logic(text: str, m: re.Match[str], orig: str) -> float | None:
    """`or true--`, `') or true#`: a boolean literal, then a comment cutting the query off."""
    return 0.85 if is_trailing_sql_comment(text, m.end()) else None


def _between(text: str, m: re.Match[str], orig: str) -> float | None:
    """`AND 4821 BETWEEN 4821 AND 4821` (sqlmap's `between` tamper): a constant range test on literals."""
    a, b, c = (int(m.group(k)) for k in "abc")
    if not (b <= a <= c or m.group("neg")) or is_math_context(text, m.start(), m.end()):
        return None
    return 0.9 if len(m.group("a").lstrip("-")) >= 3 or terminated(text, m.end()) else 0.8


def _case_eq(text: str, m: re.Match[str], orig: str) -> float | None:
    """`CASE 4824 WHEN 4824 THEN 1 ELSE 0 END`: a CASE on two equal literals, sqlmap's inference shape."""
    return 0.85 if int(m.group("lhs")) == int(m.group("rhs")) else None


_SELECT_LIST = re.compile(
    r"[\s+(]{0,24}(?:distinct[\s+]{1,16})?(?:\*|@@|-?\d|null\b|'|\"|0x"
    r"|[\w.$]{1,64}[\s+]{0,16}(?:,|\(|\bfrom\b|--|#|$))")
_UNION_STRONG = re.compile(
    r"null[\s+]{0,16},[\s+]{0,16}null|@@\w|information_schema|0x[0-9a-f]{2}|table_name|column_name|load_file"
    r"|--|#|/\*|" + "|".join(rf"{f}[\s+]{{0,8}}\(" for f in (
        "version", "user", "database", "current_user", "schema", "db_name", "group_concat", "concat_ws",
        "concat", "char")))
_UNION_NUMLIST = re.compile(r"[\s+(]{1,24}-?\d{1,12}[\s+]{0,16},[\s+]{0,16}-?\d")


def _union(text: str, m: re.Match[str], orig: str) -> float | None:
    """`' UNION SELECT ...`, `-1 UNION ALL SELECT NULL,NULL--`, `UNION SELECT name, password FROM users`."""
    if _SELECT_LIST.match(text, m.end()) is None:
        return None  # "UNION SELECT statements?": no select list follows
    # this UNION's own select list: up to `;`, a newline or the next UNION, 300 characters at most
    end = min(i for i in (text.find(";", m.end(), m.end() + 300), text.find("\n", m.end(), m.end() + 300),
                          text.find("union", m.end(), m.end() + 300), m.end() + 300) if i >= 0)
    if _UNION_STRONG.search(text, m.end(), end):
        return 0.95
    complete = in_complete_statement(text, m.start())
    lo = max(0, m.start() - 40)
    before = text[lo:m.start()].rstrip(" \t\n+)")
    if before[-1:] in ("'", '"') and is_quote_break(text, lo + len(before) - 1):
        return 0.95
    if (before[-1:].isdigit() or before.endswith("null")) and not complete:
        return 0.9
    if complete:
        return None  # `SELECT a FROM t UNION SELECT a FROM u`: an ordinary compound query
    return 0.9 if _UNION_NUMLIST.match(text, m.end()) else 0.75


_STACKED_SHAPE = re.compile(
    r"drop" + RWS + r"(?:table|database|schema|user|function|procedure|view|login)\b|delete" + RWS + r"from\b"
    r"|insert" + RWS + r"into\b|update" + RWS + r"[\w.\[\]`\"]{1,64}" + RWS + r"set\b|exec(?:ute)?" + RWS
    + r"(?:master|xp_|sp_|@|\()|exec(?:ute)?\(|declare" + RWS + r"@|shutdown\b|waitfor" + RWS
    + r"(?:delay|time)\b"
    r"|select" + RWS + r"(?:\*|@@|\d|null\b|'|\(|[\w.]{1,64}[\s+]{0,16}(?:,|\(|\bfrom\b))|create" + RWS
    + r"(?:table|user|function|procedure|login|or\b)|alter" + RWS + r"(?:table|user|login|role|database)\b"
    r"|truncate\b|grant\b|revoke\b|copy\b|begin" + RWS + r"\w{1,32}\.|call" + RWS + r"[\w.]{1,64}[\s+]{0,8}\("
    r"|if[\s+]{0,16}\([\s+(]{0,8}(?:\d|select\b|exists\b|not\b|@@|ascii\b|substring\b|len\b)|set" + RWS + r"@"
    r"|load" + RWS + r"data\b|rename" + RWS + r"table\b")


def _stacked(text: str, m: re.Match[str], orig: str) -> float | None:
    """`'; DROP TABLE users;--`, `1; EXEC xp_cmdshell 'dir'`, `1);SELECT PG_SLEEP(5)--`."""
    if _STACKED_SHAPE.match(text, m.start("kw")) is None:
        return None
    return 0.95 if is_injected_fragment(text[segment_start(text, m.start()):m.start()]) else None


def _comment(text: str, m: re.Match[str], orig: str) -> float | None:
    """`admin'--`, `admin'#`, `')--`, `'/*`: a break quote then a comment that cuts the rest off."""
    q = m.start()
    if q > 0 and not (text[q - 1].isalnum() or text[q - 1] in ")_\n"):
        return None  # `("# Heading")`, `= '--'`: a string being opened, not one being closed
    return 0.85 if is_trailing_sql_comment(text, q + 1) and is_quote_break(text, q) else None


def _order_by(text: str, m: re.Match[str], orig: str) -> float | None:
    """`' ORDER BY 3--`, `1' GROUP BY 1,2,--+`: column-count probing after a break."""
    if text[m.start()] in "'\"":
        return 0.85 if is_quote_break(text, m.start()) and terminated(text, m.end()) else None
    # after a number: `1 ORDER BY 3--`, but not `FROM t2 ORDER BY 1;` or `WHERE id = 1 ORDER BY 2;`
    standalone = m.start() == 0 or not (text[m.start() - 1].isalnum() or text[m.start() - 1] in "_.")
    if not standalone or in_complete_statement(text, m.start()):
        return None
    term = TERMINATOR.match(text, m.end())
    return 0.85 if term is not None and term.group().strip(" \t\n+)'\"") not in ("", ";") else None


_SLEEP_AFTER = re.compile(r"[ \t+)]{0,8}(?:--(?:[\s+\-]|$)|#[ \t]{0,8}(?:$|\n)|/\*|=[\s+]{0,8}['\"]|['\"])")


def _sleep(text: str, m: re.Match[str], orig: str) -> float | None:
    """`SLEEP(5)` after SQL (`AND SLEEP(5)`, `(SELECT(SLEEP(5)))`), `pg_sleep(5)`; not `time.sleep(5)`."""
    if m.group().startswith("pg_"):
        return 0.95
    if is_code_call(text, m.start()):  # time.sleep, Thread.sleep, def sleep(
        return None
    if has_sql_left_context(text, m.start()):
        return 0.9
    return 0.85 if _SLEEP_AFTER.match(text, m.end()) else None  # `SLEEP(5)#`, `sleep(5)='`


def _time_fn(text: str, m: re.Match[str], orig: str) -> float | None:
    """`BENCHMARK(5000000,MD5(1))`, `WAITFOR DELAY '0:0:5'`, `dbms_pipe.receive_message(`, heavy queries."""
    return 0.95


_BLIND_STRONG = re.compile(
    r"select\b|@@\w|current_user|system_user|session_user|table_name|column_name|information_schema|"
    + "|".join(rf"{f}[\s+]{{0,8}}\(" for f in ("database", "user", "version", "schema", "db_name",
                                              "current_database")))
# substr(x,N,1): reading a value one character at a time
_BLIND_WEAK = re.compile(r",[\s+]{0,8}\d{1,4}[\s+]{0,8},[\s+]{0,8}1[\s+]{0,8}\)")
_SYSINFO_FNS = words("user_name db_name system_user current_user user database version schema suser_sname "
                      "is_srvrolemember")
_EMPTY_CALL_CMP = re.compile(r"[\s+]{0,8}\d?[\s+]{0,8}\)[\s+]{0,8}(?:=|<>|!=|>|<|like\b)")


def _blind_fn(text: str, m: re.Match[str], orig: str) -> float | None:
    """`AND ASCII(SUBSTRING((SELECT ...),1,1))>64`, `AND LENGTH(database())=8`, `AND USER_NAME() = 'dbo'`."""
    if m.group("fn") in _SYSINFO_FNS:  # `AND db_name() = 'x'`: fingerprinting the server
        return 0.85 if _EMPTY_CALL_CMP.match(text, m.end()) else None
    if _BLIND_STRONG.search(text, m.end(), m.end() + 120):
        return 0.9
    if _BLIND_WEAK.search(text, m.end(), m.end() + 120) and not in_complete_statement(text, m.start()):
        return 0.75
    return None


_HEAVY = re.compile(r"sleep|benchmark|count[\s+]{0,8}\(|case\b|substr|ascii|char|information_schema"
                    r"|all_users|sysusers|0x[0-9a-f]{2}")
_NUMBER_OR_QUOTE_END = re.compile(r"[\d'\"][\s+]{0,4}$")


def _blind_sub(text: str, m: re.Match[str], orig: str) -> float | None:
    """`1 AND (SELECT ...)`, `' OR EXISTS(SELECT ...)`; not a subquery inside an ordinary statement."""
    if in_complete_statement(text, m.start()):
        return None
    if m.group().startswith("=") and not _NUMBER_OR_QUOTE_END.search(text, max(0, m.start() - 8), m.start()):
        return None  # `planned = (select(...))`: an assignment in code, not `AND 1=(SELECT ...)`
    if _HEAVY.search(text, m.end(), m.end() + 160):
        return 0.9
    return None if text[m.end():m.end() + 8].lstrip(" \t").startswith("(") else 0.8  # `select(` is a call


_ERROR_PAYLOAD = re.compile(
    r"concat|select\b|0x[0-9a-f]{2}|'~'|@@\w|\|\||"
    + "|".join(rf"{f}[\s+]{{0,8}}\(" for f in ("chr", "char", "version", "user", "database")))
_ERROR_PLAIN = ("extractvalue", "updatexml", "xmltype", "polygon", "multipoint", "geometrycollection",
                "multilinestring", "multipolygon", "linestring")


def _error_fn(text: str, m: re.Match[str], orig: str) -> float | None:
    """`extractvalue(1,concat(0x7e,version()))`, `EXP(~(SELECT`, `FLOOR(RAND(0)*2)`, `GTID_SUBSET(`."""
    if is_code_call(text, m.start()):
        return None
    if m.group().startswith(_ERROR_PLAIN):  # legitimate XML/GIS functions: need a payload inside
        return 0.9 if _ERROR_PAYLOAD.search(text, m.end(), m.end() + 120) else None
    return 0.95


_CONVERT_PAYLOAD = re.compile(
    r"[\s+]{0,8}(?:int|integer|bigint|numeric|decimal)[\s+]{0,8},[\s+(]{0,24}(?:@@|select\b|char[\s+]{0,8}\("
    r"|db_name|user_name|system_user|'[^'\n]{0,40}'[\s+]{0,8}\+)")
_CAST_PAYLOAD = re.compile(r"@@\w|\|\||" + "|".join(rf"{f}[\s+]{{0,8}}\(" for f in (
    "concat", "version", "user", "database", "current_user", "db_name")))
_CAST_AS_NUMBER = re.compile(r"as(?<!\was)[\s+]{1,16}(?:int|integer|bigint|numeric|decimal|signed|number)\b")
_SELECT_WORD = re.compile(kw("select"))


def _cast(text: str, m: re.Match[str], orig: str) -> float | None:
    """`CONVERT(int, @@version)`, `CAST('~'||(SELECT ...)||'~' AS NUMERIC)`; not `CAST(price AS INT)`."""
    if is_code_call(text, m.start()):
        return None
    if m.group().startswith("convert"):
        return 0.9 if _CONVERT_PAYLOAD.match(text, m.end()) else None
    as_num = _CAST_AS_NUMBER.search(text, m.end(), m.end() + 160)
    if as_num is None:
        return None
    if _CAST_PAYLOAD.search(text, m.end(), as_num.start()):
        return 0.9
    if _SELECT_WORD.search(text, m.end(), as_num.start()) and not in_complete_statement(text, m.start()):
        return 0.8
    return None


_OOB_ARGS = re.compile(r"[\s+]{0,8}\(?[\s+]{0,8}(?:'|\"|0x|char|concat|@|\()")


def _oob(text: str, m: re.Match[str], orig: str) -> float | None:
    """`LOAD_FILE('/etc/passwd')`, `INTO OUTFILE '/var/www/x.php'`, `UTL_HTTP.REQUEST(...)`, `xp_dirtree`."""
    if is_code_call(text, m.start()):
        return None  # `mf.load_file(path)`, `def load_file(self, ...)`
    return 0.9 if m.group().startswith("into") or _OOB_ARGS.match(text, m.end()) else None


def _char_concat(text: str, m: re.Match[str], orig: str) -> float | None:
    """`CHAR(39)+CHAR(79)`, `CHR(39)||`, `CHAR(97,100,109,105,110)`; not Python's `chr(97) + chr(98)`."""
    if m.group("op") == "+" and orig.startswith("chr", m.start()):
        return None  # lower-case chr(...) + chr(...) is Python
    return 0.85


_ASCII_LETTERS = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_HEX_LEFT = ("=", ",", "(", " like", " select")  # `user=0x..`, `concat(0x..,0x..)`, `LIKE 0x..`
_HEX_SQL = ("'", "where", "select", "union", " or ", " and ", "concat")


def _hex(text: str, m: re.Match[str], orig: str) -> float | None:
    """`WHERE user=0x61646d696e`: a hex-encoded string in a SQL context; not `color = 0xFFAA00`."""
    digits = m.group("hex")
    if len(digits) % 2 or not text[max(0, m.start() - 24):m.start()].rstrip(" \t\n+").endswith(_HEX_LEFT):
        return None
    raw = bytes.fromhex(digits)
    letters = len(raw) - len(raw.translate(None, _ASCII_LETTERS))
    if not (raw.isascii() and raw.decode().isprintable()) or letters * 2 < len(raw):
        return None
    seg = text[segment_start(text, m.start(), 120):m.start()]
    return 0.8 if any(cue in seg for cue in _HEX_SQL) else None


# -- dangerous.sql checks ----------------------------------------------------------------------------------


def _ident_ok(m: re.Match[str]) -> bool:
    return is_object_name(m.group("ident"))


def _looks_like_sql(text: str, m: re.Match[str], orig: str) -> bool:
    return looks_like_statement(text, m.start(), m.end(), orig[m.start("kw"):m.end("kw")])


_AFTER_TARGET = re.compile(r"[\s+]{0,16}(?:;|$|\n|--|#|\)|'|\"|`|where\b|using\b|returning\b|as\b|limit\b"
                           r"|order\b|output\b|from\b|inner\b|join\b|set\b)")


def _d_drop(text: str, m: re.Match[str], orig: str) -> float | None:
    """`DROP TABLE users;`, `drop database prod;`; not "what does DROP TABLE do?" or "drop the table"."""
    return 0.95 if _ident_ok(m) and _looks_like_sql(text, m, orig) else None


def _d_truncate(text: str, m: re.Match[str], orig: str) -> float | None:
    """`TRUNCATE TABLE orders`, `truncate orders;`; not "truncate strings longer than 10"."""
    if not _ident_ok(m):
        return None
    if m.group("table") is None:  # bare `truncate x` only as a whole statement: `truncate orders;`
        rest = text[m.end():m.end() + 8].lstrip(" \t")
        return 0.85 if statement_start(text, m.start()) and (rest == "" or rest[0] == ";") else None
    return 0.9 if _looks_like_sql(text, m, orig) else None


def _d_delete(text: str, m: re.Match[str], orig: str) -> float | None:
    """`DELETE FROM orders;`, `DELETE FROM t WHERE 1=1`; not with a real WHERE or "delete from users who"."""
    if not _ident_ok(m) or _AFTER_TARGET.match(text, m.end()) is None:
        return None
    return 0.9 if _looks_like_sql(text, m, orig) and writes_every_row(text, m.end()) else None


def _d_update(text: str, m: re.Match[str], orig: str) -> float | None:
    """`UPDATE users SET role='admin'` with no WHERE (or `WHERE 1=1`)."""
    return 0.85 if _ident_ok(m) and writes_every_row(text, m.end()) else None


_PRIV_CHANGE = re.compile(kw("password", "identified", "superuser", "sysadmin", "createrole", "createdb",
                              "bypassrls", "with"))


def _d_alter_user(text: str, m: re.Match[str], orig: str) -> float | None:
    """`ALTER USER postgres WITH PASSWORD 'x'`, `ALTER ROLE app WITH SUPERUSER`, `ALTER LOGIN sa ...`."""
    if not _ident_ok(m) or not _PRIV_CHANGE.search(statement_tail(text, m.end())):
        return None
    return 0.9 if _looks_like_sql(text, m, orig) else None


_GRANT_TO = re.compile(kw("to", "from") + r"[\s+]{1,16}(?P<ident>" + IDENT + r")")
_GRANT_ON = re.compile(r"[\w\s,+()]{0,120}?\bon\b")


def _d_grant(text: str, m: re.Match[str], orig: str) -> float | None:
    """`GRANT ALL PRIVILEGES ON *.* TO 'x'@'%'`, `GRANT dba TO scott`, `REVOKE SELECT ON t FROM u`."""
    tail = statement_tail(text, m.end(), 200)  # a GRANT names its grantee within a line or two
    to = _GRANT_TO.search(tail)
    if to is None or not _ident_ok(to):
        return None
    head = tail[:to.start()]
    upper = orig[m.start("kw"):m.end("kw")].isupper()
    if len(head) > 160 or not (_GRANT_ON.match(head) or head.strip() == "" or upper):
        return None
    return 0.9 if _looks_like_sql(text, m, orig) else None


_CREATE_USER_TAIL = re.compile(r"[\s+]{0,16}(?:@|identified\b|with\b|password\b|login\b|superuser\b|;|$|\n)")


def _d_create_user(text: str, m: re.Match[str], orig: str) -> float | None:
    """`CREATE USER 'bob'@'%' IDENTIFIED BY 'pw'`, `CREATE LOGIN x WITH PASSWORD=...`."""
    if not _ident_ok(m) or _CREATE_USER_TAIL.match(text, m.end()) is None:
        return None
    return 0.85 if _looks_like_sql(text, m, orig) else None


_SHUTDOWN_TAIL = re.compile(r"[\s+]{0,16}(?:;|$|\n|--|#|with[\s+]{1,16}nowait\b|immediate\b|abort\b"
                            r"|normal\b)")


def _d_shutdown(text: str, m: re.Match[str], orig: str) -> float | None:
    """`SHUTDOWN WITH NOWAIT`, `'; shutdown --`; not "shutdown the server"."""
    if _SHUTDOWN_TAIL.match(text, m.end()) is None:
        return None
    return 0.9 if statement_start(text, m.start()) else None


def _d_proc(text: str, m: re.Match[str], orig: str) -> float | None:
    """`EXEC xp_cmdshell 'whoami'`, `sp_configure 'xp_cmdshell', 1`, `sp_addsrvrolemember 'x','sysadmin'`."""
    return 0.95 if m.group("kw") == "xp_cmdshell" else 0.85


def _d_set_password(text: str, m: re.Match[str], orig: str) -> float | None:
    """`SET PASSWORD FOR 'root'@'localhost' = '...'`."""
    return 0.85 if _looks_like_sql(text, m, orig) else None


def _d_sys_table(text: str, m: re.Match[str], orig: str) -> float | None:
    """`SELECT * FROM information_schema.tables`, `FROM pg_shadow`, `FROM sqlite_master`, `mysql.user`."""
    return 0.9


_SYS_TABLE = re.compile(r"[\s+]{0,16}(?:" + SYS_TABLES + r")\b")
_ALIAS_COMMA = re.compile(r"(?:" + RWS + r"(?:as" + RWS + r")?\w{1,16})?" + OWS + r",")
_COUNT_BEFORE = re.compile(r"count[\s+]{0,8}\([\s+]{0,8}\*?[\s+]{0,8}\)")


def _heavy_join(text: str, m: re.Match[str], orig: str) -> float | None:
    """`SELECT COUNT(*) FROM all_users T1, all_users T2, ...`: a catalog cross join used as a time delay."""
    tables, pos = 1, m.end()
    while tables < 3:  # counts catalogs in the FROM list, three at most
        comma = _ALIAS_COMMA.match(text, pos)
        nxt = _SYS_TABLE.match(text, comma.end()) if comma else None
        if nxt is None:
            break
        tables, pos = tables + 1, nxt.end()
    if tables >= 3 or (tables == 2 and _COUNT_BEFORE.search(text, max(0, m.start() - 40), m.start())):
        return 0.85
    return None


_SELECT_BEFORE = re.compile(kw("select"))
_WHERE_OR_FROM = re.compile(kw("where", "from"))


def _d_cred_cols(text: str, m: re.Match[str], orig: str) -> float | None:
    """`SELECT username, password FROM users`: credential columns selected from an accounts table."""
    if m.start() > 0 and (text[m.start() - 1].isalnum() or text[m.start() - 1] == "_"):
        return None  # `mypassword`: not the column name itself
    sel = None
    for found in _SELECT_BEFORE.finditer(text, segment_start(text, m.start(), 200), m.start()):
        sel = found  # the last SELECT before the credential word
    if sel is None or _WHERE_OR_FROM.search(text, sel.end(), m.start()):
        return None  # no SELECT, or the credential word sits in a condition rather than the select list
    return 0.9


def _fixed(score: float) -> _Check:
    def check(text: str, m: re.Match[str], orig: str) -> float | None:
        return score
    return check


# rule key -> checks: (finding type, check, whether the span runs on to the end of the clause)
CHECKS: dict[str, tuple[tuple[str, _Check, bool], ...]] = {
    "quote_logic": ((SQLI, _quote_logic, True),),
    "num_logic": ((SQLI, _num_logic, True),),
    "bool_logic": ((SQLI, _bool_logic, True),),
    "union": ((SQLI, _union, True),),
    "between": ((SQLI, _between, True),),
    "case_eq": ((SQLI, _case_eq, True),),
    "stacked": ((SQLI, _stacked, True),),
    "comment": ((SQLI, _comment, False),),
    "order_by": ((SQLI, _order_by, True),),
    "sleep": ((SQLI, _sleep, False),),
    "time_fn": ((SQLI, _time_fn, True),),
    "blind_fn": ((SQLI, _blind_fn, True),),
    "blind_sub": ((SQLI, _blind_sub, True),),
    "error_fn": ((SQLI, _error_fn, True),),
    "cast": ((SQLI, _cast, True),),
    "oob": ((SQLI, _oob, True),),
    "char_concat": ((SQLI, _char_concat, True),),
    "hex": ((SQLI, _hex, False),),
    "drop": ((DANGEROUS, _d_drop, True),),
    "truncate": ((DANGEROUS, _d_truncate, True),),
    "delete": ((DANGEROUS, _d_delete, True),),
    "update": ((DANGEROUS, _d_update, True),),
    "alter_user": ((DANGEROUS, _d_alter_user, True),),
    "grant": ((DANGEROUS, _d_grant, True),),
    "create_user": ((DANGEROUS, _d_create_user, True),),
    "shutdown": ((DANGEROUS, _d_shutdown, True),),
    "proc": ((DANGEROUS, _d_proc, True),),
    "set_password": ((DANGEROUS, _d_set_password, True),),
    "sys_from": ((DANGEROUS, _d_sys_table, False), (SQLI, _heavy_join, True)),
    "cred_cols": ((DANGEROUS, _d_cred_cols, False),),
    "copy_program": ((DANGEROUS, _fixed(0.95), True),),
    "load_data": ((DANGEROUS, _fixed(0.9), True),),
}
