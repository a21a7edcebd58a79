"""OpenAPI 3.1 description of the surety API. The document schema is generated from
the pydantic model the registry validates with, so the two cannot disagree."""
from __future__ import annotations

import functools

from registry.certificates.documents import KINDS, MAX_REVISION, PRODUCTS, Document

from .openapi_obligee import obligee_paths, obligee_schemas

_PROBLEM = {"$ref": "#/components/responses/Problem"}
_CONTRACT = {"name": "contract_number", "in": "path", "required": True,
             "schema": {"type": "string", "pattern": "^[0-9]{5}-[0-9]{6}$"}}


# Any operation: 400 for a parameter with U+0000 or a lone surrogate (the input gate),
# 429 from the request-rate limit.
_ANY = (400, 429)


def _responses(ok: dict, *problems: int) -> dict:
    out = dict(ok)
    for status in sorted(set(problems) | set(_ANY)):
        out[str(status)] = _PROBLEM
    return out


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


@functools.cache
def openapi_document() -> dict:
    doc_schema = Document.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas = doc_schema.pop("$defs", {})
    schemas["Document"] = doc_schema
    schemas["RevisionRequest"] = {
        "type": "object", "additionalProperties": False,
        "required": ["document", "signature", "key_id"],
        "properties": {
            "document": {"$ref": "#/components/schemas/Document"},
            "signature": {"type": "string", "contentEncoding": "base64",
                          "description": "Ed25519 over the RFC 8785 canonical bytes of document"},
            "key_id": {"type": "string"},
        },
    }
    schemas["RevisionAccepted"] = {
        "type": "object", "required": ["contract_number", "revision", "arrived_at", "created"],
        "properties": {
            "contract_number": {"type": "string"}, "revision": {"type": "integer"},
            "arrived_at": {"type": "string", "format": "date-time"},
            "created": {"type": "boolean"},
            "auth_key": {"type": "string", "minLength": 12, "maxLength": 12,
                         "description": "only in the 201 answer for revision 1; shown once"},
        },
    }
    schemas["Problem"] = {
        "type": "object", "required": ["type", "title", "status"],
        "properties": {
            "type": {"type": "string"}, "title": {"type": "string"},
            "status": {"type": "integer"}, "detail": {"type": "string"},
            "errors": {"type": "array", "items": {
                "type": "object", "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}},
        },
    }
    when = {"type": "string", "format": "date-time"}
    schemas["CertificateState"] = {
        "type": "object",
        "required": ["contract_number", "product", "obligee", "status", "auth_key_issued_at",
                     "revisions", "obligee_opened", "obligee_first_opened_at"],
        "properties": {
            "contract_number": {"type": "string"},
            "product": {"enum": list(PRODUCTS)},
            "obligee": {"type": "object", "required": ["code", "name"], "properties": {
                "code": {"type": "string"}, "name": {"type": "string"}}},
            "status": {"type": "object", "required": ["kind", "current_revision", "since"],
                       "properties": {
                           "kind": {"enum": list(KINDS),
                                    "description": "kind of the current (newest visible) revision"},
                           "current_revision": {"type": "integer"}, "since": when}},
            "auth_key_issued_at": when,
            "revisions": {"type": "array", "items": {
                "type": "object",
                "required": ["number", "kind", "supersedes", "arrived_at", "visible", "hidden_by"],
                "properties": {
                    "number": {"type": "integer"}, "kind": {"type": "string"},
                    "supersedes": {"type": ["integer", "null"]}, "arrived_at": when,
                    "visible": {"type": "boolean"},
                    "hidden_by": {"type": ["integer", "null"],
                                  "description": "the correction or cancellation that hides it"}}}},
            "obligee_opened": {"type": "boolean"},
            "obligee_first_opened_at": {"type": ["string", "null"], "format": "date-time"},
        },
    }
    schemas.update(obligee_schemas())
    schemas.update(_webhook_schemas())
    return {
        "openapi": "3.1.0",
        "info": {"title": "dsure-portal API", "version": "1.0.0",
                 "description": "Sureties post signed electronic guarantee certificates; "
                                "obligees' systems look them up and check them against their "
                                "contracts. A token may call the operations of its "
                                "organisation's kind only (403 otherwise)."},
        "servers": [{"url": "/api/v1"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas,
            "responses": {"Problem": {
                "description": "RFC 9457 problem details",
                "content": {"application/problem+json": {
                    "schema": {"$ref": "#/components/schemas/Problem"}}}}},
        },
        "security": [{"bearer": []}],
        "paths": {
            "/certificates/{contract_number}/revisions/{n}": {"put": {
                "operationId": "putRevision",
                "summary": "Accept revision n of a certificate (idempotent for the same signed document)",
                "parameters": [_CONTRACT, {"name": "n", "in": "path", "required": True,
                                           "schema": {"type": "integer", "minimum": 1,
                                                      "maximum": MAX_REVISION}}],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/RevisionRequest"}}}},
                "responses": _responses({
                    "201": _json({"$ref": "#/components/schemas/RevisionAccepted"}, "stored"),
                    "200": _json({"$ref": "#/components/schemas/RevisionAccepted"},
                                 "already stored: the same signed document"),
                }, 401, 403, 404, 409, 413, 422),  # 404: n not an integer
            }},
            "/certificates/{contract_number}/auth-key": {"post": {
                "operationId": "reissueAuthKey",
                "summary": "Issue a new auth key; the old one stops working",
                "parameters": [_CONTRACT],
                "responses": _responses({"200": _json({
                    "type": "object", "required": ["contract_number", "auth_key"],
                    "properties": {"contract_number": {"type": "string"},
                                   "auth_key": {"type": "string"}}}, "the new key, shown once")},
                    401, 403, 404, 429),
            }},
            "/certificates/{contract_number}/notice": {"post": {
                "operationId": "issueNotice",
                "summary": "The 「認証キー」のお知らせ PDF for the auth key the surety holds",
                "description": "One A4 page with the work, principal, product, contract number "
                               "and auth key, and a QR code of <portal>/lookup#n=…&k=…. "
                               "Nothing is stored. A wrong key, another surety's number and "
                               "an unknown number get the same 404; each counts toward the "
                               "lookup failure limits (429 with Retry-After when locked).",
                "parameters": [_CONTRACT],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "additionalProperties": False, "required": ["auth_key"],
                    "properties": {"auth_key": {"type": "string", "maxLength": 100,
                                                "description": "the key returned at 201 or at reissue"}}}}}},
                "responses": _responses({"200": {
                    "description": "the notice",
                    "content": {"application/pdf": {"schema": {"type": "string",
                                                               "contentEncoding": "binary"}}}}},
                    401, 403, 404, 422, 429, 503),
            }},
            "/certificates/{contract_number}": {"get": {
                "operationId": "getCertificate",
                "summary": "The caller's own certificate: state, revisions, opened by the obligee",
                "parameters": [_CONTRACT],
                "responses": _responses({"200": _json(
                    {"$ref": "#/components/schemas/CertificateState"}, "the certificate")},
                    401, 403, 404, 429),
            }},
            "/obligees": {"get": {
                "operationId": "listObligees", "security": [],
                "summary": "Enrolled obligees",
                "responses": _responses({"200": _json({"type": "object", "properties": {"obligees": {
                    "type": "array", "items": {"type": "object", "properties": {
                        "code": {"type": "string"}, "name": {"type": "string"}}}}}},
                    "enrolled obligees")}),
            }},
            **_webhook_paths(),
            "/openapi.json": {"get": {
                "operationId": "openapi", "security": [], "summary": "This document",
                "responses": _responses({"200": {"description": "OpenAPI 3.1"}}),
            }},
            **obligee_paths(),
        },
    }


