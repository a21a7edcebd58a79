"""Ending machine credentials: revoking a surety's API client (its token answers 401 at
once) and retiring a signing key (no new revision is accepted under it). Both are
one-way and audited. A retired key stays in the table: the revisions it signed before
still verify with it, in `audit verify` and in every evidence bundle."""
from __future__ import annotations

from ..audit.chain import record
from ..clock import Clock, utcnow
from ..db import write_transaction
from ..errors import InvalidInput
from ..models import ApiClient, Organisation, SigningKey
from .organisations import organisation_by_code


def api_clients(org_code: str) -> list[ApiClient]:
    """A surety's API clients, oldest first, revoked ones too."""
    org = organisation_by_code(org_code, kind="surety")
    return list(ApiClient.select().where(ApiClient.organisation == org).order_by(ApiClient.id))


def revoke_api_client(client_id: int, *, actor: str = "operator",
                      clock: Clock = utcnow) -> tuple[ApiClient, bool]:
    """Revoke client ``client_id``: (the client, whether this call revoked it). Revoking
    a revoked client changes nothing and records nothing."""
    return _end(ApiClient, ApiClient.id == client_id, f"no API client with id {client_id}",
                ApiClient.revoked_at, "api_client.revoked",
                lambda c: {"client_id": c.id, "name": c.name}, actor, clock)


def signing_keys(org_code: str) -> list[SigningKey]:
    """A surety's signing keys, oldest first, retired ones too."""
    org = organisation_by_code(org_code, kind="surety")
    return list(SigningKey.select().where(SigningKey.organisation == org).order_by(SigningKey.id))


def retire_signing_key(key_id: str, *, actor: str = "operator",
                       clock: Clock = utcnow) -> tuple[SigningKey, bool]:
    """Retire the key ``key_id``: (the key, whether this call retired it)."""
    return _end(SigningKey, SigningKey.key_id == key_id, f"no signing key with key id {key_id}",
                SigningKey.retired_at, "signing_key.retired",
                lambda k: {"key_id": k.key_id, "fingerprint": k.fingerprint}, actor, clock)


def _end(model, which, missing: str, ended_at, event: str, details, actor: str, clock: Clock):
    """Mark one active row inactive with the time it ended, audited; once only."""
    with write_transaction():
        row = model.select(model, Organisation).join(Organisation).where(which).first()
        if row is None:
            raise InvalidInput(missing)
        if not row.active:
            return row, False
        row.active = False
        setattr(row, ended_at.name, clock())
        row.save(only=[model.active, ended_at])
        record(event, actor=actor, organisation_code=row.organisation.code,
               details=details(row), clock=clock)
    return row, True
