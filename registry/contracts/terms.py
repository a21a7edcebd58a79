"""What an obligee records about its contract (DESIGN §10), and how it is read.

One model (``ContractTerms``, pydantic v2, strict) holds the rules; three readers feed it:
the API's JSON (``terms_from_json``), and the form and the CSV register, which are text a
clerk or Excel wrote (``terms_from_text``: 全角 digits, 「50,000,000円」, 和暦 or ISO
dates). Refusals name each field, in English for the API and in Japanese for the clerk.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import unicodedata
from typing import Annotated, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import InvalidContract
from ..wareki import parse_date

FIELDS = ("contract_amount", "contract_date", "period_start", "period_end", "work_name")
LABELS = {"contract_amount": "請負金額", "contract_date": "契約日", "period_start": "工期(開始)",
          "period_end": "工期(終了)", "work_name": "工事名"}
MAX_AMOUNT = 10**14  # as for a certificate's amounts: exact in every JSON reader

Amount = Annotated[int, Field(gt=0, le=MAX_AMOUNT)]
Text = Annotated[str, Field(min_length=1, max_length=300, pattern=r"\S")]


class ContractTerms(BaseModel):
    """請負金額, 契約日, 工期, 工事名 as the obligee's contract has them. Any may be absent."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    contract_amount: Amount | None = None
    contract_date: dt.date | None = None
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    work_name: Text | None = None

    def as_json(self) -> dict:
        """Every field, absent ones as null, dates as ISO text."""
        return self.model_dump(mode="json")


@dataclasses.dataclass(frozen=True)
class _Problem:
    field: str
    english: str
    japanese: str


_BY_TYPE = {  # pydantic error type -> (English, Japanese)
    "int_type": ("must be an integer number of yen", "整数の円で入力してください。"),
    "greater_than": ("must be at least 1", "1円以上で入力してください。"),
    "less_than_equal": (f"must be at most {MAX_AMOUNT}", "金額が大きすぎます。"),
    "date_type": ("must be a date (YYYY-MM-DD)", "日付を入力してください。"),
    "date_from_datetime_parsing": ("must be a date (YYYY-MM-DD)", "日付を入力してください。"),
    "date_parsing": ("must be a date (YYYY-MM-DD)", "日付を入力してください。"),
    "string_type": ("must be a string", "文字で入力してください。"),
    "string_too_long": ("must be at most 300 characters", "300文字以内で入力してください。"),
    "string_too_short": ("must not be empty", "空にはできません。"),
    "string_pattern_mismatch": ("must not be only blanks", "空白だけにはできません。"),
    "extra_forbidden": ("unknown field", "この項目は受け付けません。"),
}


def _from_validation(exc: ValidationError) -> list[_Problem]:
    problems = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"]) or "contract"
        english, japanese = _BY_TYPE.get(error["type"], (error["msg"], "入力内容を確認してください。"))
        problems.append(_Problem(field, english, japanese))
    return problems


def _rule_problems(terms: ContractTerms) -> list[_Problem]:
    problems = []
    if all(getattr(terms, name) is None for name in FIELDS):
        problems.append(_Problem("contract", "at least one of " + ", ".join(FIELDS) + " is required",
                                 "契約情報を1項目以上入力してください。"))
    if (terms.period_start is None) != (terms.period_end is None):
        missing = "period_end" if terms.period_end is None else "period_start"
        problems.append(_Problem(missing, "period_start and period_end are given together",
                                 "工期は開始と終了の両方を入力してください。"))
    elif terms.period_start and terms.period_end < terms.period_start:
        problems.append(_Problem("period_end", "must not be before period_start",
                                 "工期の終了が開始より前になっています。"))
    return problems


def _refuse(problems: list[_Problem]) -> None:
    exc = InvalidContract("The contract is not valid.",
                          [{"field": p.field, "message": p.english} for p in problems])
    exc.japanese = [(p.field, p.japanese) for p in problems]  # for the clerk's screen
    raise exc


def _validated(validate) -> ContractTerms:
    try:
        terms = validate()
    except ValidationError as exc:
        _refuse(_from_validation(exc))
    problems = _rule_problems(terms)
    if problems:
        _refuse(problems)
    return terms


def terms_from_json(raw: object) -> ContractTerms:
    """The API body: a JSON object, dates as ISO strings, amounts as integers."""
    if not isinstance(raw, dict):
        _refuse([_Problem("body", "must be a JSON object", "JSONオブジェクトではありません。")])
    text = json.dumps(raw, ensure_ascii=False)
    return _validated(lambda: ContractTerms.model_validate_json(text, strict=True))


# --- text as a clerk or a spreadsheet writes it ----------------------------------------

_YEN_MARKS = re.compile(r"[,\s円¥\\]")


def parse_amount(text: str) -> int:
    """50000000 from 「50,000,000」, 「５０，０００，０００円」, 「¥50,000,000」."""
    cleaned = _YEN_MARKS.sub("", unicodedata.normalize("NFKC", text or ""))
    if not cleaned.isdigit() or not cleaned.isascii():
        raise ValueError(f"「{text}」は金額として読めません(例: 50,000,000)")
    return int(cleaned)


def normalise_text(text: str) -> str:
    """NFKC, blanks at the ends dropped and runs of blanks inside made one space."""
    return " ".join(unicodedata.normalize("NFKC", text or "").split())


def terms_from_text(values: Mapping[str, str | None]) -> ContractTerms:
    """From typed or CSV text: a blank field is an absent one."""
    parsed: dict = {}
    problems = []
    for name in FIELDS:
        text = (values.get(name) or "").strip()
        if not unicodedata.normalize("NFKC", text).strip():
            continue
        try:
            if name == "contract_amount":
                parsed[name] = parse_amount(text)
            elif name == "work_name":
                parsed[name] = normalise_text(text)
            else:
                parsed[name] = parse_date(text)
        except ValueError as exc:
            problems.append(_Problem(name, str(exc), str(exc)))
    if problems:
        _refuse(problems)
    return _validated(lambda: ContractTerms.model_validate(parsed, strict=True))
