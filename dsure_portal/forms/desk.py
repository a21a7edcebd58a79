"""The obligee desk's forms: the contract record on a certificate's page and the upload
of a contract register (CSV). Fields are plain text: the registry reads them as a clerk
writes them (全角 digits, 「50,000,000」, 和暦 dates) and names what it cannot read."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField

from .widgets import TextInput

_DATE = {"autocomplete": "off", "placeholder": "例: 令和8年4月1日 / 2026-04-01"}
_TEXT = TextInput()  # on every certificate page: the faster writing of the same <input>


class ContractForm(FlaskForm):
    contract_amount = StringField("請負金額(円)", widget=_TEXT, render_kw={
        "autocomplete": "off", "inputmode": "numeric", "placeholder": "例: 50,000,000"})
    contract_date = StringField("契約日", widget=_TEXT, render_kw=_DATE)
    period_start = StringField("工期(開始)", widget=_TEXT, render_kw=_DATE)
    period_end = StringField("工期(終了)", widget=_TEXT, render_kw=_DATE)
    work_name = StringField("工事名", widget=_TEXT,
                            render_kw={"autocomplete": "off", "maxlength": 300})


class RegisterImportForm(FlaskForm):
    register = FileField("契約台帳(CSVファイル)", validators=[
        FileRequired(message="CSVファイルを選んでください。")],
        render_kw={"accept": ".csv,text/csv", "aria-describedby": "register-hint"})


