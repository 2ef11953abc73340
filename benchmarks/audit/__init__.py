"""Audit trail speed: sealed appends from concurrent producers (SQLite, PostgreSQL) and verification.

Run ``python -m benchmarks.audit`` (``--help`` lists the options); it writes ``benchmarks/audit/RESULTS.md``.
"""
