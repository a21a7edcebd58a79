"""Each check of DESIGN §10, one by one at its boundaries. Plain functions: no database."""
from __future__ import annotations

import datetime as dt

import pytest

from registry.contracts import rules
from registry.contracts.terms import ContractTerms
from tests.factories import make_document

D = dt.date


def terms(**given) -> ContractTerms:
    return ContractTerms(**given)


def contract_doc(guarantee: int, contract_amount: int = 50_000_000, **overrides) -> dict:
    return make_document(product="contract", deposit_bank=..., guarantee_amount=guarantee,
                         contract_amount=contract_amount, **overrides)


# --- 契約保証: at least one tenth -------------------------------------------------------

def test_a_contract_guarantee_of_exactly_one_tenth_passes():
    check = rules.contract_guarantee_at_least_tenth(contract_doc(5_000_000),
                                                    terms(contract_amount=50_000_000))
    assert check.ok
    assert check.detail == ("契約保証金額 5,000,000円 は、請負金額 50,000,000円 の10分の1"
                            "(5,000,000円)以上です。")


def test_a_contract_guarantee_one_yen_short_of_one_tenth_fails_and_says_by_what():
    check = rules.contract_guarantee_at_least_tenth(contract_doc(4_999_999),
                                                    terms(contract_amount=50_000_000))
    assert not check.ok
    assert "4,999,999円" in check.detail and "(5,000,000円)に足りません" in check.detail
    assert check.certificate == 4_999_999
    assert check.contract == {"contract_amount": 50_000_000, "bound": 5_000_000}


def test_one_tenth_of_an_amount_not_divisible_by_ten_needs_the_next_whole_yen():
    # 1/10 of 12,345,678 is 1,234,567.8: 1,234,567 is short, 1,234,568 is enough.
    amount = 12_345_678
    short = rules.contract_guarantee_at_least_tenth(contract_doc(1_234_567, amount),
                                                    terms(contract_amount=amount))
    enough = rules.contract_guarantee_at_least_tenth(contract_doc(1_234_568, amount),
                                                     terms(contract_amount=amount))
    assert (short.ok, enough.ok) == (False, True)
    assert short.contract["bound"] == 1_234_568


def test_the_tenth_is_held_to_the_obligees_amount_not_the_certificates():
    # The certificate says 40,000,000; the contract says 50,000,000: 4,000,000 is short.
    doc = contract_doc(4_000_000, contract_amount=40_000_000)
    assert not rules.contract_guarantee_at_least_tenth(doc, terms(contract_amount=50_000_000)).ok


# --- 前払金保証 and 中間前払金保証: at most four and two tenths ----------------------------

def advance_doc(guarantee: int, product: str = "advance_payment") -> dict:
    return make_document(product=product, guarantee_amount=guarantee)


def test_an_advance_of_exactly_four_tenths_passes_and_one_yen_more_fails():
    recorded = terms(contract_amount=50_000_000)
    assert rules.advance_at_most_four_tenths(advance_doc(20_000_000), recorded).ok
    over = rules.advance_at_most_four_tenths(advance_doc(20_000_001), recorded)
    assert not over.ok
    assert over.detail == ("前払金保証金額 20,000,001円 は、請負金額 50,000,000円 の10分の4"
                           "(20,000,000円)を超えています。")


def test_an_intermediate_advance_of_exactly_two_tenths_passes_and_one_yen_more_fails():
    recorded = terms(contract_amount=50_000_000)
    product = "intermediate_advance_payment"
    assert rules.intermediate_at_most_two_tenths(advance_doc(10_000_000, product), recorded).ok
    assert not rules.intermediate_at_most_two_tenths(advance_doc(10_000_001, product), recorded).ok


def test_a_ratio_rule_is_left_out_for_another_product_or_without_an_amount():
    assert rules.advance_at_most_four_tenths(contract_doc(5_000_000),
                                             terms(contract_amount=50_000_000)) is None
    assert rules.contract_guarantee_at_least_tenth(advance_doc(1),
                                                   terms(contract_amount=50_000_000)) is None
    assert rules.contract_guarantee_at_least_tenth(contract_doc(5_000_000),
                                                   terms(work_name="x")) is None


# --- matching the recorded contract ---------------------------------------------------

def test_contract_amount_matches_only_the_same_yen():
    assert rules.contract_amount_matches(make_document(), terms(contract_amount=50_000_000)).ok
    check = rules.contract_amount_matches(make_document(), terms(contract_amount=50_000_001))
    assert not check.ok
    assert check.detail == "保証証書の請負金額 50,000,000円 が、契約の請負金額 50,000,001円 と異なります。"


