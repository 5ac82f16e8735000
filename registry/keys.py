"""Ed25519 keys for registries (and, later, the gateway and verifiers)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)


@dataclass(frozen=True, slots=True)
class VerifyKey:
    """A public key that checks signatures; `fingerprint` names it in messages."""

    key: Ed25519PublicKey

    @property
    def raw(self) -> bytes:
        return self.key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def fingerprint(self) -> str:
        """Return the first 16 hex digits of SHA-256 over the raw public key."""
        return hashlib.sha256(self.raw).hexdigest()[:16]

    def verify(self, signature: bytes, data: bytes) -> bool:
        try:
            self.key.verify(signature, data)
        except InvalidSignature:
            return False
        return True

    def to_pem(self) -> bytes:
        return self.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @classmethod
    def from_pem(cls, data: bytes) -> VerifyKey:
        key = serialization.load_pem_public_key(data)
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("the PEM data is not an Ed25519 public key")
        return cls(key)

    @classmethod
    def from_raw(cls, data: bytes) -> VerifyKey:
        return cls(Ed25519PublicKey.from_public_bytes(data))


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A private Ed25519 key held by one registry (or the gateway)."""

    key: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @property
    def verify_key(self) -> VerifyKey:
        return VerifyKey(self.key.public_key())

    @property
    def fingerprint(self) -> str:
        return self.verify_key.fingerprint

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data)

    def to_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @classmethod
    def from_pem(cls, data: bytes) -> SigningKey:
        key = serialization.load_pem_private_key(data, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the PEM data is not an Ed25519 private key")
        return cls(key)

    def save(self, path: Path) -> None:
        """Write the key as PEM, readable by its owner only."""
        path.touch(mode=0o600, exist_ok=False)
        path.write_bytes(self.to_pem())

    @classmethod
    def load(cls, path: Path) -> SigningKey:
        return cls.from_pem(path.read_bytes())
