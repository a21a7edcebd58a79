"""RFC 8785 canonical bytes and Ed25519 signatures over them."""
from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
import re

import rfc8785
from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ..errors import InvalidInput


def canonical_bytes(document: object) -> bytes:
    return rfc8785.dumps(document)


_MAX_SAFE_INTEGER = 2**53 - 1
_FOUR_BYTE_UTF8 = re.compile(rb"[\xf0-\xf4]")  # a character beyond U+FFFF, written raw


class _NotPlain(Exception):
    """A value where json.dumps and RFC 8785 may write different text."""


def _refuse(text: str):
    raise _NotPlain(text)


def _safe_int(text: str) -> int:
    number = int(text)
    if not -_MAX_SAFE_INTEGER <= number <= _MAX_SAFE_INTEGER:
        raise _NotPlain(text)
    return number


def canonical_document(data: bytes) -> tuple[bool, object]:
    """(whether ``data`` is RFC 8785 canonical, the JSON value it holds or None).

    rfc8785.dumps is pure Python and was most of `audit verify`'s time per revision.
    For JSON with no fraction, exponent or constant, no integer beyond ±(2**53 - 1) and
    no character beyond U+FFFF, RFC 8785 writes exactly what json.dumps writes with
    sorted keys, no spaces and raw UTF-8 (the same string escapes, and code point
    order is UTF-16 order below U+10000): so comparing with that is the same check.
    Anything else goes through rfc8785 itself."""
    try:
        document = json.loads(data, parse_float=_refuse, parse_int=_safe_int,
                              parse_constant=_refuse)
        if not _FOUR_BYTE_UTF8.search(data):
            plain = json.dumps(document, ensure_ascii=False, separators=(",", ":"),
                               sort_keys=True, check_circular=False)
            return plain.encode() == data, document
    except _NotPlain:
        pass
    except UnicodeEncodeError:  # a lone surrogate: rfc8785 says what that is
        pass
    except ValueError:
        return False, None
    try:
        document = json.loads(data)
        return canonical_bytes(document) == data, document
    except (ValueError, rfc8785.CanonicalizationError):
        return False, None


def is_canonical(data: bytes) -> bool:
    return canonical_document(data)[0]


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
    return read_stored(public_key_raw, canonical, signature)[0]


def read_stored(public_key_raw: bytes, canonical: bytes,
                signature: bytes) -> tuple[StoredCheck, object]:
    """check_stored, and the document the bytes hold (None if they are not JSON), for a
    caller that reads it next: the bytes are parsed once."""
    is_canonical_, document = canonical_document(canonical)
    return StoredCheck(signature_valid=signature_is_valid(public_key_raw, canonical, signature),
                       canonical=is_canonical_), document


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
