"""Settings: defaults, the YAML file, PROCTOR_* overrides, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from proctor import ConfigError
from proctor.config import Settings, load_settings


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "proctor.yaml"
    path.write_text(text)
    return str(path)


def test_defaults_are_embedded_and_safe() -> None:
    s = load_settings(env={})
    assert s == Settings()
    assert s.storage == "sqlite:///./proctor.db" and s.policies == ("builtin:default",)
    assert [p.kind for p in s.providers] == ["echo", "openai"] and s.failure_mode == "closed"
    assert (s.host, s.port) == ("127.0.0.1", 8080)


def test_file_then_environment(tmp_path: Path) -> None:
    path = write(tmp_path, """
storage: sqlite:///tmp/x.db
policies: [builtin:default, builtin:pci-dss]
providers:
  - {name: local, kind: openai, base_url: "http://127.0.0.1:8000/v1", models: ["llama-*"]}
  - {name: echo, kind: echo}
failure_mode: open
server: {port: 9001}
limits: {stream_holdback_chars: 128}
""")
    s = load_settings(path, env={"PROCTOR_PORT": "9100", "PROCTOR_POLICIES": "builtin:pii, builtin:secrets"})
    assert s.storage == "sqlite:///tmp/x.db" and s.failure_mode == "open"
    assert s.policies == ("builtin:pii", "builtin:secrets") and s.port == 9100
    assert s.providers[0].models == ("llama-*",) and s.providers[1].models == ("*",)
    assert s.limits.stream_holdback_chars == 128
    assert load_settings(env={"PROCTOR_CONFIG": path}).port == 9001


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("storag: x", "key 'storag'"),
        ("failure_mode: sometimes", "key 'failure_mode': expected open or closed; found 'sometimes'"),
        ("providers: [{kind: openai, base_url: ftp://x}]", "key 'providers[0].base_url'"),
        ("providers: [{kind: openai, modles: [x]}]", "key 'providers[0].modles'"),
        ("server: {port: 70000}", "key 'server.port'"),
        ("limits: {stream_holdback_chars: -1}", "key 'limits.stream_holdback_chars'"),
        ("storage: mysql://x", "key 'storage'"),
        ("- a list", "expected a mapping of settings"),
        ("a: [unclosed", "not valid YAML"),
    ],
)
def test_bad_settings_name_the_key(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), env={})
    assert needle in str(info.value)


def test_missing_file_and_bad_env() -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings("/nonexistent/proctor.yaml", env={})
    with pytest.raises(ConfigError, match=r"environment \(PROCTOR_\*\): key 'failure_mode'"):
        load_settings(env={"PROCTOR_FAILURE_MODE": "maybe"})
