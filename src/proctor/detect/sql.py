"""SQL detector: injection payloads (``sqli``), destructive or privileged statements (``dangerous.sql``)."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable

from proctor.detect.scan import PatternSet, Rule
from proctor.findings import Finding

SQLI = "sqli"
DANGEROUS = "dangerous.sql"

# Decisions (documented here because policies depend on them):
# - A question *about* SQL is not a finding. A question that quotes a strong injection payload
#   ("is `' OR 1=1--` dangerous?") is still `sqli`: the payload is in the prompt either way. Weaker sqli
#   signals (score < _STRONG) and every `dangerous.sql` statement are dropped inside a question.
# - A legitimate compound query (`SELECT a FROM t UNION SELECT a FROM u`) is not `sqli`; `sqli` needs a
#   structural break (quote or value before UNION, NULL/number lists, system functions, trailing comment).
# - `dangerous.sql` needs statement shape (keyword + object + identifier) and one sign that it is SQL rather
#   than prose: statement start, upper-case keywords, or a `;`/end terminator.
_STRONG = 0.9
# Findings per type are capped: a prompt of thousands of payloads is settled long before, and an attacker's
# megabyte of `1; DROP TABLE x` must not cost seconds. Types are never lost (the cap needs that many of them);
# only spans past the cap are not reported.
_MAX_FINDINGS = 1000

# Speed: the text is lower-cased once and every pattern is lower-case, case-sensitive and starts with a
# literal. Python's `re` then skips ahead with a fast literal/charset search; a leading `\b` or IGNORECASE
# makes it try every position. A keyword's left word boundary is therefore checked *behind* it: `_kw`.
# Every repetition is bounded: an attacker writes the prompt.
_W = r"[\s+]{1,16}"  # `+` is a space in URL query strings (`1+UNION+SELECT`)
_O = r"[\s+]{0,16}"
_OPEN = r"[\s+(]{0,24}"
_CLOSE = r"[\s+)]{0,24}"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _kw(*words: str) -> str:
    """Keywords as a literal-first alternation, whole words only (`or` but not `for`/`order`)."""
    return "(?:" + "|".join(rf"{w}(?<!\w{w})" for w in words) + r")\b"


_LOGIC = r"(?:" + _kw("or", "and", "xor") + r"|\|\||&&)"
_NUMQ = r"-?\d{1,20}(?:\.\d{1,8})?|'[^'\n]{0,32}'|\"[^\"\n]{0,32}\""
_NUMQ_OPEN = r"-?\d{1,20}(?:\.\d{1,8})?|n?'[^'\n]{0,32}'?|\"[^\"\n]{0,32}\"?"  # n'..': T-SQL unicode
_CMP = r"<=>|<>|!=|>=|<=|=|>|<|\b(?:r?like|regexp|in)\b"
# What follows `' OR`: a comparison, a boolean literal (`true`, `1`, `not 0`), or an empty string and an
# operator (`''-'`, `''&'`: the classic fuzz-list bypasses).
_AFTER_LOGIC = (
    r"[\s+(]{0,24}(?:not[\s+(]{1,16})?(?:(?P<lhs>" + _NUMQ + r"|[a-z_][\w.]{0,63})" + r"[\s+)]{0,24}"
    + r"(?P<cmp>" + _CMP + r"|\bis(?:[\s+]{1,8}not)?\b)" + r"[\s+(]{0,24}"
    + r"(?P<rhs>" + _NUMQ_OPEN + r"|[a-z_][\w.]{0,63})"
    r"|(?P<bool>true|1|not[\s+]{0,8}0|not[\s+]{1,8}false)\b|(?P<empty>''[\s+]{0,8}[-&^*|+%/]?[\s+]{0,8}'))")
# ASCII classes: Unicode `\w` under bounded repeats makes Hyperscan databases too large to build.
_IDENT = (r"[`\"'\[]?[a-z_@#][a-z0-9_$#@]{0,63}[`\"'\]]?"
          r"(?:\.[`\"\[]?[a-z0-9_$#@]{1,63}[`\"\]]?){0,2}")
_DOT = r"[\s+]{0,8}\.[\s+]{0,8}"  # `domain . tables`: SQL allows spaces around the dot
_SYS_TABLES = (
    r"information_schema" + _DOT + r"(?:tables|columns|schemata|routines|views|user_privileges"
    r"|table_privileges|processlist|plugins|key_column_usage|system_users)"
    r"|(?:pg_catalog" + _DOT + r")?pg_(?:shadow|authid|user|roles|tables|database|namespace|class"
    r"|stat_activity|settings)"
    r"|mysql" + _DOT + r"(?:user|db|tables_priv)"
    r"|(?:master" + _DOT + r")?sys" + _DOT + r"(?:sql_logins|syslogins|server_principals|database_principals"
    r"|objects|tables|columns|databases|sysobjects|all_objects)"
    r"|master" + _DOT + _DOT + r"(?:syslogins|sysdatabases|sysobjects)"
    r"|sqlite_(?:master|schema|temp_master)"
    r"|(?:sys" + _DOT + r")?(?:dba|all)_(?:users|tables|tab_columns|objects|role_privs|sys_privs)"
    r"|sysobjects|syscolumns|sysusers|syslogins|sysdatabases|msysobjects"
    r"|sysibm" + _DOT + r"(?:systables|syscolumns|sysusers|sysroutines|sysschemata|sysdbauth|systabauth)"
    r"|rdb\$(?:relations|relation_fields|fields|types|collations|functions|procedures|users|roles)"
    r"|domain" + _DOT + r"(?:tables|columns|domains)|sysmaster:(?:systables|syscolumns|sysusers|syspaghdr"
    r"|sysdatabases)"
)
_PRIVS = (r"(?:select|insert|update|delete|execute|usage|create|alter|drop|references|trigger|connect"
          r"|temporary|super|file|process|reload|shutdown|dba|sysadmin|superuser|admin|owner|control"
          r"|impersonate"
          r"|db_owner|rds_superuser)\b")

# "norm:*" rules only say the text needs normalising. The others are candidates: the checks registered for
# their key in _CHECKS (below) decide, score and type them.
_RULES: tuple[Rule, ...] = (
    Rule("norm:percent", r"%(?:u[0-9a-f]{4}|[0-9a-f]{2})"),
    Rule("norm:entity", r"&(?:#x?[0-9a-f]{1,7}|quot|apos);"),
    Rule("norm:uescape", r"\\u[0-9a-f]{4}"),
    Rule("norm:comment", r"/\*|\*/"),
    Rule("norm:linecomment", r"(?:#(?<=[\w)]#)|--(?<=[\w)]--))[^\n]{0,64}\n"),
    Rule("norm:control", r"[\x00-\x08\x0e-\x1f\x7f]"),
    Rule("norm:fullwidth", "[\uff01-\uff5e]"),
    Rule("norm:percentmask", r"%[^%\s]%[^%\s](?:%|\s|$)"),  # a superset of _PERCENT_MASK below
    # the break, the operator and what follows it in one pattern: a megabyte of `' OR ' OR` matches nothing
    Rule("quote_logic", r"['\"]" + _CLOSE + _LOGIC + r"(?:" + _AFTER_LOGIC + r")"),
    Rule("num_logic",
         r"(?:" + _LOGIC + r"|" + _kw("not", "when", "having", "if", "elt", "make_set", "iif", "where")
         + r"|\()"
         + _OPEN + r"(?P<lhs>" + _NUMQ + r")" + _CLOSE + r"(?P<cmp>" + _CMP + r")" + _OPEN
         + r"(?P<rhs>" + _NUMQ_OPEN + r")"),
    Rule("bool_logic", r"(?:" + _kw("or", "and") + r"|\|\|)[\s+(]{1,24}(?:not[\s+]{1,8})?(?:true|false)\b"),
    # `4821e0UNION`, `1DUNION`, `-.1UNION`: numeric literals glued to UNION still tokenise apart in SQL
    Rule("union", r"union(?:(?<!\wunion)|(?<=\de0union)|(?<=\ddunion)|(?<=\.\dunion))(?:" + _W
         + r"(?:all|distinct)\b)?" + _OPEN + r"(?:select|values)\b"),
    Rule("between",
         r"(?:" + _LOGIC + r"|" + _kw("having", "when", "if") + r")" + _OPEN + r"(?:not" + _W + r")?"
         + r"(?P<a>-?\d{1,20})" + _W + r"(?P<neg>not" + _W + r")?between" + _W + r"(?P<b>-?\d{1,20})" + _W
         + r"and" + _W + r"(?P<c>-?\d{1,20})"),
    Rule("case_eq", _kw("case") + _OPEN + r"(?P<lhs>-?\d{1,20})" + _CLOSE + r"when" + _OPEN
         + r"(?P<rhs>-?\d{1,20})\b"),
    Rule("stacked",
         r";" + _O + r"(?P<kw>drop|delete|insert|update|exec|execute|declare|shutdown|waitfor|select|create"
         r"|alter|truncate|grant|revoke|copy|begin|call|if|set|load|rename|merge)\b"),
    Rule("comment", r"['\"][ \t+)]{0,24}(?:--|#|/\*)"),
    Rule("order_by", r"['\"\d]" + _CLOSE + r"(?:order|group)" + _W + r"by" + _W
         + r"\d{1,3}(?:[\s+]{0,8},[\s+]{0,8}\d{1,3}){0,32}[\s+]{0,8},?"),
    Rule("sleep", r"(?:pg_sleep(?<!\wpg_sleep)|sleep(?<!\wsleep))[\s+]{0,8}\([\s+]{0,8}\d{1,6}(?:\.\d{1,3})?"
         r"[\s+]{0,8}\)"),
    Rule("time_fn",
         r"benchmark(?<!\wbenchmark)[\s+]{0,8}\([\s+]{0,8}\d{4,12}[\s+]{0,8},"
         r"|waitfor(?<!\wwaitfor)" + _W + r"(?:delay|time)" + _W + r"['\"@]"
         r"|dbms_pipe\.receive_message[\s+]{0,8}\("
         r"|dbms_lock\.sleep[\s+]{0,8}\(|dbms_session\.sleep[\s+]{0,8}\(|user_lock\.sleep[\s+]{0,8}\("
         r"|sleepeachrow[\s+]{0,8}\("
         r"|randomblob[\s+]{0,8}\([\s+]{0,8}\d{6,12}"
         r"|generate_series[\s+]{0,8}\([\s+]{0,8}\d{1,12}[\s+]{0,8},[\s+]{0,8}\d{6,12}"
         r"|regexp_substring[\s+]{0,8}\([\s+]{0,8}repeat[\s+]{0,8}\("),
    Rule("blind_fn",
         r"(?:" + _LOGIC + r"|" + _kw("rlike", "not") + r")" + _OPEN
         + r"(?P<fn>ascii|ord|unicode|substring|substr|mid|length|len|char_length|instr|locate|hex|bin|strcmp"
           r"|left|right|isnull|ifnull|user_name|db_name|system_user|current_user|user|database|version"
           r"|schema|suser_sname|is_srvrolemember)[\s+]{0,8}\("),
    Rule("blind_sub",
         r"(?:" + _LOGIC + r"|" + _kw("rlike", "not", "then", "else") + r"|=)" + _O + r"(?:exists" + _O
         + r")?\(" + _OPEN + r"select\b"),
    Rule("error_fn",
         r"(?:extractvalue|updatexml|xmltype|gtid_subset|json_keys|name_const|polygon|multipoint"
         r"|geometrycollection|multilinestring|multipolygon|linestring|ctxsys\.drithsx\.sn"
         r"|dbms_utility\.sqlid_to_sqlhash|utl_inaddr\.get_host_(?:address|name))[\s+]{0,8}\("
         r"|exp(?<!\wexp)[\s+]{0,8}\([\s+]{0,8}~"
         r"|floor(?<!\wfloor)[\s+]{0,8}\([\s+]{0,8}rand[\s+]{0,8}\([\s+]{0,8}0?[\s+]{0,8}\)[\s+]{0,8}\*"
         r"[\s+]{0,8}2"),
    Rule("cast", r"(?:convert(?<!\wconvert)|cast(?<!\wcast))[\s+]{0,8}\("),
    Rule("oob",
         r"(?:load_file|httpuritype|lo_import|lo_export|dblink_connect|openrowset|opendatasource|sys_eval"
         r"|sys_exec)[\s+]{0,8}\(|into(?<!\winto)" + _W + r"(?:out|dump)file\b|utl_http\.request|utl_file\."
         r"|dbms_ldap\.init|xp_dirtree|xp_fileexist|xp_subdirs|master\.\.xp_\w{1,32}|sp_oacreate"
         r"|sp_makewebtask"),
    Rule("char_concat",
         r"(?:nchar|char|chr)[\s+]{0,8}\([\s+]{0,8}\d{1,3}[\s+]{0,8}\)[\s+]{0,8}(?P<op>\+|\|\||,)[\s+]{0,8}"
         r"(?:nchar|char|chr)[\s+]{0,8}\("
         r"|char[\s+]{0,8}\([\s+]{0,8}\d{2,3}(?:[\s+]{0,8},[\s+]{0,8}\d{2,3}){2,32}[\s+]{0,8}\)"
         r"|chr[\s+]{0,8}\([\s+]{0,8}(?:39|34)[\s+]{0,8}\)[\s+]{0,8}\|\|"),
    Rule("hex", r"0x(?P<hex>[0-9a-f]{6,128})\b"),
    Rule("drop",
         r"(?P<kw>drop(?<!\wdrop))" + _W + r"(?:temporary" + _W + r")?(?:table|database|schema|user|role"
         r"|login|view|index|procedure|function|trigger|sequence)" + _W
         + r"(?:if" + _W + r"exists" + _W + r")?"
         r"(?P<ident>" + _IDENT + r")"),
    Rule("truncate", r"(?P<kw>truncate(?<!\wtruncate))" + _W + r"(?P<table>table" + _W + r")?"
         r"(?P<ident>" + _IDENT + r")"),
    Rule("delete", r"(?P<kw>delete(?<!\wdelete))" + _W + r"from" + _W + r"(?P<ident>" + _IDENT + r")"),
    Rule("update", r"(?P<kw>update(?<!\wupdate))" + _W + r"(?P<ident>" + _IDENT + r")" + _W + r"set" + _W
         + r"[\w`\"\[\].]{1,64}" + _O + r"="),
    Rule("alter_user", r"(?P<kw>alter(?<!\walter))" + _W + r"(?:user|role|login)" + _W
         + r"(?P<ident>" + _IDENT + r")"),
    Rule("grant", r"(?P<kw>grant(?<!\wgrant)|revoke(?<!\wrevoke))" + _W + r"(?:all\b|" + _PRIVS + r")"),
    Rule("create_user", r"(?P<kw>create(?<!\wcreate))" + _W + r"(?:user|login|role)" + _W + r"(?:if" + _W
         + r"not" + _W + r"exists" + _W + r")?(?P<ident>" + _IDENT + r")"),
    Rule("shutdown", r"(?P<kw>shutdown(?<!\wshutdown))\b"),
    Rule("proc", r"(?P<kw>xp_cmdshell|sp_configure|sp_addsrvrolemember|sp_addlogin|sp_addrolemember"
         r"|sp_password)\b"),
    Rule("set_password", r"(?P<kw>set(?<!\wset))" + _W + r"password" + _O + r"(?:for\b|=)"),
    Rule("sys_from", r"(?P<kw>from(?<!\wfrom)|join(?<!\wjoin))[\s+(]{1,24}(?:" + _SYS_TABLES + r")\b"),
    Rule("cred_cols",
         r"(?:password|passwd|pwd|pass_hash|passhash|pw_hash|hash|secret|api_key|apikey)[a-z0-9_]{0,32}"
         r"[^;]{0,160}?\bfrom" + _W + r"(?:[a-z0-9_]{1,64}\.)?(?:users?|accounts?|credentials?|logins?"
         r"|members|admins?|administrators|auth_user|wp_users|user_accounts|tbl_?users|customers)\b"),
    Rule("copy_program", r"(?P<kw>copy(?<!\wcopy))\b[^;]{0,200}?\b(?:to|from)" + _W + r"program" + _O
         + r"['\"$]"),
    Rule("load_data", r"(?P<kw>load(?<!\wload))" + _W + r"data" + _W
         + r"(?:(?:low_priority|concurrent|local)" + _W + r"){0,2}infile\b"),
)

# -- normalisation: decode URL/HTML/\u escapes (<= 2 rounds), strip inline comments, keep an offset map ------


class _Offsets:
    """Maps offsets in a rewritten text back to the text it was rewritten from (piecewise)."""

    __slots__ = ("_new_end", "_new_start", "_old_end", "_old_start")

    def __init__(self, new_start: list[int], new_end: list[int], old_start: list[int],
                 old_end: list[int]) -> None:
        self._new_start, self._new_end = new_start, new_end
        self._old_start, self._old_end = old_start, old_end

    def start(self, pos: int) -> int:
        k = bisect_right(self._new_start, pos) - 1
        if k < 0:
            return pos
        if pos < self._new_end[k]:
            return self._old_start[k]
        return self._old_end[k] + (pos - self._new_end[k])

    def end(self, pos: int) -> int:
        if pos <= 0:
            return 0
        k = bisect_right(self._new_start, pos - 1) - 1
        if k < 0:
            return pos
        if pos - 1 < self._new_end[k]:
            return self._old_end[k]
        return self._old_end[k] + (pos - self._new_end[k])


def _rewrite(text: str, pattern: re.Pattern[str],
             repl: Callable[[re.Match[str]], str]) -> tuple[str, _Offsets | None]:
    """``pattern.sub(repl, text)`` that also returns the map from new offsets back to ``text``'s."""
    ns: list[int] = []
    ne: list[int] = []
    os_: list[int] = []
    oe: list[int] = []
    shift = [0]  # new offset minus old offset so far

    def record(m: re.Match[str]) -> str:
        new = repl(m)
        start, end = m.span()
        ns.append(start + shift[0])
        shift[0] += len(new) - (end - start)
        ne.append(end + shift[0])
        os_.append(start)
        oe.append(end)
        return new

    out = pattern.sub(record, text)
    return (out, _Offsets(ns, ne, os_, oe)) if ns else (text, None)


