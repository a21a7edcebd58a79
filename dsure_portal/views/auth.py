"""Sign-in (password, then TOTP or a recovery code when the account has TOTP),
sign-out, the user's own account (password, TOTP enrolment, recovery codes) and an
obligee admin's staff accounts.

The rules live in registry.accounts.users and registry.accounts.credentials; these views read the
form, call one registry function, and keep Flask's session in step with the server-side
session row.
"""
from __future__ import annotations

import datetime as dt
import time

from flask import Blueprint, abort, current_app, flash, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user

from registry.accounts import credentials, otp
from registry.accounts.users import User, end_session, needs_password_change, sign_out
from registry.accounts.credentials import CredentialChange
from registry.accounts.password_policy import WeakPassword
from registry.accounts.sign_in import LoginLimits, sign_in, sign_in_with_otp
from registry.notifications.preferences import set_email_notifications
from registry.wareki import wareki_datetime_long

from ..devices import browser_devices, browser_summary, keep_device_cookie
from ..extensions import limiter
from ..forms.auth import (ROLE_LABELS, ChangePasswordForm, EnrolOtpForm, LoginForm, OtpForm,
                          OtpRemoveForm, RecoveryCodesForm)
from ..login import (PortalUser, enforce_otp_enrolment, enforce_password_change, home_url,
                     require_login, safe_next)
from ..forms.notifications import EmailNotificationsForm
from ..login import is_staff
from ..problems import retry_after
from ..rendering import render

bp = Blueprint("auth", __name__)
# Signing in is for strangers; everything else here (sign-out, the user's own account)
# needs a signed-in user: one check for the blueprint, like every other blueprint's.
SIGN_IN_ENDPOINTS = {"auth.home", "auth.login", "auth.login_otp"}
bp.before_request(lambda: None if request.endpoint in SIGN_IN_ENDPOINTS else require_login())
bp.before_app_request(enforce_password_change)  # a password of their own first,
bp.before_app_request(enforce_otp_enrolment)    # then TOTP where it is due

PENDING_OTP = "otp_pending"          # in the Flask session between the two sign-in steps
PENDING_OTP_SECONDS = 300
FAILED = "メールアドレスまたはパスワードが正しくありません"
WRONG_CURRENT_PASSWORD = "現在のパスワードが正しくありません。"


@bp.app_template_global()
def role_label(role: str) -> str:
    return ROLE_LABELS.get(role, role)


def _login_limits() -> LoginLimits:
    config = current_app.config
    return LoginLimits(failures=int(config["LOGIN_FAILURE_LIMIT"]),
                       window=dt.timedelta(minutes=float(config["LOGIN_FAILURE_WINDOW_MINUTES"])),
                       failures_per_address=int(config["LOGIN_ADDRESS_FAILURE_LIMIT"]))


def _this_browser() -> dict:
    """Who is asking, for a credential change: the device cookies this browser holds (its
    guesses count against them, as at sign-in) and its name for the new session row."""
    return {"devices": browser_devices(), "browser": browser_summary()}


def _login_rate() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _locked_response(template: str, until: dt.datetime, **context):
    response = render(template, status=429, locked_until=wareki_datetime_long(until),
                      **context)
    response.headers["Retry-After"] = retry_after(until)
    return response


def _forget_session(keep: str | None = None) -> None:
    """End the browser's earlier server-side session, if any, and empty Flask's session."""
    previous = session.get("_user_id")
    if previous and previous != keep:
        end_session(previous)
    session.clear()


def _rotate(user: User, token: str) -> None:
    """Nothing of the anonymous session (nor of an earlier sign-in) survives: the browser
    gets a new server-side session and, with the cleared session, a new CSRF token."""
    _forget_session(keep=token)
    login_user(PortalUser(user, token))


def _start(user: User, token: str, next_url: str | None):
    _rotate(user, token)
    return redirect(next_url or home_url(), 303)


# --- sign-in and sign-out -------------------------------------------------------------

@bp.get("/")
def home():
    return redirect(home_url()) if current_user.is_authenticated else require_login()


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_rate, methods=["POST"])  # coarse; the real limit is counted in the database
def login():
    next_url = safe_next(request.args.get("next"))
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(next_url or home_url())
    form = LoginForm()
    if not form.validate_on_submit():
        return render("auth/login.html", form=form, next_url=next_url)
    result = sign_in(email=form.email.data, password=form.password.data,
                     address=request.remote_addr, limits=_login_limits(),
                     devices=browser_devices(), browser=browser_summary())
    keep_device_cookie(result)
    if result.outcome == "needs_otp":
        _forget_session()
        session[PENDING_OTP] = {"user_id": result.user.id, "since": int(time.time()),
                                "next": next_url}
        return redirect(url_for(".login_otp"), 303)
    if result.signed_in:
        return _start(result.user, result.token, next_url)
    if result.outcome == "locked":
        return _locked_response("auth/login.html", result.retry_after, form=form, next_url=next_url)
    return render("auth/login.html", form=form, next_url=next_url, failed=True)


