"""The Governor: the one pipeline (identity → check → approval → provider → check → record).

Only this module wires the stages together. Today it runs the check stage; the faces (CLI, server,
integrations) call it and never reach into a stage.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Union

from proctor.decision import Action, Decision
from proctor.detect import Detector, load_detectors
from proctor.detect.custom import CustomDetector
from proctor.findings import Finding
from proctor.identity import Identity
from proctor.policy import PolicySet, load_policies
from proctor.policy.model import Policy
from proctor.redaction import Redactor

Messages = Sequence[Mapping[str, Any]]
CheckInput = Union[str, Messages]  # noqa: UP007 - a runtime alias; `|` needs 3.10 objects
_SCOPES = ("input", "output")
_VERBS = {
    Action.DENY: "Denied",
    Action.REQUIRE_APPROVAL: "Held for approval",
    Action.REDACT: "Redacted",
    Action.LOG: "Logged",
    Action.ALLOW: "Allowed",
}
_TEXT_PART_TYPES = ("text", "input_text", "output_text")
_PLAN_CACHE_SIZE = 1024


@dataclass(frozen=True, slots=True)
class _Piece:
    """One string inside the checked input: which message and where in it."""

    message: int | None
    path: tuple[str | int, ...]
    text: str


@dataclass(frozen=True, slots=True)
class _Plan:
    """What to run for one (scope, caller): the applicable policies and only the detectors they need."""

    policies: tuple[Policy, ...]
    detectors: tuple[Detector, ...]


class Governor:
    """Checks prompts and responses against policies; the one object every face of Proctor uses.

    >>> gov = Governor()                                   # builtin:default policies
    >>> gov.check("My SSN is 123-45-6789").action.value
    'deny'

    ``policies`` takes a loaded ``PolicySet`` or sources for ``load_policies`` (file paths, directories,
    ``builtin:NAME``). ``reversible_redaction=True`` keeps the placeholder → original map on redacting
    decisions so a response can be restored; that map holds the sensitive values, so it is off by default.
    """

    def __init__(
        self,
        policies: PolicySet | Sequence[str] | None = None,
        *,
        detectors: Sequence[Detector] | None = None,
        reversible_redaction: bool = False,
    ) -> None:
        if policies is None:
            policies = load_policies()
        elif not isinstance(policies, PolicySet):
            if isinstance(policies, str):
                raise TypeError("policies must be a list of sources, e.g. ['builtin:default'], not a string")
            policies = load_policies(*policies)
        self.policies: PolicySet = policies
        self.reversible_redaction = reversible_redaction
        found = list(detectors) if detectors is not None else load_detectors()
        custom_rules = [(p.custom_type, p.patterns, p.keywords) for p in policies if p.patterns or p.keywords]
        if custom_rules:
            found.append(CustomDetector(custom_rules))
        self.detectors: tuple[Detector, ...] = tuple(found)
        self._plans: dict[tuple[str, str, str, str | None], _Plan] = {}

    # -- check ---------------------------------------------------------------------------------------
    def check(self, text_or_messages: CheckInput, identity: Identity | None = None, scope: str = "input") -> Decision:
        """Check a string or OpenAI-style ``messages`` and return the Decision (never raises when blocked).

        ``scope`` is ``"input"`` for prompts and ``"output"`` for responses. For messages, every role is
        checked, string or content-part contents, tool results and tool-call arguments; each finding's
        ``message`` is the index of the message it came from.
        """
        if scope not in _SCOPES:
            raise ValueError(f"scope must be 'input' or 'output', not {scope!r}")
        identity = identity or Identity()
        plan = self._plan(scope, identity)
        is_text = isinstance(text_or_messages, str)
        pieces = [_Piece(None, (), text_or_messages)] if is_text else _pieces(text_or_messages)  # type: ignore[arg-type]
        findings: list[Finding] = []
        per_piece: list[list[Finding]] = []
        for piece in pieces:
            found: list[Finding] = []
            for detector in plan.detectors:
                for f in detector.detect(piece.text):
                    found.append(f if piece.message is None else
                                 Finding(f.type, f.start, f.end, f.score, piece.message))
            found.sort(key=lambda f: (f.start, f.end, f.type))
            per_piece.append(found)
            findings.extend(found)
        outcome = self.policies.evaluate(findings, plan.policies)
        if outcome.action is Action.ALLOW and not outcome.policies:
            return Decision(Action.ALLOW, scope=scope)
        redacted: str | list[dict[str, Any]] | None = None
        placeholders: dict[str, str] = {}
        if outcome.action is Action.REDACT:
            redactor = Redactor()
            redact_policies = [p for p in outcome.policies if p.action is Action.REDACT]
            texts: list[str] = []
            for piece, found in zip(pieces, per_piece, strict=True):
                targets = [f for f in found if any(p.matches_type(f.type) for p in redact_policies)]
                texts.append(redactor.redact(piece.text, targets) if targets else piece.text)
            redacted = texts[0] if is_text else _rebuild(text_or_messages, pieces, texts)  # type: ignore[arg-type]
            if self.reversible_redaction:
                placeholders = redactor.placeholders
        return Decision(
            action=outcome.action,
            findings=outcome.findings,
            policies=tuple(p.id for p in outcome.policies),
            reason=_reason(outcome.action, outcome.policies, outcome.findings),
            redacted=redacted,
            placeholders=placeholders,
            scope=scope,
        )

    def _plan(self, scope: str, identity: Identity) -> _Plan:
        key = (scope, identity.tenant, identity.agent, identity.model)
        plan = self._plans.get(key)
        if plan is None:
            active = self.policies.active(scope, identity)
            globs = [g for p in active for g in p.types] + [p.custom_type for p in active if p.patterns or p.keywords]
            detectors = tuple(d for d in self.detectors
                              if any(fnmatchcase(t, g) for t in d.types for g in globs))
            plan = _Plan(active, detectors)
            if len(self._plans) >= _PLAN_CACHE_SIZE:
                self._plans.clear()
            self._plans[key] = plan
        return plan


def _pieces(messages: Messages) -> list[_Piece]:
    if not isinstance(messages, Sequence) or isinstance(messages, (str, bytes)):
        raise TypeError("expected a string or a list of messages (dicts with 'role' and 'content')")
    out: list[_Piece] = []
    for i, msg in enumerate(messages):
        if not isinstance(msg, Mapping):
            raise TypeError(f"message {i} is {type(msg).__name__}, expected a dict with 'role' and 'content'")
        content = msg.get("content")
        if isinstance(content, str):
            out.append(_Piece(i, ("content",), content))
        elif isinstance(content, list):
            for j, part in enumerate(content):
                if isinstance(part, str):
                    out.append(_Piece(i, ("content", j), part))
                elif isinstance(part, Mapping):
                    if part.get("type", "text") in _TEXT_PART_TYPES and isinstance(part.get("text"), str):
                        out.append(_Piece(i, ("content", j, "text"), part["text"]))
                    elif part.get("type") == "tool_result":  # Anthropic-style tool result parts
                        inner = part.get("content")
                        if isinstance(inner, str):
                            out.append(_Piece(i, ("content", j, "content"), inner))
        elif content is not None:
            raise TypeError(f"message {i} has content of type {type(content).__name__}; expected a string or a list")
        for k, call in enumerate(msg.get("tool_calls") or ()):
            fn = call.get("function") if isinstance(call, Mapping) else None
            if isinstance(fn, Mapping) and isinstance(fn.get("arguments"), str):
                out.append(_Piece(i, ("tool_calls", k, "function", "arguments"), fn["arguments"]))
        legacy = msg.get("function_call")
        if isinstance(legacy, Mapping) and isinstance(legacy.get("arguments"), str):
            out.append(_Piece(i, ("function_call", "arguments"), legacy["arguments"]))
    return out


def _rebuild(messages: Messages, pieces: Sequence[_Piece], texts: Sequence[str]) -> list[dict[str, Any]]:
    """A copy of ``messages`` with each piece's text replaced; untouched messages are shallow copies."""
    out: list[dict[str, Any]] = [dict(m) for m in messages]
    copied: set[tuple[int, str]] = set()
    for piece, text in zip(pieces, texts, strict=True):
        if text == piece.text or piece.message is None:
            continue
        msg = out[piece.message]
        head = str(piece.path[0])
        if len(piece.path) > 1:
            if (piece.message, head) not in copied:  # copy nested parts once, never mutate the caller's
                msg[head] = copy.deepcopy(messages[piece.message][head])
                copied.add((piece.message, head))
            target: Any = msg[head]
            for step in piece.path[1:-1]:
                target = target[step]
            target[piece.path[-1]] = text
        else:
            msg[head] = text
    return out


def _reason(action: Action, policies: Sequence[Policy], findings: Sequence[Finding]) -> str:
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.type] = counts.get(f.type, 0) + 1
    found = ", ".join(f"{t} ({n})" if n > 1 else t for t, n in sorted(counts.items()))
    deciding = [p.id for p in policies if p.action is action]
    others = [p.id for p in policies if p.action is not action]
    noun = "policy" if len(deciding) == 1 else "policies"
    text = f"{_VERBS[action]} by {noun} {', '.join(deciding)}: found {found}."
    if others:
        text += f" Also matched: {', '.join(others)}."
    return text
