"""Auth keys (認証キー): issued once, stored only as argon2id over a peppered HMAC.

About 70 bits of entropy is below the 112 bits for which a fast hash would do, so the
stored form is slow (argon2id, OWASP minimum) and keyed by a pepper that lives outside
the database: a stolen table alone cannot be brute-forced.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .normalise import normalise_auth_key

# No 0/O, 1/l/I: staff copy these from a PDF by eye.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
LENGTH = 12
# What a person misreads as one of the alphabet's characters; never in a key.
LOOKALIKES = "0O1lI"

# OWASP's argon2id minimum: 19 MiB, t=2, p=1. The salt is per row, inside the hash.
_ARGON2 = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def generate_auth_key() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def key_format_problem(typed: str) -> str | None:
    """Why ``typed`` cannot be any auth key ("lookalike": it holds 0/O/1/l/I, "characters":
    other characters, "length": not 12), or None when it could be one. Public knowledge:
    says nothing about any certificate."""
    key = normalise_auth_key(typed)
    strangers = {c for c in key if c not in ALPHABET}
    if strangers:
        return "lookalike" if strangers <= set(LOOKALIKES) else "characters"
    if len(key) != LENGTH:
        return "length"
    return None


class AuthKeyHasher:
    """Turns auth keys into stored digests and checks typed keys against them."""

    def __init__(self, *, pepper: bytes):
        if len(pepper) < 16:
            raise ValueError("the auth key pepper must be at least 16 bytes")
        self._pepper = pepper
        # A digest of nothing anyone holds: verifying against it costs what a real
        # verification costs, so an unknown contract number takes the same time.
        self._decoy = _ARGON2.hash(secrets.token_hex(32))

    def _peppered(self, auth_key: str) -> str:
        return hmac.new(self._pepper, auth_key.encode(), hashlib.sha256).hexdigest()

    def digest(self, auth_key: str) -> str:
        return _ARGON2.hash(self._peppered(auth_key))

    def matches(self, digest: str | None, typed_key: str) -> bool:
        """True when ``typed_key`` is the key behind ``digest``; with no digest, spend
        the same time and answer False."""
        peppered = self._peppered(normalise_auth_key(typed_key))
        try:
            return _ARGON2.verify(digest or self._decoy, peppered) and digest is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