def test_work_period_matches_both_ends_and_names_them_in_wareki():
    same = terms(period_start=D(2026, 4, 1), period_end=D(2026, 12, 25))
    assert rules.work_period_matches(make_document(), same).ok
    later = terms(period_start=D(2026, 4, 1), period_end=D(2026, 12, 26))
    check = rules.work_period_matches(make_document(), later)
    assert not check.ok
    assert "令和8年4月1日 ～ 令和8年12月25日" in check.detail
    assert "令和8年4月1日 ～ 令和8年12月26日" in check.detail


def test_contract_date_matches():
    assert rules.contract_date_matches(make_document(), terms(contract_date=D(2026, 3, 25))).ok
    check = rules.contract_date_matches(make_document(), terms(contract_date=D(2026, 3, 24)))
    assert not check.ok and "令和8年3月24日" in check.detail


@pytest.mark.parametrize("typed", ["市道角田線舗装補修工事", "市道角田線　舗装補修工事",
                                   " 市道角田線舗装補修工事 ", "市道角田線 舗装 補修工事"])
def test_work_name_matches_regardless_of_width_and_blanks(typed):
    assert rules.work_name_matches(make_document(), terms(work_name=typed)).ok


def test_work_name_matches_full_width_latin_and_digits():
    doc = make_document(work__name="R8 市道1-2号線工事")
    assert rules.work_name_matches(doc, terms(work_name="Ｒ８市道１－２号線工事")).ok


def test_a_different_work_name_fails_and_quotes_both():
    check = rules.work_name_matches(make_document(), terms(work_name="市道角田線舗装工事"))
    assert not check.ok
    assert "「市道角田線舗装補修工事」" in check.detail and "「市道角田線舗装工事」" in check.detail


# --- 保証期間 covers 工期 ----------------------------------------------------------------

def period(start: str, end: str) -> dict:
    return {"start": start, "end": end}


WORK = terms(period_start=D(2026, 4, 1), period_end=D(2026, 12, 25))


def test_a_guarantee_period_equal_to_the_work_period_covers_it():
    assert rules.guarantee_covers_work_period(make_document(), WORK).ok


def test_a_guarantee_period_ending_the_day_before_the_work_ends_fails():
    doc = make_document(guarantee_period=period("2026-04-01", "2026-12-24"))
    check = rules.guarantee_covers_work_period(doc, WORK)
    assert not check.ok
    assert "保証期間の終わり 令和8年12月24日 が工期の終わり 令和8年12月25日 より前です" in check.detail


def test_a_guarantee_period_starting_the_day_after_the_work_starts_fails():
    doc = make_document(guarantee_period=period("2026-04-02", "2026-12-25"))
    check = rules.guarantee_covers_work_period(doc, WORK)
    assert not check.ok and "より後です" in check.detail


def test_an_intermediate_advance_guarantee_may_start_part_way_but_must_reach_the_end():
    later = make_document(product="intermediate_advance_payment",
                          guarantee_period=period("2026-08-01", "2026-12-25"))
    assert rules.guarantee_covers_work_period(later, WORK).ok
    short = make_document(product="intermediate_advance_payment",
                          guarantee_period=period("2026-08-01", "2026-12-24"))
    assert not rules.guarantee_covers_work_period(short, WORK).ok


def test_a_guarantee_period_longer_than_the_work_covers_it():
    doc = make_document(guarantee_period=period("2026-03-25", "2027-01-31"))
    assert rules.guarantee_covers_work_period(doc, WORK).ok


# --- the whole run --------------------------------------------------------------------

def test_without_a_contract_no_check_is_reported_at_all():
    assert rules.run_checks(make_document(), None) == []


def test_a_check_whose_input_is_missing_is_left_out_never_passed():
    ids = [c.id for c in rules.run_checks(make_document(), terms(work_name="市道角田線舗装補修工事"))]
    assert ids == ["work_name_matches"]


def test_a_full_contract_runs_every_rule_of_the_product_in_a_fixed_order():
    recorded = terms(contract_amount=50_000_000, contract_date=D(2026, 3, 25),
                     period_start=D(2026, 4, 1), period_end=D(2026, 12, 25),
                     work_name="市道角田線舗装補修工事")
    checks = rules.run_checks(make_document(), recorded)
    assert [c.id for c in checks] == [
        "contract_amount_matches", "work_period_matches", "contract_date_matches",
        "work_name_matches", "guarantee_covers_work_period", "advance_at_most_four_tenths"]
    assert all(c.ok for c in checks)
    assert set(rules.TITLES) == {rule.__name__ for rule in rules.RULES}


def test_a_check_reads_as_the_api_shape():
    check = rules.run_checks(contract_doc(4_999_999), terms(contract_amount=50_000_000))[-1]
    assert check.as_json() == {
        "id": "contract_guarantee_at_least_tenth", "ok": False, "detail": check.detail,
        "figures": {"certificate": 4_999_999,
                    "contract": {"contract_amount": 50_000_000, "bound": 5_000_000}}}
