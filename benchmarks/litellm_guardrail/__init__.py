"""The LiteLLM proxy with and without Proctor's guardrail, side by side (``make bench-litellm``)."""
