"""OpenAPI 3.1 of the obligee API (DESIGN §10), merged into /api/v1/openapi.json.

The request schemas come from the pydantic models the requests are validated with
(``LookupRequest`` here, ``ContractTerms`` in the registry), so the two cannot disagree.
"""
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from registry.contracts.rules import TITLES
from registry.contracts.terms import ContractTerms
from registry.certificates.documents import KINDS, PRODUCTS


class LookupRequest(BaseModel):
    """What a clerk types at 保証証書の照会, sent by the obligee's system."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    contract_number: Annotated[str, Field(min_length=1, max_length=40,
                                          description="保証契約番号; 全角 and without the hyphen are fine")]
    auth_key: Annotated[str, Field(min_length=1, max_length=40, description="認証キー")]


_PROBLEM = {"$ref": "#/components/responses/Problem"}
_CONTRACT = {"name": "contract_number", "in": "path", "required": True,
             "schema": {"type": "string", "pattern": "^[0-9]{5}-[0-9]{6}$"}}
_WHEN = {"type": "string", "format": "date-time"}
_DAY = {"type": "string", "format": "date"}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _responses(ok: dict, *problems: int) -> dict:
    return {**ok, **{str(status): _PROBLEM for status in problems}}


def obligee_schemas() -> dict:
    schemas = {
        "LookupRequest": LookupRequest.model_json_schema(),
        "ContractTerms": ContractTerms.model_json_schema(),
        "Check": {
            "type": "object", "required": ["id", "ok", "detail", "figures"],
            "properties": {
                "id": {"enum": list(TITLES)}, "ok": {"type": "boolean"},
                "detail": {"type": "string", "description": "日本語, with 円 amounts and 和暦 dates"},
                "figures": {"type": "object", "required": ["certificate", "contract"],
                            "description": "what was compared: the certificate's figure and the contract's",
                            "properties": {"certificate": {}, "contract": {}}},
            },
        },
        "Checks": {"type": "array", "items": _ref("Check"),
                   "description": "only checks whose input is there: [] when no contract is recorded"},
        "RecordedContract": {
            "type": ["object", "null"],
            "required": ["contract_amount", "contract_date", "period_start", "period_end",
                         "work_name", "recorded_at"],
            "properties": {"contract_amount": {"type": ["integer", "null"]},
                           "contract_date": {"type": ["string", "null"], "format": "date"},
                           "period_start": {"type": ["string", "null"], "format": "date"},
                           "period_end": {"type": ["string", "null"], "format": "date"},
                           "work_name": {"type": ["string", "null"]}, "recorded_at": _WHEN},
        },
        "ObligeeCertificate": {
            "type": "object",
            "required": ["contract_number", "document", "signature", "key_id", "history",
                         "verification", "contract", "checks"],
            "properties": {
                "contract_number": {"type": "string"},
                "document": {**_ref("Document"),
                             "description": "the current revision as signed by the surety"},
                "signature": {"type": "string", "contentEncoding": "base64",
                              "description": "Ed25519 over the RFC 8785 bytes of document"},
                "key_id": {"type": "string"},
                "history": {"type": "array", "description": "visible revisions, oldest first",
                            "items": {"type": "object",
                                      "required": ["number", "kind", "supersedes", "arrived_at"],
                                      "properties": {"number": {"type": "integer"},
                                                     "kind": {"enum": list(KINDS)},
                                                     "supersedes": {"type": ["integer", "null"]},
                                                     "arrived_at": {**_WHEN, "description":
                                                                    "電子保証発行日時"}}}},
                "verification": {
                    "type": "object", "required": ["integrity", "issuer", "status"],
                    "properties": {
                        "integrity": {"type": "object", "required": ["ok", "signature_valid", "canonical"],
                                      "properties": {"ok": {"type": "boolean"},
                                                     "signature_valid": {"type": "boolean"},
                                                     "canonical": {"type": "boolean"}}},
                        "issuer": {"type": "object",
                                   "required": ["ok", "surety_code", "surety_name", "key_id", "fingerprint"],
                                   "properties": {"ok": {"type": "boolean"},
                                                  "surety_code": {"type": "string"},
                                                  "surety_name": {"type": "string"},
                                                  "key_id": {"type": "string"},
                                                  "fingerprint": {"type": "string"}}},
                        "status": {"type": "object",
                                   "required": ["kind", "label", "current_revision", "since"],
                                   "properties": {"kind": {"enum": list(KINDS)},
                                                  "label": {"type": "string"},
                                                  "current_revision": {"type": "integer"},
                                                  "since": _WHEN}}}},
                "contract": _ref("RecordedContract"),
                "checks": _ref("Checks"),
            },
        },
        "ListedCertificate": {
            "type": "object",
            "required": ["contract_number", "product", "work_name", "principal_name",
                         "guarantee_amount", "guarantee_period_end", "current_revision",
                         "current_kind", "latest_revision", "changed_at", "failed_checks"],
            "properties": {
                "contract_number": {"type": "string"}, "product": {"enum": list(PRODUCTS)},
                "work_name": {"type": "string"}, "principal_name": {"type": "string"},
                "guarantee_amount": {"type": "integer"},
                "guarantee_period_end": {"type": ["string", "null"], "format": "date"},
                "current_revision": {"type": "integer"}, "current_kind": {"enum": list(KINDS)},
                "latest_revision": {"type": "integer"},
                "changed_at": {**_WHEN, "description": "the later of the newest revision's "
                               "arrival and the moment it joined the organisation's list"},
                "failed_checks": {"type": "array", "items": {"enum": list(TITLES)}},
            },
        },
        "ChangedCertificates": {
            "type": "object", "required": ["certificates", "next"],
            "properties": {
                "certificates": {"type": "array", "items": _ref("ListedCertificate")},
                "next": {"type": ["string", "null"],
                         "description": "the URL of the next page; null on the last one"}},
        },
        "ContractRecorded": {
            "type": "object", "required": ["contract_number", "contract", "checks"],
            "properties": {"contract_number": {"type": "string"},
                           "contract": _ref("RecordedContract"), "checks": _ref("Checks")},
        },
    }
    return schemas


def obligee_paths() -> dict:
    tag = ["obligee"]
    return {
        "/lookups": {"post": {
            "operationId": "lookUp", "tags": tag,
            "summary": "Look a certificate up by number and auth key (obligee token); it "
                       "joins the organisation's list. A wrong key answers like an unknown number.",
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": _ref("LookupRequest")}}},
            "responses": _responses({"200": _json(_ref("ObligeeCertificate"), "the certificate")},
                                    400, 401, 403, 404, 413, 422, 429),
        }},
        "/obligee/certificates": {"get": {
            "operationId": "listChangedCertificates", "tags": tag,
            "summary": "The organisation's listed certificates changed since a moment, "
                       "oldest change first, at most `limit` per page",
            "parameters": [
                {"name": "since", "in": "query", "required": False,
                 "schema": {"type": "string", "format": "date-time"},
                 "description": "ISO 8601 with an offset (Z or +09:00); changes at or after it"},
                {"name": "after", "in": "query", "required": False,
                 "schema": {"type": "string"},
                 "description": "continue after this contract number (from `next`)"},
                {"name": "limit", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 100}}],
            "responses": _responses({"200": _json(_ref("ChangedCertificates"), "one page")},
                                    400, 401, 403, 429),
        }},
        "/obligee/certificates/{contract_number}": {"get": {
            "operationId": "getListedCertificate", "tags": tag,
            "summary": "One certificate on the organisation's list, with its checks",
            "parameters": [_CONTRACT],
            "responses": _responses({"200": _json(_ref("ObligeeCertificate"), "the certificate")},
                                    401, 403, 404, 429),
        }},
        "/obligee/certificates/{contract_number}/contract": {"put": {
            "operationId": "recordContract", "tags": tag,
            "summary": "Record (replace) the organisation's contract for a listed certificate",
            "parameters": [_CONTRACT],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": _ref("ContractTerms")}}},
            "responses": _responses({"200": _json(_ref("ContractRecorded"),
                                                  "recorded, with the checks against it")},
                                    400, 401, 403, 404, 413, 422, 429),
        }},
    }