_ESCAPE = re.compile(r"%u([0-9a-f]{4})|(%[0-9a-f]{2}(?:%[0-9a-f]{2}){0,63})"
                     r"|((?:&(?:#x?[0-9a-f]{1,7}|quot|apos);){1,64})|\\u([0-9a-f]{4})", re.IGNORECASE)
_ENTITY = re.compile(r"&(?:#(\d{1,7})|#x([0-9a-f]{1,6})|(quot|apos));", re.IGNORECASE)
_NAMED = {"quot": '"', "apos": "'"}


def _entity(dec: str, hexn: str, name: str) -> str:
    code = int(dec) if dec else int(hexn, 16) if hexn else ord(_NAMED[name.lower()])
    return chr(code) if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else "?"
_OVERLONG = re.compile(rb"[\xc0\xc1][\x80-\xbf]")  # `%C0%A7`: overlong UTF-8 for an ASCII character


def _overlong(b: re.Match[bytes]) -> bytes:
    return bytes([((b.group()[0] & 0x1F) << 6) | (b.group()[1] & 0x3F)])


def _unescape(m: re.Match[str]) -> str:
    hex4, run, entities, uesc = m.groups()
    if entities:  # a run of `&#39;&#32;...`: one call for the run, not one per entity
        return "".join(_entity(*e) for e in _ENTITY.findall(entities))
    if run:  # a run of %XX is bytes: UTF-8 when it decodes (`%EF%BC%87`), else Latin-1
        raw = _OVERLONG.sub(_overlong, bytes.fromhex(run.replace("%", "")))
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("latin-1")
    code = int(hex4 or uesc, 16)
    return m.group() if 0xD800 <= code <= 0xDFFF else chr(code)