def _webhook_schemas() -> dict:
    endpoint = {
        "type": "object", "required": ["id", "url", "created_at"],
        "properties": {"id": {"type": "string"}, "url": {"type": "string", "format": "uri"},
                       "created_at": {"type": "string", "format": "date-time"}},
    }
    return {
        "Webhook": endpoint,
        "WebhookCreated": {**endpoint, "required": [*endpoint["required"], "secret"],
                           "properties": {**endpoint["properties"], "secret": {
                               "type": "string", "pattern": "^whsec_[A-Za-z0-9+/=]+$",
                               "description": "Standard Webhooks signing secret; shown only here"}}},
    }


def _webhook_paths() -> dict:
    """An obligee system's webhooks: POSTs signed per Standard Webhooks (webhook-id,
    webhook-timestamp, webhook-signature) telling it of new revisions of listed
    certificates (event type certificate.revision_added)."""
    ref = {"$ref": "#/components/schemas/Webhook"}
    return {
        "/obligee/webhooks": {
            "post": {
                "operationId": "addWebhook",
                "summary": "Register an https URL (obligee token); the signing secret is returned once",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "additionalProperties": False, "required": ["url"],
                    "properties": {"url": {"type": "string", "format": "uri"}}}}}},
                "responses": _responses({"201": _json(
                    {"$ref": "#/components/schemas/WebhookCreated"}, "registered")},
                    400, 401, 403, 429),
            },
            "get": {
                "operationId": "listWebhooks",
                "summary": "The organisation's webhooks (without their secrets)",
                "responses": _responses({"200": _json(
                    {"type": "object", "required": ["webhooks"],
                     "properties": {"webhooks": {"type": "array", "items": ref}}},
                    "registered webhooks")}, 401, 403, 429),
            },
        },
        "/obligee/webhooks/{webhook_id}": {"delete": {
            "operationId": "removeWebhook",
            "summary": "Stop delivering to a webhook; its pending messages are cancelled",
            "parameters": [{"name": "webhook_id", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "responses": _responses({"204": {"description": "removed"}}, 401, 403, 404, 429),
        }},
    }
