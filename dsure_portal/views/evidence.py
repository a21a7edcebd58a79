"""The evidence bundle of a certificate, for the staff of its obligee (the auditors'
copy is /audit/certificates/<n>/evidence.zip). Staff may take it for exactly the
certificates they may open: those on their organisation's list."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, url_for
from flask_login import current_user

from registry.certificates import portfolio

from ..login import require_login
from .audit import bundle_response

bp = Blueprint("evidence", __name__)
bp.before_request(require_login)


@bp.get("/certificates/<contract_number>/evidence.zip")
def bundle(contract_number: str):
    if current_user.role in ("auditor", "platform-auditor"):
        return redirect(url_for("audit.evidence_bundle", contract_number=contract_number))
    if current_user.role not in ("staff", "admin"):
        abort(403)
    cert = portfolio.listed_certificate(organisation_id=current_user.organisation.id,
                                        contract_number=contract_number)
    if cert is None:
        abort(404)
    return bundle_response(cert.contract_number)