# MySQL runs the body of `/*!50000 ... */`: drop its opener (and any stray closer), keep the body.
_BLOCK_COMMENT = re.compile(r"/\*!\d{0,6}|(?:/\*(?!!).{0,64}?\*/|\*/){1,64}", re.DOTALL)  # runs at once
_LINE_COMMENT_SPACE = re.compile(r"([\w)])(?:#|--)[^\n]{0,64}\n(?=[\w(])")
# ASP's `%S%E%L%E%C%T`: a `%` before every character, none of them a valid escape
_PERCENT_MASK = re.compile(r"(?:%[^%\s](?=%|\s|$)){2,64}")
_CONTROL = {c: " " for c in [*range(0x00, 0x09), *range(0x0E, 0x20), 0x7F]}
_CONTROL.update({c: chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)})  # fullwidth `＇` -> `'` (same length)
_KEYWORDS = _words("""
    select union insert update delete drop table from where and or xor not null sleep benchmark waitfor
    delay concat concat_ws group_concat information_schema char nchar varchar nvarchar chr substring
    substr ascii exec execute declare cast convert having order group by limit offset top into outfile
    dumpfile load_file extractvalue updatexml version database user current_user system_user all
    distinct xp_cmdshell truncate grant revoke case when then else end if iif ifnull isnull nullif
    coalesce exists like rlike regexp between count mid ord hex unhex schema schemata tables columns
    plugins column_name table_name table_schema pg_sleep values set create alter shutdown procedure
    analyse function returns begin repeat regexp_substring crypt_key left right upper lower length elt
    make_set rand floor exp md5 sha1 row as in is on join inner outer cross dual domain domains sysusers
    sysobjects all_users dba_users rownum boolean mode generate_series randomblob dbms_pipe
    receive_message dbms_lock json_keys gtid_subset name_const utl_inaddr utl_http xmltype
""")
_KEYWORD_PREFIXES = frozenset(k[:i] for k in _KEYWORDS for i in range(1, len(k) + 1))
_WORD_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"