def _pending_otp() -> dict | None:
    pending = session.get(PENDING_OTP)
    if not isinstance(pending, dict) or time.time() - pending.get("since", 0) > PENDING_OTP_SECONDS:
        return None
    return pending


@bp.route("/login/otp", methods=["GET", "POST"])
@limiter.limit(_login_rate, methods=["POST"])
def login_otp():
    pending = _pending_otp()
    if pending is None:
        session.pop(PENDING_OTP, None)
        flash("もう一度、メールアドレスとパスワードを入力してください。", "info")
        return redirect(url_for(".login"), 303)
    form = OtpForm()
    if not form.validate_on_submit():
        return render("auth/login_otp.html", form=form)
    result = sign_in_with_otp(user_id=pending["user_id"], code=form.otp.data,
                              address=request.remote_addr, limits=_login_limits(),
                              devices=browser_devices(), browser=browser_summary())
    keep_device_cookie(result)
    if result.signed_in:
        return _start(result.user, result.token, safe_next(pending.get("next")))
    blank = OtpForm(formdata=None)
    if result.outcome == "locked":
        session.pop(PENDING_OTP, None)
        return _locked_response("auth/login.html", result.retry_after, form=LoginForm(formdata=None),
                                next_url=None)
    return render("auth/login_otp.html", form=blank, failed=True)


@bp.post("/logout")
def logout():
    sign_out(current_user.token, user=current_user.user, address=request.remote_addr)
    logout_user()
    session.clear()
    flash("ログアウトしました。", "info")
    return redirect(url_for(".login"), 303)


# --- the user's own account --------------------------------------------------------------

@bp.get("/account")
def account():
    return render("auth/account.html", password_form=ChangePasswordForm(),
                  otp_remove_form=OtpRemoveForm())


def _account_locked(until: dt.datetime):
    """Too many wrong passwords or codes from this account: nothing more is checked."""
    return _locked_response("auth/account.html", until,
                            password_form=ChangePasswordForm(formdata=None),
                            otp_remove_form=OtpRemoveForm(formdata=None))


@bp.post("/account/password")
def change_password():
    form = ChangePasswordForm()
    user = current_user.user
    if form.validate_on_submit():
        change = _change_own_password(form)
        if change.outcome == "locked":
            return _account_locked(change.retry_after)
        if change.done:
            # Every session of the account ends (other browsers too); this one starts afresh.
            _rotate(user, change.token)
            flash("パスワードを変更しました。ほかの端末のログインは終了しました。", "info")
            return redirect(url_for(".account"), 303)
    return render("auth/account.html", status=400, password_form=form,
                  otp_remove_form=OtpRemoveForm(formdata=None))


def _change_own_password(form: ChangePasswordForm) -> CredentialChange:
    """The registry's answer; a refusal is put on the field it concerns."""
    try:
        change = credentials.change_password(
            current_user.user, current_password=form.current_password.data,
            new_password=form.new_password.data, address=request.remote_addr,
            limits=_login_limits(), **_this_browser())
    except WeakPassword as refusal:
        form.new_password.errors.append(refusal.detail)
        return CredentialChange("refused")
    if change.outcome == "not_confirmed":
        form.current_password.errors.append(WRONG_CURRENT_PASSWORD)
    return change


@bp.route("/account/new-password", methods=["GET", "POST"])
def new_password():
    """After an admin's or the operator's reset: a password only the user knows, before
    anything else (login.enforce_password_change sends every other page here)."""
    user = current_user.user
    if not needs_password_change(user):
        return redirect(url_for(".account"), 303)
    form = ChangePasswordForm()
    if form.validate_on_submit():
        change = _change_own_password(form)
        if change.outcome == "locked":
            return _locked_response("auth/new_password.html", change.retry_after,
                                    form=ChangePasswordForm(formdata=None))
        if change.done:
            _rotate(user, change.token)
            flash("新しいパスワードを設定しました。", "info")
            return redirect(home_url(), 303)
    return render("auth/new_password.html", form=form,
                  status=400 if request.method == "POST" else 200)


