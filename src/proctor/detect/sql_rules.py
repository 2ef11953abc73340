"""SQL detector rules: the regex vocabulary and the prefilter rule table (``RULES``) built from it."""

from __future__ import annotations

from proctor.detect.scan import Rule

# Speed: the text is lower-cased once and every pattern is lower-case, case-sensitive and starts with a
# literal. Python's `re` then skips ahead with a fast literal/charset search; a leading `\b` or IGNORECASE
# makes it try every position. A keyword's left word boundary is therefore checked *behind* it: `kw`.
# Every repetition is bounded: an attacker writes the prompt.
RWS = r"[\s+]{1,16}"  # required whitespace; `+` is a space in URL query strings (`1+UNION+SELECT`)
OWS = r"[\s+]{0,16}"  # optional whitespace
_OPEN = r"[\s+(]{0,24}"
_CLOSE = r"[\s+)]{0,24}"
WORD_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"


def words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def kw(*keywords: str) -> str:
    """Keywords as a literal-first alternation, whole words only (`or` but not `for`/`order`)."""
    return "(?:" + "|".join(rf"{w}(?<!\w{w})" for w in keywords) + r")\b"


_LOGIC = r"(?:" + kw("or", "and", "xor") + r"|\|\||&&)"
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
IDENT = (r"[`\"'\[]?[a-z_@#][a-z0-9_$#@]{0,63}[`\"'\]]?"
          r"(?:\.[`\"\[]?[a-z0-9_$#@]{1,63}[`\"\]]?){0,2}")
