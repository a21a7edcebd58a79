"""Ending machine credentials: revoked API clients, retired signing keys, and when a
client was last used (registry only)."""
import json

import pytest

from registry.certificates import ingest
from registry.accounts import machine_credentials as credentials
from registry.errors import InvalidInput, NotAuthenticated, RetiredSigningKey
from registry.audit.integrity import verify_all
from registry.models import ApiClient, AuditEvent, Revision, SigningKey
from registry.accounts.organisations import add_api_client, authenticate_client
from tests.factories import FixedClock, World, make_document, next_revision


@pytest.fixture
def world(registry_db):
    return World()


def put(world, body, hasher):
    doc = body["document"]
    return ingest.accept_revision(client=world.client, contract_number=doc["contract_number"],
                                  number=doc["revision"], body=body, hasher=hasher)


def events(kind):
    return [json.loads(e.details) for e in AuditEvent.select().where(AuditEvent.kind == kind)]


def test_a_revoked_client_no_longer_authenticates(world):
    assert authenticate_client(world.token).id == world.client.id
    revoked, changed = credentials.revoke_api_client(world.client.id)
    assert changed and not revoked.active and revoked.revoked_at is not None
    with pytest.raises(NotAuthenticated):
        authenticate_client(world.token)
    assert authenticate_client(world.other_token).id == world.other_client.id  # others unaffected
    assert events("api_client.revoked") == [{"client_id": world.client.id, "name": "ejcs system"}]
    assert world.token not in " ".join(e.details for e in AuditEvent.select())


def test_revoking_twice_changes_nothing_the_second_time(world):
    credentials.revoke_api_client(world.client.id)
    again, changed = credentials.revoke_api_client(world.client.id)
    assert not changed and not again.active
    assert len(events("api_client.revoked")) == 1


def test_revoking_an_unknown_client_fails_and_records_nothing(world):
    before = AuditEvent.select().count()
    with pytest.raises(InvalidInput, match="no API client with id 999"):
        credentials.revoke_api_client(999)
    assert AuditEvent.select().count() == before
    assert ApiClient.select().where(ApiClient.active == False).count() == 0  # noqa: E712


def test_last_used_is_kept_to_the_minute_without_a_write_per_request(world):
    clock = FixedClock()
    assert ApiClient.get_by_id(world.client.id).last_used_at is None
    authenticate_client(world.token, clock=clock)
    first = clock()
    assert ApiClient.get_by_id(world.client.id).last_used_at == first
    clock.advance(seconds=59)
    authenticate_client(world.token, clock=clock)
    assert ApiClient.get_by_id(world.client.id).last_used_at == first
    clock.advance(seconds=2)
    authenticate_client(world.token, clock=clock)
    assert ApiClient.get_by_id(world.client.id).last_used_at == clock()


def test_listing_a_sureties_clients_and_keys(world):
    second, _ = add_api_client(org_code="EJCS", name="backup system")
    credentials.revoke_api_client(second.id)
    assert [(c.name, c.active) for c in credentials.api_clients("EJCS")] == [
        ("ejcs system", True), ("backup system", False)]
    assert [k.key_id for k in credentials.signing_keys("EJCS")] == [world.key.key_id]
    with pytest.raises(InvalidInput, match="042081"):
        credentials.api_clients("042081")  # an obligee has no API clients


def test_a_retired_key_signs_no_new_revision_but_its_revisions_still_verify(world, hasher):
    doc = make_document()
    put(world, world.signed(doc), hasher)
    key, changed = credentials.retire_signing_key(world.key.key_id)
    assert changed and not key.active and key.retired_at is not None
    assert events("signing_key.retired") == [{"key_id": world.key.key_id,
                                               "fingerprint": world.key.fingerprint}]

    with pytest.raises(RetiredSigningKey):
        put(world, world.signed(next_revision(doc, "change", guarantee_amount=1_000)), hasher)
    assert Revision.select().count() == 1
    assert events("revision.refused")[-1]["reason"] == "retired_signing_key"
    count, problems = verify_all()
    assert problems == [] and count == AuditEvent.select().count()


def test_retiring_an_unknown_key_fails_and_twice_changes_nothing(world):
    with pytest.raises(InvalidInput, match="no signing key"):
        credentials.retire_signing_key("ejcs-0000000000000000")
    credentials.retire_signing_key(world.key.key_id)
    _, changed = credentials.retire_signing_key(world.key.key_id)
    assert not changed and len(events("signing_key.retired")) == 1
    assert SigningKey.get_by_id(world.other_key.id).active
