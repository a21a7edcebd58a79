"""An obligee admin's staff accounts (/staff): add, deactivate (after a confirmation,
and undone with one button), reactivate, and reset a member's password or TOTP.

Every URL here needs the admin role (one before_request for the blueprint); the rules,
including "an admin manages their own organisation only", live in registry.accounts.users
and registry.accounts.credentials.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user

from registry.accounts import credentials
from registry.accounts.users import (User, add_user, deactivate_user, member_for_admin, members_of,
                                     reactivate_user)
from registry.errors import Forbidden, InvalidInput, NotFound
from registry.accounts.password_policy import WeakPassword

from ..forms.auth import AddStaffForm, ConfirmForm, ResetPasswordForm
from ..login import require_role
from ..rendering import render
from .auth import role_label

bp = Blueprint("staff", __name__, url_prefix="/staff")
bp.before_request(require_role("admin"))


def _member(user_id: int) -> User:
    try:
        return member_for_admin(current_user.user, user_id)
    except NotFound:
        abort(404)
    except Forbidden:
        abort(403)


def _confirmed() -> None:
    """A button that changes something carries the CSRF token and nothing else."""
    if not ConfirmForm().validate_on_submit():
        abort(400)


def _staff_page(add_form=None, status: int = 200, **context):
    members = members_of(current_user.organisation)
    return render("auth/staff.html", status=status, members=members,
                  add_form=add_form or AddStaffForm(formdata=None),
                  reset_form=ResetPasswordForm(formdata=None), confirm_form=ConfirmForm(), **context)


def _back():
    return redirect(url_for(".index"), 303)


@bp.route("", methods=["GET", "POST"])
def index():
    if request.method == "GET":
        return _staff_page()
    form = AddStaffForm()
    if not form.validate_on_submit():
        return _staff_page(form, status=400)
    try:
        added = add_user(org_code=current_user.organisation.code, email=form.email.data,
                         role=form.role.data, password=form.password.data,
                         name=form.name.data, section=form.section.data,
                         must_change_password=True, actor=current_user.actor)
    except WeakPassword as refusal:
        form.password.errors.append(refusal.detail)
        return _staff_page(form, status=400)
    except InvalidInput:
        form.email.errors.append("このメールアドレスは登録できません(すでに使われています)。")
        return _staff_page(form, status=400)
    flash(f"{added.email} を{role_label(added.role)}として追加しました。初期パスワードは本人に安全な方法でお伝えください"
          "(最初のログインで、本人が自分のパスワードに変更します)。", "info")
    return _back()


@bp.route("/<int:user_id>/deactivate", methods=["GET", "POST"])
def deactivate(user_id: int):
    """GET asks "really?" on a page of its own (no JavaScript needed); POST does it."""
    member = _member(user_id)
    if member.id == current_user.id:
        flash("自分自身のアカウントは無効にできません。", "error")
        return _back()
    if request.method == "GET":
        if not member.active:
            return _back()
        return render("auth/staff_deactivate.html", member=member, confirm_form=ConfirmForm())
    _confirmed()
    if member.active:
        deactivate_user(email=member.email, actor=current_user.actor)
        _flash_undo(member)
    return _back()


def _flash_undo(member: User) -> None:
    """The message after a deactivation carries the button that undoes it."""
    flash({"text": f"{member.email} を無効にしました。ログイン中の画面も直ちに終了しました。",
           "undo_url": url_for(".reactivate", user_id=member.id)}, "undo")


@bp.post("/<int:user_id>/reactivate")
def reactivate(user_id: int):
    member = _member(user_id)
    _confirmed()
    if not member.active:
        reactivate_user(member, actor=current_user.actor)
        flash(f"{member.email} を有効に戻しました。本人はこれまでのパスワードでログインできます。", "info")
    return _back()


@bp.post("/<int:user_id>/password")
def reset_password(user_id: int):
    member = _member(user_id)
    if member.id == current_user.id:
        return _own_account_elsewhere()
    form = ResetPasswordForm()
    if not form.validate_on_submit():
        return _staff_page(status=400, reset_errors={member.id: form.password.errors})
    try:
        credentials.reset_password(member, form.password.data, actor=current_user.actor)
    except WeakPassword as refusal:
        return _staff_page(status=400, reset_errors={member.id: [refusal.detail]})
    flash(f"{member.email} のパスワードを再設定しました。ログイン中の画面は終了しました。"
          "次回のログインで、本人が新しいパスワードを設定します。", "info")
    return _back()


def _own_account_elsewhere():
    """An admin's own password and TOTP change on /account, where the current password
    is asked: a borrowed admin session must not reset its own account from /staff."""
    flash("ご自身のパスワードと二段階認証は「アカウント」の画面で変更してください。", "error")
    return redirect(url_for("auth.account"), 303)


@bp.post("/<int:user_id>/otp/remove")
def reset_otp(user_id: int):
    member = _member(user_id)
    _confirmed()
    if member.id == current_user.id:
        return _own_account_elsewhere()
    if credentials.reset_otp(member, actor=current_user.actor):
        flash(f"{member.email} の二段階認証を解除しました。ログイン中の画面は終了しました。"
              "次回のログインで、本人が新しいパスワードと二段階認証を設定し直します。", "info")
    return _back()
