"""SQL detector normalisation: undo URL/HTML/``\\u``/comment obfuscation, keep an offset map back."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable

from proctor.detect.casing import lowered
from proctor.detect.sql_rules import WORD_CHARS, words

# Decode URL/HTML/\u escapes (<= 2 rounds), overlong UTF-8 and fullwidth forms, strip inline comments, and keep
# a map from each rewritten text back to the one it was rewritten from, so spans refer to the original text.


class Offsets:
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
             repl: Callable[[re.Match[str]], str]) -> tuple[str, Offsets | None]:
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
    return (out, Offsets(ns, ne, os_, oe)) if ns else (text, None)


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
_KEYWORDS = words("""
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


def _strip_block_comments(text: str) -> tuple[str, Offsets | None]:
    """Drop `/*...*/`: joined when it splits a keyword (`UN/**/ION`, `S/**/E/**/LECT`), else a space."""
    joined_end, joined_word = [-1], [""]  # where the last word joined across a comment ended, and that word

    def repl(m: re.Match[str]) -> str:
        start, end = m.span()
        if end - start < 4 or text[start + 2] == "!" or not (text[start - 1:start].isalnum()
                                                             and text[end:end + 1].isalnum()):
            return " "  # a stray closer, a versioned-comment opener, or a comment not inside a word
        before = text[max(0, start - 32):start]
        left = before[len(before.rstrip(WORD_CHARS)):]  # str.rstrip: C speed, no regex scanning back
        after = text[end:end + 32]
        right = after[:len(after) - len(after.lstrip(WORD_CHARS))]
        if joined_end[0] == start - len(left):  # continues a word already joined across a comment
            left = joined_word[0] + left
        joined_end[0] = end
        if (left + right).lower() in _KEYWORD_PREFIXES:
            joined_word[0] = left
            return ""
        return " "

    return _rewrite(text, _BLOCK_COMMENT, repl)


def normalise(text: str, triggers: frozenset[str]) -> tuple[str, list[Offsets]]:
    """The text with encodings and comment obfuscation undone, plus the maps back to ``text``.

    ``triggers`` are the ``norm:*`` rules the prefilter saw; a step runs only when its trigger fired (or an
    earlier decoding step may have produced what it handles), so ordinary text pays for none of them.
    """
    maps: list[Offsets] = []
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


def to_original(maps: list[Offsets], start: int, end: int) -> tuple[int, int]:
    for off in reversed(maps):
        start, end = off.start(start), off.end(end)
    return start, end


_SAME_LENGTH = {0x130: "i"}  # `İ` is the one character whose lower case is two characters long


def lower(text: str) -> str:
    """Lower-cased with the same length, so offsets carry over."""
    low = lowered(text)
    return low if len(low) == len(text) else text.translate(_SAME_LENGTH).lower()
