"""Signing keys: created owner-only on first use, loaded, refused when unsafe, rotated."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from proctor.audit import keys
from proctor.errors import ConfigError


def test_created_key_is_owner_only_and_loads_back(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "proctor-signing.key"
    created = keys.load_or_create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_bytes()) == 32
    assert keys.load_or_create_key(path).public_key_hex == created.public_key_hex
    assert keys.read_public_key(path) == created.public_key_hex
    assert Path(f"{path}.pub").read_text().strip() == created.public_key_hex


def test_create_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "k"
    keys.create_key(path)
    with pytest.raises(FileExistsError):
        keys.create_key(path)


def test_a_key_others_can_read_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "k"
    keys.create_key(path)
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        keys.load_key(path)


def test_missing_and_malformed_keys_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        keys.load_key(tmp_path / "absent")
    bad = tmp_path / "bad"
    bad.write_bytes(b"short")
    bad.chmod(0o600)
    with pytest.raises(ConfigError, match="32-byte"):
        keys.load_key(bad)


def test_public_key_can_come_from_the_pub_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "k"
    public = keys.create_key(path).public_key_hex
    path.unlink()
    assert keys.read_public_key(path) == public


def test_signatures_verify_only_with_the_right_key_and_message() -> None:
    key, other = keys.SigningKey.generate(), keys.SigningKey.generate()
    signature = key.sign(b"message")
    verifier = keys.VerifyKey.from_hex(key.public_key_hex)
    assert verifier.verify(b"message", signature)
    assert not verifier.verify(b"messagE", signature)
    assert not keys.VerifyKey.from_hex(other.public_key_hex).verify(b"message", signature)
    assert not verifier.verify(b"message", "zz")
    with pytest.raises(ConfigError, match="64 hex"):
        keys.VerifyKey.from_hex("abc")


def test_staged_rotation_commits_or_is_abandoned(tmp_path: Path) -> None:
    path = tmp_path / "k"
    old = keys.create_key(path)
    staged = keys.stage_rotation(path)
    assert keys.staged_key(path) is not None
    keys.abandon_rotation(path)
    assert keys.staged_key(path) is None
    assert keys.load_key(path).public_key_hex == old.public_key_hex
    staged = keys.stage_rotation(path)
    keys.commit_rotation(path)
    assert keys.load_key(path).public_key_hex == staged.public_key_hex
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keys.read_public_key(path) == staged.public_key_hex


def test_default_key_sits_beside_the_sqlite_file() -> None:
    assert keys.default_key_path("sqlite:////var/lib/proctor/p.db") == Path(
        "/var/lib/proctor/proctor-signing.key"
    )
    assert keys.default_key_path("postgresql://u@h/db") == Path("proctor-signing.key")
