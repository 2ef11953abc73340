"""The Governor: the one pipeline (identity → check → approval → provider → check → record).

Only this module wires the stages together. Today it runs the check stage; the faces (CLI, server,
integrations) call it and never reach into a stage.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, Protocol, Union, cast

from proctor.contexts import Context, ContextCache, context_secret
from proctor.decision import Action, Decision
from proctor.detect import Detector, load_detectors
from proctor.detect.custom import CustomDetector
from proctor.errors import (
    ApprovalExpired,
    ApprovalRejected,
    ApprovalRequired,
    ApprovalTimeout,
    PolicyDenied,
    ProviderError,
)
from proctor.findings import Finding
from proctor.identity import Identity

if TYPE_CHECKING:
    from proctor.approvals import Approval, Approvals
    from proctor.config import Settings
    from proctor.keys import KeyRing
    from proctor.store import Store
from proctor.policy import PolicySet, load_policies
from proctor.policy.model import Policy
from proctor.providers import Provider, ProviderConfig, ProviderRouter
from proctor.redaction import Redactor
from proctor.stream_guard import StreamGuard, guard_chunks

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
class _Outcome:
    """What a plan's policies make of one set of finding types (see ``_Plan.outcome``)."""

    action: Action
    policies: tuple[Policy, ...]  # the matched ones, in policy order
    relevant: frozenset[str]  # the finding types some matched policy names
    redact: frozenset[str]  # the finding types a matched redact policy names
    ids: tuple[str, ...] = ()  # the matched policies' ids
    reasons: dict[tuple[str, ...], str] = field(default_factory=dict)  # by the matched findings' types

    def reason(self, findings: Sequence[Finding]) -> str:
        """``_reason`` for these findings, composed once per list of their types (for short lists: a long
        one would make a large key, and composing its sentence costs little next to finding them)."""
        if len(findings) > _REASON_MEMO_MAX:
            return _reason(self.action, self.policies, findings)
        key = tuple(f.type for f in findings)
        text = self.reasons.get(key)
        if text is None:
            text = _reason(self.action, self.policies, findings)
            if len(self.reasons) < _OUTCOME_CACHE_SIZE:
                self.reasons[key] = text
        return text


_OUTCOME_CACHE_SIZE = 256
_REASON_MEMO_MAX = 16  # findings per check whose types key the reason memo
_ANYONE = Identity()
# The decision for "nothing matched", one per scope: Decision is frozen, and its placeholder map read-only.
_ALLOW = {scope: Decision(Action.ALLOW, scope=scope, placeholders=MappingProxyType({})) for scope in _SCOPES}


@dataclass(frozen=True, slots=True)
class _Plan:
    """What to run for one (scope, caller): the applicable policies and only the detectors they need."""

    policies: tuple[Policy, ...]
    detectors: tuple[Detector, ...]
    # Outcomes by the set of finding types: a plan meets few distinct sets, and matching globs per check
    # was a third of the Governor's own time.
    outcomes: dict[frozenset[str], _Outcome] = field(default_factory=dict)

    def outcome(self, policy_set: PolicySet, types: frozenset[str]) -> _Outcome:
        known = self.outcomes.get(types)
        if known is None:
            known = _evaluate(policy_set, self.policies, types)
            if len(self.outcomes) >= _OUTCOME_CACHE_SIZE:
                self.outcomes.clear()
            self.outcomes[types] = known
        return known


def _evaluate(policy_set: PolicySet, policies: Sequence[Policy], types: frozenset[str]) -> _Outcome:
    action, matched, relevant = policy_set.evaluate_types(types, policies)
    redact = [p for p in matched if p.action is Action.REDACT]
    return _Outcome(action, matched, relevant, frozenset(t for t in relevant if any(p.matches_type(t) for p in redact)),
                    tuple(p.id for p in matched))


# -- the full pipeline: identity → check(input) → provider → check(output) → record -----------------------


class AuditSink(Protocol):
    """Where the Governor records calls (``proctor.audit.AuditLog`` in production)."""

    def append(self, record: Any) -> None: ...


@dataclass(frozen=True, slots=True)
class CallContext:
    """Per-call facts the faces pass in: ids for the response headers and the caller's provider key."""

    identity: Identity
    decision_id: str
    trace_id: str
    api_key: str | None = field(default=None, repr=False)  # forwarded for this call only; never stored
    approval_id: str | None = None  # an approved request this call may spend (X-Proctor-Approval-Id)
    wait_s: float = 0.0  # how long a held call waits for its reviewer (X-Proctor-Wait-Approval)


