"""What a surety system reads back of its own certificate (GET /api/v1/certificates/{n}):
the stored history as the platform holds it, what the normal view shows of it, and
whether the obligee has opened it. Another surety's number reads as not found."""
from __future__ import annotations

from ..audit.chain import first_event
from .history import hidden_by, status_of
from .ingest import own_certificate
from ..models import ApiClient, Revision


def _utc(moment) -> str:
    return moment.isoformat() + "Z"


def certificate_state(client: ApiClient, contract_number: str) -> dict:
    """The JSON-ready state of the caller's certificate; NotFound otherwise."""
    cert = own_certificate(client, contract_number)
    revisions = list(Revision.select().where(Revision.certificate == cert)
                     .order_by(Revision.number))
    hidden = hidden_by(revisions)
    status = status_of(revisions)
    opened = first_event(kind="certificate.viewed", contract_number=cert.contract_number)
    return {
        "contract_number": cert.contract_number,
        "product": cert.product,
        "obligee": {"code": cert.obligee.code, "name": cert.obligee.name},
        "status": {"kind": status.kind, "current_revision": status.revision,
                   "since": _utc(status.since)},
        "auth_key_issued_at": _utc(cert.auth_key_issued_at),
        "revisions": [{"number": r.number, "kind": r.kind, "supersedes": r.supersedes,
                       "arrived_at": _utc(r.arrived_at), "visible": r.number not in hidden,
                       "hidden_by": hidden.get(r.number)} for r in revisions],
        "obligee_opened": opened is not None,
        "obligee_first_opened_at": opened.occurred_at if opened else None,
    }