def _enrolment_secret() -> str:
    """Derived from this sign-in session: the page shows the same code on every reload,
    and nothing is stored until a code confirms it (GET changes nothing)."""
    key = current_app.config["SECRET_KEY"]
    return otp.derived_secret(key if isinstance(key, bytes) else key.encode(),
                              f"{current_user.id}:{current_user.token}")


@bp.route("/account/otp", methods=["GET", "POST"])
def otp_enrol():
    user = current_user.user
    if user.otp_secret:
        flash("二段階認証は設定済みです。", "info")
        return redirect(url_for(".account"), 303)
    secret = _enrolment_secret()
    form = EnrolOtpForm()
    failed = False
    if form.validate_on_submit():
        change = credentials.enrol_otp(user, password=form.password.data, secret=secret,
                                       code=form.otp.data, address=request.remote_addr,
                                       limits=_login_limits(), **_this_browser())
        if change.outcome == "locked":
            return _locked_response("auth/otp_enrol.html", change.retry_after,
                                    **_enrolment_page(secret, EnrolOtpForm(formdata=None)))
        if change.done:
            required = user.organisation.require_otp
            _rotate(user, change.token)  # the other sessions have ended; this one goes on
            return render("auth/otp_enrolled.html", codes=change.recovery_codes,
                          next_url=home_url() if required else url_for(".account"))
        if change.outcome == "not_confirmed":
            form.password.errors.append(WRONG_CURRENT_PASSWORD)
        else:
            failed = True
            form.otp.data = ""
    return render("auth/otp_enrol.html", **_enrolment_page(secret, form), failed=failed,
                  status=400 if request.method == "POST" else 200)


def _enrolment_page(secret: str, form: EnrolOtpForm) -> dict:
    import segno  # at first use: only enrolment draws a QR code; a worker keeps 1 MiB less
    user = current_user.user
    uri = otp.provisioning_uri(secret, account=user.email)
    return {"form": form, "qr": segno.make(uri, error="m").svg_data_uri(scale=5, border=2),
            "secret": otp.grouped(secret),
            "required": user.organisation.require_otp or user.must_enrol_otp}


@bp.post("/account/otp/remove")
def otp_remove():
    user = current_user.user
    if user.organisation.require_otp:
        abort(403)  # the organisation requires it; an admin can reset it for a lost phone
    form = OtpRemoveForm()
    if not user.otp_secret:
        return redirect(url_for(".account"), 303)
    if form.validate_on_submit():
        change = credentials.remove_otp(user, password=form.password.data, code=form.otp.data,
                                        address=request.remote_addr, limits=_login_limits(),
                                        **_this_browser())
        if change.outcome == "locked":
            return _account_locked(change.retry_after)
        if change.done:
            _rotate(user, change.token)
            flash("二段階認証を解除しました。ほかの端末のログインは終了しました。", "info")
            return redirect(url_for(".account"), 303)
    return render("auth/account.html", status=400, password_form=ChangePasswordForm(formdata=None),
                  otp_remove_form=form, otp_remove_failed=form.is_submitted() and not form.errors)


@bp.route("/account/recovery-codes", methods=["GET", "POST"])
def recovery_codes():
    """How many recovery codes are left; a new set (with the password) replaces them."""
    user = current_user.user
    if not user.otp_secret:
        flash("回復コードは、二段階認証を設定すると発行されます。", "info")
        return redirect(url_for(".account"), 303)
    form = RecoveryCodesForm()
    if form.validate_on_submit():
        change = credentials.regenerate_recovery_codes(
            user, password=form.password.data, address=request.remote_addr,
            limits=_login_limits(), devices=browser_devices())
        if change.outcome == "locked":
            return _locked_response("auth/recovery_codes.html", change.retry_after,
                                    form=RecoveryCodesForm(formdata=None))
        if change.done:
            return render("auth/recovery_codes.html", form=RecoveryCodesForm(formdata=None),
                          codes=change.recovery_codes)
        form.password.errors.append(WRONG_CURRENT_PASSWORD)
    return render("auth/recovery_codes.html", form=form,
                  status=400 if request.method == "POST" else 200)


# --- the user's email notifications ------------------------------------------------------

@bp.post("/account/notifications")
def email_notifications():
    """Opt in or out of the new-revision emails (staff and admins; auditors get none)."""
    if not is_staff():
        abort(403)
    form = EmailNotificationsForm()
    if not form.validate_on_submit():
        abort(400)
    enabled = bool(form.notify_by_email.data)
    if set_email_notifications(current_user.user, enabled, actor=current_user.actor):
        flash("新しい版のお知らせメールを受け取ります。" if enabled
              else "新しい版のお知らせメールを停止しました。", "info")
    return redirect(url_for(".account") + "#notifications-heading", 303)
