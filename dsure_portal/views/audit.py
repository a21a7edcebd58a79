"""Auditor pages (DESIGN §6): the trail, filtered and exported; a certificate's whole
history with its hidden revisions; checkpoints and evidence bundles to take away.

Read-only: every route is GET. Auditors of an obligee see their organisation's events
and certificates; platform auditors see everything (registry.audit.queries.AuditScope).
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, request, url_for
from flask_login import current_user

from registry.audit import labels as audit_labels
from registry.audit import queries as q
from registry.audit import checkpoints, evidence, timestamps
from registry.audit.chain import record
from registry.errors import Forbidden
from registry.models import Organisation
from registry.audit.verification_runs import latest_run

from ..input_gate import whole_number
from ..login import require_role
from ..rendering import render
from ..spreadsheet import csv_download

bp = Blueprint("audit", __name__, url_prefix="/audit")


bp.before_request(require_role(*q.AUDITOR_ROLES))


def _scope() -> q.AuditScope:
    try:
        return q.AuditScope.for_user(current_user.user)
    except Forbidden:  # e.g. a platform-auditor outside the operator organisation
        abort(403)


@bp.app_template_filter("details_lines")
def details_filter(details: str) -> list[tuple[str, str]]:
    return audit_labels.details_lines(details)


@bp.app_template_filter("jst")
def jst_filter(value, seconds: bool = True) -> str:
    return audit_labels.wareki_time(value, seconds=seconds)


def _before() -> int | None:
    return whole_number(request.args.get("before"))


@bp.get("")
def trail():
    scope = _scope()
    trail_filter = q.TrailFilter.from_params(request.args)
    page = q.trail_page(scope, trail_filter, before=_before())
    count, head = q.chain_head()
    context = dict(
        scope=scope, filter=trail_filter, page=page, before=_before(),
        names=q.actor_names(scope, {e.actor for e in page.events}),
        labels=q.EVENT_LABELS, kinds=q.event_kinds(scope),
        organisations=q.visible_organisations(scope),
        next_url=(url_for("audit.trail", **trail_filter.params(), before=page.next_before)
                  if page.next_before else None),
        export_url=url_for("audit.export", **trail_filter.params()),
        entries=count, head=head, run=latest_run(),
        checkpoints=timestamps.latest_with_tokens(5),
        timestamping=bool(current_app.extensions["dsure.proof_settings"].tsa_url),
    )
    # htmx: "more" asks for the next rows only; the filter form asks for the results.
    block = "rows" if _before() is not None else "results"
    return render("audit/trail.html", block=block, **context)


@bp.get("/export.csv")
def export():
    """Every matching event as CSV (UTF-8 with BOM, for Excel), streamed row by row."""
    scope = _scope()
    trail_filter = q.TrailFilter.from_params(request.args)
    if trail_filter.errors:
        abort(400)
    record("audit.exported", actor=current_user.actor,
           organisation_code=current_user.organisation.code,
           details={"filter": trail_filter.params()})
    return csv_download(q.CSV_COLUMNS, q.trail_rows(scope, trail_filter), "audit-trail.csv")


@bp.get("/certificates")
def certificates():
    scope = _scope()
    number = request.args.get("contract_number", "").strip()[:200]
    found = q.certificate_page(scope, number, whole_number(request.args.get("page")) or 1)
    return render("audit/certificates.html", block="results", scope=scope, rows=found.rows,
                  number=number, page=found.page, total=found.total, page_size=q.PAGE_SIZE)


def _certificate_in(scope: q.AuditScope, contract_number: str):
    cert = scope.certificate(contract_number)
    if cert is None:
        abort(404)
    return cert


@bp.get("/certificates/<contract_number>")
def certificate(contract_number: str):
    scope = _scope()
    cert = _certificate_in(scope, contract_number)
    openings = q.openings(cert, scope)
    return render("audit/certificate.html", scope=scope, cert=cert,
                  revisions=q.revision_records(cert), openings=openings,
                  names=q.actor_names(scope, {e.actor for e in openings}),
                  labels=q.EVENT_LABELS, surety=Organisation.get_by_id(cert.surety_id))


@bp.get("/certificates/<contract_number>/evidence.zip")
def evidence_bundle(contract_number: str):
    return bundle_response(_certificate_in(_scope(), contract_number).contract_number)


def bundle_response(contract_number: str) -> Response:
    bundle = evidence.export_bundle(
        contract_number, actor=current_user.actor, organisation_code=current_user.organisation.code,
        platform_signer=current_app.extensions["dsure.platform_signer"])
    return Response(bundle.data, mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{bundle.filename}"'})


@bp.get("/checkpoints/<int:checkpoint_id>.json")
def checkpoint(checkpoint_id: int):
    cp = checkpoints.Checkpoint.get_or_none(checkpoints.Checkpoint.id == checkpoint_id)
    if cp is None:
        abort(404)
    return Response(cp.document, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="checkpoint-{cp.head_seq}.json"'})
