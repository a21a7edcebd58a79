"""Recording an obligee's contract for a certificate, and the checks as they stand.

When the checks run: the page and the API compute them afresh, when read, from the
current visible revision and the record (one certificate: a few microseconds, and always
the rules of the running code). The work queue must count failed checks over the whole
list without decoding every document, so each record also keeps the ids of its failed
checks for the revision they were run on; that summary is rewritten in the transaction
that changes either input: recording the contract (here) and storing a new revision
(``ingest``, through ``recheck_certificate``).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json

from ..certificates import portfolio
from ..audit.chain import record
from ..clock import Clock, utcnow
from ..db import write_transaction
from ..errors import NotFound
from ..accounts.users import User
from ..models import ApiClient, Certificate, Revision
from .models import ObligeeContract
from ..prepared import Prepared, Slot
from .rules import Check, run_checks
from .terms import FIELDS, ContractTerms

SOURCES = ("form", "api", "import")


def terms_of(row: ObligeeContract) -> ContractTerms:
    return ContractTerms.model_validate({name: getattr(row, name) for name in FIELDS})


def current_document(certificate: Certificate) -> dict:
    revision = Revision.get(Revision.certificate == certificate.id,
                            Revision.number == certificate.current_revision)
    return json.loads(bytes(revision.canonical))


def failed_ids(checks: list[Check]) -> str:
    return " ".join(c.id for c in checks if not c.ok)


@dataclasses.dataclass(frozen=True)
class CheckRun:
    """The checks of one certificate's current revision against its recorded contract."""

    terms: ContractTerms | None     # None: no contract recorded (then no checks at all)
    checks: list[Check]
    recorded_at: dt.datetime | None = None
    recorded_by: str | None = None

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]


# Read on every certificate page: compiled once (registry.prepared).
_CONTRACT_ROW = Prepared(lambda: ObligeeContract.select().where(
    ObligeeContract.organisation == Slot("organisation"),
    ObligeeContract.certificate == Slot("certificate")).limit(1))


def contract_row(*, organisation_id: int, certificate_id: int) -> ObligeeContract | None:
    return _CONTRACT_ROW.first(organisation=organisation_id, certificate=certificate_id)


def check_run(*, organisation_id: int, certificate: Certificate,
              document: dict | None = None) -> CheckRun:
    """The checks now, computed from ``document`` (the current revision's, read when not
    given) and what the organisation recorded."""
    row = contract_row(organisation_id=organisation_id, certificate_id=certificate.id)
    if row is None:
        return CheckRun(None, [])
    terms = terms_of(row)
    checks = run_checks(document if document is not None else current_document(certificate), terms)
    return CheckRun(terms, checks, row.recorded_at, row.recorded_by)


@dataclasses.dataclass(frozen=True)
class Recorded:
    certificate: Certificate
    run: CheckRun
    changed: bool   # False: the same terms were already recorded (nothing written)


def record_contract(*, organisation_id: int, organisation_code: str, contract_number: str,
                    terms: ContractTerms, actor: str, source: str,
                    clock: Clock = utcnow) -> Recorded:
    """Record (or replace) the organisation's contract for a certificate on its list;
    NotFound for any other number, whatever the reason. Audited as ``contract.recorded``
    unless the same terms were already recorded."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}")
    with write_transaction():
        # Inside the lock: a revision stored meanwhile cannot leave a stale summary.
        cert = portfolio.listed_certificate(organisation_id=organisation_id,
                                            contract_number=contract_number)
        if cert is None:
            raise NotFound("No certificate with this number is on your organisation's list.")
        checks = run_checks(current_document(cert), terms)
        row = contract_row(organisation_id=organisation_id, certificate_id=cert.id)
        if row is not None and terms_of(row) == terms:
            return Recorded(cert, CheckRun(terms, checks, row.recorded_at, row.recorded_by), False)
        now = clock()
        values = dict(terms.model_dump(), recorded_at=now, recorded_by=actor,
                      checked_revision=cert.current_revision, failed_checks=failed_ids(checks))
        if row is None:
            ObligeeContract.create(organisation=organisation_id, certificate=cert.id, **values)
        else:
            ObligeeContract.update(**values).where(ObligeeContract.id == row.id).execute()
        record("contract.recorded", actor=actor, organisation_code=organisation_code,
               contract_number=cert.contract_number,
               details={"source": source, "replaced": row is not None,
                        "contract": terms.as_json(), "revision": cert.current_revision,
                        "failed_checks": [c.id for c in checks if not c.ok]},
               clock=clock)
    return Recorded(cert, CheckRun(terms, checks, now, actor), True)


# Read on every accepted revision: compiled once (registry.prepared).
_RECORDS_OF = Prepared(lambda: ObligeeContract.select()
                       .where(ObligeeContract.certificate == Slot("certificate")))


def recheck_certificate(certificate: Certificate, document: dict) -> None:
    """A new current revision: rewrite the check summary of every record of it. Called
    by ingest inside the transaction that stores the revision."""
    for row in _RECORDS_OF.rows(certificate=certificate.id):
        failed = failed_ids(run_checks(document, terms_of(row)))
        (ObligeeContract.update(checked_revision=certificate.current_revision, failed_checks=failed)
         .where(ObligeeContract.id == row.id).execute())


def failed_checks_of(*, organisation_id: int, certificate_ids: list[int]) -> dict[int, list[str]]:
    """{certificate id: ids of its failed checks} from the kept summaries (no record: absent)."""
    if not certificate_ids:
        return {}
    rows = (ObligeeContract.select(ObligeeContract.certificate, ObligeeContract.failed_checks)
            .where(ObligeeContract.organisation == organisation_id,
                   ObligeeContract.certificate.in_(certificate_ids)).tuples())
    return {certificate_id: failed.split() for certificate_id, failed in rows}


def failed_checks_by_certificate(*, organisation_id: int) -> dict[int, list[str]]:
    """{certificate id: ids of its failed checks} for every record of the organisation."""
    rows = (ObligeeContract.select(ObligeeContract.certificate, ObligeeContract.failed_checks)
            .where(ObligeeContract.organisation == organisation_id).tuples())
    return {certificate_id: failed.split() for certificate_id, failed in rows}


def actor_label(actor: str | None, *, organisation_id: int) -> str:
    """Who recorded it, as a colleague reads it: an email of the organisation, or the
    name of its own system; anyone else by their audit name."""
    kind, _, ident = (actor or "").partition(":")
    if kind == "user" and ident.isdigit():
        user = User.get_or_none(User.id == int(ident), User.organisation == organisation_id)
        if user is not None:
            return user.email
    if kind == "api-client" and ident.isdigit():
        client = ApiClient.get_or_none(ApiClient.id == int(ident),
                                       ApiClient.organisation == organisation_id)
        if client is not None:
            return f"システム連携「{client.name}」"
    return {"operator": "運営事業者"}.get(actor or "", actor or "")
