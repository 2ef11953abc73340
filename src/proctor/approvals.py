"""Approvals: the durable queue of calls that a ``require_approval`` policy held for a human reviewer.

State machine, enforced by the store with conditional updates so that one decision wins even when several
replicas or reviewers race::

    pending ──approve──▶ approved ──(the held call goes ahead once)──▶ used
       │  └──reject───▶ rejected
       └──TTL passes──▶ expired      (default-deny: an expired request is never carried out)

An approval keeps what a reviewer needs and nothing the audit may not hold: the request with every finding
replaced by its type (``query``), the finding types, the policies and reason, the caller's identity and the
SHA-256 of the prompt, which must match when the approved call is finally made. Every transition is
written to the audit trail (status ``held``/``approved``/``rejected``/``expired``; reviewer and comment in
``meta``) and, when configured, sent to webhooks signed with HMAC-SHA256 (``proctor.webhooks``).

Waiting is by polling the store (every ``poll_s``), so a decision made on any replica, by the CLI or the
API, is seen by the process that waits.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Protocol

from proctor.decision import Decision
from proctor.errors import ProctorError
from proctor.findings import Finding
from proctor.identity import Identity

if TYPE_CHECKING:
    from proctor.webhooks import WebhookSender

log = logging.getLogger("proctor.approvals")

STATUSES = ("pending", "approved", "rejected", "expired")
SEVERITIES = ("low", "medium", "high", "critical")
DEFAULT_TTL_S = 3600.0
MAX_QUERY_CHARS = 8192


class ApprovalError(ProctorError):
    """An approval cannot be found or moved as asked; ``code`` is stable for APIs (``not_found``,
    ``already_decided``, ``expired``, ``not_approved``, ``already_used``, ``mismatch``)."""

    def __init__(self, code: str, message: str, approval: Approval | None = None) -> None:
        self.code = code
        self.approval = approval
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Approval:
    """One approval request. Times are UNIX seconds; ``status`` is as stored (see :meth:`current`)."""

    id: str
    tenant: str
    status: str
    created_at: float
    expires_at: float
    query: str = ""
    request_type: str = "chat"
    client_id: str | None = None
    user_id: str | None = None
    agent: str = "default"
    session: str | None = None
    model: str | None = None
    policies: tuple[str, ...] = ()
    finding_types: tuple[str, ...] = ()
    reason: str = ""
    severity: str = "medium"
    prompt_sha256: str | None = None
    decision_id: str | None = None
    trace_id: str | None = None
    request_context: Mapping[str, Any] = field(default_factory=dict)
    notify_url: str | None = None
    decided_at: float | None = None
    reviewer_id: str | None = None
    reviewer_email: str | None = None
    reviewer_role: str | None = None
    comment: str | None = None
    used_at: float | None = None

    def current(self, now: float | None = None) -> str:
        """The status as of ``now``: a pending request past its expiry reads ``expired``."""
        if self.status == "pending" and self.expires_at <= (time.time() if now is None else now):
            return "expired"
        return self.status

    @property
    def identity(self) -> Identity:
        return Identity(tenant=self.tenant, client=self.client_id, agent=self.agent, session=self.session,
                        user=self.user_id, model=self.model)

    # -- storage form: a few columns for queries, the rest as one JSON document --------------------------
    _COLUMNS = ("id", "tenant", "status", "created_at", "expires_at", "decided_at", "used_at", "severity")

    def to_doc(self) -> dict[str, Any]:
        """Every field that is not a column, JSON-ready."""
        return {
            "query": self.query, "request_type": self.request_type, "client_id": self.client_id,
            "user_id": self.user_id, "agent": self.agent, "session": self.session, "model": self.model,
            "policies": list(self.policies), "finding_types": list(self.finding_types), "reason": self.reason,
            "prompt_sha256": self.prompt_sha256, "decision_id": self.decision_id, "trace_id": self.trace_id,
            "request_context": dict(self.request_context), "notify_url": self.notify_url,
            "reviewer_id": self.reviewer_id, "reviewer_email": self.reviewer_email,
            "reviewer_role": self.reviewer_role, "comment": self.comment,
        }

    @classmethod
    def from_row(cls, columns: Sequence[Any], doc: Mapping[str, Any]) -> Approval:
        """Rebuild from the columns (in ``_COLUMNS`` order) and the JSON document."""
        id_, tenant, status, created, expires, decided, used, severity = columns
        return cls(
            id=id_, tenant=tenant, status=status, created_at=float(created), expires_at=float(expires),
            decided_at=None if decided is None else float(decided), used_at=None if used is None else float(used),
            severity=severity, query=doc.get("query", ""), request_type=doc.get("request_type", "chat"),
            client_id=doc.get("client_id"), user_id=doc.get("user_id"), agent=doc.get("agent", "default"),
            session=doc.get("session"), model=doc.get("model"), policies=tuple(doc.get("policies", ())),
            finding_types=tuple(doc.get("finding_types", ())), reason=doc.get("reason", ""),
            prompt_sha256=doc.get("prompt_sha256"), decision_id=doc.get("decision_id"),
            trace_id=doc.get("trace_id"), request_context=doc.get("request_context") or {},
            notify_url=doc.get("notify_url"), reviewer_id=doc.get("reviewer_id"),
            reviewer_email=doc.get("reviewer_email"), reviewer_role=doc.get("reviewer_role"),
            comment=doc.get("comment"),
        )

    def to_public(self, now: float | None = None) -> dict[str, Any]:
        """The JSON the API, the CLI and webhooks show: AxonFlow's ``HITLApprovalRequest`` fields, plus
        Proctor's own (``approval_id``, ``policies``, ``finding_types``, ``agent``, ``session``, ``used_at``)."""
        status = self.current(now)
        return {
            "request_id": self.id,
            "approval_id": self.id,
            "org_id": self.tenant,
            "tenant_id": self.tenant,
            "client_id": self.client_id or "",
            "user_id": self.user_id,
            "agent": self.agent,
            "session": self.session,
            "model": self.model,
            "original_query": self.query,
            "request_type": self.request_type,
            "request_context": dict(self.request_context) or None,
            "triggered_policy_id": self.policies[0] if self.policies else "",
            "triggered_policy_name": self.policies[0] if self.policies else "",
            "policies": list(self.policies),
            "finding_types": list(self.finding_types),
            "trigger_reason": self.reason,
            "severity": self.severity,
            "status": status,
            "reviewer_id": self.reviewer_id,
            "reviewer_email": self.reviewer_email,
            "review_comment": self.comment,
            "reviewed_at": iso(self.decided_at),
            "notify_url": self.notify_url,
            "decision_id": self.decision_id,
            "prompt_sha256": self.prompt_sha256,
            "expires_at": iso(self.expires_at),
            "created_at": iso(self.created_at),
            "updated_at": iso(max(t for t in (self.created_at, self.decided_at, self.used_at) if t is not None)),
            "used_at": iso(self.used_at),
        }