@dataclass(frozen=True, slots=True)
class ChatResult:
    """The outcome of a governed chat completion: the response body and both decisions."""

    body: dict[str, Any]
    input_decision: Decision
    output_decision: Decision
    provider: str


def new_ids(traceparent: str | None = None) -> tuple[str, str]:
    """A decision id (UUID4) and a trace id (32 hex): from a valid W3C ``traceparent`` when given."""
    trace = None
    if traceparent:
        parts = traceparent.strip().split("-")
        if len(parts) >= 4 and len(parts[1]) == 32 and _is_hex(parts[1]) and parts[1] != "0" * 32:
            trace = parts[1].lower()
    raw = os.urandom(32)  # one system call for both ids
    return str(uuid.UUID(bytes=raw[:16], version=4)), trace or raw[16:].hex()


def _is_hex(value: str) -> bool:
    try:
        int(value, 16)
    except ValueError:
        return False
    return True


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
        providers: Sequence[ProviderConfig] | None = None,
        audit: AuditSink | None = None,
        stream_holdback: int = 256,
        approvals: Approvals | None = None,
        keys: KeyRing | None = None,
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
        self._router = ProviderRouter(providers) if providers else None
        self.audit = audit
        self.stream_holdback = stream_holdback
        self.contexts = ContextCache(secret=context_secret())
        self.approvals = approvals
        self.approval_max_wait_s = 300.0  # the longest a caller may ask to wait (approvals.max_wait_s)
        self.keys = keys
        # Opened by from_settings for approvals, keys and audit reads; closed by aclose.
        self.store: Store | None = None

    @classmethod
    def from_settings(cls, settings: Settings, *, audit: AuditSink | bool | None = True,
                      chain_id: str | None = None) -> Governor:
        """Build the Governor ``proctor serve`` runs: policies, providers and the audit log from settings.

        ``audit=True`` opens ``proctor.audit.AuditLog`` on ``settings.storage``, writing chain ``chain_id``
        (default ``main``; each writer process needs its own); pass a sink to use another, or ``None`` for
        no audit (tests of the check stage only).
        """
        sink: AuditSink | None
        if audit is True:
            from proctor.audit import AuditLog

            mode: Literal["open", "closed"] = "open" if settings.failure_mode == "open" else "closed"
            sink = AuditLog.open(settings.storage, key_file=settings.audit_key_file, sync=settings.audit_sync,
                                 failure_mode=mode, chain_id=chain_id)
        else:
            sink = audit or None
        from proctor.approvals import Approvals
        from proctor.config import check_exposure
        from proctor.keys import KeyRing
        from proctor.store import open_store
        from proctor.webhooks import WebhookSender

        check_exposure(settings)
        gov = cls(load_policies(*settings.policies), providers=settings.providers, audit=sink,
                  stream_holdback=settings.limits.stream_holdback_chars)
        store = gov.store = open_store(settings.storage)
        conf = settings.approvals
        secret = conf.webhook_secret
        hooks = WebhookSender(conf.webhook_urls, secret) if secret else None
        gov.approvals = Approvals(store, ttl_s=conf.ttl_s, audit=sink, webhooks=hooks)
        gov.approval_max_wait_s = conf.max_wait_s
        gov.keys = KeyRing(store)
        gov.warm_up()
        return gov

    def warm_up(self) -> None:
        """Load (or compile) every detector's pattern databases now, so the first request does not pay it."""
        for detector in self.detectors:
            detector.detect("warm-up: ignore previous instructions 123-45-6789 ' or 1=1 --")

    async def aclose(self) -> None:
        """Close provider connections, deliver queued webhooks, flush and close the audit log, close the store."""
        if self._router is not None:
            await self._router.aclose()
        if self.approvals is not None and self.approvals.webhooks is not None:
            self.approvals.webhooks.close()
        close = getattr(self.audit, "close", None)
        if callable(close):
            close()
        if self.store is not None:
            self.store.close()

    # -- check ---------------------------------------------------------------------------------------
    def check(self, text_or_messages: CheckInput, identity: Identity | None = None, scope: str = "input", *,
              waive: Collection[str] = ()) -> Decision:
        """Check a string or OpenAI-style ``messages`` and return the Decision (never raises when blocked).

        ``scope`` is ``"input"`` for prompts and ``"output"`` for responses. For messages, every role is
        checked, string or content-part contents, tool results and tool-call arguments; each finding's
        ``message`` is the index of the message it came from. ``waive`` names policies to leave out (those
        a reviewer's approval has satisfied).
        """
        allow = _ALLOW.get(scope)
        if allow is None:
            raise ValueError(f"scope must be 'input' or 'output', not {scope!r}")
        plan = self._plan(scope, identity or _ANYONE)
        is_text = isinstance(text_or_messages, str)
        pieces = [_Piece(None, (), text_or_messages)] if is_text else _pieces(text_or_messages)  # type: ignore[arg-type]
        findings: list[Finding] = []
        per_piece: list[list[Finding]] = []
        for piece in pieces:
            found: list[Finding] = []
            for detector in plan.detectors:
                found.extend(detector.detect(piece.text))
            if not found:
                per_piece.append(found)
                continue
            if piece.message is not None:
                found = [Finding(f.type, f.start, f.end, f.score, piece.message) for f in found]
            found.sort(key=_position)
            per_piece.append(found)
            findings.extend(found)
        if not findings:
            return allow
        types = frozenset(f.type for f in findings)
        if waive:
            outcome = _evaluate(self.policies, tuple(p for p in plan.policies if p.id not in waive), types)
        else:
            outcome = plan.outcome(self.policies, types)
        if outcome.action is Action.ALLOW and not outcome.policies:
            return allow
        relevant = outcome.relevant
        matched = tuple(f for f in findings if f.type in relevant)
        redacted: str | list[dict[str, Any]] | None = None
        placeholders: dict[str, str] = {}
        if outcome.action is Action.REDACT:
            redactor = Redactor()
            texts: list[str] = []
            for piece, found in zip(pieces, per_piece, strict=True):
                targets = [f for f in found if f.type in outcome.redact]
                texts.append(redactor.redact(piece.text, targets) if targets else piece.text)
            redacted = texts[0] if is_text else _rebuild(text_or_messages, pieces, texts)  # type: ignore[arg-type]
            if self.reversible_redaction:
                placeholders = redactor.placeholders
        return Decision(
            action=outcome.action,
            findings=matched,
            policies=outcome.ids,
            reason=outcome.reason(matched),
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


    # -- the pipeline ---------------------------------------------------------------------------------
    def models(self) -> list[tuple[str, str]]:
        """(model glob, provider name) for every configured provider."""
        return self._router.models() if self._router else []

    def _route(self, model: str) -> tuple[ProviderConfig, Provider]:
        found = self._router.route(model) if self._router else None
        if found is None:
            raise ProviderError("proctor", f"no provider serves model {model!r}", status=404, body={
                "error": {"message": f"The model {model!r} does not exist or is not served by this gateway.",
                          "type": "invalid_request_error", "param": "model", "code": "model_not_found"}})
        return found

    def _block(self, decision: Decision, decision_id: str | None = None) -> None:
        if decision.action is Action.DENY:
            raise PolicyDenied(decision, decision_id=decision_id)
        if decision.action is Action.REQUIRE_APPROVAL:
            raise ApprovalRequired(decision, decision_id=decision_id)

    async def _admit(self, body: Mapping[str, Any], ctx: CallContext, messages: Any, prompt: Any) -> _CallRecord:
        """Check the input; record and raise when blocked; else return the call's record-in-progress.

        A call held for approval goes ahead when it brings an approved request for the same prompt
        (``ctx.approval_id``) or, when it asked to wait (``ctx.wait_s``), once a reviewer approves.
        """
        started = time.perf_counter()  # latency covers the checks too
        decision = self.check(messages, ctx.identity, "input")
        call = _CallRecord(self, ctx, str(body.get("model") or ""), prompt, decision, started)
        if decision.action is Action.REQUIRE_APPROVAL and self.approvals is not None:
            await self._approve(call, messages)
        elif not decision.allowed:
            call.finish(status="held" if decision.action is Action.REQUIRE_APPROVAL else "blocked")
            self._block(decision, ctx.decision_id)
        return call

    async def _approve(self, call: _CallRecord, messages: Any) -> None:
        """Let a held call through with an approval, or queue one (and wait when asked); raises otherwise."""
        from proctor.approvals import ApprovalError, review_messages
        from proctor.audit.record import sha256_text

        assert self.approvals is not None
        ctx, decision = call.ctx, call.input
        prompt_sha = sha256_text(call.prompt_json() or "")
        approval: Approval | None = None
        note = ""
        if ctx.approval_id:
            try:
                used = await asyncio.to_thread(self.approvals.use, ctx.approval_id, tenant=ctx.identity.tenant,
                                               prompt_sha256=prompt_sha)
            except ApprovalError as exc:
                if exc.code == "not_approved" and exc.approval is not None:
                    if exc.approval.current() != "pending":
                        self._approval_outcome(call, exc.approval)
                    approval = exc.approval  # still pending: hold on the same request
                else:  # unknown, spent, or made for another prompt: this call needs its own
                    note = f" (approval {ctx.approval_id} was not used: {exc})"
            else:
                call.meta["approval_id"] = used.id
                self._approved(call, messages)
                return
        if approval is None:
            approval = await asyncio.to_thread(
                self.approvals.create, ctx.identity, decision, query=review_messages(messages, decision),
                prompt_sha256=prompt_sha, decision_id=ctx.decision_id, trace_id=ctx.trace_id,
                severity=self.severity(decision), policies=self.held_by(decision))
        call.meta["approval_id"] = approval.id
        call.finish(status="held")
        if ctx.wait_s <= 0:
            raise ApprovalRequired(decision, f"{decision.reason} Approval request {approval.id} is pending{note}.",
                                   decision_id=ctx.decision_id, approval_id=approval.id)
        final = await self.approvals.wait(approval.id, ctx.wait_s, ctx.identity.tenant)
        if final.current() == "approved":
            try:
                await asyncio.to_thread(self.approvals.use, approval.id, tenant=ctx.identity.tenant,
                                        prompt_sha256=prompt_sha)
            except ApprovalError as exc:  # spent by a racing retry of the same call
                raise ApprovalRequired(decision, str(exc), decision_id=ctx.decision_id,
                                       approval_id=approval.id) from None
            call.reopen()
            self._approved(call, messages)
            return
        self._approval_outcome(call, final)

    def _approved(self, call: _CallRecord, messages: Any) -> None:
        """An approval satisfies the policies that held the call, not the others: a redact policy still
        redacts what goes upstream. The record keeps the held decision (action ``require_approval``)."""
        held = {p.id for p in self.policies if p.id in call.input.policies and p.action is Action.REQUIRE_APPROVAL}
        call.approved_from = call.input
        call.input = self.check(messages, call.ctx.identity, "input", waive=held)

    def _approval_outcome(self, call: _CallRecord, approval: Approval) -> None:
        """Record and raise the error for an approval that does not admit the call (rejected, expired, or
        still pending when the wait ended)."""
        decision, ctx, state = call.input, call.ctx, approval.current()
        call.meta["approval_id"] = approval.id
        call.finish(status=state if state in ("rejected", "expired") else "held")
        if state == "rejected":
            why = f" Reviewer's comment: {approval.comment}" if approval.comment else ""
            raise ApprovalRejected(decision, f"Approval request {approval.id} was rejected by "
                                   f"{approval.reviewer_id or 'a reviewer'}.{why}", decision_id=ctx.decision_id,
                                   approval_id=approval.id)
        if state == "expired":
            raise ApprovalExpired(decision, f"Approval request {approval.id} expired before a reviewer decided "
                                  "(default-deny).", decision_id=ctx.decision_id, approval_id=approval.id)
        raise ApprovalTimeout(decision, f"Approval request {approval.id} is still pending after waiting "
                              f"{ctx.wait_s:g}s.", decision_id=ctx.decision_id, approval_id=approval.id)

    def held_by(self, decision: Decision) -> tuple[str, ...]:
        """The decision's policy ids, the ones that asked for approval first (they head the queue entry)."""
        holding = {p.id for p in self.policies if p.id in decision.policies and p.action is Action.REQUIRE_APPROVAL}
        return tuple(sorted(decision.policies, key=lambda pid: pid not in holding))

    def severity(self, decision: Decision) -> str:
        """The highest severity among the policies that decided (``medium`` when none says)."""
        order = ("low", "medium", "high", "critical")
        found = [p.severity for p in self.policies if p.id in decision.policies and p.severity in order]
        return max(found, key=order.index) if found else "medium"

    def _route_for(self, call: _CallRecord) -> Provider:
        try:
            config, provider = self._route(call.model)
        except ProviderError as exc:
            call.finish(status="error", error=str(exc))
            raise
        call.provider = config.name
        return provider

    async def chat(self, body: Mapping[str, Any], ctx: CallContext) -> ChatResult:
        """Run one non-streaming chat completion through the whole pipeline.

        Raises ``PolicyDenied`` / ``ApprovalRequired`` when the input or the output is blocked, and
        ``ProviderError`` when the upstream fails; every outcome is recorded first.
        """
        messages = body.get("messages") or []
        call = await self._admit(body, ctx, messages, messages)
        decision = call.input
        send = dict(body)
        if decision.action is Action.REDACT and decision.redacted is not None:
            send["messages"] = decision.redacted
        provider = self._route_for(call)
        try:
            response = await provider.chat(send, ctx.api_key)
        except ProviderError as exc:
            call.finish(status="error", error=str(exc))
            raise
        call.usage(response.get("usage"))
        raw_choices = response.get("choices")
        choices: list[dict[str, Any]] = [c for c in raw_choices if isinstance(c, dict)] \
            if isinstance(raw_choices, list) else []
        outputs = [c.get("message") or {} for c in choices]
        out_decision = self.check(outputs, ctx.identity, "output") if outputs else Decision(Action.ALLOW,
                                                                                           scope="output")
        call.output(out_decision, outputs)
        if not out_decision.allowed:
            call.finish(status="blocked")
            self._block(out_decision, ctx.decision_id)
        if out_decision.action is Action.REDACT and isinstance(out_decision.redacted, list):
            response = dict(response)
            response["choices"] = [dict(c, message=m) for c, m in zip(choices, out_decision.redacted, strict=True)]
        call.finish(status="ok")
        return ChatResult(response, decision, out_decision, call.provider or "")

    async def embeddings(self, body: Mapping[str, Any], ctx: CallContext) -> dict[str, Any]:
        """Check the ``input`` texts (a string or a list of strings), redact them if policy says so, then
        forward to the model's provider. Raises like ``chat``."""
        raw = body.get("input")
        texts = [raw] if isinstance(raw, str) else list(raw or [])
        call = await self._admit(body, ctx, [{"role": "user", "content": t} for t in texts], raw)
        decision = call.input
        send = dict(body)
        if decision.action is Action.REDACT and isinstance(decision.redacted, list):
            redacted = [m["content"] for m in decision.redacted]
            send["input"] = redacted[0] if isinstance(raw, str) else redacted
        provider = self._route_for(call)
        try:
            response = await provider.embeddings(send, ctx.api_key)
        except ProviderError as exc:
            call.finish(status="error", error=str(exc))
            raise
        call.usage(response.get("usage"))
        call.finish(status="ok")
        return response

    def observe(self, messages: Any, response_text: str | None, ctx: CallContext, *, provider: str | None,
                model: str, tokens_in: int | None = None, tokens_out: int | None = None,
                cost_usd: float | None = None, latency_ms: float | None = None, status: str = "ok",
                error: str | None = None) -> str | None:
        """Record a call that was made outside the pipeline (the audit-only LiteLLM callback).

        Input and output are checked and their findings recorded, with the action ``log`` at most: nothing
        is blocked after the fact. Returns the record id (None without an audit sink).
        """
        started = time.perf_counter()
        found = self.check(messages, ctx.identity, "input") if messages else Decision(Action.ALLOW)
        call = _CallRecord(self, ctx, model, messages, _as_log(found), started)
        call.provider = provider
        call.tokens_in, call.tokens_out = tokens_in, tokens_out
        call.cost_override, call.latency_override = cost_usd, latency_ms
        if response_text:
            out = self.check(response_text, ctx.identity, "output")
            call.output(_as_log(out), [{"content": response_text}])
        return call.finish(status=status, error=error)

    # -- gateway mode: the client calls the model itself, between a pre-check and an audit call ----------
    def pre_check(self, query: CheckInput, ctx: CallContext) -> tuple[Decision, Context | None]:
        """Check ``query``; when allowed, open a context for the later ``audit_llm_call``.

        A blocked pre-check is recorded at once (there will be no LLM call to audit); an allowed one is
        recorded when its audit call arrives, as one record holding both halves.
        """
        started = time.perf_counter()
        decision = self.check(query, ctx.identity, "input")
        from proctor.audit.record import sha256_text

        prompt = query if isinstance(query, str) else _canonical(query)  # messages hash as _CallRecord does
        if not decision.allowed:
            call = _CallRecord(self, ctx, ctx.identity.model or "", query, decision, started)
            if decision.action is Action.REQUIRE_APPROVAL and self.approvals is not None:
                # The held pre-check's context is the approval request: an approval made later, on any
                # replica, lets the audit of the LLM call that follows it in (see audit_llm_call).
                from proctor.approvals import review_messages

                approval = self.approvals.create(
                    ctx.identity, decision, query=review_messages(query, decision),
                    prompt_sha256=sha256_text(prompt), decision_id=ctx.decision_id, trace_id=ctx.trace_id,
                    request_type="llm_call", severity=self.severity(decision), policies=self.held_by(decision))
                call.meta["approval_id"] = call.context_id = approval.id
                call.finish(status="held")
                return decision, Context(approval.id, ctx.identity, decision, ctx.decision_id,
                                         approval.prompt_sha256 or "", approval.expires_at)
            call.finish(status="held" if decision.action is Action.REQUIRE_APPROVAL else "blocked")
            return decision, None
        return decision, self.contexts.create(ctx.identity, decision, ctx.decision_id, sha256_text(prompt))

    def audit_llm_call(self, context_id: str, *, response_summary: str, provider: str, model: str,
                       tokens_in: int | None, tokens_out: int | None, latency_ms: float | None,
                       trace_id: str, status: str = "ok", error: str | None = None,
                       tenant: str | None = None) -> str | None:
        """Record the LLM call a pre-check allowed; return the record id, or None for an unknown or
        expired context. The response summary is checked (output policies) and hashed, never stored.

        A context held for approval is accepted once approved, for the contexts' TTL after the decision
        (the approval extends it). An LLM call audited while its approval is pending, rejected or expired is
        still recorded, with status ``error``, and then ApprovalError is raised. ``tenant`` (the caller's,
        when auth is on) must own the context.
        """
        context = self.contexts.take(context_id)
        meta: dict[str, str] = {}
        if context is None:
            context = self._approved_context(context_id, tenant, trace_id, model, provider)
            if context is None:
                return None
            meta["approval_id"] = context.id
        elif tenant is not None and context.identity.tenant != tenant:
            return None
        ctx = CallContext(context.identity, context.decision_id, trace_id)
        call = _CallRecord(self, ctx, model, None, context.decision, time.perf_counter())
        call.meta.update(meta)
        call.prompt_sha256 = context.prompt_sha256
        call.context_id = context.id
        call.provider = provider
        call.tokens_in, call.tokens_out = tokens_in, tokens_out
        call.latency_override = latency_ms
        out = self.check(response_summary, context.identity, "output") if response_summary else None
        if out is not None:
            call.output(out, [{"content": response_summary}])
        return call.finish(status=status, error=error) or context.id

    def _approved_context(self, approval_id: str, tenant: str | None, trace_id: str, model: str,
                          provider: str) -> Context | None:
        from proctor.approvals import ApprovalError

        if self.approvals is None:
            return None
        try:
            approval = self.approvals.get(approval_id, tenant)
        except ApprovalError:
            return None
        state = approval.current()
        decision = Decision(Action.REQUIRE_APPROVAL, policies=approval.policies, reason=approval.reason,
                            scope="input")
        late = approval.decided_at is not None and approval.decided_at + self.contexts.ttl_s < time.time()
        if state != "approved" or late or approval.used_at is not None:
            ctx = CallContext(approval.identity, approval.decision_id or "", trace_id)
            call = _CallRecord(self, ctx, model, None, decision, time.perf_counter())
            call.provider, call.prompt_sha256, call.context_id = provider, approval.prompt_sha256, approval.id
            call.meta["approval_id"] = approval.id
            why = f"approval {approval.id} is {state}"
            if state == "approved":
                why = f"approval {approval.id} was already used" if approval.used_at is not None else \
                    f"approval {approval.id} was decided more than {self.contexts.ttl_s:g}s ago"
            call.finish(status="error", error=f"LLM call audited without a usable approval: {why}")
            raise ApprovalError("not_approved", f"The LLM call was recorded, but {why}: it was not allowed.",
                                approval)
        self.approvals.use(approval.id, tenant=approval.tenant, prompt_sha256=None)
        return Context(approval.id, approval.identity, decision, approval.decision_id or "",
                       approval.prompt_sha256 or "", time.time() + self.contexts.ttl_s)

    # -- calls that something else sends upstream (the LiteLLM proxy): Proctor checks and records ----------
    async def admit(self, body: Mapping[str, Any], ctx: CallContext, *, provider: str | None = None
                    ) -> ExternalCall:
        """Check the input of a chat call whose upstream request another component makes.

        Records the call and raises ``PolicyDenied`` / ``ApprovalRequired`` when blocked; else returns the
        call in progress: its ``input`` Decision holds the redacted messages to send, and ``respond``,
        ``stream`` or ``fail`` checks the output and writes the one audit record.
        """
        messages = body.get("messages") or []
        call = await self._admit(body, ctx, messages, messages)
        call.provider = provider  # who sends it upstream, for the record
        return ExternalCall(self, call)

    async def chat_stream(self, body: Mapping[str, Any], ctx: CallContext) -> AsyncIterator[dict[str, Any]]:
        """Run a streaming chat completion; yields chunk bodies, or a final ``{"error": ...}`` event.

        The input is checked before the upstream is called (and raises like ``chat``). Output is released
        through a ``StreamGuard`` per choice: held back ``stream_holdback`` characters so a finding split
        across chunks is caught before the client sees any of it.
        """
        messages = body.get("messages") or []
        call = await self._admit(body, ctx, messages, messages)
        send = dict(body)
        if call.input.action is Action.REDACT and call.input.redacted is not None:
            send["messages"] = call.input.redacted
        options = body.get("stream_options")
        caller_wants_usage = isinstance(options, Mapping) and bool(options.get("include_usage"))
        send["stream_options"] = {**(options if isinstance(options, Mapping) else {}), "include_usage": True}
        provider = self._route_for(call)

        def check_output(text: str) -> Decision:
            return self.check(text, ctx.identity, "output")

        return self._guarded(provider, send, ctx, call, check_output, caller_wants_usage)

    async def _guarded(self, provider: Provider, send: dict[str, Any], ctx: CallContext, call: _CallRecord,
                       check_output: Any, caller_wants_usage: bool) -> AsyncIterator[dict[str, Any]]:
        guards: dict[int, StreamGuard] = {}
        finished = False

        def on_usage(usage: Mapping[str, Any]) -> bool:
            call.usage(usage)
            return caller_wants_usage

        try:
            async for item in guard_chunks(provider.stream(send, ctx.api_key), guards,
                                           lambda: StreamGuard(check_output, self.stream_holdback),
                                           on_usage=on_usage):
                if isinstance(item, Decision):
                    yield self._stream_denied(call, guards, item)
                    return
                yield item
            finished = True
        except ProviderError as exc:
            call.stream_output(guards)
            call.finish(status="error", error=str(exc))
            yield {"error": exc.body.get("error") if exc.body else {
                "message": str(exc), "type": "upstream_error", "code": "upstream_error", "param": None}}
            return
        finally:
            if not finished and not call.done:
                call.stream_output(guards)
                call.finish(status="error", error="stream closed before it ended")
        call.stream_output(guards)
        call.finish(status="ok")

    def _stream_denied(self, call: _CallRecord, guards: Mapping[int, StreamGuard],
                       decision: Decision) -> dict[str, Any]:
        call.stream_output(guards, decision)
        call.finish(status="blocked")
        return {"error": {"message": f"Response blocked by policy: {decision.reason}", "type": "policy_violation",
                          "code": "policy_denied", "param": None}}


class ExternalCall:
    """A governed chat call whose upstream request someone else makes (``Governor.admit``)."""

    def __init__(self, gov: Governor, call: _CallRecord) -> None:
        self._gov = gov
        self._call = call

    @property
    def input(self) -> Decision:
        """The input Decision; when redacting, ``redacted`` holds the messages to send instead."""
        return self._call.input

    def respond(self, response: Mapping[str, Any]) -> dict[str, Any]:
        """Check a chat.completion body, record the call, and return the body to deliver (redacted when
        policy says so). Raises ``PolicyDenied`` / ``ApprovalRequired`` when the output is blocked."""
        call = self._call
        call.usage(response.get("usage"))
        raw = response.get("choices")
        choices = [c for c in raw if isinstance(c, dict)] if isinstance(raw, list) else []
        outputs = [c.get("message") or {} for c in choices]
        out = self._gov.check(outputs, call.ctx.identity, "output") if outputs else Decision(Action.ALLOW,
                                                                                             scope="output")
        call.output(out, outputs)
        if not out.allowed:
            call.finish(status="blocked")
            self._gov._block(out, call.ctx.decision_id)
        body = dict(response)
        if out.action is Action.REDACT and isinstance(out.redacted, list):
            body["choices"] = [dict(c, message=m) for c, m in zip(choices, out.redacted, strict=True)]
        call.finish(status="ok")
        return body

    def stream(self, chunks: AsyncIterator[dict[str, Any]], *, caller_wants_usage: bool = True
               ) -> AsyncIterator[dict[str, Any]]:
        """Release chat.completion.chunk bodies through the same hold-back guard as ``chat_stream``; ends
        with an ``{"error": ...}`` event instead of any denied span, and records the call at the end."""
        gov, call = self._gov, self._call

        def check_output(text: str) -> Decision:
            return gov.check(text, call.ctx.identity, "output")

        relay = cast(Provider, _Relay(chunks))
        return gov._guarded(relay, {}, call.ctx, call, check_output, caller_wants_usage)

    def fail(self, error: str) -> None:
        """Record the call as failed upstream (no-op once it was recorded)."""
        self._call.finish(status="error", error=error)


class _Relay:
    """Stands in for a provider in ``Governor._guarded``: yields chunks someone else already requested."""

    name = "external"

    def __init__(self, chunks: AsyncIterator[dict[str, Any]]) -> None:
        self._chunks = chunks

    def stream(self, body: Mapping[str, Any], api_key: str | None) -> AsyncIterator[dict[str, Any]]:
        return self._chunks


def _canonical(messages: Any) -> str:
    return json.dumps(messages, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _as_log(decision: Decision) -> Decision:
    """The same findings, at most ``log``: for calls recorded after the fact."""
    if decision.action.rank <= Action.LOG.rank:
        return decision
    return dataclasses.replace(decision, action=Action.LOG, redacted=None, placeholders={})


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


def _position(f: Finding) -> tuple[int, int, str]:
    return f.start, f.end, f.type


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


class _CallRecord:
    """Collects what one governed call did and writes its single audit record when it finishes."""

    def __init__(self, gov: Governor, ctx: CallContext, model: str, messages: Any, decision: Decision,
                 started: float) -> None:
        self.gov = gov
        self.ctx = ctx
        self.model = model
        self.messages = messages
        self.input = decision
        self.started = started
        self.provider: str | None = None
        self.output_decision: Decision | None = None
        self.response_text: str | None = None
        self.tokens_in: int | None = None
        self.tokens_out: int | None = None
        self.prompt_sha256: str | None = None  # gateway mode: the prompt was hashed at pre-check
        self.context_id: str | None = None
        self.latency_override: float | None = None  # gateway mode: the client measured the LLM call
        self.cost_override: float | None = None  # LiteLLM callback: LiteLLM's own cost estimate
        self.meta: dict[str, str] = {}
        self.approved_from: Decision | None = None  # the held decision a reviewer approved
        self.done = False

    def prompt_json(self) -> str | None:
        """The prompt as the audit hashes it: canonical JSON of the messages (a string stays itself)."""
        if self.messages is None:
            return None
        return json.dumps(self.messages, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    def reopen(self) -> None:
        """After the held record was written and approval came: the call goes on and writes its own."""
        self.done = False

    def usage(self, usage: Any) -> None:
        if isinstance(usage, Mapping):
            if isinstance(usage.get("prompt_tokens"), int):
                self.tokens_in = usage["prompt_tokens"]
            if isinstance(usage.get("completion_tokens"), int):
                self.tokens_out = usage["completion_tokens"]

    def output(self, decision: Decision, outputs: Sequence[Mapping[str, Any]]) -> None:
        self.output_decision = decision
        self.response_text = "".join(str(m["content"]) for m in outputs if isinstance(m.get("content"), str))

    def stream_output(self, guards: Mapping[int, StreamGuard], denied: Decision | None = None) -> None:
        self.response_text = "".join(guards[i].received for i in sorted(guards))
        seen = [d for i in sorted(guards) for d in guards[i].decisions]
        if denied is not None and denied not in seen:
            seen.append(denied)
        if seen:
            strictest = max(seen, key=lambda d: d.action.rank)
            findings = tuple(f for d in seen for f in d.findings)
            policies = tuple(sorted({p for d in seen for p in d.policies}))
            self.output_decision = Decision(strictest.action, findings, policies, strictest.reason, scope="output")

    def finish(self, *, status: str, error: str | None = None) -> str | None:
        """Write the record (once); return its id, or None when there is no audit sink."""
        if self.done:
            return None
        self.done = True
        sink = self.gov.audit
        if sink is None:
            return None
        from proctor.audit.pricing import estimate_cost  # the audit stage; imported when first recording
        from proctor.audit.record import AuditRecord

        decisions = [self.approved_from or self.input] + ([self.output_decision] if self.output_decision else [])
        action = max((d.action for d in decisions), key=lambda a: a.rank)
        latency = self.latency_override if self.latency_override is not None else \
            round((time.perf_counter() - self.started) * 1000, 3)
        prompt = self.prompt_json()
        record = AuditRecord.new(
            identity=self.ctx.identity,
            prompt=prompt,
            response=self.response_text,
            findings=[f for d in decisions for f in d.findings],
            action=action.value,
            policies=tuple(sorted({p for d in decisions for p in d.policies})),
            decision_id=self.ctx.decision_id,
            trace_id=self.ctx.trace_id,
            provider=self.provider,
            model=self.model or None,
            tokens_in=self.tokens_in,
            tokens_out=self.tokens_out,
            cost_usd=self.cost_override if self.cost_override is not None else
            (estimate_cost(self.model, self.tokens_in, self.tokens_out) if self.model else None),
            latency_ms=latency,
            status=status,
            error=error,
            context_id=self.context_id,
            meta=self.meta or None,
        )
        if self.prompt_sha256 is not None:  # gateway mode: the prompt was hashed at pre-check time
            record = dataclasses.replace(record, prompt_sha256=self.prompt_sha256)
        sink.append(record)
        return record.record_id