_DOT = r"[\s+]{0,8}\.[\s+]{0,8}"  # `domain . tables`: SQL allows spaces around the dot
SYS_TABLES = (
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
_BLIND_FNS = (r"ascii|ord|unicode|substring|substr|mid|length|len|char_length|instr|locate|hex|bin|strcmp"
              r"|left|right|isnull|ifnull|user_name|db_name|system_user|current_user|user|database|version"
              r"|schema|suser_sname|is_srvrolemember")
_PRIVS = (r"(?:select|insert|update|delete|execute|usage|create|alter|drop|references|trigger|connect"
          r"|temporary|super|file|process|reload|shutdown|dba|sysadmin|superuser|admin|owner|control"
          r"|impersonate"
          r"|db_owner|rds_superuser)\b")

# A few rules give Hyperscan an explicit prefilter (see scan.Rule): the names every match must contain, which
# build a much smaller database than the automatic over-approximation of a long pattern, or the rare part of
# a rule that starts with words found all over prose (`(`, `or`, `and`): a comparator between two values, a
# function call after an operator. Those three (quote_logic, num_logic, blind_fn) halved the scan of ordinary
# prompts (5.5 -> 2.5 µs/KB); tests/detect/test_prefilter_rules.py checks that each one over-approximates.
# "norm:*" rules only say the text needs normalising. The others are candidates: the checks registered for
# their key in sql_checks.CHECKS decide, score and type them.
RULES: tuple[Rule, ...] = (
    Rule("norm:percent", r"%(?:u[0-9a-f]{4}|[0-9a-f]{2})"),
    Rule("norm:entity", r"&(?:#x?[0-9a-f]{1,7}|quot|apos);"),
    Rule("norm:uescape", r"\\u[0-9a-f]{4}"),
    Rule("norm:comment", r"/\*|\*/"),
    Rule("norm:linecomment", r"(?:#(?<=[\w)]#)|--(?<=[\w)]--))[^\n]{0,64}\n"),
    Rule("norm:control", r"[\x00-\x08\x0e-\x1f\x7f]"),
    Rule("norm:fullwidth", "[\uff01-\uff5e]"),
    Rule("norm:percentmask", r"%[^%\s]%[^%\s](?:%|\s|$)"),  # a superset of sql_normalise's _PERCENT_MASK
    # the break, the operator and what follows it in one pattern: a megabyte of `' OR ' OR` matches nothing
    Rule("quote_logic", r"['\"]" + _CLOSE + _LOGIC + r"(?:" + _AFTER_LOGIC + r")",
         prefilter=r"['\"][\s+)]{0,24}(?:or|and|xor|\|\||&&)"),
    Rule("num_logic",
         r"(?:" + _LOGIC + r"|" + kw("not", "when", "having", "if", "elt", "make_set", "iif", "where")
         + r"|\()"
         + _OPEN + r"(?P<lhs>" + _NUMQ + r")" + _CLOSE + r"(?P<cmp>" + _CMP + r")" + _OPEN
         + r"(?P<rhs>" + _NUMQ_OPEN + r")",
         # the lhs's last character, the comparator and the rhs's first character; a word comparator has a
         # word boundary on both sides (so `3in4` in a base64 run or a hash is no candidate)
         prefilter=r"[\d'\"][\s+)]{0,24}[=<>!]{1,3}[\s+(]{0,24}(?:-?\d|n?'|\")"
                   r"|(?:[\d'\"][\s+)]{1,24}|['\"])(?:r?like|regexp|in)(?:[\s+(]{1,24}(?:-?\d|n?'|\")|-\d|['\"])"),
    Rule("bool_logic", r"(?:" + kw("or", "and") + r"|\|\|)[\s+(]{1,24}(?:not[\s+]{1,8})?(?:true|false)\b"),
    # `4821e0UNION`, `1DUNION`, `-.1UNION`: numeric literals glued to UNION still tokenise apart in SQL
    Rule("union", r"union(?:(?<!\wunion)|(?<=\de0union)|(?<=\ddunion)|(?<=\.\dunion))(?:" + RWS
         + r"(?:all|distinct)\b)?" + _OPEN + r"(?:select|values)\b"),
    Rule("between",
         r"(?:" + _LOGIC + r"|" + kw("having", "when", "if") + r")" + _OPEN + r"(?:not" + RWS + r")?"
         + r"(?P<a>-?\d{1,20})" + RWS + r"(?P<neg>not" + RWS + r")?between" + RWS + r"(?P<b>-?\d{1,20})" + RWS
         + r"and" + RWS + r"(?P<c>-?\d{1,20})"),
    Rule("case_eq", kw("case") + _OPEN + r"(?P<lhs>-?\d{1,20})" + _CLOSE + r"when" + _OPEN
         + r"(?P<rhs>-?\d{1,20})\b"),
    Rule("stacked",
         r";" + OWS + r"(?P<kw>drop|delete|insert|update|exec|execute|declare|shutdown|waitfor|select|create"
         r"|alter|truncate|grant|revoke|copy|begin|call|if|set|load|rename|merge)\b"),
    Rule("comment", r"['\"][ \t+)]{0,24}(?:--|#|/\*)"),
    Rule("order_by", r"['\"\d]" + _CLOSE + r"(?:order|group)" + RWS + r"by" + RWS
         + r"\d{1,3}(?:[\s+]{0,8},[\s+]{0,8}\d{1,3}){0,32}[\s+]{0,8},?"),
    Rule("sleep", r"(?:pg_sleep(?<!\wpg_sleep)|sleep(?<!\wsleep))[\s+]{0,8}\([\s+]{0,8}\d{1,6}(?:\.\d{1,3})?"
         r"[\s+]{0,8}\)"),
    Rule("time_fn",
         r"benchmark(?<!\wbenchmark)[\s+]{0,8}\([\s+]{0,8}\d{4,12}[\s+]{0,8},"
         r"|waitfor(?<!\wwaitfor)" + RWS + r"(?:delay|time)" + RWS + r"['\"@]"
         r"|dbms_pipe\.receive_message[\s+]{0,8}\("
         r"|dbms_lock\.sleep[\s+]{0,8}\(|dbms_session\.sleep[\s+]{0,8}\(|user_lock\.sleep[\s+]{0,8}\("
         r"|sleepeachrow[\s+]{0,8}\("
         r"|randomblob[\s+]{0,8}\([\s+]{0,8}\d{6,12}"
         r"|generate_series[\s+]{0,8}\([\s+]{0,8}\d{1,12}[\s+]{0,8},[\s+]{0,8}\d{6,12}"
         r"|regexp_substring[\s+]{0,8}\([\s+]{0,8}repeat[\s+]{0,8}\(",
         prefilter=r"benchmark[^a-z]{0,}\(|waitfor|dbms_pipe\.receive_message|dbms_lock\.sleep|dbms_session\.sleep"
                   r"|user_lock\.sleep|sleepeachrow|randomblob|generate_series|regexp_substring"),
    Rule("blind_fn",
         r"(?:" + _LOGIC + r"|" + kw("rlike", "not") + r")" + _OPEN + r"(?P<fn>" + _BLIND_FNS + r")[\s+]{0,8}\(",
         # the operator's last character (or, xor, and, ||, &&, rlike, not), then the function call
         prefilter=r"[rd|&et][\s+(]{0,24}(?:" + _BLIND_FNS + r")[\s+]{0,8}\("),
    Rule("blind_sub",
         r"(?:" + _LOGIC + r"|" + kw("rlike", "not", "then", "else") + r"|=)" + OWS + r"(?:exists" + OWS
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
         r"|sys_exec)[\s+]{0,8}\(|into(?<!\winto)" + RWS + r"(?:out|dump)file\b|utl_http\.request|utl_file\."
         r"|dbms_ldap\.init|xp_dirtree|xp_fileexist|xp_subdirs|master\.\.xp_\w{1,32}|sp_oacreate"
         r"|sp_makewebtask",
         prefilter=r"load_file|httpuritype|lo_import|lo_export|dblink_connect|openrowset|opendatasource|sys_eval"
                   r"|sys_exec|outfile|dumpfile|utl_http\.request|utl_file\.|dbms_ldap\.init|xp_dirtree"
                   r"|xp_fileexist|xp_subdirs|master\.\.xp_|sp_oacreate|sp_makewebtask"),
    Rule("char_concat",
         r"(?:nchar|char|chr)[\s+]{0,8}\([\s+]{0,8}\d{1,3}[\s+]{0,8}\)[\s+]{0,8}(?P<op>\+|\|\||,)[\s+]{0,8}"
         r"(?:nchar|char|chr)[\s+]{0,8}\("
         r"|char[\s+]{0,8}\([\s+]{0,8}\d{2,3}(?:[\s+]{0,8},[\s+]{0,8}\d{2,3}){2,32}[\s+]{0,8}\)"
         r"|chr[\s+]{0,8}\([\s+]{0,8}(?:39|34)[\s+]{0,8}\)[\s+]{0,8}\|\|"),
    Rule("hex", r"0x(?P<hex>[0-9a-f]{6,128})\b"),
    Rule("drop",
         r"(?P<kw>drop(?<!\wdrop))" + RWS + r"(?:temporary" + RWS + r")?(?:table|database|schema|user|role"
         r"|login|view|index|procedure|function|trigger|sequence)" + RWS
         + r"(?:if" + RWS + r"exists" + RWS + r")?"
         r"(?P<ident>" + IDENT + r")"),
    Rule("truncate", r"(?P<kw>truncate(?<!\wtruncate))" + RWS + r"(?P<table>table" + RWS + r")?"
         r"(?P<ident>" + IDENT + r")"),
    Rule("delete", r"(?P<kw>delete(?<!\wdelete))" + RWS + r"from" + RWS + r"(?P<ident>" + IDENT + r")"),
    Rule("update", r"(?P<kw>update(?<!\wupdate))" + RWS + r"(?P<ident>" + IDENT + r")" + RWS + r"set" + RWS
         + r"[\w`\"\[\].]{1,64}" + OWS + r"="),
    Rule("alter_user", r"(?P<kw>alter(?<!\walter))" + RWS + r"(?:user|role|login)" + RWS
         + r"(?P<ident>" + IDENT + r")"),
    Rule("grant", r"(?P<kw>grant(?<!\wgrant)|revoke(?<!\wrevoke))" + RWS + r"(?:all\b|" + _PRIVS + r")"),
    Rule("create_user", r"(?P<kw>create(?<!\wcreate))" + RWS + r"(?:user|login|role)" + RWS + r"(?:if" + RWS
         + r"not" + RWS + r"exists" + RWS + r")?(?P<ident>" + IDENT + r")"),
    Rule("shutdown", r"(?P<kw>shutdown(?<!\wshutdown))\b"),
    Rule("proc", r"(?P<kw>xp_cmdshell|sp_configure|sp_addsrvrolemember|sp_addlogin|sp_addrolemember"
         r"|sp_password)\b"),
    Rule("set_password", r"(?P<kw>set(?<!\wset))" + RWS + r"password" + OWS + r"(?:for\b|=)"),
    Rule("sys_from", r"(?P<kw>from(?<!\wfrom)|join(?<!\wjoin))[\s+(]{1,24}(?:" + SYS_TABLES + r")\b",
         prefilter=r"(?:from|join)[^a-z]{1,}(?:information_schema|pg_|mysql|master|sys|sqlite_|dba_|all_|rdb\$"
                   r"|domain|msysobjects)"),
    Rule("cred_cols",
         r"(?:password|passwd|pwd|pass_hash|passhash|pw_hash|hash|secret|api_key|apikey)[a-z0-9_]{0,32}"
         r"[^;]{0,160}?\bfrom" + RWS + r"(?:[a-z0-9_]{1,64}\.)?(?:users?|accounts?|credentials?|logins?"
         r"|members|admins?|administrators|auth_user|wp_users|user_accounts|tbl_?users|customers)\b"),
    Rule("copy_program", r"(?P<kw>copy(?<!\wcopy))\b[^;]{0,200}?\b(?:to|from)" + RWS + r"program" + OWS
         + r"['\"$]"),
    Rule("load_data", r"(?P<kw>load(?<!\wload))" + RWS + r"data" + RWS
         + r"(?:(?:low_priority|concurrent|local)" + RWS + r"){0,2}infile\b"),
)
