"""The fake OpenAI-compatible upstream of the server tests, shared with the remote-client tests."""

from tests.server.conftest import fake, upstream  # noqa: F401 - pytest fixtures, registered by import
