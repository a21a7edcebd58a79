"""Sign-in, second factor, own account and an admin's staff forms (all with CSRF)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

from registry.accounts.users import MIN_PASSWORD_LENGTH

try:  # WTForms 3.3 deprecates (value, label) tuples for choices
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover - older WTForms
    def SelectChoice(value: str, label: str):  # noqa: N802
        return (value, label)

ROLE_LABELS = {"staff": "職員", "admin": "管理者", "auditor": "監査担当",
               "platform-auditor": "運営事業者の監査担当"}

_PASSWORD_RULE = Length(min=MIN_PASSWORD_LENGTH, max=256,
                        message=f"パスワードは{MIN_PASSWORD_LENGTH}文字以上にしてください。")
_CODE_ATTRS = {"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9０-９ ]*",
               "maxlength": 12, "spellcheck": "false", "aria-describedby": "otp-hint"}
# Where a recovery code (xxxxx-xxxxx, letters too) may stand in for the 6 digits.
_CODE_OR_RECOVERY_ATTRS = {"autocomplete": "one-time-code", "maxlength": 24, "spellcheck": "false",
                           "autocapitalize": "off", "aria-describedby": "otp-hint"}
_CURRENT_PASSWORD = {"autocomplete": "current-password", "maxlength": 256}


class LoginForm(FlaskForm):
    # No format check on the email: anything typed fails the same way as a wrong password.
    email = StringField("メールアドレス",
                        validators=[DataRequired(message="メールアドレスを入力してください。")],
                        render_kw={"type": "email", "autocomplete": "username",
                                   "spellcheck": "false", "autocapitalize": "off",
                                   "maxlength": 254})
    password = PasswordField("パスワード",
                             validators=[DataRequired(message="パスワードを入力してください。")],
                             render_kw={"autocomplete": "current-password", "maxlength": 256})


def _current_password(**field_args) -> PasswordField:
    return PasswordField("現在のパスワード",
                         validators=[DataRequired(message="現在のパスワードを入力してください。")],
                         render_kw=_CURRENT_PASSWORD, **field_args)


class OtpForm(FlaskForm):
    """The second sign-in step: a code of the app, or a recovery code in its place."""

    otp = StringField("確認コード(6桁)",
                      validators=[DataRequired(message="確認コードを入力してください。")],
                      render_kw=_CODE_OR_RECOVERY_ATTRS)


class EnrolOtpForm(FlaskForm):
    """Binding an authenticator needs the password, so a borrowed session cannot."""

    password = _current_password()
    otp = StringField("確認コード(6桁)",
                      validators=[DataRequired(message="確認コードを入力してください。")],
                      render_kw=_CODE_ATTRS)


class OtpRemoveForm(FlaskForm):
    """Turning TOTP off needs the password and a current code (or a recovery code)."""

    password = _current_password(id="otp-remove-password")  # unique on /account
    otp = StringField("確認コード(6桁)または回復コード",
                      validators=[DataRequired(message="確認コードを入力してください。")],
                      render_kw={**_CODE_OR_RECOVERY_ATTRS, "aria-describedby": "otp-remove-hint"})


class RecoveryCodesForm(FlaskForm):
    """A new set of recovery codes needs the password."""

    password = _current_password()


class ChangePasswordForm(FlaskForm):
    current_password = _current_password()
    new_password = PasswordField(
        "新しいパスワード", validators=[DataRequired(message="新しいパスワードを入力してください。"),
                                 _PASSWORD_RULE],
        render_kw={"autocomplete": "new-password", "aria-describedby": "new-password-hint"})
    confirm = PasswordField(
        "新しいパスワード(確認)",
        validators=[EqualTo("new_password", message="確認用のパスワードが一致しません。")],
        render_kw={"autocomplete": "new-password"})


class AddStaffForm(FlaskForm):
    name = StringField("氏名", validators=[Length(max=100)],
                       render_kw={"autocomplete": "off", "maxlength": 100})
    section = StringField("所属(課・係)", validators=[Length(max=100)],
                          render_kw={"autocomplete": "off", "maxlength": 100,
                                     "placeholder": "例: 契約管財課 契約係"})
    email = StringField("メールアドレス",
                        validators=[DataRequired(message="メールアドレスを入力してください。"),
                                    Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
                                           message="メールアドレスの形式が正しくありません。"),
                                    Length(max=254)],
                        render_kw={"type": "email", "autocomplete": "off", "spellcheck": "false",
                                   "autocapitalize": "off"})
    role = SelectField("権限", default="staff",
                       choices=[SelectChoice("staff", ROLE_LABELS["staff"]),
                                SelectChoice("admin", ROLE_LABELS["admin"])])
    password = PasswordField(
        "初期パスワード", validators=[DataRequired(message="初期パスワードを入力してください。"),
                               _PASSWORD_RULE],
        render_kw={"autocomplete": "new-password", "aria-describedby": "add-password-hint"})


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        "新しいパスワード", validators=[DataRequired(message="新しいパスワードを入力してください。"),
                                 _PASSWORD_RULE],
        render_kw={"autocomplete": "new-password"})


class ConfirmForm(FlaskForm):
    """A button that changes something: only the CSRF token."""
