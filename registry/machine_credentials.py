"""Ending machine credentials: revoking a surety's API client (its token answers 401 at
once) and retiring a signing key (no new revision is accepted under it). Both are
one-way and audited. A retired key stays in the table: the revisions it signed before
still verify with it, in `audit verify` and in every evidence bundle."""
from __future__ import annotations

from .audit import record
from .clock import Clock, utcnow
from .db import write_transaction
from .errors import InvalidInput
from .models import ApiClient, Organisation, SigningKey
from .organisations import organisation_by_code


def api_clients(org_code: str) -> list[ApiClient]:
    """A surety's API clients, oldest first, revoked ones too."""
    org = organisation_by_code(org_code, kind="surety")
    return list(ApiClient.select().where(ApiClient.organisation == org).order_by(ApiClient.id))


def revoke_api_client(client_id: int, *, actor: str = "operator",
                      clock: Clock = utcnow) -> tuple[ApiClient, bool]:
    """Revoke client ``client_id``: (the client, whether this call revoked it). Revoking
    a revoked client changes nothing and records nothing."""
    with write_transaction():
        client = (ApiClient.select(ApiClient, Organisation).join(Organisation)
                  .where(ApiClient.id == client_id).first())
        if client is None:
            raise InvalidInput(f"no API client with id {client_id}")
        if not client.active:
            return client, False
        client.active, client.revoked_at = False, clock()
        client.save(only=[ApiClient.active, ApiClient.revoked_at])
        record("api_client.revoked", actor=actor, organisation_code=client.organisation.code,
               details={"client_id": client.id, "name": client.name}, clock=clock)
    return client, True


def signing_keys(org_code: str) -> list[SigningKey]:
    """A surety's signing keys, oldest first, retired ones too."""
    org = organisation_by_code(org_code, kind="surety")
    return list(SigningKey.select().where(SigningKey.organisation == org).order_by(SigningKey.id))


def retire_signing_key(key_id: str, *, actor: str = "operator",
                       clock: Clock = utcnow) -> tuple[SigningKey, bool]:
    """Retire the key ``key_id``: (the key, whether this call retired it)."""
    with write_transaction():
        key = (SigningKey.select(SigningKey, Organisation).join(Organisation)
               .where(SigningKey.key_id == key_id).first())
        if key is None:
            raise InvalidInput(f"no signing key with key id {key_id}")
        if not key.active:
            return key, False
        key.active, key.retired_at = False, clock()
        key.save(only=[SigningKey.active, SigningKey.retired_at])
        record("signing_key.retired", actor=actor, organisation_code=key.organisation.code,
               details={"key_id": key.key_id, "fingerprint": key.fingerprint}, clock=clock)
    return key, True
