"""How a certificate reads (DESIGN §8): the paper 保証証書's words, in its order.

A signed document becomes a list of labelled, formatted fields (和暦 dates, yen with
thousands separators). The certificate page groups them into the rows of the paper form;
the comparison of two revisions lines the same fields up one by one. Plain Python: the
portal only lays these out.
"""
from __future__ import annotations

import dataclasses
import json

from .history import KIND_LABELS
from ..wareki import wareki_date

PRODUCT_LABELS = {"contract": "契約保証", "advance_payment": "前払金保証",
                  "intermediate_advance_payment": "中間前払金保証"}

# The sentence that closes the paper certificate, above the surety's name.
STATEMENTS = {
    "advance_payment": "当社は、前払金保証契約に基づき上記のとおり保証契約を締結し、その責に任じます。",
    "intermediate_advance_payment":
        "当社は、中間前払金保証契約に基づき上記のとおり保証契約を締結し、その責に任じます。",
    "contract": "当社は、契約保証約款に基づき上記のとおり保証契約を締結し、その責に任じます。",
}


def certificate_title(product: str) -> str:
    """保証証書(前払金保証)"""
    return f"保証証書({PRODUCT_LABELS.get(product, product)})"


def yen(amount: int | None) -> str:
    """20,000,000円"""
    return "" if amount is None else f"{amount:,}円"


def period(start: str | None, end: str | None) -> str:
    """令和8年4月1日 ～ 令和8年12月25日"""
    if not start and not end:
        return ""
    return f"{wareki_date(start) if start else ''} ～ {wareki_date(end) if end else ''}"


@dataclasses.dataclass(frozen=True)
class Field:
    key: str     # stable name, e.g. "work.period"
    label: str   # the row label of the paper form
    row: str     # the row of the paper form this field is written in
    value: str   # as written on the certificate; "" when absent


@dataclasses.dataclass(frozen=True)
class Row:
    label: str
    fields: tuple[Field, ...]
    changed: bool = False

    @property
    def values(self) -> list[str]:
        return [f.value for f in self.fields if f.value]


def document_of(canonical: bytes | memoryview) -> dict:
    return json.loads(bytes(canonical))


def fields_of(doc: dict) -> list[Field]:
    """Every field a reader compares, in the order of the paper certificate."""
    principal = doc.get("principal") or {}
    work = doc.get("work") or {}
    surety = doc.get("surety") or {}
    guarantee_period = doc.get("guarantee_period") or {}
    members = principal.get("jv_members") or []
    product = doc.get("product", "")
    fields = [
        Field("contract_number", "保証契約番号", "保証契約番号", doc.get("contract_number", "")),
        Field("product", "商品(保証区分)", "商品(保証区分)", PRODUCT_LABELS.get(product, product)),
        Field("principal.name", "保証契約者", "保証契約者", principal.get("name") or ""),
        Field("principal.address", "保証契約者 住所", "保証契約者", principal.get("address") or ""),
        Field("principal.representative", "保証契約者 代表者", "保証契約者",
              principal.get("representative") or ""),
        Field("principal.jv_name", "JV名", "JV名", principal.get("jv_name") or ""),
        Field("principal.jv_members", "構成員", "構成員", "、".join(members)),
        Field("obligee.name", "被保証者", "被保証者", (doc.get("obligee") or {}).get("name", "")),
        Field("guarantee_amount", "保証金額", "保証金額", yen(doc.get("guarantee_amount"))),
        Field("guarantee_period", "保証期間", "保証期間",
              period(guarantee_period.get("start"), guarantee_period.get("end"))),
        Field("work.name", "工事名", "工事名", work.get("name") or ""),
        Field("work.location", "工事場所", "工事場所", work.get("location") or ""),
        Field("contract_amount", "請負金額", "請負金額", yen(doc.get("contract_amount"))),
        Field("work.period", "工期", "工期", period(work.get("period_start"), work.get("period_end"))),
        Field("work.contract_date", "契約日", "契約日",
              wareki_date(work["contract_date"]) if work.get("contract_date") else ""),
        Field("deposit_bank", "預託金融機関", "預託金融機関", doc.get("deposit_bank") or ""),
        Field("issued_on", "証書日付", "証書日付",
              wareki_date(doc["issued_on"]) if doc.get("issued_on") else ""),
        Field("kind", "対象", "対象", KIND_LABELS.get(doc.get("kind", ""), doc.get("kind", ""))),
        Field("surety.address", "保証事業会社 所在地", "保証事業会社", surety.get("address") or ""),
        Field("surety.name", "保証事業会社", "保証事業会社", surety.get("name") or ""),
        Field("surety.representative", "保証事業会社 代表者", "保証事業会社",
              surety.get("representative") or ""),
        Field("surety.branch", "取扱箇所", "取扱箇所", surety.get("branch") or ""),
        Field("surety.tel", "TEL", "TEL", surety.get("tel") or ""),
        Field("surety.fax", "FAX", "FAX", surety.get("fax") or ""),
    ]
    return fields


