"""Sign-in (password, then TOTP when the account has it), sign-out, the user's own
account (password, TOTP enrolment) and an obligee admin's staff accounts.

The rules live in registry.accounts; these views read the form, call one registry
function, and keep Flask's session in step with the server-side session row.
"""
from __future__ import annotations

import datetime as dt
import math
import time

import segno
from flask import Blueprint, abort, current_app, flash, redirect, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from registry import otp
from registry.accounts import (User, add_user, deactivate_user, end_session, enrol_otp,
                               member_for_admin, members_of, remove_otp, set_password,
                               sign_out, start_session)
from registry.sign_in import LoginLimits, reauthenticate, sign_in, sign_in_with_otp
from registry.clock import utcnow
from registry.errors import Forbidden, InvalidInput, NotFound
from registry.notifications.preferences import set_email_notifications
from registry.wareki import wareki_datetime_long

from ..extensions import limiter
from ..forms.auth import (ROLE_LABELS, AddStaffForm, ChangePasswordForm, ConfirmForm, LoginForm,
                          OtpForm, OtpRemoveForm, ResetPasswordForm)
from ..forms.notifications import EmailNotificationsForm
from ..login import is_staff
from ..login import PortalUser, enforce_otp_enrolment, home_url, require_login, safe_next
from ..rendering import render

bp = Blueprint("auth", __name__)
bp.before_app_request(enforce_otp_enrolment)

PENDING_OTP = "otp_pending"          # in the Flask session between the two sign-in steps
PENDING_OTP_SECONDS = 300
FAILED = "メールアドレスまたはパスワードが正しくありません"


@bp.app_template_global()
def role_label(role: str) -> str:
    return ROLE_LABELS.get(role, role)


def _login_limits() -> LoginLimits:
    config = current_app.config
    return LoginLimits(failures=int(config["LOGIN_FAILURE_LIMIT"]),
                       window=dt.timedelta(minutes=float(config["LOGIN_FAILURE_WINDOW_MINUTES"])),
                       failures_per_address=int(config["LOGIN_ADDRESS_FAILURE_LIMIT"]))


def _login_rate() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _locked_response(template: str, retry_after: dt.datetime, **context):
    response = render(template, status=429, locked_until=wareki_datetime_long(retry_after),
                      **context)
    response.headers["Retry-After"] = str(max(1, math.ceil((retry_after - utcnow()).total_seconds())))
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
                     address=request.remote_addr, limits=_login_limits())
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
                              address=request.remote_addr, limits=_login_limits())
    if result.signed_in:
        return _start(result.user, result.token, safe_next(pending.get("next")))
    blank = OtpForm(formdata=None)
    if result.outcome == "locked":
        session.pop(PENDING_OTP, None)
        return _locked_response("auth/login.html", result.retry_after, form=LoginForm(formdata=None),
                                next_url=None)
    return render("auth/login_otp.html", form=blank, failed=True)


@bp.post("/logout")
@login_required
def logout():
    sign_out(current_user.token, user=current_user.user, address=request.remote_addr)
    logout_user()
    session.clear()
    flash("ログアウトしました。", "info")
    return redirect(url_for(".login"), 303)


# --- the user's own account --------------------------------------------------------------

@bp.get("/account")
@login_required
def account():
    return render("auth/account.html", password_form=ChangePasswordForm(),
                  otp_remove_form=OtpRemoveForm())


def _account_locked(retry_after: dt.datetime):
    """Too many wrong passwords or codes from this account: nothing more is checked."""
    return _locked_response("auth/account.html", retry_after,
                            password_form=ChangePasswordForm(formdata=None),
                            otp_remove_form=OtpRemoveForm(formdata=None))


@bp.post("/account/password")
@login_required
def change_password():
    form = ChangePasswordForm()
    user = current_user.user
    if form.validate_on_submit():
        proof = reauthenticate(user, password=form.current_password.data,
                               address=request.remote_addr, limits=_login_limits())
        if proof.outcome == "locked":
            return _account_locked(proof.retry_after)
        if proof.outcome != "confirmed":
            form.current_password.errors.append("現在のパスワードが正しくありません。")
        else:
            # Every session of the account ends (other browsers too); this one starts afresh.
            set_password(user, form.new_password.data, actor=current_user.actor,
                         event="user.password_changed")
            _rotate(user, start_session(user))
            flash("パスワードを変更しました。ほかの端末のログインは終了しました。", "info")
            return redirect(url_for(".account"), 303)
    return render("auth/account.html", status=400, password_form=form,
                  otp_remove_form=OtpRemoveForm(formdata=None))


def _enrolment_secret() -> str:
    """Derived from this sign-in session: the page shows the same code on every reload,
    and nothing is stored until a code confirms it (GET changes nothing)."""
    key = current_app.config["SECRET_KEY"]
    return otp.derived_secret(key if isinstance(key, bytes) else key.encode(),
                              f"{current_user.id}:{current_user.token}")


