"""Load policy files (YAML) into validated Policy objects; a bad file is refused whole.

Sources are file paths, directories (every ``*.yaml``/``*.yml`` file in them that holds ``policies``), or
``builtin:NAME`` for the packs shipped in ``proctor/policy/packs``. Errors name the file, the line, the
policy id and the field, say what was expected and what was found.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from proctor.decision import Action
from proctor.errors import PolicyFileError
from proctor.findings import BUILTIN_FINDING_TYPES, CUSTOM_PREFIX
from proctor.policy.model import POLICY_ID, SCOPES, SEVERITIES, WHEN_KEYS, Policy

try:  # Python 3.11+ moved the regex parser; the old names warn on import
    from re import _constants as sre_constants  # type: ignore[attr-defined]
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants
    import sre_parse

BUILTIN_PREFIX = "builtin:"
_POLICY_KEYS = ("id", "description", "match", "scope", "action", "severity", "when")
_MATCH_KEYS = ("types", "patterns", "keywords")
_ACTIONS = ("allow", "log", "redact", "deny", "require_approval")  # the order the docs use
_FIX = "Fix it, then run: proctor policy validate FILE"


def builtin_packs() -> list[str]:
    """Names of the packs shipped with Proctor, usable as ``builtin:NAME``."""
    folder = resources.files("proctor.policy") / "packs"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _read_source(source: str) -> list[tuple[str, str]]:
    """(display name, YAML text) for each file the source stands for."""
    if source.startswith(BUILTIN_PREFIX):
        name = source[len(BUILTIN_PREFIX):]
        packs = builtin_packs()
        if name not in packs:
            hint = difflib.get_close_matches(name, packs, n=1)
            extra = f' Did you mean "builtin:{hint[0]}"?' if hint else ""
            raise PolicyFileError(source, f"no built-in pack named {name!r}; available: {', '.join(packs)}.{extra}")
        text = (resources.files("proctor.policy") / "packs" / f"{name}.yaml").read_text("utf-8")
        return [(source, text)]
    path = Path(source)
    if path.is_dir():
        files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
        out = []
        for f in files:
            text = _read_file(f)
            if _holds_policies(text):
                out.append((str(f), text))
        if not out:
            raise PolicyFileError(source, "directory holds no policy file (*.yaml with a top-level 'policies' list)")
        return out
    return [(source, _read_file(path))]


def _read_file(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PolicyFileError(str(path), "file not found") from None
    except OSError as exc:
        raise PolicyFileError(str(path), f"cannot read file: {exc.strerror}") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise PolicyFileError(str(path), f"not valid UTF-8 (byte 0x{data[exc.start]:02x})", line=line) from None


def _holds_policies(text: str) -> bool:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return True  # let the real load report the syntax error
    return isinstance(data, dict) and "policies" in data


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


class _FileParser:
    """Validates one file's node tree; keeps the file name for messages."""

    def __init__(self, source: str, known_types: Sequence[str]) -> None:
        self.source = source
        self.known_types = tuple(known_types)

    def fail(self, node: yaml.Node, message: str, *, policy_id: str | None = None,
             field: str | None = None) -> PolicyFileError:
        return PolicyFileError(self.source, f"{message}. {_FIX}", line=_line(node), policy_id=policy_id,
                               field=field)

    def mapping(self, node: yaml.Node, allowed: Sequence[str], *, what: str, policy_id: str | None = None,
                field: str | None = None) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"expected a mapping for {what}; found {_kind(node)}", policy_id=policy_id,
                            field=field)
        out: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                raise self.fail(key_node, f"expected a string key in {what}", policy_id=policy_id)
            name = key if field is None else f"{field}.{key}"
            if key not in allowed:
                hint = difflib.get_close_matches(key, allowed, n=1)
                extra = f' (did you mean "{hint[0]}"?)' if hint else ""
                raise self.fail(key_node, f"unknown field {key!r}{extra}; expected one of {', '.join(allowed)}",
                                policy_id=policy_id, field=name)
            if key in out:
                raise self.fail(key_node, f"field {key!r} appears twice", policy_id=policy_id, field=name)
            out[key] = value_node
        return out

    def string(self, node: yaml.Node, *, policy_id: str | None, field: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:str":
            raise self.fail(node, f"expected a string; found {_kind(node)}", policy_id=policy_id, field=field)
        return str(node.value)

    def strings(self, node: yaml.Node, *, policy_id: str | None, field: str) -> tuple[yaml.Node, ...]:
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:str":
            return (node,)
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"expected a list of strings; found {_kind(node)}", policy_id=policy_id,
                            field=field)
        for item in node.value:
            self.string(item, policy_id=policy_id, field=field)
        return tuple(node.value)

    def parse(self, text: str) -> list[Policy]:
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            raise PolicyFileError(self.source, f"invalid YAML: {exc.problem}. {_FIX}",
                                  line=mark.line + 1 if mark else None) from None
        except yaml.YAMLError as exc:
            raise PolicyFileError(self.source, f"invalid YAML: {exc}") from None
        if root is None:
            raise PolicyFileError(self.source, f"file is empty; expected a top-level 'policies' list. {_FIX}")
        top = self.mapping(root, ("policies",), what="the file")
        if "policies" not in top:
            raise self.fail(root, "missing the top-level 'policies' list", field="policies")
        seq = top["policies"]
        if not isinstance(seq, yaml.SequenceNode):
            raise self.fail(seq, f"expected a list of policies; found {_kind(seq)}", field="policies")
        policies: list[Policy] = []
        seen: dict[str, int] = {}
        for item in seq.value:
            policy = self.policy(item)
            if policy.id in seen:
                raise self.fail(item, f"duplicate policy id {policy.id!r} (first defined on line {seen[policy.id]})",
                                policy_id=policy.id, field="id")
            seen[policy.id] = _line(item)
            policies.append(policy)
        return policies

    def policy(self, node: yaml.Node) -> Policy:
        fields = self.mapping(node, _POLICY_KEYS, what="a policy")
        if "id" not in fields:
            raise self.fail(node, "missing required field 'id'", field="id")
        pid = self.string(fields["id"], policy_id=None, field="id")
        if not POLICY_ID.fullmatch(pid):
            raise self.fail(fields["id"], f"expected an id of 1-64 characters from [a-z0-9_-]; found {pid!r}",
                            policy_id=pid, field="id")
        for required in ("match", "action"):
            if required not in fields:
                raise self.fail(node, f"missing required field {required!r}", policy_id=pid, field=required)
        action_text = self.string(fields["action"], policy_id=pid, field="action")
        if action_text not in _ACTIONS:
            raise self.fail(fields["action"], f"expected one of {', '.join(_ACTIONS)}; found {action_text!r}",
                            policy_id=pid, field="action")
        scope = "input"
        if "scope" in fields:
            scope = self.string(fields["scope"], policy_id=pid, field="scope")
            if scope not in SCOPES:
                raise self.fail(fields["scope"], f"expected one of {', '.join(SCOPES)}; found {scope!r}",
                                policy_id=pid, field="scope")
        severity = None
        if "severity" in fields:
            severity = self.string(fields["severity"], policy_id=pid, field="severity")
            if severity not in SEVERITIES:
                raise self.fail(fields["severity"], f"expected one of {', '.join(SEVERITIES)}; found {severity!r}",
                                policy_id=pid, field="severity")
        description = ""
        if "description" in fields:
            description = self.string(fields["description"], policy_id=pid, field="description")
        types, patterns, keywords = self.match(fields["match"], pid)
        when = self.when(fields["when"], pid) if "when" in fields else ()
        return Policy(id=pid, action=Action(action_text), description=description, types=types,
                      patterns=patterns, keywords=keywords, scope=scope, severity=severity, when=when,
                      source=self.source)

    def match(self, node: yaml.Node, pid: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        fields = self.mapping(node, _MATCH_KEYS, what="'match'", policy_id=pid, field="match")
        types: list[str] = []
        for item in self.strings(fields["types"], policy_id=pid, field="match.types") if "types" in fields else ():
            types.append(self.finding_type(item, pid))
        patterns: list[str] = []
        for item in (self.strings(fields["patterns"], policy_id=pid, field="match.patterns")
                     if "patterns" in fields else ()):
            patterns.append(self.pattern(item, pid))
        keywords: list[str] = []
        for item in (self.strings(fields["keywords"], policy_id=pid, field="match.keywords")
                     if "keywords" in fields else ()):
            if not str(item.value).strip():
                raise self.fail(item, "expected a non-empty keyword", policy_id=pid, field="match.keywords")
            keywords.append(str(item.value))
        if not (types or patterns or keywords):
            raise self.fail(node, "expected at least one of match.types, match.patterns, match.keywords",
                            policy_id=pid, field="match")
        return tuple(types), tuple(patterns), tuple(keywords)

    def finding_type(self, node: yaml.Node, pid: str) -> str:
        glob = str(node.value)
        if glob.startswith(CUSTOM_PREFIX) or any(_glob_hits(glob, t) for t in self.known_types):
            return glob
        hint = difflib.get_close_matches(glob, self.known_types, n=1)
        extra = f' Did you mean "{hint[0]}"?' if hint else ""
        raise self.fail(node, f"unknown finding type {glob!r}; expected a finding type or glob such as "
                        f'"pii.email" or "secret.*".{extra}', policy_id=pid, field="match.types")

    def pattern(self, node: yaml.Node, pid: str) -> str:
        text = str(node.value)
        try:
            re.compile(text)
        except re.error as exc:
            raise self.fail(node, f"invalid regular expression {text!r}: {exc}", policy_id=pid,
                            field="match.patterns") from None
        if _nested_unbounded_repeat(text):
            raise self.fail(node, f"regular expression {text!r} nests an unbounded repetition inside another "
                            "(like (a+)+), which can take exponential time on hostile input; rewrite it "
                            "without the nesting", policy_id=pid, field="match.patterns")
        return text

    def when(self, node: yaml.Node, pid: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
        fields = self.mapping(node, WHEN_KEYS, what="'when'", policy_id=pid, field="when")
        out = []
        for key in WHEN_KEYS:
            if key in fields:
                globs = tuple(str(n.value) for n in self.strings(fields[key], policy_id=pid, field=f"when.{key}"))
                if not globs:
                    raise self.fail(fields[key], "expected at least one value", policy_id=pid, field=f"when.{key}")
                out.append((key, globs))
        return tuple(out)


def _glob_hits(glob: str, finding_type: str) -> bool:
    from fnmatch import fnmatchcase

    return fnmatchcase(finding_type, glob)


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    tag = node.tag.rsplit(":", 1)[-1]
    return f"{tag} {node.value!r}" if tag != "null" else "nothing"


_REPEATS = (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT)


def _nested_unbounded_repeat(pattern: str) -> bool:
    """True when an unbounded repeat sits inside another repeat: the classic catastrophic-backtracking shape."""

    def walk(items: Any, inside_repeat: bool) -> bool:
        for op, arg in items:
            if op in _REPEATS:
                _lo, hi, sub = arg
                unbounded = hi == sre_constants.MAXREPEAT or hi > 1000
                if inside_repeat and unbounded:
                    return True
                if walk(sub, inside_repeat or hi > 1):
                    return True
            elif op is sre_constants.SUBPATTERN:
                if walk(arg[-1], inside_repeat):
                    return True
            elif op is sre_constants.BRANCH:
                if any(walk(branch, inside_repeat) for branch in arg[1]):
                    return True
            elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT) and walk(arg[1], inside_repeat):
                return True
        return False

    return walk(sre_parse.parse(pattern), False)


def load_policy_files(sources: Iterable[str], known_types: Sequence[str] = BUILTIN_FINDING_TYPES) -> list[Policy]:
    """Parse and validate every source; raise PolicyFileError on the first problem, loading nothing."""
    policies: list[Policy] = []
    where: dict[str, str] = {}
    for source in sources:
        for name, text in _read_source(source):
            for policy in _FileParser(name, known_types).parse(text):
                if policy.id in where:
                    raise PolicyFileError(name, f"duplicate policy id {policy.id!r}, already defined in "
                                          f"{where[policy.id]}; ids are unique across a policy set",
                                          policy_id=policy.id, field="id")
                where[policy.id] = name
                policies.append(policy)
    return policies