def _strip_block_comments(text: str) -> tuple[str, _Offsets | None]:
    """Drop `/*...*/`: joined when it splits a keyword (`UN/**/ION`, `S/**/E/**/LECT`), else a space."""
    joined_end, joined_word = [-1], [""]  # where the last word joined across a comment ended, and that word

    def repl(m: re.Match[str]) -> str:
        start, end = m.span()
        if end - start < 4 or text[start + 2] == "!" or not (text[start - 1:start].isalnum()
                                                             and text[end:end + 1].isalnum()):
            return " "  # a stray closer, a versioned-comment opener, or a comment not inside a word
        before = text[max(0, start - 32):start]
        left = before[len(before.rstrip(_WORD_CHARS)):]  # str.rstrip: C speed, no regex scanning back
        after = text[end:end + 32]
        right = after[:len(after) - len(after.lstrip(_WORD_CHARS))]
        if joined_end[0] == start - len(left):  # continues a word already joined across a comment
            left = joined_word[0] + left
        joined_end[0] = end
        if (left + right).lower() in _KEYWORD_PREFIXES:
            joined_word[0] = left
            return ""
        return " "

    return _rewrite(text, _BLOCK_COMMENT, repl)


def _normalise(text: str, triggers: frozenset[str]) -> tuple[str, list[_Offsets]]:
    """The text with encodings and comment obfuscation undone, plus the maps back to ``text``.

    ``triggers`` are the ``norm:*`` rules the prefilter saw; a step runs only when its trigger fired (or an
    earlier decoding step may have produced what it handles), so ordinary text pays for none of them.
    """
    maps: list[_Offsets] = []
    decoded = False
    if "norm:percentmask" in triggers:
        text, off = _rewrite(text, _PERCENT_MASK, lambda m: m.group()[1::2])
        if off is not None:
            maps.append(off)
    if triggers & {"norm:percent", "norm:entity", "norm:uescape", "norm:percentmask"}:
        for _ in range(2):  # double URL-encoding; bounded so `%252525...` cannot loop
            text, off = _rewrite(text, _ESCAPE, _unescape)
            if off is None:
                break
            maps.append(off)
            decoded = True
            if "%" not in text and "&" not in text and "\\" not in text:
                break
    if decoded or triggers & {"norm:control", "norm:fullwidth"}:
        text = text.translate(_CONTROL)  # one character for one: offsets unchanged
    if "/*" in text or "*/" in text:
        text, off = _strip_block_comments(text)
        if off is not None:
            maps.append(off)
    if (decoded or "norm:linecomment" in triggers) and "\n" in text:
        text, off = _rewrite(text, _LINE_COMMENT_SPACE, lambda m: m.group(1) + " ")
        if off is not None:
            maps.append(off)
    return text, maps