def iso(moment: float | None) -> str | None:
    return None if moment is None else datetime.fromtimestamp(moment, timezone.utc).isoformat()


@dataclass(frozen=True, slots=True)
class ApprovalQuery:
    """Which approvals to list: one tenant (None: all, for the CLI), optional status and severity, a page."""

    tenant: str | None = None
    status: str | None = None
    severity: str | None = None
    limit: int = 50
    offset: int = 0


class ApprovalStore(Protocol):
    """The approvals concern of a Store (``proctor.store``)."""

    def create_approval(self, approval: Approval) -> None: ...

    def get_approval(self, approval_id: str) -> Approval | None: ...

    def list_approvals(self, query: ApprovalQuery, now: float) -> tuple[list[Approval], int]: ...

    def update_approval(self, approval: Approval, *, expect_status: str, expect_unused: bool = False,
                        not_expired_at: float | None = None) -> bool: ...

    def due_approvals(self, now: float, limit: int) -> list[Approval]: ...


class AuditSink(Protocol):
    def append(self, record: Any) -> None: ...


class Approvals:
    """The approval service: create, read, decide, expire, use and wait, over an :class:`ApprovalStore`.

    ``audit`` receives one record per transition; ``webhooks`` (optional) one event per transition.
    """

    def __init__(self, store: ApprovalStore, *, ttl_s: float = DEFAULT_TTL_S, audit: AuditSink | None = None,
                 webhooks: WebhookSender | None = None, poll_s: float = 0.2) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self.audit = audit
        self.webhooks = webhooks
        self.poll_s = poll_s

    # -- create and read ----------------------------------------------------------------------------------
    def create(self, identity: Identity, decision: Decision, *, query: str, prompt_sha256: str | None,
               decision_id: str | None = None, trace_id: str | None = None, request_type: str = "chat",
               request_context: Mapping[str, Any] | None = None, notify_url: str | None = None,
               ttl_s: float | None = None, severity: str | None = None, approval_id: str | None = None,
               policies: Sequence[str] | None = None, reason: str | None = None) -> Approval:
        """Queue a held call. ``query`` must already have its findings replaced (see ``redact_for_review``)."""
        now = time.time()
        approval = Approval(
            id=approval_id or str(uuid.uuid4()), tenant=identity.tenant, status="pending", created_at=now,
            expires_at=now + (ttl_s if ttl_s is not None else self.ttl_s), query=query[:MAX_QUERY_CHARS],
            request_type=request_type, client_id=identity.client, user_id=identity.user, agent=identity.agent,
            session=identity.session, model=identity.model,
            policies=tuple(policies if policies is not None else decision.policies),
            finding_types=tuple(sorted({f.type for f in decision.findings})),
            reason=reason if reason is not None else decision.reason,
            severity=severity or "medium", prompt_sha256=prompt_sha256, decision_id=decision_id,
            trace_id=trace_id, request_context=dict(request_context or {}), notify_url=notify_url,
        )
        self.store.create_approval(approval)
        self._notify("approval.created", approval)
        return approval

    def get(self, approval_id: str, tenant: str | None = None) -> Approval:
        """The approval (expired first if its time has passed); ApprovalError ``not_found`` when it does not
        exist or belongs to another tenant (the two are not told apart)."""
        approval = self.store.get_approval(approval_id)
        if approval is None or (tenant is not None and approval.tenant != tenant):
            raise ApprovalError("not_found", f"no approval request {approval_id!r}")
        if approval.current() == "expired" and approval.status == "pending":
            approval = self._expire(approval) or self.store.get_approval(approval_id) or approval
        return approval

    def list(self, query: ApprovalQuery) -> tuple[builtins.list[Approval], int]:
        """One page of approvals, newest first, and the total that match."""
        self.expire_due()
        return self.store.list_approvals(query, time.time())

    def stats(self, tenant: str | None) -> dict[str, Any]:
        """AxonFlow's HITL stats: pending counts by priority and the age of the oldest pending request."""
        pending, total = self.list(ApprovalQuery(tenant=tenant, status="pending", limit=10_000))
        oldest = min((a.created_at for a in pending), default=None)
        return {
            "total_pending": total,
            "high_priority": sum(a.severity == "high" for a in pending),
            "critical_priority": sum(a.severity == "critical" for a in pending),
            "oldest_pending_hours": None if oldest is None else round((time.time() - oldest) / 3600, 4),
        }

    # -- transitions --------------------------------------------------------------------------------------
    def decide(self, approval_id: str, *, approve: bool, reviewer_id: str, reviewer_email: str | None = None,
               reviewer_role: str | None = None, comment: str | None = None, tenant: str | None = None,
               via: str | None = None) -> Approval:
        """Approve or reject a pending request, once. Raises ApprovalError: ``not_found``, ``expired``, or
        ``already_decided`` (with the current approval) when another decision got there first.

        ``via`` says how the decision arrived (``key:<id>`` for the API, ``cli:<host>``), recorded in the
        audit next to the reviewer the decision names, which the API cannot verify on its own.
        """
        approval = self.get(approval_id, tenant)
        status = "approved" if approve else "rejected"
        if approval.current() == "expired":
            raise ApprovalError("expired", f"approval request {approval_id} expired at {iso(approval.expires_at)}; "
                                "it can no longer be decided", approval)
        if approval.status != "pending":
            raise ApprovalError("already_decided", f"approval request {approval_id} was already {approval.status}",
                                approval)
        now = time.time()
        decided = replace(approval, status=status, decided_at=now, reviewer_id=reviewer_id,
                          reviewer_email=reviewer_email, reviewer_role=reviewer_role, comment=comment)
        if not self.store.update_approval(decided, expect_status="pending", not_expired_at=now):
            current = self.get(approval_id, tenant)
            code = "expired" if current.current() == "expired" else "already_decided"
            raise ApprovalError(code, f"approval request {approval_id} was already {current.current()}", current)
        self._record(decided, status, via=via)
        self._notify(f"approval.{status}", decided)
        return decided

    def use(self, approval_id: str, *, tenant: str, prompt_sha256: str | None) -> Approval:
        """Spend an approved request on the call it was made for; each approval admits one call.

        Raises ApprovalError ``not_approved`` (pending/rejected/expired), ``mismatch`` (another prompt),
        or ``already_used``.
        """
        approval = self.get(approval_id, tenant)
        state = approval.current()
        if state != "approved":
            raise ApprovalError("not_approved", f"approval request {approval_id} is {state}, not approved", approval)
        if approval.prompt_sha256 and prompt_sha256 and approval.prompt_sha256 != prompt_sha256:
            raise ApprovalError("mismatch", f"approval request {approval_id} was made for another request; "
                                "send the same messages that were held", approval)
        if approval.used_at is not None:
            raise ApprovalError("already_used", f"approval request {approval_id} was already used at "
                                f"{iso(approval.used_at)}; each approval admits one call", approval)
        used = replace(approval, used_at=time.time())
        if not self.store.update_approval(used, expect_status="approved", expect_unused=True):
            raise ApprovalError("already_used", f"approval request {approval_id} was already used", approval)
        return used

    def expire_due(self, limit: int = 500) -> builtins.list[Approval]:
        """Move pending requests past their expiry to ``expired`` (recorded and notified once, by
        whichever process gets there first)."""
        done = []
        for approval in self.store.due_approvals(time.time(), limit):
            expired = self._expire(approval)
            if expired is not None:
                done.append(expired)
        return done

    def _expire(self, approval: Approval) -> Approval | None:
        expired = replace(approval, status="expired", decided_at=approval.expires_at)
        if not self.store.update_approval(expired, expect_status="pending"):
            return None
        self._record(expired, "expired")
        self._notify("approval.expired", expired)
        return expired

    # -- waiting ------------------------------------------------------------------------------------------
    async def wait(self, approval_id: str, timeout_s: float, tenant: str | None = None) -> Approval:
        """Wait until the request is decided or expires, at most ``timeout_s``; returns it as it then is."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        while True:
            approval = await asyncio.to_thread(self.get, approval_id, tenant)
            if approval.current() != "pending" or time.monotonic() >= deadline:
                return approval
            await asyncio.sleep(min(self.poll_s, max(0.0, deadline - time.monotonic())))

    def wait_sync(self, approval_id: str, timeout_s: float, tenant: str | None = None) -> Approval:
        """:meth:`wait` for plain scripts."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        while True:
            approval = self.get(approval_id, tenant)
            if approval.current() != "pending" or time.monotonic() >= deadline:
                return approval
            time.sleep(min(self.poll_s, max(0.0, deadline - time.monotonic())))

    # -- side effects -------------------------------------------------------------------------------------
    def _record(self, approval: Approval, status: str, *, via: str | None = None) -> None:
        if self.audit is None:
            return
        from proctor.audit.record import AuditRecord

        meta = {"approval_id": approval.id}
        if via:
            meta["decided_via"] = via
        if approval.reviewer_id:
            meta["reviewer"] = approval.reviewer_id
        if approval.reviewer_email:
            meta["reviewer_email"] = approval.reviewer_email
        if approval.reviewer_role:
            meta["reviewer_role"] = approval.reviewer_role
        if approval.comment:
            meta["comment"] = approval.comment[:1000]
        self.audit.append(AuditRecord.new(
            identity=approval.identity, action="require_approval", policies=approval.policies,
            findings=list(approval.finding_types), decision_id=approval.decision_id, trace_id=approval.trace_id,
            prompt_sha256=approval.prompt_sha256, model=approval.model, status=status, meta=meta,
        ))

    def _notify(self, event: str, approval: Approval) -> None:
        if self.webhooks is not None:
            self.webhooks.send(event, approval.to_public(), extra_url=approval.notify_url)


