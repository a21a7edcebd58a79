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
from ..audit.chain import record
from ..clock import Clock, utcnow
from ..db import database, write_transaction
from ..errors import Forbidden, InvalidInput, NotFound
from ..models import BaseModel, Organisation
from ..prepared import Prepared, Slot
# MIN_PASSWORD_LENGTH is re-exported for the forms' length hint.
from .password_policy import MIN_PASSWORD_LENGTH, check_password_strength  # noqa: F401

ROLES = ("staff", "admin", "auditor", "platform-auditor")
STAFF_ROLES = ("staff", "admin")               # look up, open and list certificates
AUDITOR_ROLES = ("auditor", "platform-auditor")  # read the trail; change nothing

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
    # Set by an admin's or the operator's reset: at the next sign-in the user sets a
    # password only they know, and enrols TOTP again, before anything else.
    must_change_password = pw.BooleanField(default=False)
    must_enrol_otp = pw.BooleanField(default=False)
    name = pw.CharField(max_length=100, default="")     # 氏名, as the admin typed it
    section = pw.CharField(max_length=100, default="")  # 所属(課・係)
    created_at = pw.DateTimeField()
    notify_by_email = pw.BooleanField(default=True)  # 新しい版のお知らせメール; opt-out on /account


class UserSession(BaseModel):
    token_digest = pw.CharField(max_length=64, unique=True)
    user = pw.ForeignKeyField(User, backref="sessions")
    created_at = pw.DateTimeField()
    last_seen_at = pw.DateTimeField()
    ended_at = pw.DateTimeField(null=True)
    # Where it started, so the user can recognise their own sessions (user_sessions.py).
    address = pw.CharField(max_length=64, null=True)
    browser = pw.CharField(max_length=100, null=True)


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


def check_password_for(user: User, password: str) -> None:
    """The password policy for ``user``'s account (WeakPassword says why not)."""
    check_password_strength(password, email=user.email,
                            organisation_name=user.organisation.name,
                            organisation_code=user.organisation.code)


def add_user(*, org_code: str, email: str, role: str, password: str, actor: str = "operator",
             must_change_password: bool = False, name: str = "", section: str = "",
             clock: Clock = utcnow) -> User:
    """A new account. ``must_change_password``: the password was chosen by whoever adds
    the account (an admin, the operator), so the user replaces it at the first sign-in.
    WeakPassword (an InvalidInput) says why a password is refused."""
    email = normalise_email(email)
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
    if "@" not in email:
        raise InvalidInput("email must be an email address")
    org = Organisation.get_or_none(Organisation.code == org_code)
    if org is None:
        raise InvalidInput(f"no organisation with code {org_code}")
    check_password_strength(password, email=email, organisation_name=org.name,
                            organisation_code=org.code)
    if role == "platform-auditor" and org.kind != "operator":
        raise InvalidInput("platform-auditor is a role of the operator organisation")
    if role != "platform-auditor" and org.kind != "obligee":
        raise InvalidInput(f"{role} is a role of an obligee organisation")
    password_hash = _PASSWORDS.hash(password)
    with write_transaction():
        if User.get_or_none(User.email == email):
            raise InvalidInput(f"a user with email {email} already exists")
        user = User.create(organisation=org, email=email, role=role, password_hash=password_hash,
                           must_change_password=must_change_password, created_at=clock(),
                           name=_label(name), section=_label(section))
        record("user.added", actor=actor, organisation_code=org.code,
               details={"user_id": user.id, "email": email, "role": role, "name": user.name,
                        "section": user.section,
                        "must_change_password": must_change_password}, clock=clock)
    return user


def _label(text: str | None) -> str:
    """A name or section as shown in lists: blanks (full-width ones too) folded."""
    return " ".join((text or "").replace("\u3000", " ").split())[:100]


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


def start_session(user: User, *, address: str | None = None, browser: str | None = None,
                  clock: Clock = utcnow) -> str:
    """A new session for ``user`` from the client ``address`` and ``browser`` (a short
    description, e.g. "Edge 120 / Windows"); returns the token the browser will hold."""
    token = secrets.token_urlsafe(32)
    now = clock()
    UserSession.create(token_digest=_digest(token), user=user, created_at=now, last_seen_at=now,
                       address=(address or None) and address[:64],
                       browser=(browser or None) and browser[:100])
    return token


# Run on every signed-in request: compiled once (registry.prepared).
_SESSION_USER = Prepared(lambda: UserSession.select(UserSession, User, Organisation)
                         .join(User).join(Organisation)
                         .where(UserSession.token_digest == Slot("digest")).limit(1))


def session_user(token: str | None, *, limits: SessionLimits = SessionLimits(),
                 clock: Clock = utcnow) -> User | None:
    """The active user of a live session, touching it; None when ended or expired."""
    if not token:
        return None
    row = _SESSION_USER.first(digest=_digest(token))
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


def end_all_sessions(user: User, *, clock: Clock = utcnow) -> int:
    """End every live session of ``user``; returns how many there were."""
    return UserSession.update(ended_at=clock()).where(
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
                 must_change: bool = False, clock: Clock = utcnow) -> int:
    """A new password; every session of the user ends at once (returns how many).
    ``must_change``: someone else chose it, so the user must replace it at the next
    sign-in. Callers that end with the user signed in start the new session inside
    their own transaction around this one."""
    check_password_for(user, password)
    password_hash = _PASSWORDS.hash(password)
    with write_transaction():
        User.update(password_hash=password_hash, must_change_password=must_change).where(
            User.id == user.id).execute()
        ended = end_all_sessions(user, clock=clock)
        record(event, actor=actor, organisation_code=user.organisation.code,
               details={"user_id": user.id, "must_change_password": must_change,
                        "sessions_ended": ended}, clock=clock)
    user.password_hash = password_hash
    user.must_change_password = must_change
    return ended


def reactivate_user(user: User, *, actor: str, clock: Clock = utcnow) -> None:
    with write_transaction():
        User.update(active=True).where(User.id == user.id).execute()
        record("user.reactivated", actor=actor, organisation_code=user.organisation.code,
               details={"user_id": user.id, "email": user.email}, clock=clock)
    user.active = True


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
    """Save ``secret`` as the user's TOTP secret once ``code`` proves their app has it.
    The step alone: the account page goes through ``credentials.enrol_otp``, which asks
    for the password first, ends the other sessions and hands out recovery codes."""
    if not use_otp_code(user, secret, code, clock=clock):
        return False
    store_otp_secret(user, secret, actor=actor, clock=clock)
    return True


def store_otp_secret(user: User, secret: str, *, actor: str, details: dict | None = None,
                     clock: Clock = utcnow) -> None:
    """Record a secret whose code was already checked (``use_otp_code``); audited, never
    with the secret."""
    with write_transaction():
        User.update(otp_secret=secret, must_enrol_otp=False).where(User.id == user.id).execute()
        record("otp.enrolled", actor=actor, organisation_code=user.organisation.code,
               details={"user_id": user.id, **(details or {})}, clock=clock)
    user.otp_secret = secret
    user.must_enrol_otp = False


def needs_otp_enrolment(user: User) -> bool:
    """The organisation requires TOTP, or an admin's reset of the user's TOTP asks for a
    new enrolment, and the user has none yet."""
    return bool(user.organisation.require_otp or user.must_enrol_otp) and not user.otp_secret


def needs_password_change(user: User) -> bool:
    """An admin or the operator chose the user's password: the user replaces it first."""
    return bool(user.must_change_password)


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
