"""Signing in (password, then TOTP when the account has it) and proving it again before
a sensitive change. Every guess is counted against the account and the client address
in the database (throttle.py), so all workers and instances share the lockout; every
failure and lock is in the audit trail, never with the password or code typed.

A browser with a device cookie for the account (devices.py) is counted against that
cookie instead of the account, so a stranger's guesses never lock the owner out.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Iterable

from .users import (User, normalise_email, password_matches, start_session, use_otp_code,
                    user_by_email)
from ..audit.chain import record
from ..clock import Clock, utcnow
from ..db import write_transaction
from .devices import Device, KnownBrowser, known_browser, new_nonce, reject_device
from ..models import Organisation
from .recovery_codes import normalise as recovery_code_shape, use_recovery_code
from .throttle import begin_attempt, locked_until

@dataclasses.dataclass(frozen=True)
class LoginLimits:
    """Failed sign-ins allowed per account (email) and per client address in the window;
    reaching either locks it for the rest of the window, right password or not."""

    failures: int = 5
    window: dt.timedelta = dt.timedelta(minutes=15)
    failures_per_address: int = 50


@dataclasses.dataclass(frozen=True)
class SignIn:
    """What a sign-in attempt came to. ``outcome`` is one of
    signed_in (``token`` is the new session's), needs_otp (the password was right; the
    second step is due), failed, locked (``retry_after`` says until when).
    ``device_nonce``: signed in, the browser's new device cookie for the account."""

    outcome: str
    user: User | None = None
    token: str | None = None
    retry_after: dt.datetime | None = None
    device_nonce: str | None = None

    @property
    def signed_in(self) -> bool:
        return self.outcome == "signed_in"


LOGIN = "login"
_PLAUSIBLE_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _trusted(device: KnownBrowser | None) -> bool:
    return device is not None and device.trusted


def _device_subject(device: KnownBrowser) -> str:
    return f"device:{device.nonce}"


def _limited(email: str, address: str | None, limits: LoginLimits,
             device: KnownBrowser | None = None) -> list[tuple[str, int]]:
    # A known browser's guesses count against its device cookie, never the account's. A
    # rejected cookie's browser is an unknown one, yet held by its cookie's lock too.
    if _trusted(device):
        subjects = [(_device_subject(device), limits.failures)]
    else:
        subjects = [(f"email:{email[:190]}", limits.failures)]
        if device is not None:
            subjects.append((_device_subject(device), limits.failures))
    if address:
        subjects.append((f"ip:{address}", limits.failures_per_address))
    return subjects


def _lock(email: str, address: str | None, limits: LoginLimits, clock: Clock,
          device: KnownBrowser | None = None) -> dt.datetime | None:
    until = [locked_until(LOGIN, subject, limit=limit, window=limits.window, clock=clock)
             for subject, limit in _limited(email, address, limits, device)]
    until = [u for u in until if u is not None]
    return max(until) if until else None


def _begin(email: str, address: str | None, limits: LoginLimits, clock: Clock,
           device: KnownBrowser | None = None):
    return begin_attempt(LOGIN, _limited(email, address, limits, device), window=limits.window,
                         clock=clock)


def _actor(user: User | None) -> str:
    return f"user:{user.id}" if user is not None else "anonymous"


def _audited_email(email: str, user: User | None) -> str:
    """The email as the trail keeps it. What was typed for an unknown account is kept only
    when it looks like an address: a password typed into the wrong field must not land in
    the trail."""
    if user is not None or _PLAUSIBLE_EMAIL.match(email):
        return email[:254]
    return "(not an email address)"


def _refused(email: str, user: User | None, address: str | None, reason: str,
             limits: LoginLimits, clock: Clock, *, event: str = "login.failed",
             device: KnownBrowser | None = None) -> SignIn:
    """Audit a failure that ``_begin`` has already counted (never the password or the
    code). When it brought the account (or the device) or the address to its limit,
    audit the lock too; a trusted device at its limit is rejected for good."""
    audited = _audited_email(email, user)
    with write_transaction():
        org = user.organisation.code if user is not None else None
        record(event, actor=_actor(user), organisation_code=org,
               details={"email": audited, "reason": reason, "address": address,
                        "device": _trusted(device)}, clock=clock)
        until = _lock(email, address, limits, clock, device)
        if _trusted(device) and locked_until(LOGIN, _device_subject(device), limit=limits.failures,
                                             window=limits.window, clock=clock):
            reject_device(user, device.nonce, clock=clock)
            record("login.device_rejected", actor=_actor(user), organisation_code=org,
                   details={"email": audited, "address": address}, clock=clock)
        if until is not None:
            record("login.locked", actor=_actor(user), organisation_code=org,
                   details={"email": audited, "address": address, "device": _trusted(device),
                            "locked_until": until.isoformat(timespec="seconds") + "Z"}, clock=clock)
    return SignIn("locked" if until is not None else "failed", retry_after=until)


