"""Portal accounts and their server-side sessions.

A session is a row: the browser holds only a random token (its SHA-256 is the key), so
sign-out, deactivation and a password reset end sessions at once, on every instance.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets

import peewee as pw
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from . import otp
from .audit import record
from .clock import Clock, utcnow
from .db import database, write_transaction
from .errors import Forbidden, InvalidInput, NotFound
from .models import BaseModel, Organisation
from .throttle import locked_until, record_failures

ROLES = ("staff", "admin", "auditor", "platform-auditor")
STAFF_ROLES = ("staff", "admin")               # look up, open and list certificates
AUDITOR_ROLES = ("auditor", "platform-auditor")  # read the trail; change nothing
MIN_PASSWORD_LENGTH = 12

_PASSWORDS = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the email is unknown, so timing does not tell whether it exists.
_DECOY_PASSWORD_HASH = _PASSWORDS.hash(secrets.token_hex(16))


class User(BaseModel):
    organisation = pw.ForeignKeyField(Organisation, backref="users")
    email = pw.CharField(max_length=254, unique=True)
    role = pw.CharField(max_length=32)
    password_hash = pw.CharField(max_length=200)
    otp_secret = pw.CharField(max_length=64, null=True)  # base32; None = no TOTP enrolled
    active = pw.BooleanField(default=True)
    created_at = pw.DateTimeField()


class UserSession(BaseModel):
    token_digest = pw.CharField(max_length=64, unique=True)
    user = pw.ForeignKeyField(User, backref="sessions")
    created_at = pw.DateTimeField()
    last_seen_at = pw.DateTimeField()
    ended_at = pw.DateTimeField(null=True)


class OtpCodeUse(BaseModel):
    """A TOTP time step a user has already spent: the same code is refused a second time
    (in its whole validity window, on every instance)."""

    user = pw.ForeignKeyField(User, backref="otp_uses", on_delete="CASCADE")
    step = pw.BigIntegerField()

    class Meta:
        indexes = ((("user", "step"), True),)


MODELS = [User, UserSession, OtpCodeUse]


@dataclasses.dataclass(frozen=True)
class SessionLimits:
    idle: dt.timedelta = dt.timedelta(minutes=30)
    absolute: dt.timedelta = dt.timedelta(hours=12)


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_password_strength(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"パスワードは{MIN_PASSWORD_LENGTH}文字以上にしてください。")


def add_user(*, org_code: str, email: str, role: str, password: str, actor: str = "operator",
             clock: Clock = utcnow) -> User:
    email = normalise_email(email)
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
    if "@" not in email:
        raise InvalidInput("email must be an email address")
    check_password_strength(password)
    org = Organisation.get_or_none(Organisation.code == org_code)
    if org is None:
        raise InvalidInput(f"no organisation with code {org_code}")
    if role == "platform-auditor" and org.kind != "operator":
        raise InvalidInput("platform-auditor is a role of the operator organisation")
    if role != "platform-auditor" and org.kind != "obligee":
        raise InvalidInput(f"{role} is a role of an obligee organisation")
    password_hash = _PASSWORDS.hash(password)
    with write_transaction():
        if User.get_or_none(User.email == email):
            raise InvalidInput(f"a user with email {email} already exists")
        user = User.create(organisation=org, email=email, role=role, password_hash=password_hash,
                           created_at=clock())
        record("user.added", actor=actor, organisation_code=org.code,
               details={"user_id": user.id, "email": email, "role": role}, clock=clock)
    return user


def password_matches(user: User | None, password: str) -> bool:
    """Always one argon2id verification, whether or not the user exists."""
    try:
        ok = _PASSWORDS.verify(user.password_hash if user else _DECOY_PASSWORD_HASH, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return ok and user is not None


def user_by_email(email: str) -> User | None:
    return (User.select(User, Organisation).join(Organisation)
            .where(User.email == normalise_email(email)).first())


def start_session(user: User, *, clock: Clock = utcnow) -> str:
    """A new session for ``user``; returns the token the browser will hold."""
    token = secrets.token_urlsafe(32)
    now = clock()
    UserSession.create(token_digest=_digest(token), user=user, created_at=now, last_seen_at=now)
    return token


def session_user(token: str | None, *, limits: SessionLimits = SessionLimits(),
                 clock: Clock = utcnow) -> User | None:
    """The active user of a live session, touching it; None when ended or expired."""
    if not token:
        return None
    row = (UserSession.select(UserSession, User, Organisation)
           .join(User).join(Organisation)
           .where(UserSession.token_digest == _digest(token)).first())
    now = clock()
    if (row is None or row.ended_at is not None or not row.user.active
            or now - row.last_seen_at > limits.idle or now - row.created_at > limits.absolute):
        return None
    if now - row.last_seen_at > dt.timedelta(seconds=30):  # one write per half minute, not per request
        UserSession.update(last_seen_at=now).where(UserSession.id == row.id).execute()
    return row.user


def end_session(token: str | None, *, clock: Clock = utcnow) -> None:
    if token:
        UserSession.update(ended_at=clock()).where(
            UserSession.token_digest == _digest(token), UserSession.ended_at.is_null()).execute()


def sign_out(token: str, *, user: User, address: str | None = None, clock: Clock = utcnow) -> None:
    """End this session (at once, on every instance) and audit it."""
    with write_transaction():
        end_session(token, clock=clock)
        record("logout", actor=f"user:{user.id}", organisation_code=user.organisation.code,
               details={"email": user.email, "address": address}, clock=clock)


def end_all_sessions(user: User, *, clock: Clock = utcnow) -> None:
    UserSession.update(ended_at=clock()).where(
        UserSession.user == user, UserSession.ended_at.is_null()).execute()


def deactivate_user(*, email: str, actor: str = "operator", clock: Clock = utcnow) -> User:
    user = user_by_email(email)
    if user is None:
        raise InvalidInput(f"no user with email {normalise_email(email)}")
    with write_transaction():
        User.update(active=False).where(User.id == user.id).execute()
        end_all_sessions(user, clock=clock)
        record("user.deactivated", actor=actor, organisation_code=user.organisation.code,
               details={"user_id": user.id, "email": user.email}, clock=clock)
    user.active = False
    return user


def set_password(user: User, password: str, *, actor: str, event: str = "user.password_reset",
                 clock: Clock = utcnow) -> None:
    """A new password; every session of the user ends at once."""
    check_password_strength(password)
    password_hash = _PASSWORDS.hash(password)
    with write_transaction():
        User.update(password_hash=password_hash).where(User.id == user.id).execute()
        end_all_sessions(user, clock=clock)
        record(event, actor=actor, organisation_code=user.organisation.code,
               details={"user_id": user.id}, clock=clock)
    user.password_hash = password_hash


def reactivate_user(user: User, *, actor: str, clock: Clock = utcnow) -> None:
    with write_transaction():
        User.update(active=True).where(User.id == user.id).execute()
        record("user.reactivated", actor=actor, organisation_code=user.organisation.code,
               details={"user_id": user.id, "email": user.email}, clock=clock)
    user.active = True


# --- signing in ---------------------------------------------------------------------------

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
    second step is due), failed, locked (``retry_after`` says until when)."""

    outcome: str
    user: User | None = None
    token: str | None = None
    retry_after: dt.datetime | None = None

    @property
    def signed_in(self) -> bool:
        return self.outcome == "signed_in"