# The rows of the main table of the paper certificate (the surety's block, the date and
# the kind are laid out around it, not in it).
SHEET_ROWS = ("保証契約番号", "商品(保証区分)", "保証契約者", "JV名", "構成員", "被保証者",
              "保証金額", "保証期間", "工事名", "工事場所", "請負金額", "工期", "契約日", "預託金融機関")
_OPTIONAL_ROWS = {"JV名", "構成員", "預託金融機関"}


@dataclasses.dataclass(frozen=True)
class Sheet:
    """One revision laid out like the paper certificate."""

    title: str
    issued_on: str          # 和暦 date written at the top right
    kind: str               # 新規 / 変更 / 訂正 / 変更取消
    rows: tuple[Row, ...]
    statement: str
    surety: dict            # address, name, representative, branch, tel, fax (as signed)
    changed_keys: frozenset[str]   # fields that differ from the revision compared against

    def surety_changed(self, key: str) -> bool:
        return f"surety.{key}" in self.changed_keys


def sheet_of(doc: dict, *, compared_with: dict | None = None) -> Sheet:
    """``doc`` as a paper certificate; with ``compared_with``, rows that differ from it
    are marked changed."""
    fields = fields_of(doc)
    changed = frozenset(changed_keys(compared_with, doc)) if compared_with is not None else frozenset()
    rows = []
    for label in SHEET_ROWS:
        in_row = tuple(f for f in fields if f.row == label)
        if label in _OPTIONAL_ROWS and not any(f.value for f in in_row):
            continue
        rows.append(Row(label, in_row, changed=any(f.key in changed for f in in_row)))
    product = doc.get("product", "")
    surety = doc.get("surety") or {}
    return Sheet(
        title=certificate_title(product),
        issued_on=wareki_date(doc["issued_on"]) if doc.get("issued_on") else "",
        kind=KIND_LABELS.get(doc.get("kind", ""), ""),
        rows=tuple(rows),
        statement=STATEMENTS.get(product, STATEMENTS["advance_payment"]),
        surety={k: surety.get(k) or "" for k in
                ("address", "name", "representative", "branch", "tel", "fax")},
        changed_keys=changed,
    )


# Fields that always differ between two revisions and say nothing about the terms.
_BOOKKEEPING = {"kind", "issued_on"}


def changed_keys(a: dict, b: dict) -> list[str]:
    """Keys of the fields whose written value differs between documents ``a`` and ``b``,
    leaving out the revision's own bookkeeping (対象, 証書日付)."""
    fa = {f.key: f.value for f in fields_of(a)}
    return [f.key for f in fields_of(b) if f.key not in _BOOKKEEPING and fa.get(f.key) != f.value]


@dataclasses.dataclass(frozen=True)
class ComparedField:
    label: str
    key: str
    a: str
    b: str

    @property
    def changed(self) -> bool:
        return self.a != self.b

    @property
    def bookkeeping(self) -> bool:
        """The revision's own 対象 and 証書日付, not a term of the guarantee."""
        return self.key in _BOOKKEEPING


def compare(a: dict, b: dict) -> list[ComparedField]:
    """Every field of two revisions side by side, in paper order. Fields absent from
    both (no JV, no deposit bank) are left out."""
    fa, fb = fields_of(a), fields_of(b)
    return [ComparedField(x.label, x.key, x.value, y.value)
            for x, y in zip(fa, fb) if x.value or y.value]
