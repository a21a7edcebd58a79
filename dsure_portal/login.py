"""Flask-Login over server-side sessions.

The signed cookie carries only the session token (Flask-Login's "alternative id"
pattern); every request checks the session row, so ending the row ends the session.
"""
from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from flask import abort, current_app, redirect, request, url_for
from flask_login import LoginManager, UserMixin, current_user

from registry.accounts import recovery_codes
from registry.accounts.users import (AUDITOR_ROLES, STAFF_ROLES, SessionLimits, User,
                                     needs_otp_enrolment, needs_password_change, session_user)

login_manager = LoginManager()
login_manager.session_protection = None  # the server-side row is the protection


class PortalUser(UserMixin):
    """The signed-in account as the views see it."""

    def __init__(self, user: User, token: str):
        self.user = user
        self.token = token

    def get_id(self) -> str:
        return self.token

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def email(self) -> str:
        return self.user.email

    @property
    def role(self) -> str:
        return self.user.role

    @property
    def organisation(self):
        return self.user.organisation

    @property
    def actor(self) -> str:
        """How the audit trail names this user."""
        return f"user:{self.user.id}"

    @property
    def recovery_codes_left(self) -> int:
        return recovery_codes.remaining(self.user)


def session_limits() -> SessionLimits:
    return SessionLimits(idle=dt.timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"]),
                         absolute=dt.timedelta(hours=current_app.config["SESSION_ABSOLUTE_HOURS"]))


@login_manager.user_loader
def load_user(token: str) -> PortalUser | None:
    user = session_user(token, limits=session_limits())
    return PortalUser(user, token) if user else None


@login_manager.unauthorized_handler
def unauthorized():
    login_url = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
    if request.headers.get("HX-Request"):
        # A login form swapped into a fragment would be wrong: send htmx to the page.
        return "", 401, {"HX-Redirect": login_url}
    return redirect(login_url)


def require_login():
    """A blueprint's before_request: every endpoint of it needs a signed-in user."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def require_role(*roles: str):
    """A blueprint's before_request: a signed-in user with one of ``roles``, else 403.
    Auditors read the trail and change nothing, so the staff pages (whose lookup adds
    to the organisation's list) are not theirs."""
    def check():
        refused = require_login()
        if refused is None and current_user.role not in roles:
            abort(403)
        return refused
    return check


def home_url() -> str:
    """Where a signed-in user starts: the lookup for staff, the trail for auditors."""
    if current_user.is_authenticated and current_user.role in AUDITOR_ROLES:
        return url_for("audit.trail")
    return url_for("certificates.lookup")


def is_staff() -> bool:
    return current_user.is_authenticated and current_user.role in STAFF_ROLES


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path on this site (``/certificates?page=2``), else None:
    no scheme, no host, no protocol-relative ``//host`` or ``/\\host``, no control
    characters. Sign-in never sends anyone off-site."""
    if not target or len(target) > 2000:
        return None
    target = target.rstrip("?")
    if (not target.startswith("/") or target.startswith("//") or "\\" in target
            or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target)):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


# Reachable while an account of a require_otp organisation has not enrolled yet.
ENROLMENT_ENDPOINTS = {"auth.otp_enrol", "auth.new_password", "auth.logout", "auth.login",
                       "auth.login_otp", "static"}
# Reachable while an account must replace a password someone else set (this comes first).
PASSWORD_CHANGE_ENDPOINTS = {"auth.new_password", "auth.logout", "auth.login", "auth.login_otp",
                             "static"}
NO_PORTAL_SESSION_BLUEPRINTS = {"api", "obligee_api", "public"}


def _first(needs, target: str, allowed: set[str]):
    """An app-wide before_request: while ``needs(user)`` holds for the signed-in user,
    every page but ``allowed`` sends them to ``target`` first (htmx: HX-Redirect)."""
    def check():
        if (request.endpoint is None or request.endpoint in allowed
                or request.blueprint in NO_PORTAL_SESSION_BLUEPRINTS):
            return None
        if not current_user.is_authenticated or not needs(current_user.user):
            return None
        return _send_to(url_for(target))
    return check


def _send_to(url: str):
    if request.headers.get("HX-Request"):
        return "", 403, {"HX-Redirect": url}
    return redirect(url, 303)


# After an admin's or the operator's reset: a password of the user's own, before anything.
enforce_password_change = _first(needs_password_change, "auth.new_password",
                                 PASSWORD_CHANGE_ENDPOINTS)
# When the organisation requires TOTP (or a reset asks for it again) and the user has none.
enforce_otp_enrolment = _first(needs_otp_enrolment, "auth.otp_enrol", ENROLMENT_ENDPOINTS)
