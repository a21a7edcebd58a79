"""The certificate document (DESIGN §4): its schema and the rules within one document.

Rules that need the database (obligee enrolled, surety is the caller, revision order)
live in ``ingest``. Validation never changes the document: what is stored and verified
is the canonical form of what the surety sent, not a re-serialised model.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import InvalidDocument
from ..accounts.obligee_codes import is_valid_obligee_code
from ..safe_text import document_problems

MAX_REVISION = 9999
PRODUCTS = ("contract", "advance_payment", "intermediate_advance_payment")
ADVANCE_PRODUCTS = ("advance_payment", "intermediate_advance_payment")
KINDS = ("new", "change", "correction", "change_cancellation")

# Yen; far below 2**53 so every amount is exact in RFC 8785's number form.
Amount = Annotated[int, Field(gt=0, le=10**14)]
# At least one visible character: a name of blanks is as missing as no name.
Text = Annotated[str, Field(min_length=1, max_length=300, pattern=r"\S")]
OptionalText = Annotated[str | None, Field(default=None, max_length=300, pattern=r"\S")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Obligee(_Strict):
    code: Annotated[str, Field(pattern=r"^[0-9]{6}$")]
    name: Text

    @field_validator("code")
    @classmethod
    def _check_digit(cls, code: str) -> str:
        if not is_valid_obligee_code(code):
            raise ValueError("check digit does not match the 全国地方公共団体コード")
        return code


class Principal(_Strict):
    name: Text
    address: Text
    representative: Text
    jv_name: OptionalText
    jv_members: Annotated[list[Text], Field(default_factory=list, max_length=20)]


class Work(_Strict):
    name: Text
    location: Text
    contract_date: dt.date
    period_start: dt.date
    period_end: dt.date


class Period(_Strict):
    start: dt.date
    end: dt.date


class Surety(_Strict):
    code: Annotated[str, Field(pattern=r"^[A-Z0-9]{2,16}$")]
    name: Text
    address: Text
    representative: Text
    branch: Text
    tel: Annotated[str, Field(pattern=r"^[0-9+()\- ]{6,20}$")]
    fax: Annotated[str | None, Field(default=None, pattern=r"^[0-9+()\- ]{6,20}$")]


class Document(_Strict):
    contract_number: Annotated[str, Field(pattern=r"^[0-9]{5}-[0-9]{6}$")]
    product: Literal["contract", "advance_payment", "intermediate_advance_payment"]
    revision: Annotated[int, Field(ge=1, le=MAX_REVISION)]
    kind: Literal["new", "change", "correction", "change_cancellation"]
    supersedes: Annotated[int | None, Field(ge=1)]
    issued_on: dt.date
    obligee: Obligee
    principal: Principal
    work: Work
    contract_amount: Amount
    guarantee_amount: Amount
    guarantee_period: Period
    # Absent or a bank, never null: present exactly for the advance-payment products.
    deposit_bank: Text = Field(default=None, json_schema_extra=lambda schema: schema.pop("default"))
    surety: Surety


def _problem(field: str, message: str) -> dict:
    return {"field": field, "message": message}


def _field_name(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "document"


def _rule_errors(doc: Document, sent_fields: set[str]) -> list[dict]:
    """The rules that relate one field to another."""
    errors = []
    if doc.guarantee_amount > doc.contract_amount:
        errors.append(_problem("guarantee_amount", "must not exceed contract_amount"))
    if doc.work.period_end < doc.work.period_start:
        errors.append(_problem("work.period_end", "must not be before work.period_start"))
    if doc.guarantee_period.end < doc.guarantee_period.start:
        errors.append(_problem("guarantee_period.end", "must not be before guarantee_period.start"))
    if doc.product in ADVANCE_PRODUCTS and not doc.deposit_bank:
        errors.append(_problem("deposit_bank", f"is required for product {doc.product}"))
    if doc.product == "contract" and "deposit_bank" in sent_fields:
        errors.append(_problem("deposit_bank", "must be absent for product contract"))
    if doc.principal.jv_name and len(doc.principal.jv_members) < 2:
        errors.append(_problem("principal.jv_members", "a JV needs at least two members"))
    if not doc.principal.jv_name and doc.principal.jv_members:
        errors.append(_problem("principal.jv_name", "is required when jv_members are given"))
    if doc.kind == "new" and doc.revision != 1:
        errors.append(_problem("kind", "new is only allowed as revision 1"))
    if doc.revision == 1 and doc.kind != "new":
        errors.append(_problem("kind", "revision 1 must be new"))
    if doc.kind in ("new", "change") and doc.supersedes is not None:
        errors.append(_problem("supersedes", f"must be null for kind {doc.kind}"))
    if doc.kind in ("correction", "change_cancellation"):
        if doc.supersedes is None:
            errors.append(_problem("supersedes", f"is required for kind {doc.kind}"))
        elif doc.supersedes >= doc.revision:
            errors.append(_problem("supersedes", "must name an earlier revision"))
    return errors


def refuse_unsafe_text(raw: object) -> None:
    """Raise InvalidDocument naming every key or text value that holds a character no
    certificate may show (registry.safe_text): before anything else reads the document."""
    errors = [_problem(field, message) for field, message in document_problems(raw)]
    if errors:
        raise InvalidDocument("The document holds characters that are not allowed.", errors)


def parse_document(raw: object) -> Document:
    """Validate a decoded JSON document; raise InvalidDocument naming every bad field."""
    if not isinstance(raw, dict):
        raise InvalidDocument("The document must be a JSON object.",
                              [_problem("document", "must be an object")])
    refuse_unsafe_text(raw)
    try:
        # Strict JSON mode: dates only as ISO strings, integers only as integers.
        doc = Document.model_validate_json(json.dumps(raw, ensure_ascii=False), strict=True)
    except ValidationError as exc:
        errors = [_problem(_field_name(e["loc"]), e["msg"]) for e in exc.errors()]
        raise InvalidDocument("The document is not valid.", errors) from None
    errors = _rule_errors(doc, set(raw))
    if errors:
        raise InvalidDocument("The document is not valid.", errors)
    return doc
