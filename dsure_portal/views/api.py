"""The surety API (DESIGN §4): JSON in, JSON or problem+json out, bearer-token auth."""
from __future__ import annotations


from flask import Blueprint, Response, current_app, g, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from registry.certificates import ingest
from registry.errors import LookupLocked, RegistryError
from registry.certificates.normalise import normalise_contract_number
from registry.notices.issuing import issue_notice
from registry.notices.pdf import NoticeFontMissing
from registry.accounts.organisations import enrolled_obligees
from registry.certificates.surety_readback import certificate_state

from ..api_auth import UNSAFE_TEXT, authenticate_request, limit
from ..config import lookup_limits
from ..input_gate import unsafe_fields
from ..openapi import openapi_document
from ..problems import problem, problem_for, retry_after

bp = Blueprint("api", __name__, url_prefix="/api/v1")
PUBLIC_ENDPOINTS = {"api.obligees", "api.openapi"}


# Coarse: a surety system has no reason to exceed it.
limit(bp)


@bp.before_request
def authenticate():
    # An obligee's token gets 403 here: its API is views/obligee_api.py.
    return authenticate_request("surety", public=PUBLIC_ENDPOINTS)


@bp.before_request
def refuse_unsafe_text():
    """After authentication, so a refused revision is audited like every other."""
    problems = unsafe_fields()
    if not problems:
        return None
    detail = UNSAFE_TEXT
    if request.endpoint == "api.put_revision":
        ingest.record_refusal(client=g.client, contract_number=request.view_args["contract_number"],
                              number=request.view_args["n"], reason="invalid_text", detail=detail,
                              fields=[p["field"] for p in problems])
    return problem(400, "Bad request", detail, reason="invalid-text", errors_=problems)


@bp.errorhandler(RegistryError)
def registry_error(exc: RegistryError):
    return problem_for(exc)


def _hasher():
    return current_app.extensions["dsure.hasher"]


def _refuse_an_oversized_body() -> None:
    """413 above MAX_CONTENT_LENGTH. With a Content-Length, Werkzeug refuses it itself; a
    chunked body it silently cuts off at the limit, which would then read as malformed
    JSON, so a body that reaches the limit is refused here. (The body stays cached for
    get_json.)"""
    data = request.get_data(cache=True)
    if request.content_length is None and len(data) >= current_app.config["MAX_CONTENT_LENGTH"]:
        raise RequestEntityTooLarge()


@bp.put("/certificates/<contract_number>/revisions/<digits:n>")
def put_revision(contract_number: str, n: int):
    try:
        _refuse_an_oversized_body()
    except RequestEntityTooLarge:
        ingest.record_refusal(client=g.client, contract_number=contract_number, number=n,
                              reason="too-large", detail="The request body is over the size limit.")
        raise
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the JSON decoder goes: not a document
        body = None
    if body is None:
        ingest.record_refusal(client=g.client, contract_number=contract_number, number=n,
                              reason="malformed-json", detail="The body is not JSON.")
        return problem(400, "Bad request", "The body must be JSON (application/json).",
                       reason="malformed-json")
    accepted = ingest.accept_revision(client=g.client, contract_number=contract_number,
                                      number=n, body=body, hasher=_hasher())
    payload = {"contract_number": accepted.certificate.contract_number,
               "revision": accepted.revision.number,
               "arrived_at": accepted.revision.arrived_at.isoformat() + "Z",
               "created": accepted.created}
    if accepted.auth_key:
        payload["auth_key"] = accepted.auth_key
    response = jsonify(payload)
    response.status_code = 201 if accepted.created else 200
    return response


@bp.post("/certificates/<contract_number>/auth-key")
def reissue_auth_key(contract_number: str):
    auth_key = ingest.reissue_auth_key(client=g.client, contract_number=contract_number,
                                       hasher=_hasher())
    return jsonify({"contract_number": contract_number, "auth_key": auth_key})


@bp.post("/certificates/<contract_number>/notice")
def notice(contract_number: str):
    """The 認証キー notice PDF (DESIGN §9) for the key the surety holds; nothing stored."""
    body = request.get_json(silent=True)
    if (not isinstance(body, dict) or set(body) != {"auth_key"}
            or not isinstance(body["auth_key"], str) or len(body["auth_key"]) > 100):
        return problem(422, "Invalid request", 'The body must be {"auth_key": "<the key>"}.',
                       reason="invalid-request",
                       errors_=[{"field": "auth_key", "message": "is required, a string, and the only field"}])
    try:
        pdf = issue_notice(client=g.client, contract_number=contract_number,
                           auth_key=body["auth_key"], hasher=_hasher(),
                           portal_url=current_app.config["PORTAL_URL"] or request.host_url,
                           limits=lookup_limits(current_app.config), address=request.remote_addr,
                           font_path=current_app.config["NOTICE_FONT"])
    except LookupLocked as exc:
        return problem(429, "Too many requests", "Too many failed attempts for this contract "
                       "number or client; try again later.", reason="lookup-locked",
                       headers={"Retry-After": retry_after(exc.until)})
    except NoticeFontMissing as exc:
        current_app.logger.error(str(exc))
        return problem(503, "Service unavailable", "The notice cannot be printed now.",
                       reason="notice-font-missing")
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="notice-{normalise_contract_number(contract_number)}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/certificates/<contract_number>")
def get_certificate(contract_number: str):
    return jsonify(certificate_state(g.client, contract_number))


@bp.get("/obligees")
def obligees():
    return jsonify({"obligees": [{"code": o.code, "name": o.name} for o in enrolled_obligees()]})


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())
