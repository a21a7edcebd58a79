"""RFC 8785 canonical bytes and Ed25519 signatures over them."""
from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json

import rfc8785
from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ..errors import InvalidInput


def canonical_bytes(document: object) -> bytes:
    return rfc8785.dumps(document)


def is_canonical(data: bytes) -> bool:
    try:
        return canonical_bytes(json.loads(data)) == data
    except (ValueError, rfc8785.CanonicalizationError):
        return False


def signature_is_valid(public_key_raw: bytes, data: bytes, signature: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key_raw).verify(signature, data)
        return True
    except (_CryptoInvalidSignature, ValueError):
        return False


@dataclasses.dataclass(frozen=True)
class StoredCheck:
    """What the stored bytes of a revision prove on their own."""

    signature_valid: bool  # the Ed25519 signature verifies over the stored bytes
    canonical: bool        # the stored bytes are RFC 8785 canonical (what was signed)

    @property
    def intact(self) -> bool:
        return self.signature_valid and self.canonical

    @property
    def problem(self) -> str | None:
        if not self.signature_valid:
            return "signature does not verify over the stored bytes"
        if not self.canonical:
            return "stored bytes are not RFC 8785 canonical"
        return None


def check_stored(public_key_raw: bytes, canonical: bytes, signature: bytes) -> StoredCheck:
    """The one revision verifier: the certificate page, the auditors' views and `audit
    verify` all ask it (the offline bundle checker keeps a copy that a test holds equal)."""
    return StoredCheck(signature_valid=signature_is_valid(public_key_raw, canonical, signature),
                       canonical=is_canonical(canonical))


def decode_signature(text: object) -> bytes | None:
    """Standard base64 of exactly 64 bytes, or None."""
    if not isinstance(text, str):
        return None
    try:
        sig = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return sig if len(sig) == 64 else None


def public_key_from_pem(pem: bytes) -> bytes:
    """The 32 raw bytes of an Ed25519 public key in PEM (SubjectPublicKeyInfo)."""
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise InvalidInput(f"not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput("the public key is not Ed25519")
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_pem(raw: bytes) -> bytes:
    return Ed25519PublicKey.from_public_bytes(raw).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint(public_key_raw: bytes) -> str:
    """SHA-256 of the raw key, hex: what the issuer line of the verification shows."""
    return hashlib.sha256(public_key_raw).hexdigest()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
