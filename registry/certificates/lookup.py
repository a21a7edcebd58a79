"""Finding a certificate by contract number + auth key, for an obligee's staff.

Every failure (malformed number, unknown number, wrong key, another obligee's
certificate) gives the same answer after the same work: one argon2id verification.

``look_up`` is the whole staff lookup: the failure limits (counted in the database, so
every worker and instance shares them), the verification, the organisation's list and
the audit trail. Limits key on the account and on the contract number (and, more
loosely, on the client address), never on the address alone: one municipal office
behind one address must not lock out its colleagues, and guessing one number from many
accounts must not go on either.
"""
from __future__ import annotations

import dataclasses
import datetime as dt

from . import portfolio
from ..audit.chain import record
from .auth_keys import AuthKeyHasher
from ..clock import Clock, utcnow
from ..db import write_transaction
from ..models import Certificate, Organisation
from .normalise import normalise_contract_number
from ..prepared import Prepared, Slot
from ..accounts.throttle import begin_attempt

FAILURE_KIND = "lookup"


# Every lookup reads it: compiled once (registry.prepared).
_BY_NUMBER = Prepared(lambda: Certificate.select(Certificate, Organisation)
                      .join(Organisation, on=(Certificate.obligee == Organisation.id))
                      .where(Certificate.contract_number == Slot("number")).limit(1))


def _locate(number: str | None, auth_key: str, obligee_code: str,
            hasher: AuthKeyHasher) -> tuple[Certificate | None, str]:
    """(certificate, "found") or (None, why not). Always one argon2id verification."""
    cert = None
    if number is not None:
        cert = _BY_NUMBER.first(number=number)
    key_matches = hasher.matches(cert.auth_key_digest if cert else None, auth_key)
    if number is None:
        return None, "malformed_number"
    if cert is None:
        return None, "unknown_number"
    if not key_matches:
        return None, "wrong_key"
    if cert.obligee.code != obligee_code:
        return None, "other_obligee"
    return cert, "found"


def find_certificate(*, contract_number: str, auth_key: str, obligee_code: str,
                     hasher: AuthKeyHasher) -> Certificate | None:
    cert, _ = _locate(normalise_contract_number(contract_number), auth_key, obligee_code, hasher)
    return cert


@dataclasses.dataclass(frozen=True)
class LookupLimits:
    """``failures`` failed lookups within ``window`` lock an account or a contract
    number for the rest of the window; ``failures_per_address`` do so for an address."""

    failures: int = 10
    window: dt.timedelta = dt.timedelta(minutes=15)
    failures_per_address: int | None = 100


@dataclasses.dataclass(frozen=True)
class LookupResult:
    outcome: str                          # "found" | "failed" | "locked"
    certificate: Certificate | None = None
    retry_after: dt.datetime | None = None  # when locked: the moment the lock ends
    locked_by: tuple[str, ...] = ()         # when locked: "user", "contract", "ip"

    @property
    def found(self) -> bool:
        return self.outcome == "found"

    @property
    def locked(self) -> bool:
        return self.outcome == "locked"


def _subjects(requester: str, number: str | None, address: str | None,
              limits: LookupLimits) -> list[tuple[str, int]]:
    subjects = [(requester, limits.failures)]
    if number is not None:
        subjects.append((f"contract:{number}", limits.failures))
    if address and limits.failures_per_address:
        subjects.append((f"ip:{address}", limits.failures_per_address))
    return subjects


def look_up(*, actor: str, organisation_id: int, organisation_code: str,
            contract_number: str, auth_key: str, hasher: AuthKeyHasher,
            user_id: int | None = None, client_id: int | None = None,
            limits: LookupLimits = LookupLimits(), address: str | None = None,
            source: str | None = None, clock: Clock = utcnow) -> LookupResult:
    """One lookup by a member of staff (``user_id``) or by the organisation's own system
    (``client_id``, an obligee API client): the same limits, each counted per user or
    per client as well as per number and address, and the same audit.

    The attempt is counted as a failure *before* the key is checked (and the count
    withdrawn on success), inside the serialised write transaction, so parallel requests
    cannot all slip under the limit. The auth key typed is never recorded anywhere; a
    number that does not parse is not recorded either (it may be a key typed into the
    wrong field). ``source`` ("notice_pdf", "notice_text") says where a pair read out of
    a notice came from; typed input has none."""
    if (user_id is None) == (client_id is None):
        raise ValueError("exactly one of user_id and client_id")
    requester = f"user:{user_id}" if user_id is not None else f"api-client:{client_id}"
    number = normalise_contract_number(contract_number)
    via = {"source": source} if source else {}
    attempt = begin_attempt(FAILURE_KIND, _subjects(requester, number, address, limits),
                            window=limits.window, clock=clock)
    if attempt.locked:
        locked_by = tuple(sorted(s.split(":", 1)[0] for s in attempt.locks))
        record("lookup.locked", actor=actor, organisation_code=organisation_code,
               contract_number=number,
               details={"locked": list(locked_by),
                        "until": attempt.locked_until.isoformat() + "Z", **via}, clock=clock)
        return LookupResult("locked", retry_after=attempt.locked_until, locked_by=locked_by)

    # The slow part (argon2id) outside the lock.
    cert, reason = _locate(number, auth_key, organisation_code, hasher)

    with write_transaction():
        if cert is None:
            record("lookup.failed", actor=actor, organisation_code=organisation_code,
                   contract_number=number, details={"reason": reason, **via}, clock=clock)
            return LookupResult("failed")
        attempt.withdraw()
        added = portfolio.add_to_list(organisation_id=organisation_id, certificate_id=cert.id,
                                      user_id=user_id, client_id=client_id, clock=clock)
        record("lookup.succeeded", actor=actor, organisation_code=organisation_code,
               contract_number=cert.contract_number, details={"added_to_list": added, **via},
               clock=clock)
    return LookupResult("found", certificate=cert)


def look_up_many(pairs, **lookup) -> list[LookupResult]:
    """Each (contract_number, auth_key) pair of a notice through ``look_up``, exactly as if
    typed, in order. Once the account or the address is locked the rest are not tried
    (and read as locked); a lock on one number does not stop the others."""
    results: list[LookupResult] = []
    for pair in pairs:
        stopped = next((r for r in results if r.locked and set(r.locked_by) & {"user", "ip"}), None)
        results.append(stopped or look_up(contract_number=pair.contract_number,
                                          auth_key=pair.auth_key, **lookup))
    return results
