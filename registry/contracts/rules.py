"""The checks of a certificate against the obligee's contract (DESIGN §10).

Each rule is a plain function of the signed document (as stored, a dict) and the
obligee's ``ContractTerms``: it answers a ``Check`` with the figures it compared, or None
when its input is missing (nothing recorded for it, or a rule for another product).
Nothing missing is ever reported as passed.

Ratios are integer arithmetic on yen: 保証金額 × 10 against 請負金額 × 1, 4 or 2. A
契約保証 of exactly one tenth passes; one yen less fails.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Callable

from ..certificates.presentation import yen
from ..wareki import wareki_date
from .terms import ContractTerms, normalise_text

TITLES = {
    "contract_amount_matches": "請負金額が契約と一致",
    "work_period_matches": "工期が契約と一致",
    "contract_date_matches": "契約日が契約と一致",
    "work_name_matches": "工事名が契約と一致",
    "guarantee_covers_work_period": "保証期間が工期を含む",
    "contract_guarantee_at_least_tenth": "契約保証金額が請負金額の10分の1以上",
    "advance_at_most_four_tenths": "前払金保証金額が請負金額の10分の4以下",
    "intermediate_at_most_two_tenths": "中間前払金保証金額が請負金額の10分の2以下",
}


@dataclasses.dataclass(frozen=True)
class Check:
    id: str
    ok: bool
    detail: str         # Japanese, with 円 amounts and 和暦 dates, for a clerk to read
    certificate: object  # the certificate's figure (JSON-ready: int, ISO date text, dict)
    contract: object     # what it was held to

    @property
    def title(self) -> str:
        return TITLES[self.id]

    def as_json(self) -> dict:
        return {"id": self.id, "ok": self.ok, "detail": self.detail,
                "figures": {"certificate": self.certificate, "contract": self.contract}}


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _period_text(start, end) -> str:
    return f"{wareki_date(start)} ～ {wareki_date(end)}"


def contract_amount_matches(doc: dict, terms: ContractTerms) -> Check | None:
    if terms.contract_amount is None:
        return None
    signed, recorded = doc["contract_amount"], terms.contract_amount
    if signed == recorded:
        detail = f"請負金額 {yen(signed)} は契約と一致しています。"
    else:
        detail = f"保証証書の請負金額 {yen(signed)} が、契約の請負金額 {yen(recorded)} と異なります。"
    return Check("contract_amount_matches", signed == recorded, detail, signed, recorded)


def work_period_matches(doc: dict, terms: ContractTerms) -> Check | None:
    if terms.period_start is None or terms.period_end is None:
        return None
    start, end = _date(doc["work"]["period_start"]), _date(doc["work"]["period_end"])
    ok = (start, end) == (terms.period_start, terms.period_end)
    if ok:
        detail = f"工期 {_period_text(start, end)} は契約と一致しています。"
    else:
        detail = (f"保証証書の工期 {_period_text(start, end)} が、"
                  f"契約の工期 {_period_text(terms.period_start, terms.period_end)} と異なります。")
    return Check("work_period_matches", ok, detail,
                 {"start": start.isoformat(), "end": end.isoformat()},
                 {"start": terms.period_start.isoformat(), "end": terms.period_end.isoformat()})


def contract_date_matches(doc: dict, terms: ContractTerms) -> Check | None:
    if terms.contract_date is None:
        return None
    signed = _date(doc["work"]["contract_date"])
    ok = signed == terms.contract_date
    if ok:
        detail = f"契約日 {wareki_date(signed)} は契約と一致しています。"
    else:
        detail = (f"保証証書の契約日 {wareki_date(signed)} が、"
                  f"契約の契約日 {wareki_date(terms.contract_date)} と異なります。")
    return Check("contract_date_matches", ok, detail, signed.isoformat(),
                 terms.contract_date.isoformat())


def _comparable_name(name: str) -> str:
    # 全角/半角 and blanks are how a name was typed, not what it says.
    return normalise_text(name).replace(" ", "")


def work_name_matches(doc: dict, terms: ContractTerms) -> Check | None:
    if terms.work_name is None:
        return None
    signed = doc["work"]["name"]
    ok = _comparable_name(signed) == _comparable_name(terms.work_name)
    if ok:
        detail = "工事名は契約と一致しています(全角・半角と空白の違いは問いません)。"
    else:
        detail = f"保証証書の工事名「{signed}」が、契約の工事名「{terms.work_name}」と異なります。"
    return Check("work_name_matches", ok, detail, signed, terms.work_name)


def guarantee_covers_work_period(doc: dict, terms: ContractTerms) -> Check | None:
    """保証期間 must run to the end of 工期, and (except for a 中間前払金保証, which is
    taken out part-way through the work) begin no later than 工期 begins."""
    if terms.period_start is None or terms.period_end is None:
        return None
    g_start = _date(doc["guarantee_period"]["start"])
    g_end = _date(doc["guarantee_period"]["end"])
    from_start = doc["product"] != "intermediate_advance_payment"
    short_end = g_end < terms.period_end
    late_start = from_start and g_start > terms.period_start
    guarantee = _period_text(g_start, g_end)
    work = _period_text(terms.period_start, terms.period_end)
    if not (short_end or late_start):
        detail = f"保証期間 {guarantee} は契約の工期 {work} を含んでいます。"
    else:
        gaps = []
        if late_start:
            gaps.append(f"保証期間の始まり {wareki_date(g_start)} が工期の始まり "
                        f"{wareki_date(terms.period_start)} より後です")
        if short_end:
            gaps.append(f"保証期間の終わり {wareki_date(g_end)} が工期の終わり "
                        f"{wareki_date(terms.period_end)} より前です")
        detail = f"保証期間 {guarantee} が契約の工期 {work} を含んでいません: {'。'.join(gaps)}。"
    return Check("guarantee_covers_work_period", not (short_end or late_start), detail,
                 {"start": g_start.isoformat(), "end": g_end.isoformat()},
                 {"start": terms.period_start.isoformat(), "end": terms.period_end.isoformat()})


def _ratio_check(check_id: str, product: str, label: str, tenths: int, at_least: bool):
    """A rule on 保証金額 against ``tenths``/10 of the contract's 請負金額."""
    fraction = {1: "10分の1", 2: "10分の2", 4: "10分の4"}[tenths]

    def rule(doc: dict, terms: ContractTerms) -> Check | None:
        if doc["product"] != product or terms.contract_amount is None:
            return None
        guarantee, contract = doc["guarantee_amount"], terms.contract_amount
        if at_least:
            ok = guarantee * 10 >= contract * tenths
            bound = -(-contract * tenths // 10)   # the least whole yen that is enough
            verdict = "以上です" if ok else "に足りません"
        else:
            ok = guarantee * 10 <= contract * tenths
            bound = contract * tenths // 10       # the most whole yen that is allowed
            verdict = "以下です" if ok else "を超えています"
        detail = (f"{label} {yen(guarantee)} は、請負金額 {yen(contract)} の{fraction}"
                  f"({yen(bound)}){verdict}。")
        return Check(check_id, ok, detail, guarantee, {"contract_amount": contract, "bound": bound})

    rule.__name__ = check_id
    return rule


contract_guarantee_at_least_tenth = _ratio_check(
    "contract_guarantee_at_least_tenth", "contract", "契約保証金額", 1, at_least=True)
advance_at_most_four_tenths = _ratio_check(
    "advance_at_most_four_tenths", "advance_payment", "前払金保証金額", 4, at_least=False)
intermediate_at_most_two_tenths = _ratio_check(
    "intermediate_at_most_two_tenths", "intermediate_advance_payment", "中間前払金保証金額", 2,
    at_least=False)

RULES: tuple[Callable[[dict, ContractTerms], Check | None], ...] = (
    contract_amount_matches, work_period_matches, contract_date_matches, work_name_matches,
    guarantee_covers_work_period, contract_guarantee_at_least_tenth,
    advance_at_most_four_tenths, intermediate_at_most_two_tenths,
)


def run_checks(doc: dict, terms: ContractTerms | None) -> list[Check]:
    """Every check whose input is there, in a fixed order; [] without a contract."""
    if terms is None:
        return []
    return [check for check in (rule(doc, terms) for rule in RULES) if check is not None]
