"""Proctor: an AI governance layer for LLM calls."""
