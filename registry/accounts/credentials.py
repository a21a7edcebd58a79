"""Changing how a user signs in: their own changes (password, TOTP, recovery codes) and
an admin's or the operator's resets.

A user's own change first proves it is them (``sign_in.reauthenticate``: the current
password, counted against the account's lockout), so a stolen session cookie alone can
change nothing. Enrolling, removing TOTP and a new password then end every session of
the user and start a new one for this browser in the same transaction: other browsers
are signed out, this one goes on with a fresh token.

A reset by someone else ends all the user's sessions and marks the account so that the
next sign-in sets a password only the user knows (and enrols TOTP again where it is
due) before anything else: whoever reset it never knows the password finally used.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Iterable

from . import recovery_codes
from .users import (OtpCodeUse, User, check_password_for, end_all_sessions, password_matches,
                    set_password, start_session, store_otp_secret, use_otp_code)
from ..audit.chain import record
from ..clock import Clock, utcnow
from ..db import write_transaction
from .devices import Device
from ..errors import Forbidden
from .password_policy import WeakPassword
from .sign_in import LoginLimits, reauthenticate


@dataclasses.dataclass(frozen=True)
class CredentialChange:
    """What a user's own change came to. ``outcome``: done (``token`` is this browser's
    new session; ``recovery_codes`` are to be shown once), not_confirmed (the current
    password, or the code asked with it, was wrong: counted against the lockout),
    wrong_code (the password was right; the code of the authenticator being enrolled was
    not) or locked (``retry_after``). Nothing is changed unless done."""

    outcome: str
    token: str | None = None
    recovery_codes: tuple[str, ...] = ()
    retry_after: dt.datetime | None = None

    @property
    def done(self) -> bool:
        return self.outcome == "done"


def _proof(user: User, password: str | None, otp_code: str | None, address: str | None,
           limits: LoginLimits, clock: Clock, devices: Iterable[Device]) -> CredentialChange | None:
    """None when the user proved it is them; otherwise the refusal to return. Guesses
    count like sign-in's: against the browser's device cookie when it has one for the
    account, else against the account."""
    proof = reauthenticate(user, password=password or "", otp_code=otp_code, address=address,
                           limits=limits, clock=clock, devices=devices)
    if proof.outcome == "confirmed":
        return None
    if proof.outcome == "locked":
        return CredentialChange("locked", retry_after=proof.retry_after)
    return CredentialChange("not_confirmed")


def change_password(user: User, *, current_password: str, new_password: str,
                    address: str | None, limits: LoginLimits = LoginLimits(),
                    clock: Clock = utcnow, devices: Iterable[Device] = (),
                    browser: str | None = None) -> CredentialChange:
    """The user's own new password (on /account, or the one they must set after a
    reset). WeakPassword when the policy refuses it, before any guess is counted."""
    check_password_for(user, new_password)
    refused = _proof(user, current_password, None, address, limits, clock, devices)
    if refused:
        return refused
    if password_matches(user, new_password):
        raise WeakPassword("新しいパスワードは、いまのパスワードと違うものにしてください。")
    with write_transaction():
        set_password(user, new_password, actor=f"user:{user.id}", event="user.password_changed",
                     clock=clock)
        token = start_session(user, address=address, browser=browser, clock=clock)
    return CredentialChange("done", token=token)


def enrol_otp(user: User, *, password: str, secret: str, code: str | None,
              address: str | None, limits: LoginLimits = LoginLimits(),
              clock: Clock = utcnow, devices: Iterable[Device] = (),
              browser: str | None = None) -> CredentialChange:
    """Bind the authenticator holding ``secret`` once the password and a code of it are
    right; ten new recovery codes come back in the clear, to be shown once."""
    if user.otp_secret:
        raise Forbidden("TOTP is already set up; remove it first")
    refused = _proof(user, password, None, address, limits, clock, devices)
    if refused:
        return refused
    if not use_otp_code(user, secret, code, clock=clock):
        return CredentialChange("wrong_code")
    with write_transaction():
        codes = recovery_codes.replace_codes(user, clock=clock)
        ended = end_all_sessions(user, clock=clock)
        token = start_session(user, address=address, browser=browser, clock=clock)
        store_otp_secret(user, secret, actor=f"user:{user.id}", clock=clock,
                         details={"recovery_codes": len(codes), "sessions_ended": ended,
                                  "address": address})
    return CredentialChange("done", token=token, recovery_codes=tuple(codes))


def remove_otp(user: User, *, password: str, code: str | None, address: str | None,
               limits: LoginLimits = LoginLimits(), clock: Clock = utcnow,
               devices: Iterable[Device] = (), browser: str | None = None) -> CredentialChange:
    """The user turns their optional TOTP off with the password and a current code (or
    a recovery code). Not where the organisation requires TOTP."""
    if user.organisation.require_otp:
        raise Forbidden("the organisation requires TOTP")
    refused = _proof(user, password, code or "", address, limits, clock, devices)
    if refused:
        return refused
    with write_transaction():
        _forget_otp(user)
        ended = end_all_sessions(user, clock=clock)
        token = start_session(user, address=address, browser=browser, clock=clock)
        record("otp.removed", actor=f"user:{user.id}", organisation_code=user.organisation.code,
               details={"user_id": user.id, "sessions_ended": ended, "address": address},
               clock=clock)
    return CredentialChange("done", token=token)


def regenerate_recovery_codes(user: User, *, password: str, address: str | None,
                              limits: LoginLimits = LoginLimits(), clock: Clock = utcnow,
                              devices: Iterable[Device] = ()) -> CredentialChange:
    """A new set of ten codes; the old ones stop working. Needs the password."""
    if not user.otp_secret:
        raise Forbidden("recovery codes belong to a TOTP enrolment")
    refused = _proof(user, password, None, address, limits, clock, devices)
    if refused:
        return refused
    with write_transaction():
        codes = recovery_codes.replace_codes(user, clock=clock)
        record("otp.recovery_codes_replaced", actor=f"user:{user.id}",
               organisation_code=user.organisation.code,
               details={"user_id": user.id, "recovery_codes": len(codes), "address": address},
               clock=clock)
    return CredentialChange("done", recovery_codes=tuple(codes))


def _forget_otp(user: User) -> None:
    """The secret, its recovery codes, and the steps spent with it (they guard that
    secret's codes against replay; a new secret's first code must not be refused)."""
    User.update(otp_secret=None).where(User.id == user.id).execute()
    recovery_codes.forget_codes(user)
    OtpCodeUse.delete().where(OtpCodeUse.user == user).execute()
    user.otp_secret = None


# --- resets by an admin or the operator --------------------------------------------------

def reset_password(user: User, password: str, *, actor: str, clock: Clock = utcnow) -> None:
    """Set a password someone else chose (a forgotten one): the user's sessions end and
    the next sign-in (with this password, and the user's own TOTP when they have one)
    goes first to choosing a new password. WeakPassword when the policy refuses it."""
    set_password(user, password, actor=actor, event="user.password_reset", must_change=True,
                 clock=clock)


def reset_otp(user: User, *, actor: str, clock: Clock = utcnow) -> bool:
    """Forget the user's authenticator and recovery codes (a lost phone). Their sessions
    end; the next sign-in sets a new password and enrols TOTP again. False (nothing
    done) when they had none."""
    if not user.otp_secret:
        return False
    with write_transaction():
        _forget_otp(user)
        User.update(must_change_password=True, must_enrol_otp=True).where(
            User.id == user.id).execute()
        ended = end_all_sessions(user, clock=clock)
        record("otp.reset", actor=actor, organisation_code=user.organisation.code,
               details={"user_id": user.id, "email": user.email, "must_change_password": True,
                        "must_enrol_otp": True, "sessions_ended": ended}, clock=clock)
    user.must_change_password = user.must_enrol_otp = True
    return True
