"""Organisations, API clients (sureties' and obligees' systems) and signing keys: what
the operator sets up."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import unicodedata

from ..audit.chain import record
from ..clock import Clock, utcnow
from ..db import write_transaction
from ..errors import InvalidInput, NotAuthenticated
from ..models import ApiClient, Organisation, SigningKey
from ..prepared import Prepared, Slot
from .obligee_codes import is_valid_obligee_code
from .prefectures import PREFECTURES, prefecture_of_code
from ..certificates.signatures import fingerprint, public_key_from_pem

TOKEN_PREFIX = "dsk_"


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_organisation(*, kind: str, code: str, name: str, require_otp: bool = True,
                     prefecture: str | None = None, actor: str = "operator",
                     clock: Clock = utcnow) -> Organisation:
    """Every user of a new organisation must use TOTP, unless the operator explicitly
    allows password-only sign-in (``require_otp=False``, audited as such). An obligee's
    prefecture comes from its code unless given (and then must agree with it)."""
    if kind not in Organisation.KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(Organisation.KINDS)}")
    if kind == "obligee" and not is_valid_obligee_code(code):
        raise InvalidInput(f"{code!r} is not a 全国地方公共団体コード with a valid check digit")
    if not code or not name.strip():
        raise InvalidInput("code and name are required")
    prefecture = _prefecture(kind, code, prefecture)
    with write_transaction():
        if Organisation.get_or_none(Organisation.code == code):
            raise InvalidInput(f"an organisation with code {code} already exists")
        org = Organisation.create(kind=kind, code=code, name=name.strip(),
                                  require_otp=require_otp, prefecture=prefecture,
                                  created_at=clock())
        details = {"kind": kind, "name": org.name, "require_otp": require_otp,
                   "allow_password_only": not require_otp}
        if prefecture:
            details["prefecture"] = prefecture
        record("organisation.added", actor=actor, organisation_code=code, details=details,
               clock=clock)
    return org


def _prefecture(kind: str, code: str, given: str | None) -> str | None:
    """An obligee's prefecture is in its code; one given must agree with it."""
    if kind != "obligee":
        if given:
            raise InvalidInput("only an obligee has a prefecture")
        return None
    from_code = prefecture_of_code(code)
    if given and given.strip() not in PREFECTURES:
        raise InvalidInput(f"{given!r} is not one of the 47 prefectures (e.g. 宮城県)")
    if given and from_code and given.strip() != from_code:
        raise InvalidInput(f"code {code} is in {from_code}, not {given.strip()}")
    return given.strip() if given else from_code


def organisation_by_code(code: str, *, kind: str | None = None) -> Organisation:
    org = Organisation.get_or_none(Organisation.code == code)
    if org is None or (kind and org.kind != kind):
        raise InvalidInput(f"no {kind or 'organisation'} with code {code}")
    return org


def enrolled_obligees(search: str = "") -> list[Organisation]:
    """Obligees, by code; ``search`` keeps those whose name, code or prefecture holds
    every word of it (全角 or 半角)."""
    query = Organisation.select().where(Organisation.kind == "obligee")
    for word in unicodedata.normalize("NFKC", search or "").split()[:10]:
        query = query.where(Organisation.name.contains(word) | Organisation.code.contains(word)
                            | Organisation.prefecture.contains(word))
    return list(query.order_by(Organisation.code))


API_CLIENT_KINDS = ("surety", "obligee")  # a client may call the API of its organisation's kind


def add_api_client(*, org_code: str, name: str, actor: str = "operator",
                   clock: Clock = utcnow) -> tuple[ApiClient, str]:
    """Create a client for a surety's or an obligee's system; return it with its bearer
    token, which is never stored."""
    org = organisation_by_code(org_code)
    if org.kind not in API_CLIENT_KINDS:
        raise InvalidInput(f"{org_code} is an {org.kind}: API clients are for sureties and obligees")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with write_transaction():
        client = ApiClient.create(organisation=org, name=name, created_at=clock(),
                                  token_digest=_token_digest(token))
        record("api_client.added", actor=actor, organisation_code=org.code,
               details={"client_id": client.id, "name": name, "api": org.kind}, clock=clock)
    return client, token


# How stale ApiClient.last_used_at may be: one write a minute per client, not per request.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


# Every API request asks it: compiled once (registry.prepared).
_CLIENT = Prepared(lambda: ApiClient.select(ApiClient, Organisation).join(Organisation)
                   .where(ApiClient.token_digest == Slot("digest"),
                          ApiClient.active == True)  # noqa: E712
                   .limit(1))


def authenticate_client(token: str | None, *, clock: Clock = utcnow) -> ApiClient:
    """The active client holding ``token``; NotAuthenticated otherwise."""
    if token:
        client = _CLIENT.first(digest=_token_digest(token))
        if client is not None:
            _note_use(client, clock())
            return client
    raise NotAuthenticated("A valid bearer token is required.")


def _note_use(client: ApiClient, now: dt.datetime) -> None:
    """Keep last_used_at to the minute. No audit entry: the requests themselves are
    audited where they change something."""
    if client.last_used_at is not None and now - client.last_used_at < LAST_USED_RESOLUTION:
        return
    stale = ApiClient.last_used_at.is_null() | (ApiClient.last_used_at <= now - LAST_USED_RESOLUTION)
    ApiClient.update(last_used_at=now).where(ApiClient.id == client.id, stale).execute()
    client.last_used_at = now


def add_signing_key(*, org_code: str, pem: bytes, actor: str = "operator",
                    clock: Clock = utcnow) -> SigningKey:
    org = organisation_by_code(org_code, kind="surety")
    raw = public_key_from_pem(pem)
    fp = fingerprint(raw)
    with write_transaction():
        existing = SigningKey.get_or_none(SigningKey.organisation == org,
                                          SigningKey.fingerprint == fp)
        if existing:
            return existing
        key = SigningKey.create(organisation=org, key_id=f"{org.code.lower()}-{fp[:16]}",
                                public_key=raw, fingerprint=fp, created_at=clock())
        record("signing_key.added", actor=actor, organisation_code=org.code,
               details={"key_id": key.key_id, "fingerprint": fp}, clock=clock)
    return key


def registered_key_fingerprints() -> list[str]:
    """Every surety signing key ever registered here, retired ones too: a revision
    signed before a key was retired still verifies with it."""
    return [fp for (fp,) in SigningKey.select(SigningKey.fingerprint).tuples()]