def review_text(text: str, findings: Sequence[Finding]) -> str:
    """``text`` with every finding replaced by its type in brackets: what a reviewer sees in the queue.

    The audit and the approvals table never hold a matched value; the reviewer decides on the request's
    shape, the finding types and the policies.
    """
    out, pos = [], 0
    for start, end, kind in sorted({(f.start, f.end, f.type) for f in findings}):
        if start < pos:  # overlaps the span just replaced: hide the rest of it too
            pos = max(pos, end)
            continue
        out.append(text[pos:start])
        out.append(f"[{kind.upper()}]")
        pos = end
    out.append(text[pos:])
    return "".join(out)


def review_messages(messages: Any, decision: Decision) -> str:
    """A request as reviewer text: ``role: content`` per message, findings replaced by their types.

    Where a finding's offsets cannot be placed safely (content parts, tool-call arguments), the whole
    message is shown as its finding types only.
    """
    if isinstance(messages, str):
        return review_text(messages, decision.findings)
    by_message: dict[int, list[Finding]] = {}
    for f in decision.findings:
        if f.message is not None:
            by_message.setdefault(f.message, []).append(f)
    lines = []
    for i, msg in enumerate(messages if isinstance(messages, Sequence) else ()):
        if not isinstance(msg, Mapping):
            continue
        content, found = msg.get("content"), by_message.get(i, [])
        simple = isinstance(content, str) and not msg.get("tool_calls") and not msg.get("function_call") \
            and all(f.end <= len(content) for f in found)
        if found and not simple:
            text = " ".join(f"[{t.upper()}]" for t in sorted({f.type for f in found}))
        elif isinstance(content, str):
            text = review_text(content, found)
        elif isinstance(content, list):
            text = " ".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
        else:
            text = ""
        lines.append(f"{msg.get('role', 'user')}: {text}")
    return "\n".join(lines)
