"""Time-based one-time passwords (RFC 6238) for the second sign-in step.

SHA-1, 6 digits, 30-second steps: what every authenticator app reads from a QR code.
A code is accepted for the step before and after the current one (clock drift), and the
caller records which step it matched so the same code cannot be used twice
(``accounts.use_otp_code``). Nothing here touches the database, and nothing here logs:
a secret or a code must never reach a log or the audit trail.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
import unicodedata

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP

DIGITS = 6
STEP_SECONDS = 30
DRIFT_STEPS = 1          # accept the previous and the next step too
SECRET_BYTES = 20        # 160 bits, RFC 4226's recommendation
ISSUER = "dsure-portal"


def new_secret() -> str:
    """A fresh random secret, base32 without padding (what authenticator apps expect)."""
    return _b32(secrets.token_bytes(SECRET_BYTES))


def derived_secret(key: bytes, context: str) -> str:
    """A secret derived from a server key and a context (e.g. one sign-in session), so an
    enrolment page can show the same QR code on every reload without storing anything
    until the user proves, with a code, that their app holds it."""
    return _b32(hmac.new(key, b"dsure-otp-enrolment\x00" + context.encode(), hashlib.sha256)
                .digest()[:SECRET_BYTES])


def _b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode("ascii").rstrip("=")


def _key(secret: str) -> bytes:
    secret = secret.strip().replace(" ", "").upper()
    return base64.b32decode(secret + "=" * (-len(secret) % 8))


def _totp(secret: str) -> TOTP:
    return TOTP(_key(secret), DIGITS, SHA1(), STEP_SECONDS, enforce_key_length=True)


def normalise_code(code: str | None) -> str:
    """Full-width digits and spaces or hyphens typed by a person are accepted."""
    text = unicodedata.normalize("NFKC", code or "")
    return "".join(ch for ch in text if not ch.isspace() and ch not in "-ー")


def _epoch(moment: dt.datetime) -> int:
    """``moment`` is naive UTC (registry.clock)."""
    return int(moment.replace(tzinfo=dt.timezone.utc).timestamp())


def step_at(moment: dt.datetime) -> int:
    return _epoch(moment) // STEP_SECONDS


def code_at(secret: str, moment: dt.datetime) -> str:
    """The code an authenticator shows at ``moment`` (tests and the enrolment check)."""
    return _totp(secret).generate(_epoch(moment)).decode("ascii")


def matching_step(secret: str, code: str | None, *, at: dt.datetime) -> int | None:
    """The time step whose code is ``code`` (within the drift allowed), else None.
    Every candidate is compared in constant time."""
    typed = normalise_code(code)
    if len(typed) != DIGITS or not (typed.isascii() and typed.isdigit()):  # "٣" is a digit too
        return None
    totp = _totp(secret)
    now = _epoch(at)
    found = None
    for offset in range(-DRIFT_STEPS, DRIFT_STEPS + 1):
        moment = now + offset * STEP_SECONDS
        if hmac.compare_digest(totp.generate(moment), typed.encode("ascii")) and found is None:
            found = moment // STEP_SECONDS
    return found


def provisioning_uri(secret: str, *, account: str, issuer: str = ISSUER) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return _totp(secret).get_provisioning_uri(account, issuer)


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing it into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