LOGIN = "login"


def _subjects(email: str, address: str | None) -> list[str]:
    subjects = [f"email:{email[:190]}"]
    if address:
        subjects.append(f"ip:{address}")
    return subjects


def _lock(email: str, address: str | None, limits: LoginLimits, clock: Clock) -> dt.datetime | None:
    per_subject = [limits.failures, limits.failures_per_address]
    until = [locked_until(LOGIN, subject, limit=limit, window=limits.window, clock=clock)
             for subject, limit in zip(_subjects(email, address), per_subject)]
    until = [u for u in until if u is not None]
    return max(until) if until else None


def _actor(user: User | None) -> str:
    return f"user:{user.id}" if user is not None else "anonymous"


def _refused(email: str, user: User | None, address: str | None, reason: str,
             limits: LoginLimits, clock: Clock) -> SignIn:
    """Count one failure against the account and the address, and audit it (never the
    password or the code). When this failure reaches a limit, the lock is audited too."""
    with write_transaction():
        record_failures(LOGIN, _subjects(email, address), clock=clock)
        org = user.organisation.code if user is not None else None
        record("login.failed", actor=_actor(user), organisation_code=org,
               details={"email": email[:254], "reason": reason, "address": address}, clock=clock)
        until = _lock(email, address, limits, clock)
        if until is not None:
            record("login.locked", actor=_actor(user), organisation_code=org,
                   details={"email": email[:254], "address": address,
                            "locked_until": until.isoformat(timespec="seconds") + "Z"}, clock=clock)
    return SignIn("locked" if until is not None else "failed", retry_after=until)


def _locked(email: str, user: User | None, address: str | None, until: dt.datetime,
            clock: Clock) -> SignIn:
    record("login.locked", actor=_actor(user),
           organisation_code=user.organisation.code if user is not None else None,
           details={"email": email[:254], "address": address, "attempt_refused": True,
                    "locked_until": until.isoformat(timespec="seconds") + "Z"}, clock=clock)
    return SignIn("locked", retry_after=until)


def _signed_in(user: User, address: str | None, *, second_factor: bool, clock: Clock) -> SignIn:
    with write_transaction():
        token = start_session(user, clock=clock)
        record("login.succeeded", actor=_actor(user), organisation_code=user.organisation.code,
               details={"email": user.email, "address": address, "otp": second_factor},
               clock=clock)
    return SignIn("signed_in", user=user, token=token)


