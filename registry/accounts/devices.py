"""Browsers an account has signed in from before (OWASP "Slow Down Online Guessing
Attacks with Device Cookies").

A stranger who knows an email can make five wrong guesses and lock the account: with
that alone, the owner would be locked out too. So a browser that has signed in to the
account before holds a device cookie for it (signed by the portal, which hands the
registry only a verified ``Device``), and such a browser is not held back by the
account's lockout, which then stops only unknown browsers. A device's own failures
count against its nonce, with the account's limit: at the limit the browser is refused
for the rest of the window, right password or not, and the nonce goes on the rejected
list for good (from then on that browser is an unknown one), so a stolen device cookie
buys its thief a handful of guesses, once.
"""
from __future__ import annotations

import dataclasses
import secrets
from typing import Iterable

import peewee as pw

from .users import User
from ..clock import Clock, utcnow
from ..db import database
from ..models import BaseModel

NONCE_MAX_LENGTH = 64


@dataclasses.dataclass(frozen=True)
class Device:
    """A device cookie the portal has verified: this browser once signed in as
    ``user_id``. The nonce names the cookie; without the portal's key it proves nothing."""

    user_id: int
    nonce: str


class RejectedDevice(BaseModel):
    """A device cookie that reached its failure limit: never trusted again."""

    nonce = pw.CharField(max_length=NONCE_MAX_LENGTH, unique=True)
    user = pw.ForeignKeyField(User, backref="rejected_devices")
    rejected_at = pw.DateTimeField()


MODELS = [RejectedDevice]


def new_nonce() -> str:
    """The nonce of a device cookie issued at a successful sign-in (128 random bits)."""
    return secrets.token_urlsafe(16)


@dataclasses.dataclass(frozen=True)
class KnownBrowser:
    """What the browser's device cookie for the account it signs in to comes to."""

    nonce: str
    trusted: bool   # False: rejected, the browser is an unknown one (still held by its own lock)


def known_browser(user: User | None, devices: Iterable[Device]) -> KnownBrowser | None:
    """This browser's device cookie for ``user``; None when it holds none."""
    if user is None:
        return None
    for device in devices:
        if device.user_id == user.id and 0 < len(device.nonce) <= NONCE_MAX_LENGTH:
            rejected = RejectedDevice.select().where(RejectedDevice.nonce == device.nonce).exists()
            return KnownBrowser(device.nonce, trusted=not rejected)
    return None


def reject_device(user: User, nonce: str, *, clock: Clock = utcnow) -> None:
    """Put ``nonce`` on the rejected list (once; a second rejection changes nothing)."""
    try:
        with database.atomic():  # a savepoint: a duplicate must not spoil the outer transaction
            RejectedDevice.create(nonce=nonce, user=user, rejected_at=clock())
    except pw.IntegrityError:
        pass
