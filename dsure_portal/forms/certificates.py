"""Staff forms: the lookup (number + auth key) and the search of the organisation's list."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, NumberRange, Optional

from registry.presentation import PRODUCT_LABELS

try:  # WTForms 3.3 deprecates (value, label) tuples for choices
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover - older WTForms
    def SelectChoice(value: str, label: str):  # noqa: N802
        return (value, label)


class LookupForm(FlaskForm):
    # No format validator on purpose: a malformed number must fail exactly like a wrong
    # key (same page, same work), so it goes to the registry like any other attempt.
    contract_number = StringField(
        "保証契約番号", validators=[DataRequired(message="保証契約番号を入力してください。")],
        render_kw={"autocomplete": "off", "spellcheck": "false", "inputmode": "text",
                   "aria-describedby": "contract-number-hint", "maxlength": 40})
    auth_key = StringField(
        "認証キー", validators=[DataRequired(message="認証キーを入力してください。")],
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off",
                   "autocorrect": "off", "aria-describedby": "auth-key-hint", "maxlength": 40})


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
    page = IntegerField("ページ", default=1, validators=[Optional(), NumberRange(min=1, max=100_000)])

    def value(self, name: str, fallback=None):
        """A field's value when it is valid, else ``fallback`` (bad input is ignored)."""
        field = self[name]
        return fallback if field.errors or field.data in (None, "") else field.data
