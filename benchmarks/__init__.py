"""Reproducible speed and accuracy benchmarks; results in benchmarks/RESULTS.md."""
