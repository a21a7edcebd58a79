"""The obligee API (DESIGN §10): an obligee's own systems (e-contract, finance) look
certificates up, follow their organisation's list and record the contract behind each.

Bearer token of an obligee API client; a surety's token gets 403 (``api_auth``). The
lookup is the staff lookup (``registry.certificates.lookup.look_up``: the same limits, counted per
client, and the same audit); every other operation sees only certificates on the
client's organisation's list, and answers 404 for any other number, whoever's it is.
"""
from __future__ import annotations

import base64
import datetime as dt

from flask import Blueprint, current_app, g, jsonify, request, url_for
from pydantic import ValidationError

from registry.certificates import portfolio
from registry.contracts.records import CheckRun, failed_checks_of, record_contract
from registry.contracts.report import CertificateReport, record_read_by_system, report_of
from registry.contracts.terms import terms_from_json
from registry.errors import InvalidDocument, InvalidInput, NotFound
from registry.certificates.lookup import look_up

from ..api_auth import protect
from ..config import lookup_limits
from ..openapi_obligee import LookupRequest
from ..problems import problem, retry_after

bp = Blueprint("obligee_api", __name__, url_prefix="/api/v1")
protect(bp, "obligee")

NO_MATCH = "No certificate matches this contract number and auth key."
PAGE_LIMIT, MAX_PAGE_LIMIT = 100, 500


def _when(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="microseconds") + "Z"


def _body() -> object:
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        body = None
    if body is None:
        raise InvalidInput("The body must be JSON (application/json).",
                           [{"field": "body", "message": "is not JSON"}])
    return body


def _contract_json(run: CheckRun) -> dict | None:
    if run.terms is None:
        return None
    return {**run.terms.as_json(), "recorded_at": _when(run.recorded_at)}


def _surety_code(report: CertificateReport) -> str:
    # The signing key's organisation came with the history: when it is the surety (the
    # usual case), that is the code, without a read of the certificate's surety.
    if report.verification.issuer_matches:
        return report.history.current.signing_key.organisation.code
    return report.certificate.surety.code


def _certificate_json(report: CertificateReport) -> dict:
    current, verification, status = report.history.current, report.verification, report.history.status
    return {
        "contract_number": report.certificate.contract_number,
        "document": report.document,
        "signature": base64.b64encode(bytes(current.signature)).decode(),
        "key_id": verification.key_id,
        "history": [{"number": r.number, "kind": r.kind, "supersedes": r.supersedes,
                     "arrived_at": _when(r.arrived_at)} for r in report.history.visible],
        "verification": {
            "integrity": {"ok": verification.intact,
                          "signature_valid": verification.signature_valid,
                          "canonical": verification.canonical},
            "issuer": {"ok": verification.issuer_matches,
                       "surety_code": _surety_code(report),
                       "surety_name": verification.surety_name,
                       "key_id": verification.key_id, "fingerprint": verification.fingerprint},
            "status": {"kind": status.kind, "label": status.label,
                       "current_revision": status.revision, "since": _when(status.since)},
        },
        "contract": _contract_json(report.run),
        "checks": [c.as_json() for c in report.run.checks],
    }


@bp.post("/lookups")
def lookup():
    try:
        asked = LookupRequest.model_validate(_body())
    except ValidationError as exc:
        raise InvalidDocument("The request body is not valid.", [
            {"field": ".".join(map(str, e["loc"])) or "body", "message": e["msg"]}
            for e in exc.errors()]) from None
    client = g.client
    result = look_up(client_id=client.id, actor=f"api-client:{client.id}",
                     organisation_id=client.organisation_id,
                     organisation_code=client.organisation.code,
                     contract_number=asked.contract_number, auth_key=asked.auth_key,
                     hasher=current_app.extensions["dsure.hasher"], limits=lookup_limits(current_app.config),
                     address=request.remote_addr)
    if result.locked:
        return problem(429, "Too many failed lookups",
                       "Too many failed lookups; try again later.", reason="lookup-locked",
                       headers={"Retry-After": retry_after(result.retry_after)})
    if not result.found:
        return problem(404, "Not found", NO_MATCH, reason="not-found")
    return _no_store(jsonify(_certificate_json(
        report_of(organisation_id=client.organisation_id, certificate=result.certificate))))


def _listed_or_404(contract_number: str):
    cert = portfolio.listed_certificate(organisation_id=g.client.organisation_id,
                                        contract_number=contract_number)
    if cert is None:
        raise NotFound("No certificate with this number is on your organisation's list.")
    return cert


def _since() -> dt.datetime | None:
    raw = request.args.get("since")
    if not raw:
        return None
    try:
        moment = dt.datetime.fromisoformat(raw.replace(" ", "+"))  # a "+" may arrive unescaped
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidInput("since must be an ISO 8601 date-time with an offset, e.g. "
                           "2026-04-01T09:00:00+09:00 or 2026-04-01T00:00:00Z.",
                           [{"field": "since", "message": "is not an ISO 8601 date-time with an offset"}])
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)


def _limit() -> int:
    raw = request.args.get("limit", str(PAGE_LIMIT))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_LIMIT:
        raise InvalidInput(f"limit must be a whole number from 1 to {MAX_PAGE_LIMIT}.",
                           [{"field": "limit", "message": f"must be 1..{MAX_PAGE_LIMIT}"}])
    return int(raw)


@bp.get("/obligee/certificates")
def changed_certificates():
    limit = _limit()
    since, after = _since(), request.args.get("after") or None
    if after is not None and since is None:
        raise InvalidInput("after continues a page: give since with it.",
                           [{"field": "after", "message": "needs since"}])
    rows = portfolio.changed_since(organisation_id=g.client.organisation_id, since=since,
                                   after=after, limit=limit)
    summaries = failed_checks_of(organisation_id=g.client.organisation_id,
                                 certificate_ids=[cert.id for cert, _ in rows])
    items = [{
        "contract_number": cert.contract_number, "product": cert.product,
        "work_name": cert.work_name, "principal_name": cert.principal_name,
        "guarantee_amount": cert.guarantee_amount,
        "guarantee_period_end": cert.guarantee_period_end.isoformat()
        if cert.guarantee_period_end else None,
        "current_revision": cert.current_revision, "current_kind": cert.current_kind,
        "latest_revision": cert.latest_revision, "changed_at": _when(changed),
        "failed_checks": summaries.get(cert.id, []),
    } for cert, changed in rows]
    next_url = None
    if len(rows) == limit:
        last, changed = rows[-1]
        next_url = url_for(".changed_certificates", since=_when(changed),
                           after=last.contract_number, limit=limit)
    return _no_store(jsonify({"certificates": items, "next": next_url}))


@bp.get("/obligee/certificates/<contract_number>")
def listed_certificate(contract_number: str):
    cert = _listed_or_404(contract_number)
    report = report_of(organisation_id=g.client.organisation_id, certificate=cert)
    record_read_by_system(client_id=g.client.id, organisation_code=g.client.organisation.code,
                          certificate=cert, revision=report.history.current.number)
    return _no_store(jsonify(_certificate_json(report)))


@bp.put("/obligee/certificates/<contract_number>/contract")
def record(contract_number: str):
    terms = terms_from_json(_body())
    recorded = record_contract(organisation_id=g.client.organisation_id,
                               organisation_code=g.client.organisation.code,
                               contract_number=contract_number, terms=terms,
                               actor=f"api-client:{g.client.id}", source="api")
    return _no_store(jsonify({"contract_number": recorded.certificate.contract_number,
                              "contract": _contract_json(recorded.run),
                              "checks": [c.as_json() for c in recorded.run.checks]}))


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response