def _to_original(maps: list[_Offsets], start: int, end: int) -> tuple[int, int]:
    for off in reversed(maps):
        start, end = off.start(start), off.end(end)
    return start, end


_SAME_LENGTH = {0x130: "i"}  # `İ` is the one character whose lower case is two characters long


def _lower(text: str) -> str:
    """Lower-cased with the same length, so offsets carry over."""
    low = text.lower()
    return low if len(low) == len(text) else text.translate(_SAME_LENGTH).lower()


# -- context helpers (all on lower-cased text) -------------------------------------------------------------

# Window regexes below start with a literal too (no leading `\b`): validators run them once per candidate.
_APOSTROPHE = re.compile(r"'(?<=[a-z]')(?:s|t|d|m|ll|re|ve)\b(?!')")
_DML = re.compile(_kw("select", "insert", "update", "delete", "with", "merge"))


def _segment_start(text: str, pos: int, limit: int = 300) -> int:
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
    return _quotes_before(text, _segment_start(text, qpos), qpos, text[qpos]) % 2 == 0


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


_MATH_WORDS = re.compile(_kw(*sorted(_words("""
    algebra boolean equation identity identities theorem prove proof logic logical truth math maths
    mathematics arithmetic formula solve variable expression axiom lemma x y n"""))))
_SQL_CUES = re.compile(r"--|#|/\*|;|inject(?<!\winject)|" + _kw("select", "where", "from", "union", "admin",
                                                                  "login", "password", "query", "sql"))


def is_math_context(text: str, start: int, end: int) -> bool:
    """`x or 1 = 1` in a sentence about algebra or logic is mathematics, not a tautology payload."""
    window = text[max(0, start - 80):min(len(text), end + 40)]
    if _SQL_CUES.search(window):
        return False
    prev = text[max(0, start - 40):start].split()
    single_var = bool(prev) and len(prev[-1]) == 1 and prev[-1].isalpha()  # `x or 1 = 1`
    return single_var or _MATH_WORDS.search(window) is not None


_TERMINATOR = re.compile(r"[\s+)'\"]{0,8}(?:--(?:[\s\-+]|$)|#|/\*|;|%00|$)")


def _terminated(text: str, pos: int) -> bool:
    """A comment, `;` or the end of the text follows ``pos``: the rest of the original query is cut off."""
    return _TERMINATOR.match(text, pos) is not None


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
    return text[len(text.rstrip(_WORD_CHARS)):]  # str.rstrip runs in C: no regex scanning backwards


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


# -- sqli checks: (lower-cased text, match, original-case text) -> score or None -----------------------------

_Check = Callable[[str, re.Match[str], str], float | None]

