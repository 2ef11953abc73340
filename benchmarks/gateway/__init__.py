"""Gateway benchmark: Proctor's server and the LiteLLM proxy, side by side, over a zero-latency nginx upstream."""
