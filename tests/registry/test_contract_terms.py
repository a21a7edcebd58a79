"""Reading a contract record: the API's strict JSON, and text as a clerk or Excel writes it
(全角 digits, 「50,000,000」, 和暦 or ISO dates). Refusals name the field."""
from __future__ import annotations

import datetime as dt

import pytest

from registry.contracts.terms import ContractTerms, parse_amount, terms_from_json, terms_from_text
from registry.errors import InvalidContract
from registry.wareki import parse_date


@pytest.mark.parametrize("typed", ["50000000", "50,000,000", "５０，０００，０００", "50,000,000円",
                                   "￥50,000,000", "¥50,000,000", " 50 000 000 "])
def test_an_amount_reads_however_it_was_typed(typed):
    assert parse_amount(typed) == 50_000_000


@pytest.mark.parametrize("typed", ["", "五千万円", "50.000.000", "-5", "5e7", "١٢٣"])
def test_what_is_not_an_amount_is_refused_with_what_was_typed(typed):
    with pytest.raises(ValueError, match="金額として読めません"):
        parse_amount(typed)


@pytest.mark.parametrize("typed,day", [
    ("2026-03-25", dt.date(2026, 3, 25)), ("2026/3/25", dt.date(2026, 3, 25)),
    ("２０２６－０３－２５", dt.date(2026, 3, 25)), ("2026年3月25日", dt.date(2026, 3, 25)),
    ("令和8年3月25日", dt.date(2026, 3, 25)), ("令和８年３月２５日", dt.date(2026, 3, 25)),
    ("R8.3.25", dt.date(2026, 3, 25)), ("令和元年5月1日", dt.date(2019, 5, 1)),
    ("平成31年4月30日", dt.date(2019, 4, 30)), ("H31/4/30", dt.date(2019, 4, 30)),
    ("2026/03/25 0:00", dt.date(2026, 3, 25)),
])
def test_a_date_reads_in_iso_with_slashes_or_in_wareki(typed, day):
    assert parse_date(typed) == day


@pytest.mark.parametrize("typed,message", [
    ("平成31年5月1日", "平成の期間にありません"),   # 令和 began that day
    ("令和0年1月1日", "令和の期間にありません"),
    ("2026-02-30", "2026年2月30日という日付はありません"),
    ("令和8年2月30日", "令和8年2月30日という日付はありません"),
    ("3月25日", "日付として読めません"),
])
def test_a_date_that_is_not_one_is_refused_not_guessed(typed, message):
    with pytest.raises(ValueError, match=message):
        parse_date(typed)


def test_text_becomes_terms_and_blanks_are_absent():
    terms = terms_from_text({"contract_amount": "５０，０００，０００円", "contract_date": "令和8年3月25日",
                             "period_start": "", "period_end": "  ", "work_name": "市道角田線　舗装補修工事 "})
    assert terms == ContractTerms(contract_amount=50_000_000, contract_date=dt.date(2026, 3, 25),
                                  work_name="市道角田線 舗装補修工事")


def japanese_errors(values: dict) -> dict:
    with pytest.raises(InvalidContract) as caught:
        terms_from_text(values)
    return dict(caught.value.japanese)


def test_text_that_does_not_read_is_refused_field_by_field_in_japanese():
    errors = japanese_errors({"contract_amount": "五千万", "contract_date": "昨日",
                              "period_start": "2026-04-01", "period_end": "2026-12-25"})
    assert set(errors) == {"contract_amount", "contract_date"}
    assert "金額として読めません" in errors["contract_amount"]
    assert "日付として読めません" in errors["contract_date"]


def test_a_period_needs_both_ends_in_order():
    assert japanese_errors({"period_start": "2026-04-01"}) == {
        "period_end": "工期は開始と終了の両方を入力してください。"}
    assert japanese_errors({"period_start": "2026-04-02", "period_end": "2026-04-01"}) == {
        "period_end": "工期の終了が開始より前になっています。"}


def test_a_record_of_nothing_is_refused():
    assert japanese_errors({"work_name": "  "}) == {"contract": "契約情報を1項目以上入力してください。"}


def test_zero_yen_is_refused():
    assert japanese_errors({"contract_amount": "0"}) == {"contract_amount": "1円以上で入力してください。"}


def test_the_api_takes_strict_json():
    terms = terms_from_json({"contract_amount": 50_000_000, "contract_date": "2026-03-25",
                             "period_start": "2026-04-01", "period_end": "2026-12-25",
                             "work_name": "市道角田線舗装補修工事"})
    assert terms.as_json() == {"contract_amount": 50_000_000, "contract_date": "2026-03-25",
                               "period_start": "2026-04-01", "period_end": "2026-12-25",
                               "work_name": "市道角田線舗装補修工事"}


@pytest.mark.parametrize("body,field", [
    ({"contract_amount": "50000000"}, "contract_amount"),   # a string is not an amount
    ({"contract_amount": 5.0e7}, "contract_amount"),
    ({"contract_amount": True}, "contract_amount"),
    ({"contract_amount": 0}, "contract_amount"),
    ({"contract_date": "令和8年3月25日"}, "contract_date"),  # the API speaks ISO
    ({"contract_date": "2026-03-25T00:00:00"}, "contract_date"),
    ({"work_name": "   "}, "work_name"),
    ({"work_name": "x" * 301}, "work_name"),
    ({"contract_amount": 1, "amount": 1}, "amount"),
    ({}, "contract"),
    ({"period_end": "2026-12-25"}, "period_start"),
])
def test_the_api_refuses_each_bad_field_by_name(body, field):
    with pytest.raises(InvalidContract) as caught:
        terms_from_json(body)
    assert field in {e["field"] for e in caught.value.errors}
    assert all(e["message"] for e in caught.value.errors)