def _quote_logic(text: str, m: re.Match[str], orig: str) -> float | None:
    """`' OR '1'='1`, `') or ('a'='a`, `" or ""="`, `admin' AND 1=1--`, `' || 'x'='x`, `' or ''-'`."""
    if m.group("cmp") is not None:
        if text.startswith("=", m.end("cmp")):  # `==` is code, not SQL
            return None
        if is_tautology(m.group("lhs"), m.group("cmp"), m.group("rhs")):
            return 0.95
    if not (_terminated(text, m.end()) and is_quote_break(text, m.start())):
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
    term = _TERMINATOR.match(text, m.end())
    if term is not None and term.group().strip(" \t\n+)'\"") not in ("", ";"):
        return 0.9  # a comment cuts the original query off: `1 OR 1=1--`
    if term is not None or _VALUE_BEFORE.search(text, max(0, m.start() - 40), m.start()):
        return 0.85
    return 0.8 if _SQL_CUES.search(text, _segment_start(text, m.start()), m.start()) else None


def _bool_logic(text: str, m: re.Match[str], orig: str) -> float | None:
    """`or true--`, `') or true#`: a boolean literal, then a comment cutting the query off."""
    return 0.85 if is_trailing_sql_comment(text, m.end()) else None


def _between(text: str, m: re.Match[str], orig: str) -> float | None:
    """`AND 4821 BETWEEN 4821 AND 4821` (sqlmap's `between` tamper): a constant range test on literals."""
    a, b, c = (int(m.group(k)) for k in "abc")
    if not (b <= a <= c or m.group("neg")) or is_math_context(text, m.start(), m.end()):
        return None
    return 0.9 if len(m.group("a").lstrip("-")) >= 3 or _terminated(text, m.end()) else 0.8


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
    r"drop" + _W + r"(?:table|database|schema|user|function|procedure|view|login)\b|delete" + _W + r"from\b"
    r"|insert" + _W + r"into\b|update" + _W + r"[\w.\[\]`\"]{1,64}" + _W + r"set\b|exec(?:ute)?" + _W
    + r"(?:master|xp_|sp_|@|\()|exec(?:ute)?\(|declare" + _W + r"@|shutdown\b|waitfor" + _W
    + r"(?:delay|time)\b"
    r"|select" + _W + r"(?:\*|@@|\d|null\b|'|\(|[\w.]{1,64}[\s+]{0,16}(?:,|\(|\bfrom\b))|create" + _W
    + r"(?:table|user|function|procedure|login|or\b)|alter" + _W + r"(?:table|user|login|role|database)\b"
    r"|truncate\b|grant\b|revoke\b|copy\b|begin" + _W + r"\w{1,32}\.|call" + _W + r"[\w.]{1,64}[\s+]{0,8}\("
    r"|if[\s+]{0,16}\([\s+(]{0,8}(?:\d|select\b|exists\b|not\b|@@|ascii\b|substring\b|len\b)|set" + _W + r"@"
    r"|load" + _W + r"data\b|rename" + _W + r"table\b")
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


def _stacked(text: str, m: re.Match[str], orig: str) -> float | None:
    """`'; DROP TABLE users;--`, `1; EXEC xp_cmdshell 'dir'`, `1);SELECT PG_SLEEP(5)--`."""
    if _STACKED_SHAPE.match(text, m.start("kw")) is None:
        return None
    return 0.95 if is_injected_fragment(text[_segment_start(text, m.start()):m.start()]) else None


def _comment(text: str, m: re.Match[str], orig: str) -> float | None:
    """`admin'--`, `admin'#`, `')--`, `'/*`: a break quote then a comment that cuts the rest off."""
    q = m.start()
    if q > 0 and not (text[q - 1].isalnum() or text[q - 1] in ")_\n"):
        return None  # `("# Heading")`, `= '--'`: a string being opened, not one being closed
    return 0.85 if is_trailing_sql_comment(text, q + 1) and is_quote_break(text, q) else None


def _order_by(text: str, m: re.Match[str], orig: str) -> float | None:
    """`' ORDER BY 3--`, `1' GROUP BY 1,2,--+`: column-count probing after a break."""
    if text[m.start()] in "'\"":
        return 0.85 if is_quote_break(text, m.start()) and _terminated(text, m.end()) else None
    # after a number: `1 ORDER BY 3--`, but not `FROM t2 ORDER BY 1;` or `WHERE id = 1 ORDER BY 2;`
    standalone = m.start() == 0 or not (text[m.start() - 1].isalnum() or text[m.start() - 1] in "_.")
    if not standalone or in_complete_statement(text, m.start()):
        return None
    term = _TERMINATOR.match(text, m.end())
    return 0.85 if term is not None and term.group().strip(" \t\n+)'\"") not in ("", ";") else None