@bp.route("/account/otp", methods=["GET", "POST"])
@login_required
def otp_enrol():
    user = current_user.user
    if user.otp_secret:
        flash("二段階認証は設定済みです。", "info")
        return redirect(url_for(".account"), 303)
    secret = _enrolment_secret()
    form = OtpForm()
    failed = False
    if form.validate_on_submit():
        if enrol_otp(user, secret=secret, code=form.otp.data, actor=current_user.actor):
            flash("二段階認証を設定しました。次回のログインから確認コードが必要です。", "info")
            return redirect(home_url() if user.organisation.require_otp
                            else url_for(".account"), 303)
        failed = True
        form = OtpForm(formdata=None)
    uri = otp.provisioning_uri(secret, account=user.email)
    qr = segno.make(uri, error="m").svg_data_uri(scale=5, border=2)
    return render("auth/otp_enrol.html", form=form, failed=failed, qr=qr,
                  secret=otp.grouped(secret), required=user.organisation.require_otp,
                  status=400 if failed else 200)


@bp.post("/account/otp/remove")
@login_required
def otp_remove():
    user = current_user.user
    if user.organisation.require_otp:
        abort(403)  # the organisation requires it; an admin can reset it for a lost phone
    form = OtpRemoveForm()
    if not user.otp_secret:
        return redirect(url_for(".account"), 303)
    if form.validate_on_submit():
        proof = reauthenticate(user, otp_code=form.otp.data, address=request.remote_addr,
                               limits=_login_limits())
        if proof.outcome == "locked":
            return _account_locked(proof.retry_after)
        if proof.outcome == "confirmed":
            remove_otp(user, actor=current_user.actor)
            flash("二段階認証を解除しました。もう一度ログインしてください。", "info")
            return redirect(url_for(".login"), 303)
    return render("auth/account.html", status=400, password_form=ChangePasswordForm(formdata=None),
                  otp_remove_form=OtpRemoveForm(formdata=None), otp_remove_failed=True)


# --- the user's email notifications ------------------------------------------------------

@bp.post("/account/notifications")
@login_required
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


# --- an obligee admin's staff ---------------------------------------------------------------

def _admin_only() -> User:
    if current_user.role != "admin":
        abort(403)
    return current_user.user


def _member(user_id: int) -> User:
    try:
        return member_for_admin(current_user.user, user_id)
    except NotFound:
        abort(404)
    except Forbidden:
        abort(403)


def _staff_page(add_form=None, status: int = 200, **context):
    admin = _admin_only()
    members = members_of(admin.organisation)
    return render("auth/staff.html", status=status, members=members,
                  add_form=add_form or AddStaffForm(formdata=None),
                  reset_form=ResetPasswordForm(formdata=None), confirm_form=ConfirmForm(), **context)


@bp.route("/staff", methods=["GET", "POST"])
@login_required
def staff():
    admin = _admin_only()
    if request.method == "GET":
        return _staff_page()
    form = AddStaffForm()
    if not form.validate_on_submit():
        return _staff_page(form, status=400)
    try:
        added = add_user(org_code=admin.organisation.code, email=form.email.data,
                         role=form.role.data, password=form.password.data,
                         actor=current_user.actor)
    except InvalidInput:
        form.email.errors.append("このメールアドレスは登録できません(すでに使われています)。")
        return _staff_page(form, status=400)
    flash(f"{added.email} を{role_label(added.role)}として追加しました。初期パスワードは本人に安全な方法でお伝えください。",
          "info")
    return redirect(url_for(".staff"), 303)


@bp.post("/staff/<int:user_id>/deactivate")
@login_required
def staff_deactivate(user_id: int):
    _admin_only()
    member = _member(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if member.id == current_user.id:
        flash("自分自身のアカウントは無効にできません。", "error")
        return redirect(url_for(".staff"), 303)
    if member.active:
        deactivate_user(email=member.email, actor=current_user.actor)
        flash(f"{member.email} を無効にしました。ログイン中の画面も直ちに終了します。", "info")
    return redirect(url_for(".staff"), 303)


@bp.post("/staff/<int:user_id>/password")
@login_required
def staff_password(user_id: int):
    _admin_only()
    member = _member(user_id)
    form = ResetPasswordForm()
    if not form.validate_on_submit():
        return _staff_page(status=400, reset_errors={member.id: form.password.errors})
    set_password(member, form.password.data, actor=current_user.actor)
    if member.id == current_user.id:
        _rotate(member, start_session(member))
    flash(f"{member.email} のパスワードを再設定しました。ログイン中の画面は終了しました。", "info")
    return redirect(url_for(".staff"), 303)


@bp.post("/staff/<int:user_id>/otp/remove")
@login_required
def staff_otp_remove(user_id: int):
    _admin_only()
    member = _member(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if member.otp_secret:
        remove_otp(member, actor=current_user.actor)
        flash(f"{member.email} の二段階認証を解除しました。次回ログイン時に設定し直します。", "info")
    if member.id == current_user.id:
        logout_user()
        session.clear()
        return redirect(url_for(".login"), 303)
    return redirect(url_for(".staff"), 303)
