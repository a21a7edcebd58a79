"""One-time recovery codes: ten per TOTP enrolment, each usable once in place of a code
from the authenticator app (a lost or broken phone).

A code is ten lowercase letters and digits from ``secrets``, shown as ``xxxxx-xxxxx``,
without 0/o, 1/l/i (people copy them from paper): 31 characters, about 49.5 bits. That
is far below the 112 bits for which a fast hash would do, so each
is stored like a password: argon2id (OWASP minimum, per-row salt). A stolen table alone
then costs about 2^49 argon2id evaluations per code, and unlike a peppered HMAC this
needs no key kept beside the database. The price is one argon2id verification per unused
code of the user, paid only when what was typed has the shape of a recovery code (a
6-digit TOTP code never touches them) and bounded by the sign-in lockout.

Spending is one conditional UPDATE (``used_at IS NULL``): of two requests racing with
the same code, exactly one changes the row, so a code signs in once and never twice.
The codes themselves never reach a log or the audit trail; only their count does.
"""
from __future__ import annotations

import secrets
import unicodedata

import peewee as pw
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .users import User
from ..audit.chain import record
from ..clock import Clock, utcnow
from ..db import write_transaction
from ..models import BaseModel

COUNT = 10
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
LENGTH = 10  # shown as two groups of five

_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class RecoveryCode(BaseModel):
    user = pw.ForeignKeyField(User, backref="recovery_codes", on_delete="CASCADE", index=True)
    code_hash = pw.CharField(max_length=200)
    created_at = pw.DateTimeField()
    used_at = pw.DateTimeField(null=True)


MODELS = [RecoveryCode]


def _new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalise(typed: str | None) -> str | None:
    """The ten characters of a recovery code as typed (全角, capitals, spaces and hyphens
    forgiven); None when it cannot be one (e.g. a 6-digit TOTP code)."""
    text = unicodedata.normalize("NFKC", typed or "").lower()
    text = "".join(ch for ch in text if not ch.isspace() and ch not in "-ー")
    if len(text) != LENGTH or not (text.isascii() and text.isalnum()):
        return None
    return text


def replace_codes(user: User, *, clock: Clock = utcnow) -> list[str]:
    """A fresh set of codes for ``user``; every earlier code stops working. Call inside
    the caller's write transaction. Returns the codes in clear: show them once."""
    codes = [_new_code() for _ in range(COUNT)]
    now = clock()
    RecoveryCode.delete().where(RecoveryCode.user == user).execute()
    RecoveryCode.insert_many([{"user": user.id, "code_hash": _HASHER.hash(code.replace("-", "")),
                               "created_at": now} for code in codes]).execute()
    return codes


def forget_codes(user: User) -> None:
    """No recovery codes for ``user`` (their TOTP is removed). In the caller's transaction."""
    RecoveryCode.delete().where(RecoveryCode.user == user).execute()


def remaining(user: User) -> int:
    return (RecoveryCode.select().where(RecoveryCode.user == user,
                                        RecoveryCode.used_at.is_null()).count())


def _matching_id(user: User, code: str) -> int | None:
    unused = (RecoveryCode.select(RecoveryCode.id, RecoveryCode.code_hash)
              .where(RecoveryCode.user == user, RecoveryCode.used_at.is_null())
              .order_by(RecoveryCode.id))
    for row in unused:
        try:
            if _HASHER.verify(row.code_hash, code):
                return row.id
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            continue
    return None


def use_recovery_code(user: User, typed: str | None, *, address: str | None = None,
                      clock: Clock = utcnow) -> bool:
    """True when ``typed`` is one of the user's unused codes; it is then spent (at most
    once, whatever runs in parallel) and the use audited without the code."""
    code = normalise(typed)
    if code is None:
        return False
    row_id = _matching_id(user, code)  # the slow part, outside the write lock
    if row_id is None:
        return False
    with write_transaction():
        spent = (RecoveryCode.update(used_at=clock())
                 .where(RecoveryCode.id == row_id, RecoveryCode.used_at.is_null()).execute())
        if spent != 1:
            return False
        record("otp.recovery_code_used", actor=f"user:{user.id}",
               organisation_code=user.organisation.code,
               details={"user_id": user.id, "remaining": remaining(user), "address": address},
               clock=clock)
    return True
