"""Staff forms: the lookup (number + auth key, or the notice that carries them) and the
search of the organisation's list."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Optional, StopValidation

from registry.certificates.auth_keys import LENGTH, key_format_problem
from registry.certificates.normalise import normalise_auth_key, normalise_contract_number
from registry.certificates.presentation import PRODUCT_LABELS

try:  # WTForms 3.3 deprecates (value, label) tuples for choices
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover - older WTForms
    def SelectChoice(value: str, label: str):  # noqa: N802
        return (value, label)


def contract_number_format(form, field) -> None:
    """The shape of a contract number is public: saying it is wrong reveals nothing, so a
    malformed number is answered here and never becomes a (counted) lookup."""
    if field.data and normalise_contract_number(field.data) is None:
        raise StopValidation("保証契約番号は「12345-678901」のように、数字5桁と6桁で入力してください。")


KEY_FORMAT_MESSAGES = {
    "lookalike": "認証キーには数字の0・1や英字のO・I・l(小文字のエル)は使われていません。"
                 "お知らせの文字をもう一度お確かめください。",
    "characters": f"認証キーは英字と数字の{LENGTH}文字です。",
    "length": f"認証キーは{LENGTH}文字です(入力されたのは{{count}}文字です)。",
}


def auth_key_format(form, field) -> None:
    problem = key_format_problem(field.data or "") if field.data else None
    if problem:
        raise StopValidation(KEY_FORMAT_MESSAGES[problem].format(
            count=len(normalise_auth_key(field.data))))


class LookupForm(FlaskForm):
    # Only the shape is checked here; whether number and key match is the registry's
    # lookup, whose every failure reads the same.
    contract_number = StringField(
        "保証契約番号", validators=[DataRequired(message="保証契約番号を入力してください。"),
                                 contract_number_format],
        render_kw={"autocomplete": "off", "spellcheck": "false", "inputmode": "text",
                   "aria-describedby": "contract-number-hint", "maxlength": 40})
    auth_key = StringField(
        "認証キー", validators=[DataRequired(message="認証キーを入力してください。"), auth_key_format],
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off",
                   "autocorrect": "off", "aria-describedby": "auth-key-hint", "maxlength": 40})


class NoticeForm(FlaskForm):
    """The notice itself: its PDF, or its text pasted from an email. Read in memory only."""

    notice = FileField("お知らせのPDFファイル",
                       render_kw={"accept": "application/pdf,.pdf", "aria-describedby": "notice-hint"})
    notice_text = TextAreaField("お知らせの文面を貼り付け(メール本文など)",
                                render_kw={"rows": 4, "spellcheck": "false", "autocomplete": "off",
                                           "aria-describedby": "notice-text-hint"})

    @property
    def chosen_file(self):
        data = self.notice.data
        return data if data is not None and getattr(data, "filename", "") else None


PRODUCT_CHOICES = [SelectChoice("", "すべて")] + [SelectChoice(v, label) for v, label in PRODUCT_LABELS.items()]
# The work queue (registry.contracts.queue), as the staff menu counts it.
QUEUE_CHOICES = [SelectChoice("", "すべて"), SelectChoice("unseen", "未確認"),
                 SelectChoice("failed", "契約と不一致"), SelectChoice("ending", "30日以内に満了")]
DATE_FIELD_CHOICES = [SelectChoice("updated", "最終更新日(最新版の電子保証発行日)"),
                      SelectChoice("issued", "初回の電子保証発行日")]


class SearchForm(FlaskForm):
    """A GET form (bookmarkable, no CSRF): ``SearchForm(formdata=request.args)``."""

    class Meta:
        csrf = False

    q = StringField("キーワード", validators=[Optional()],
                    render_kw={"type": "search", "autocomplete": "off",
                               "aria-describedby": "q-hint"})
    product = SelectField("商品(保証区分)", choices=PRODUCT_CHOICES, default="",
                          validators=[Optional()])
    queue = SelectField("要確認", choices=QUEUE_CHOICES, default="", validators=[Optional()])
    date_field = SelectField("日付の種類", choices=DATE_FIELD_CHOICES, default="updated",
                             validators=[Optional()])
    date_from = DateField("開始日", validators=[Optional()])
    date_to = DateField("終了日", validators=[Optional()])

    def value(self, name: str, fallback=None):
        """A field's value when it is valid, else ``fallback`` (bad input is ignored). A
        select's value must be one of its choices even when ``Optional`` cleared the
        choice error (it does for blank-looking input such as U+0085)."""
        field = self[name]
        if field.errors or field.data in (None, ""):
            return fallback
        if isinstance(field, SelectField) and field.data not in _choice_values(field):
            return fallback
        return field.data


def _choice_values(field: SelectField) -> set:
    return {choice[0] for choice in field.iter_choices()}
