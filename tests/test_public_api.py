"""The public surface of ``import proctor`` is pinned: a change here is a deliberate API change."""

import proctor


def test_exported_members() -> None:
    assert sorted(proctor.__all__) == sorted([
        "Action", "ApprovalExpired", "ApprovalRejected", "ApprovalRequired", "ApprovalTimeout",
        "AuditIntegrityError", "BlockedError", "ConfigError", "Decision", "Finding", "Governor", "Identity",
        "PolicyDenied", "PolicyFileError", "PolicySet",
        "ProctorError", "ProviderError", "ProviderTimeout", "StoreError", "__version__", "load_policies",
    ])
    for name in proctor.__all__:
        assert getattr(proctor, name) is not None


def test_every_error_shares_one_root() -> None:
    for name in ("ApprovalExpired", "ApprovalRejected", "ApprovalRequired", "ApprovalTimeout",
                 "AuditIntegrityError", "BlockedError", "ConfigError",
                 "PolicyDenied", "PolicyFileError", "ProviderError", "ProviderTimeout", "StoreError"):
        assert issubclass(getattr(proctor, name), proctor.ProctorError), name