def sign_in(*, email: str, password: str, address: str | None,
            limits: LoginLimits = LoginLimits(), clock: Clock = utcnow) -> SignIn:
    """The first step: email and password.

    A locked account or address is refused before the password is looked at. Otherwise
    exactly one argon2id verification runs whether or not the email exists, and an
    unknown email, a wrong password and an inactive account fail the same way (only the
    audit trail tells them apart).
    """
    email = normalise_email(email)
    user = user_by_email(email) if email else None
    until = _lock(email, address, limits, clock)
    if until is not None:
        return _locked(email, user, address, until, clock)
    matches = password_matches(user, password)
    if not matches:
        reason = "unknown_email" if user is None else "wrong_password"
        return _refused(email, user, address, reason, limits, clock)
    if not user.active:
        return _refused(email, user, address, "inactive", limits, clock)
    if user.otp_secret:
        return SignIn("needs_otp", user=user)
    return _signed_in(user, address, second_factor=False, clock=clock)


def sign_in_with_otp(*, user_id: int, code: str, address: str | None,
                     limits: LoginLimits = LoginLimits(), clock: Clock = utcnow) -> SignIn:
    """The second step, after ``sign_in`` said needs_otp for ``user_id``. A wrong or
    reused code counts as a failed sign-in of the account, like a wrong password."""
    user = (User.select(User, Organisation).join(Organisation)
            .where(User.id == user_id).first())
    if user is None:
        return SignIn("failed")
    until = _lock(user.email, address, limits, clock)
    if until is not None:
        return _locked(user.email, user, address, until, clock)
    if not user.active or not user.otp_secret:
        return _refused(user.email, user, address, "inactive" if not user.active else "no_otp",
                        limits, clock)
    if not use_otp_code(user, user.otp_secret, code, clock=clock):
        return _refused(user.email, user, address, "wrong_otp", limits, clock)
    return _signed_in(user, address, second_factor=True, clock=clock)


# --- TOTP ------------------------------------------------------------------------------

def use_otp_code(user: User, secret: str, code: str | None, *, clock: Clock = utcnow) -> bool:
    """True when ``code`` is valid now and its time step was never used by ``user``;
    the step is then spent. Steps too old to be accepted again are forgotten."""
    now = clock()
    step = otp.matching_step(secret, code, at=now)
    if step is None:
        return False
    try:
        with database.atomic():  # a savepoint: a duplicate must not spoil an outer transaction
            OtpCodeUse.create(user=user, step=step)
    except pw.IntegrityError:
        return False
    OtpCodeUse.delete().where(OtpCodeUse.user == user,
                              OtpCodeUse.step < otp.step_at(now) - 2 * otp.DRIFT_STEPS - 1).execute()
    return True


def enrol_otp(user: User, *, secret: str, code: str | None, actor: str,
              clock: Clock = utcnow) -> bool:
    """Save ``secret`` as the user's TOTP secret once ``code`` proves their app has it."""
    if not use_otp_code(user, secret, code, clock=clock):
        return False
    with write_transaction():
        User.update(otp_secret=secret).where(User.id == user.id).execute()
        record("otp.enrolled", actor=actor, organisation_code=user.organisation.code,
               details={"user_id": user.id}, clock=clock)
    user.otp_secret = secret
    return True


def remove_otp(user: User, *, actor: str, clock: Clock = utcnow) -> None:
    """Forget the user's TOTP secret (lost phone; or they turn it off). Their sessions end,
    so the next sign-in follows the new rule (and enrolment when the organisation
    requires it)."""
    with write_transaction():
        User.update(otp_secret=None).where(User.id == user.id).execute()
        end_all_sessions(user, clock=clock)
        record("otp.removed", actor=actor, organisation_code=user.organisation.code,
               details={"user_id": user.id}, clock=clock)
    user.otp_secret = None


def needs_otp_enrolment(user: User) -> bool:
    return bool(user.organisation.require_otp) and not user.otp_secret


# --- an obligee admin's staff ------------------------------------------------------------

ADMIN_ASSIGNABLE_ROLES = ("staff", "admin")


def members_of(organisation: Organisation) -> list[User]:
    return list(User.select().where(User.organisation == organisation)
                .order_by(User.active.desc(), User.email))


def member_for_admin(admin: User, user_id: int) -> User:
    """The user ``user_id`` when ``admin`` may manage them: an admin manages the accounts
    of their own organisation only."""
    if admin.role != "admin":
        raise Forbidden("only an organisation's admin manages its staff")
    user = (User.select(User, Organisation).join(Organisation)
            .where(User.id == user_id).first())
    if user is None:
        raise NotFound("no such user")
    if user.organisation_id != admin.organisation_id:
        raise Forbidden("that user belongs to another organisation")
    return user
