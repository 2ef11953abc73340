"""Ed25519 signing keys for audit chains: created owner-only on first use, loaded, rotated, verified."""

from __future__ import annotations

import contextlib
import hmac
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from proctor.errors import ConfigError

KEY_FILE_NAME = "proctor-signing.key"
PUBLIC_SUFFIX = ".pub"
NEXT_SUFFIX = ".next"
HANDOVER_PREFIX = b"proctor-audit/1 handover\n"
MAC_KEY_LABEL = b"proctor-audit/1 head-mac key"

# The key file holds the raw 32-byte Ed25519 seed, the same layout qp-capsule uses, so a CPS export can be
# sealed by qp-capsule's own Seal from this file. A hex copy of the public key sits beside it in ``.pub``.
_SEED_BYTES = 32


@dataclass(frozen=True, slots=True)
class SigningKey:
    """An Ed25519 private key; ``public_key_hex`` is what ``proctor audit pubkey`` prints."""

    _private: Ed25519PrivateKey
    public_key_hex: str

    @classmethod
    def generate(cls) -> SigningKey:
        return cls._wrap(Ed25519PrivateKey.generate())

    @classmethod
    def _wrap(cls, private: Ed25519PrivateKey) -> SigningKey:
        public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return cls(private, public.hex())

    def sign(self, message: bytes) -> str:
        """Sign ``message``; returns the 64-byte signature as hex."""
        return self._private.sign(message).hex()

    def mac_key(self) -> bytes:
        """A secret derived from the seed that authenticates a chain head no signature covers yet.

        See ``proctor.audit.chain``: only holders of the private key can compute or check it.
        """
        return hmac.digest(self.seed(), MAC_KEY_LABEL, "sha256")

    def seed(self) -> bytes:
        """The raw 32-byte private seed (what the key file holds). Treat as secret."""
        return self._private.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )

    def __repr__(self) -> str:
        return f"SigningKey(public_key_hex={self.public_key_hex!r})"


class VerifyKey:
    """An Ed25519 public key that checks signatures; build it with :meth:`from_hex`."""

    __slots__ = ("_public", "hex")

    def __init__(self, public: Ed25519PublicKey, hex_value: str) -> None:
        self._public = public
        self.hex = hex_value

    @classmethod
    def from_hex(cls, value: str) -> VerifyKey:
        text = value.strip().lower()
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise ConfigError(
                f"public key: expected 64 hex characters (an Ed25519 public key); found "
                f"{len(text)} characters. Get it with: proctor audit pubkey"
            )
        return cls(Ed25519PublicKey.from_public_bytes(raw), text)

    def verify(self, message: bytes, signature_hex: str) -> bool:
        """True when ``signature_hex`` is a valid signature of ``message`` by this key."""
        try:
            self._public.verify(bytes.fromhex(signature_hex), message)
        except (InvalidSignature, ValueError):
            return False
        return True


def default_key_path(store_url: str) -> Path:
    """Where the signing key lives by default: beside a SQLite file, else ``./proctor-signing.key``."""
    if store_url.startswith("sqlite:"):
        from proctor.store.sqlite import sqlite_path

        path = sqlite_path(store_url)
        if path is not None:
            return path.parent / KEY_FILE_NAME
    return Path(KEY_FILE_NAME)


def load_key(path: str | os.PathLike[str]) -> SigningKey:
    """Load the signing key at ``path``; ConfigError names the file and the fix when it cannot be used."""
    key_path = Path(path)
    try:
        info = key_path.stat()
        data = key_path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"signing key file {key_path} not found. It is created when Proctor writes its first "
            f"audit record; pass --key-file PATH or --pubkey HEX to use another key"
        ) from None
    except OSError as exc:
        raise ConfigError(f"signing key file {key_path} cannot be read: {exc.strerror}") from exc
    if os.name == "posix" and info.st_mode & 0o077:
        raise ConfigError(
            f"signing key file {key_path} has mode {stat.S_IMODE(info.st_mode):04o}; it must be "
            f"readable by its owner only. Fix: chmod 600 {key_path}"
        )
    if len(data) != _SEED_BYTES:
        raise ConfigError(
            f"signing key file {key_path}: expected a raw {_SEED_BYTES}-byte Ed25519 seed; "
            f"found {len(data)} bytes"
        )
    return SigningKey._wrap(Ed25519PrivateKey.from_private_bytes(data))


def create_key(path: str | os.PathLike[str]) -> SigningKey:
    """Create a new key file (mode 0600, never overwriting one) and its ``.pub``; returns the key."""
    key = SigningKey.generate()
    _write_secret(Path(path), key.seed())
    _write_public(Path(path), key.public_key_hex)
    return key


def load_or_create_key(path: str | os.PathLike[str]) -> SigningKey:
    """Load the key at ``path``, creating it first when the file does not exist."""
    key_path = Path(path)
    if not key_path.exists():
        try:
            return create_key(key_path)
        except FileExistsError:
            pass  # another process created it first: use theirs
    return load_key(key_path)


def read_public_key(path: str | os.PathLike[str]) -> str:
    """The hex public key of the key at ``path``: from the private key, else from its ``.pub`` file."""
    key_path = Path(path)
    if key_path.exists():
        return load_key(key_path).public_key_hex
    public_path = Path(f"{key_path}{PUBLIC_SUFFIX}")
    if public_path.exists():
        return VerifyKey.from_hex(public_path.read_text(encoding="ascii", errors="replace")).hex
    return load_key(key_path).public_key_hex  # raises the not-found ConfigError


def handover_message(chain_id: str, old_public_hex: str, new_public_hex: str) -> bytes:
    """What the new key signs in a hand-over record, vouching for the key it replaces on this chain."""
    return HANDOVER_PREFIX + f"{chain_id}\n{old_public_hex}\n{new_public_hex}".encode()


def stage_rotation(path: str | os.PathLike[str]) -> SigningKey:
    """Create the next key beside the current one (``<key>.next``); nothing uses it until committed."""
    next_path = Path(f"{path}{NEXT_SUFFIX}")
    with contextlib.suppress(FileNotFoundError):
        next_path.unlink()
    key = SigningKey.generate()
    _write_secret(next_path, key.seed())
    return key


def staged_key(path: str | os.PathLike[str]) -> SigningKey | None:
    """The staged next key when a rotation was interrupted, else None."""
    next_path = Path(f"{path}{NEXT_SUFFIX}")
    return load_key(next_path) if next_path.exists() else None


def commit_rotation(path: str | os.PathLike[str]) -> None:
    """Make the staged key the current one (the old private key is destroyed)."""
    key_path = Path(path)
    next_path = Path(f"{key_path}{NEXT_SUFFIX}")
    new_key = load_key(next_path)
    os.replace(next_path, key_path)
    _fsync_dir(key_path.parent)
    _write_public(key_path, new_key.public_key_hex)


def abandon_rotation(path: str | os.PathLike[str]) -> None:
    """Drop a staged key whose hand-over record never reached the chain."""
    with contextlib.suppress(FileNotFoundError):
        Path(f"{path}{NEXT_SUFFIX}").unlink()


def _write_secret(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        if os.name == "posix":
            os.fchmod(fd, 0o600)  # the umask cannot widen it, but be explicit
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    _fsync_dir(path.parent)


def _write_public(key_path: Path, public_hex: str) -> None:
    public_path = Path(f"{key_path}{PUBLIC_SUFFIX}")
    tmp = Path(f"{public_path}.tmp")
    tmp.write_text(public_hex + "\n", encoding="ascii")
    os.replace(tmp, public_path)


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
