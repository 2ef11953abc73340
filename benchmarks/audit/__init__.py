"""Audit trail speed: sealed appends from concurrent producers (SQLite, PostgreSQL) and verification.

Run ``python -m benchmarks.audit`` (``--help`` lists the options); it rewrites the audit section of
``benchmarks/RESULTS.md``.
"""
