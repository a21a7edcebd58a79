"""Issuing the 「認証キー」のお知らせ for a surety (DESIGN §9).

The surety presents the auth key it was given; the platform never stores keys, so the key
is verified like a lookup: counted against the lookup limits first (the same failure
counts as the staff lookup, so guessing a number's key through this door locks it too),
one argon2id verification whatever the number, and the same refusal for an unknown
number, another surety's number and a wrong key. Every issue and refusal is audited;
the key is in neither, nor stored: it lives only inside the PDF returned.
"""
from __future__ import annotations

from urllib.parse import urlencode

from ..audit.chain import record
from ..certificates.auth_keys import AuthKeyHasher
from ..clock import Clock, utcnow
from ..db import write_transaction
from ..errors import LookupLocked, NotFound
from ..certificates.history import current_revision
from ..certificates.lookup import FAILURE_KIND, LookupLimits
from ..models import ApiClient, Certificate
from ..certificates.normalise import normalise_auth_key, normalise_contract_number
from .pdf import DEFAULT_FONT, NoticeContent, NoticeFontMissing, font_problem, render_notice
from ..certificates.presentation import PRODUCT_LABELS, document_of
from ..accounts.throttle import begin_attempt
from ..wareki import jst_date, wareki_date

REFUSAL = "No certificate of yours has that contract number and auth key."


def _actor(client: ApiClient) -> str:
    return f"api-client:{client.id}"


def _subjects(client: ApiClient, number: str | None, address: str | None,
              limits: LookupLimits) -> list[tuple[str, int]]:
    subjects = [(f"api-client:{client.id}", limits.failures)]
    if number is not None:
        subjects.append((f"contract:{number}", limits.failures))
    if address and limits.failures_per_address:
        subjects.append((f"ip:{address}", limits.failures_per_address))
    return subjects


def _verified(number: str | None, auth_key: str, client: ApiClient,
              hasher: AuthKeyHasher) -> tuple[Certificate | None, str]:
    """(certificate, "found") or (None, why not), after exactly one argon2id verification."""
    cert = Certificate.get_or_none(Certificate.contract_number == number) if number else None
    key_matches = hasher.matches(cert.auth_key_digest if cert else None, auth_key)
    if number is None:
        return None, "malformed_number"
    if cert is None:
        return None, "unknown_number"
    if cert.surety_id != client.organisation_id:
        return None, "other_surety"
    if not key_matches:
        return None, "wrong_key"
    return cert, "found"


def notice_content(cert: Certificate, auth_key: str, *, portal_url: str,
                   clock: Clock = utcnow) -> NoticeContent:
    """What the notice says, from the certificate's current visible revision."""
    doc = document_of(current_revision(list(cert.revisions)).canonical)
    principal, surety = doc["principal"], doc["surety"]
    if principal.get("jv_name"):
        principal_lines = (principal["jv_name"], principal.get("representative") or "")
    else:
        principal_lines = (principal["name"],)
    surety_lines = tuple(line for line in (
        surety["name"], f"取扱箇所 {surety['branch']}" if surety.get("branch") else "",
        f"TEL {surety['tel']}" if surety.get("tel") else "") if line)
    lookup = f"{portal_url.rstrip('/')}/lookup"
    return NoticeContent(
        contract_number=cert.contract_number, auth_key=auth_key,
        work_name=doc["work"]["name"], principal_lines=tuple(p for p in principal_lines if p),
        product_label=PRODUCT_LABELS.get(cert.product, cert.product),
        surety_lines=surety_lines,
        lookup_url=f"{lookup}#{urlencode({'n': cert.contract_number, 'k': auth_key})}",
        portal_lookup_url=lookup, dated=wareki_date(jst_date(clock())))


def issue_notice(*, client: ApiClient, contract_number: str, auth_key: str,
                 hasher: AuthKeyHasher, portal_url: str, limits: LookupLimits = LookupLimits(),
                 address: str | None = None, font_path: str = DEFAULT_FONT,
                 clock: Clock = utcnow) -> bytes:
    """The notice PDF for the caller's certificate ``contract_number`` when ``auth_key`` is
    its current key. Raises LookupLocked or NotFound (the same for every kind of miss)."""
    if font_problem(font_path):  # before anything is counted or audited
        raise NoticeFontMissing(font_problem(font_path))
    number = normalise_contract_number(contract_number)
    key = normalise_auth_key(auth_key)
    attempt = begin_attempt(FAILURE_KIND, _subjects(client, number, address, limits),
                            window=limits.window, clock=clock)
    organisation_code = client.organisation.code
    if attempt.locked:
        record("notice.locked", actor=_actor(client), organisation_code=organisation_code,
               contract_number=number,
               details={"locked": sorted(s.split(":", 1)[0] for s in attempt.locks),
                        "until": attempt.locked_until.isoformat() + "Z"}, clock=clock)
        raise LookupLocked(attempt.locked_until)

    cert, reason = _verified(number, key, client, hasher)  # argon2id: outside the lock
    if cert is None:
        record("notice.refused", actor=_actor(client), organisation_code=organisation_code,
               contract_number=number, details={"reason": reason}, clock=clock)
        raise NotFound(REFUSAL)
    with write_transaction():
        attempt.withdraw()
        record("notice.issued", actor=_actor(client), organisation_code=organisation_code,
               contract_number=cert.contract_number,
               details={"revision": cert.current_revision}, clock=clock)
    content = notice_content(cert, key, portal_url=portal_url, clock=clock)
    return render_notice(content, font_path=font_path)

