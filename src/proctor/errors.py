"""Every exception Proctor raises, under one root.

```
ProctorError
├── ConfigError            names the key, the value found, what was expected
│   └── PolicyFileError    names the file, line and field
├── BlockedError           carries the Decision: PolicyDenied, ApprovalRequired, ApprovalRejected,
│                          ApprovalExpired (and ApprovalTimeout)
├── ProviderError          provider, status, whether a retry can help; ProviderTimeout
├── RemoteUnavailable      a remote Proctor (``proctor.client``) cannot answer, or its breaker is open
├── StoreError             database unreachable, locked or not migrated
└── AuditIntegrityError    names the first bad record
```

Messages never carry a matched value, a secret or a key: they name the finding type instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from proctor.decision import Decision


class ProctorError(Exception):
    """Root of every error Proctor raises on purpose."""


class ConfigError(ProctorError):
    """Raised when a setting is missing or invalid; the message names the key, the value and what was expected."""


class PolicyFileError(ConfigError):
    """Raised when a policy file cannot be loaded; nothing from the file is used.

    ``source`` is the file (or ``builtin:NAME``), ``line`` the 1-based line when known, ``policy_id`` the
    policy at fault when known, and ``field`` the field at fault.
    """

    def __init__(
        self,
        source: str,
        message: str,
        *,
        line: int | None = None,
        policy_id: str | None = None,
        field: str | None = None,
    ) -> None:
        self.source = source
        self.line = line
        self.policy_id = policy_id
        self.field = field
        self.detail = message
        where = [source]
        if line is not None:
            where.append(f"line {line}")
        if policy_id is not None:
            where.append(f"policy {policy_id!r}")
        if field is not None:
            where.append(f'field "{field}"')
        super().__init__(f"{', '.join(where)}: {message}")


class BlockedError(ProctorError):
    """Raised by calls that would otherwise go ahead (a governed completion) when policy stops them.

    ``check()`` never raises this: it returns the Decision. ``decision`` is the Decision that blocked,
    ``decision_id`` the id of the call's audit record (None outside a recorded call) and ``approval_id`` the
    approval request the call is held on (approval errors only).
    """

    def __init__(self, decision: Decision, message: str | None = None, *, decision_id: str | None = None,
                 approval_id: str | None = None) -> None:
        self.decision = decision
        self.decision_id = decision_id
        self.approval_id = approval_id
        super().__init__(message or decision.reason)

    @property
    def reason(self) -> str:
        return self.decision.reason

    @property
    def policies(self) -> tuple[str, ...]:
        return self.decision.policies


class PolicyDenied(BlockedError):
    """Raised when a policy with action ``deny`` matched."""


class ApprovalRequired(BlockedError):
    """Raised when a ``require_approval`` policy holds the call and the caller did not choose to wait."""


class ApprovalRejected(BlockedError):
    """Raised when a reviewer rejected the approval the call waited for."""


class ApprovalExpired(BlockedError):
    """Raised when the approval the call waited for expired or the wait timed out (default-deny)."""


class ApprovalTimeout(ApprovalExpired):
    """Raised when the caller's wait ended while the approval was still pending; ``approval_id`` can be
    waited on again, or the call retried with it once approved."""


class ProviderError(ProctorError):
    """Raised when an upstream model provider fails; ``retryable`` says whether a retry can help.

    ``status`` is the upstream HTTP status when there was one, and ``body`` its JSON error body, which the
    server passes back to the caller unchanged.
    """

    def __init__(self, provider: str, message: str, *, status: int | None = None, retryable: bool = False,
                 body: dict[str, object] | None = None) -> None:
        self.provider = provider
        self.status = status
        self.retryable = retryable
        self.body = body
        super().__init__(f"{provider}: {message}")


class ProviderTimeout(ProviderError):
    """Raised when an upstream provider did not answer in time."""


class RemoteUnavailable(ProctorError):
    """Raised when the remote Proctor cannot be reached (connection error, timeout, HTTP 5xx) or its circuit
    breaker is open, and the call may not go ahead unchecked (``fail_open=False``, the default)."""

    def __init__(self, message: str, *, breaker_open: bool = False) -> None:
        self.breaker_open = breaker_open
        super().__init__(message)


class StoreError(ProctorError):
    """Raised when the store is unreachable, locked, read-only or written by a newer schema."""


class AuditIntegrityError(ProctorError):
    """Raised by verification when a chain is broken; names the first bad record and what is wrong."""

    def __init__(self, message: str, *, seq: int | None = None, record_id: str | None = None,
                 problem: str | None = None) -> None:
        self.seq = seq
        self.record_id = record_id
        self.problem = problem
        super().__init__(message)