_SQL_LEFT_WORDS = _words("and or xor select then else not rlike like if do when in elt make_set iif")
_SLEEP_AFTER = re.compile(r"[ \t+)]{0,8}(?:--(?:[\s+\-]|$)|#[ \t]{0,8}(?:$|\n)|/\*|=[\s+]{0,8}['\"]|['\"])")


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
_SYSINFO_FNS = _words("user_name db_name system_user current_user user database version schema suser_sname "
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
_SELECT_WORD = re.compile(_kw("select"))


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
    seg = text[_segment_start(text, m.start(), 120):m.start()]
    return 0.8 if any(cue in seg for cue in _HEX_SQL) else None


# -- dangerous.sql checks ----------------------------------------------------------------------------------

_STOPWORDS = _words("""
    the a an this that these those it its them my your our their his her from in on at with to of for by
    do does did is are was will would can could should and or if not statement command keyword keywords
    clause query queries table tables database databases schema all any some everything something
    without when what how why which there here so then
""")


def is_object_name(ident: str) -> bool:
    """A table/user name (`users`, `dbo.orders`), not an English word (`drop table do`, `truncate a`)."""
    name = ident.strip("`\"'[]").lower()
    return bool(name) and name not in _STOPWORDS


def _ident_ok(m: re.Match[str]) -> bool:
    return is_object_name(m.group("ident"))


def _statement_start(text: str, pos: int) -> bool:
    before = text[max(0, pos - 64):pos].rstrip(" \t+")
    return not before or before[-1] in ";\n`'\"(:>"


def looks_like_statement(text: str, start: int, end: int, keyword: str) -> bool:
    """``text[start:end]`` is SQL rather than a sentence using its words ("we drop table users later").

    Evidence: the keyword as written is upper case, it starts a statement (text start, after `;`, a newline,
    a backtick or quote, `:`), or `;`/the end of the text follows.
    """
    if keyword.isupper() or _statement_start(text, start):
        return True
    rest = text[end:end + 8].lstrip(" \t")
    return rest == "" or rest[0] == ";"


def _looks_like_sql(text: str, m: re.Match[str], orig: str) -> bool:
    return looks_like_statement(text, m.start(), m.end(), orig[m.start("kw"):m.end("kw")])


_WHERE = re.compile(_kw("where"))
_WHERE_TAUT = re.compile(
    r"[\s+(]{1,24}(?:1|true|(?P<a>\d{1,12})[\s+]{0,8}=[\s+]{0,8}(?P<b>\d{1,12})|'(?P<c>\w{0,16})'[\s+]{0,8}="
    r"[\s+]{0,8}'(?P<d>\w{0,16})')[\s+)]{0,8}(?:;|--|#|$|\bor\b)")
_AFTER_TARGET = re.compile(r"[\s+]{0,16}(?:;|$|\n|--|#|\)|'|\"|`|where\b|using\b|returning\b|as\b|limit\b"
                           r"|order\b|output\b|from\b|inner\b|join\b|set\b)")


def _statement_tail(text: str, pos: int, limit: int = 400) -> str:
    """The statement from ``pos`` to its `;` (or a blank line), ``limit`` characters at most."""
    hi = min(len(text), pos + limit)
    ends = [i for i in (text.find(";", pos, hi), text.find("\n\n", pos, hi)) if i >= 0]
    return text[pos:min(ends) if ends else hi]


def writes_every_row(text: str, pos: int) -> bool:
    """The DELETE/UPDATE whose target ends at ``pos`` has no WHERE, or `WHERE 1=1` / `WHERE true`."""
    tail = _statement_tail(text, pos)
    w = _WHERE.search(tail)
    if w is None:
        return True
    t = _WHERE_TAUT.match(tail, w.end())
    if t is None:
        return False
    a, b, c, d = t.group("a", "b", "c", "d")
    return (a is None or a == b) and (c is None or c == d)


def _d_drop(text: str, m: re.Match[str], orig: str) -> float | None:
    """`DROP TABLE users;`, `drop database prod;`; not "what does DROP TABLE do?" or "drop the table"."""
    return 0.95 if _ident_ok(m) and _looks_like_sql(text, m, orig) else None


def _d_truncate(text: str, m: re.Match[str], orig: str) -> float | None:
    """`TRUNCATE TABLE orders`, `truncate orders;`; not "truncate strings longer than 10"."""
    if not _ident_ok(m):
        return None
    if m.group("table") is None:  # bare `truncate x` only as a whole statement: `truncate orders;`
        rest = text[m.end():m.end() + 8].lstrip(" \t")
        return 0.85 if _statement_start(text, m.start()) and (rest == "" or rest[0] == ";") else None
    return 0.9 if _looks_like_sql(text, m, orig) else None


def _d_delete(text: str, m: re.Match[str], orig: str) -> float | None:
    """`DELETE FROM orders;`, `DELETE FROM t WHERE 1=1`; not with a real WHERE or "delete from users who"."""
    if not _ident_ok(m) or _AFTER_TARGET.match(text, m.end()) is None:
        return None
    return 0.9 if _looks_like_sql(text, m, orig) and writes_every_row(text, m.end()) else None


def _d_update(text: str, m: re.Match[str], orig: str) -> float | None:
    """`UPDATE users SET role='admin'` with no WHERE (or `WHERE 1=1`)."""
    return 0.85 if _ident_ok(m) and writes_every_row(text, m.end()) else None


_PRIV_CHANGE = re.compile(_kw("password", "identified", "superuser", "sysadmin", "createrole", "createdb",
                              "bypassrls", "with"))


def _d_alter_user(text: str, m: re.Match[str], orig: str) -> float | None:
    """`ALTER USER postgres WITH PASSWORD 'x'`, `ALTER ROLE app WITH SUPERUSER`, `ALTER LOGIN sa ...`."""
    if not _ident_ok(m) or not _PRIV_CHANGE.search(_statement_tail(text, m.end())):
        return None
    return 0.9 if _looks_like_sql(text, m, orig) else None


_GRANT_TO = re.compile(_kw("to", "from") + r"[\s+]{1,16}(?P<ident>" + _IDENT + r")")
_GRANT_ON = re.compile(r"[\w\s,+()]{0,120}?\bon\b")


def _d_grant(text: str, m: re.Match[str], orig: str) -> float | None:
    """`GRANT ALL PRIVILEGES ON *.* TO 'x'@'%'`, `GRANT dba TO scott`, `REVOKE SELECT ON t FROM u`."""
    tail = _statement_tail(text, m.end(), 200)  # a GRANT names its grantee within a line or two
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
    return 0.9 if _statement_start(text, m.start()) else None


def _d_proc(text: str, m: re.Match[str], orig: str) -> float | None:
    """`EXEC xp_cmdshell 'whoami'`, `sp_configure 'xp_cmdshell', 1`, `sp_addsrvrolemember 'x','sysadmin'`."""
    return 0.95 if m.group("kw") == "xp_cmdshell" else 0.85


def _d_set_password(text: str, m: re.Match[str], orig: str) -> float | None:
    """`SET PASSWORD FOR 'root'@'localhost' = '...'`."""
    return 0.85 if _looks_like_sql(text, m, orig) else None


def _d_sys_table(text: str, m: re.Match[str], orig: str) -> float | None:
    """`SELECT * FROM information_schema.tables`, `FROM pg_shadow`, `FROM sqlite_master`, `mysql.user`."""
    return 0.9


_SYS_TABLE = re.compile(r"[\s+]{0,16}(?:" + _SYS_TABLES + r")\b")
_ALIAS_COMMA = re.compile(r"(?:" + _W + r"(?:as" + _W + r")?\w{1,16})?" + _O + r",")
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


_SELECT_BEFORE = re.compile(_kw("select"))
_WHERE_OR_FROM = re.compile(_kw("where", "from"))


def _d_cred_cols(text: str, m: re.Match[str], orig: str) -> float | None:
    """`SELECT username, password FROM users`: credential columns selected from an accounts table."""
    if m.start() > 0 and (text[m.start() - 1].isalnum() or text[m.start() - 1] == "_"):
        return None  # `mypassword`: not the column name itself
    sel = None
    for found in _SELECT_BEFORE.finditer(text, _segment_start(text, m.start(), 200), m.start()):
        sel = found  # the last SELECT before the credential word
    if sel is None or _WHERE_OR_FROM.search(text, sel.end(), m.start()):
        return None  # no SELECT, or the credential word sits in a condition rather than the select list
    return 0.9


def _fixed(score: float) -> _Check:
    def check(text: str, m: re.Match[str], orig: str) -> float | None:
        return score
    return check


# rule key -> checks: (finding type, check, whether the span runs on to the end of the clause)
_CHECKS: dict[str, tuple[tuple[str, _Check, bool], ...]] = {
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


def _clause_end(text: str, pos: int) -> int:
    """End of the clause holding ``pos`` (next `;` or newline; 200 at most): the span covers the payload."""
    hi = min(len(text), pos + 200)
    ends = [i for i in (text.find(";", pos, hi), text.find("\n", pos, hi)) if i >= 0]
    end = min(ends) if ends else hi
    return pos + len(text[pos:end].rstrip())


def _merge(found: list[Finding]) -> list[Finding]:
    """One finding per overlapping run of the same type, with the highest score."""
    out: list[Finding] = []
    for f in sorted(found, key=lambda f: (f.type, f.start, f.end)):
        last = out[-1] if out else None
        if last is not None and last.type == f.type and f.start < last.end:
            out[-1] = Finding(f.type, last.start, max(last.end, f.end), max(last.score, f.score))
        else:
            out.append(f)
    return out


class SqlDetector:
    """Finds SQL injection payloads (``sqli``) and destructive/privileged SQL statements (``dangerous.sql``).

    One Hyperscan prefilter pass decides whether anything SQL-like (or encoded) is present; benign prose stops
    there. Encoded text (URL, double URL, HTML entities, ``\\u`` escapes, ``/**/`` and ``#``/``--`` comment
    splitting) is normalised first; spans always refer to the original text.
    """

    name = "sql"
    types: tuple[str, ...] = (SQLI, DANGEROUS)

    def __init__(self) -> None:
        self._set = PatternSet(_RULES)
        self._norm_ids = frozenset(i for i, r in enumerate(_RULES) if r.key.startswith("norm:"))

    def detect(self, text: str) -> list[Finding]:
        """Return ``sqli`` / ``dangerous.sql`` findings in ``text`` (spans in ``text``'s offsets)."""
        low = _lower(text)
        hits = self._set.candidates(low)
        if not hits:
            return []
        maps: list[_Offsets] = []
        orig = text
        triggers = frozenset(self._set.rules[i].key for i in hits if i in self._norm_ids)
        if triggers:
            orig, maps = _normalise(text, triggers)
            low = _lower(orig)
        found: list[Finding] = []
        covered: dict[tuple[str, str], int] = {}  # (rule, type) -> end of its last finding
        counts = dict.fromkeys(self.types, 0)
        for rule, m in self._set.finditer(low):
            for ftype, check, extend in _CHECKS.get(rule.key, ()):
                if m.start() < covered.get((rule.key, ftype), -1) or counts[ftype] >= _MAX_FINDINGS:
                    continue  # repeats inside a finding add nothing; past the cap the type is settled
                score = check(low, m, orig)
                if score is None:
                    continue
                if (ftype == DANGEROUS or score < _STRONG) and is_question_about_sql(low, m.start(), m.end()):
                    continue
                start, end = m.start(), _clause_end(low, m.end()) if extend else m.end()
                covered[(rule.key, ftype)] = end
                counts[ftype] += 1
                if maps:
                    start, end = _to_original(maps, start, end)
                found.append(Finding(ftype, start, end, score))
        return _merge(found)


__all__ = [
    "DANGEROUS",
    "SQLI",
    "SqlDetector",
    "has_sql_left_context",
    "in_complete_statement",
    "is_code_call",
    "is_injected_fragment",
    "is_math_context",
    "is_object_name",
    "is_question_about_sql",
    "is_quote_break",
    "is_tautology",
    "is_trailing_sql_comment",
    "looks_like_statement",
    "writes_every_row",
]