def _locked(email: str, user: User | None, address: str | None, until: dt.datetime,
            clock: Clock, device: KnownBrowser | None = None) -> SignIn:
    record("login.locked", actor=_actor(user),
           organisation_code=user.organisation.code if user is not None else None,
           details={"email": _audited_email(email, user), "address": address,
                    "attempt_refused": True, "device": _trusted(device),
                    "locked_until": until.isoformat(timespec="seconds") + "Z"}, clock=clock)
    return SignIn("locked", retry_after=until)


def _signed_in(user: User, address: str | None, *, second_factor: bool, clock: Clock,
               device: KnownBrowser | None = None, browser: str | None = None) -> SignIn:
    with write_transaction():
        token = start_session(user, address=address, browser=browser, clock=clock)
        record("login.succeeded", actor=_actor(user), organisation_code=user.organisation.code,
               details={"email": user.email, "address": address, "otp": second_factor,
                        "device": _trusted(device)},
               clock=clock)
    return SignIn("signed_in", user=user, token=token, device_nonce=new_nonce())


def sign_in(*, email: str, password: str, address: str | None,
            limits: LoginLimits = LoginLimits(), clock: Clock = utcnow,
            devices: Iterable[Device] = (), browser: str | None = None) -> SignIn:
    """The first step: email and password.

    A locked account or address is refused before the password is looked at; otherwise
    the attempt is counted first (throttle.begin_attempt) and withdrawn when the password
    is right. Exactly one argon2id verification runs whether or not the email exists, and
    an unknown email, a wrong password and an inactive account fail the same way (only
    the audit trail tells them apart).

    ``devices``: the browser's verified device cookies (devices.py); one for this
    account moves the count from the account to the cookie. ``browser``: a short
    description of the browser, kept with the session.
    """
    email = normalise_email(email)
    user = user_by_email(email) if email else None
    device = known_browser(user, devices)
    attempt = _begin(email, address, limits, clock, device)
    if attempt.locked:
        return _locked(email, user, address, attempt.locked_until, clock, device)
    if not password_matches(user, password):
        reason = "unknown_email" if user is None else "wrong_password"
        return _refused(email, user, address, reason, limits, clock, device=device)
    if not user.active:
        return _refused(email, user, address, "inactive", limits, clock, device=device)
    attempt.withdraw()
    if user.otp_secret:
        return SignIn("needs_otp", user=user)
    return _signed_in(user, address, second_factor=False, clock=clock, device=device,
                      browser=browser)


def sign_in_with_otp(*, user_id: int, code: str, address: str | None,
                     limits: LoginLimits = LoginLimits(), clock: Clock = utcnow,
                     devices: Iterable[Device] = (), browser: str | None = None) -> SignIn:
    """The second step, after ``sign_in`` said needs_otp for ``user_id``. A wrong or
    reused code counts as a failed sign-in of the account (or of the browser's device
    cookie), like a wrong password."""
    user = (User.select(User, Organisation).join(Organisation)
            .where(User.id == user_id).first())
    if user is None:
        return SignIn("failed")
    device = known_browser(user, devices)
    attempt = _begin(user.email, address, limits, clock, device)
    if attempt.locked:
        return _locked(user.email, user, address, attempt.locked_until, clock, device)
    if not user.active or not user.otp_secret:
        return _refused(user.email, user, address, "inactive" if not user.active else "no_otp",
                        limits, clock, device=device)
    if not _second_factor(user, code, address, clock):
        return _refused(user.email, user, address, _wrong_code(code), limits, clock, device=device)
    attempt.withdraw()
    return _signed_in(user, address, second_factor=True, clock=clock, device=device,
                      browser=browser)


def _second_factor(user: User, code: str | None, address: str | None, clock: Clock) -> bool:
    """A code of the user's authenticator app or, in its place, one of their recovery
    codes (spent at once, and audited)."""
    return (use_otp_code(user, user.otp_secret, code, clock=clock)
            or use_recovery_code(user, code, address=address, clock=clock))


def _wrong_code(code: str | None) -> str:
    return "wrong_recovery_code" if recovery_code_shape(code) else "wrong_otp"


def reauthenticate(user: User, *, password: str | None = None, otp_code: str | None = None,
                   address: str | None, limits: LoginLimits = LoginLimits(),
                   clock: Clock = utcnow, devices: Iterable[Device] = ()) -> SignIn:
    """A signed-in user proves it is still them: the current password (before a new one,
    before enrolling TOTP), and a current code or recovery code as well when ``otp_code``
    is given (before turning TOTP off). Counted against the same limits as sign-in (the
    account's, or the browser's device cookie's), so a borrowed session is no free
    password oracle. Outcome: confirmed, failed or locked."""
    device = known_browser(user, devices)
    attempt = _begin(user.email, address, limits, clock, device)
    if attempt.locked:
        return _locked(user.email, user, address, attempt.locked_until, clock, device)
    confirmed, reason = True, None
    if password is not None or otp_code is None:
        confirmed, reason = password_matches(user, password), "wrong_password"
    if confirmed and otp_code is not None:
        confirmed = bool(user.otp_secret) and _second_factor(user, otp_code, address, clock)
        reason = _wrong_code(otp_code)
    if not confirmed:
        return _refused(user.email, user, address, reason, limits, clock,
                        event="reauthentication.failed", device=device)
    attempt.withdraw()
    return SignIn("confirmed", user=user)
