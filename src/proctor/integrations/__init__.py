"""Integrations that put the Governor where users already are (LiteLLM)."""
