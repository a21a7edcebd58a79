"""A certificate as an obligee's own system receives it (DESIGN §10): the current signed
document, the visible history, the three-part verification, the recorded contract and
the checks against it. The obligee API lays this out as JSON."""
from __future__ import annotations

import dataclasses

from ..audit.chain import record
from ..models import Certificate
from ..certificates.presentation import document_of
from ..certificates.verification import History, Verification, history_of, verify_revision
from .records import CheckRun, check_run


@dataclasses.dataclass(frozen=True)
class CertificateReport:
    certificate: Certificate
    history: History
    document: dict             # the current visible revision, as signed
    verification: Verification  # of the current revision, checked now
    run: CheckRun


def report_of(*, organisation_id: int, certificate: Certificate) -> CertificateReport:
    history = history_of(certificate)
    document = document_of(history.current.canonical)
    return CertificateReport(certificate, history, document,
                             verify_revision(certificate, history.current),
                             check_run(organisation_id=organisation_id, certificate=certificate,
                                       document=document))


def record_read_by_system(*, client_id: int, organisation_code: str,
                          certificate: Certificate, revision: int) -> None:
    """An obligee's system read the certificate: for the trail (and for the surety's
    "opened by the obligee") as a view like a clerk's, named ``api``."""
    record("certificate.viewed", actor=f"api-client:{client_id}",
           organisation_code=organisation_code, contract_number=certificate.contract_number,
           details={"view": "api", "revisions": [revision]})
