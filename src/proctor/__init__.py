"""Proctor: an AI governance layer for LLM calls.

>>> import proctor
>>> gov = proctor.Governor()
>>> gov.check("Email me at jane@example.com").redacted
'Email me at [EMAIL_1]'
"""

from proctor.decision import Action, Decision
from proctor.errors import (
    ApprovalExpired,
    ApprovalRejected,
    ApprovalRequired,
    ApprovalTimeout,
    AuditIntegrityError,
    BlockedError,
    ConfigError,
    PolicyDenied,
    PolicyFileError,
    ProctorError,
    ProviderError,
    ProviderTimeout,
    StoreError,
)
from proctor.findings import Finding
from proctor.governor import Governor
from proctor.identity import Identity
from proctor.policy import PolicySet, load_policies

__version__ = "0.1.0"

__all__ = [
    "Action",
    "ApprovalExpired",
    "ApprovalRejected",
    "ApprovalRequired",
    "ApprovalTimeout",
    "AuditIntegrityError",
    "BlockedError",
    "ConfigError",
    "Decision",
    "Finding",
    "Governor",
    "Identity",
    "PolicyDenied",
    "PolicyFileError",
    "PolicySet",
    "ProctorError",
    "ProviderError",
    "ProviderTimeout",
    "StoreError",
    "__version__",
    "load_policies",
]
