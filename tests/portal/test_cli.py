"""The operator's `dsure-portal` commands (DESIGN §7) through Flask's CLI runner, on both
databases. A secret or id a script needs is alone on the last line of stdout; failures
exit 1 with a message on stderr."""
from __future__ import annotations

import re

import pytest

from registry.certificates.auth_keys import ALPHABET
from registry.db import database, is_postgresql
from registry.certificates.lookup import find_certificate
from registry.models import ApiClient, AuditEvent, Certificate, Organisation, Revision, SigningKey
from registry.accounts.organisations import TOKEN_PREFIX
from tests.factories import TEST_PUBLIC_PEM, make_document, next_revision, sign

DEMO_NUMBER = re.compile(r"^\s+(\d{5}-\d{6})\s+(\S+)\s")


def invoke(runner, *args, input=None):
    return runner.invoke(args=list(args), input=input, catch_exceptions=False)


def last_line(result) -> str:
    return result.stdout.rstrip("\n").splitlines()[-1]


def counts() -> dict:
    return {model.__name__: model.select().count()
            for model in (Organisation, ApiClient, SigningKey, Certificate, Revision)}


@pytest.fixture
def surety(runner):
    assert invoke(runner, "org", "add", "--kind", "surety", "--code", "EJCS",
                  "--name", "東日本建設業保証株式会社").exit_code == 0
    assert invoke(runner, "org", "add", "--kind", "obligee", "--code", "042081",
                  "--name", "角田市").exit_code == 0
    return "EJCS"


def test_init_db_can_run_twice(runner, app):
    for _ in range(2):
        result = invoke(runner, "init-db")
        assert result.exit_code == 0 and "database ready" in result.stdout
    # the insert-only guards are in place once, not duplicated or lost
    with app.app_context():
        if is_postgresql():
            triggers = database.execute_sql(
                "SELECT count(*) FROM information_schema.triggers "
                "WHERE event_object_table IN ('revision', 'audit_event')").fetchone()[0]
            assert triggers == 4  # one per table and event (UPDATE, DELETE)
        else:
            names = {r[0] for r in database.execute_sql(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()}
            assert {"revision_no_update", "revision_no_delete", "audit_event_no_update",
                    "audit_event_no_delete"} <= names


def test_org_add_stores_an_organisation(runner, app):
    result = invoke(runner, "org", "add", "--kind", "obligee", "--code", "042081",
                    "--name", "角田市")
    assert result.exit_code == 0 and "042081" in result.stdout
    assert Organisation.get(Organisation.code == "042081").name == "角田市"
    assert AuditEvent.get(AuditEvent.kind == "organisation.added").organisation_code == "042081"


def test_org_add_with_a_wrong_check_digit_fails_clearly_and_stores_nothing(runner):
    before = counts()
    result = invoke(runner, "org", "add", "--kind", "obligee", "--code", "042082",
                    "--name", "角田市")
    assert result.exit_code == 1
    assert "042082" in result.stderr and "check digit" in result.stderr
    assert result.stdout == ""
    assert counts() == before and AuditEvent.select().count() == 0


def test_org_add_twice_fails_the_second_time(runner, surety):
    result = invoke(runner, "org", "add", "--kind", "surety", "--code", "EJCS", "--name", "x")
    assert result.exit_code == 1 and "already exists" in result.stderr
    assert Organisation.get(Organisation.code == "EJCS").name == "東日本建設業保証株式会社"


def test_client_add_prints_a_token_that_authenticates(runner, client, surety, tmp_path):
    result = invoke(runner, "client", "add", "--org", "EJCS", "--name", "ejcs system")
    assert result.exit_code == 0
    token = last_line(result)
    assert token.startswith(TOKEN_PREFIX) and " " not in token and len(token) > 40
    assert result.stdout.count(token) == 1

    pem = tmp_path / "surety.pub.pem"
    pem.write_bytes(TEST_PUBLIC_PEM)
    key_result = invoke(runner, "signing-key", "add", "--org", "EJCS", "--public-key-file", str(pem))
    assert key_result.exit_code == 0
    key_id = last_line(key_result)
    assert SigningKey.get(SigningKey.key_id == key_id).organisation.code == "EJCS"

    response = client.put("/api/v1/certificates/30001-000001/revisions/1",
                          json=sign(make_document(), key_id),
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.get_json()
    wrong = client.get("/api/v1/certificates/30001-000001",
                       headers={"Authorization": f"Bearer {token}x"})
    assert wrong.status_code == 401


def test_client_add_for_an_unknown_surety_fails(runner):
    result = invoke(runner, "client", "add", "--org", "NOPE", "--name", "x")
    assert result.exit_code == 1 and "NOPE" in result.stderr
    assert ApiClient.select().count() == 0


def test_signing_key_add_prints_the_key_id_and_is_idempotent(runner, surety, tmp_path):
    pem = tmp_path / "surety.pub.pem"
    pem.write_bytes(TEST_PUBLIC_PEM)
    first = invoke(runner, "signing-key", "add", "--org", "EJCS", "--public-key-file", str(pem))
    again = invoke(runner, "signing-key", "add", "--org", "EJCS", "--public-key-file", str(pem))
    assert first.exit_code == again.exit_code == 0
    key_id = last_line(first)
    assert re.fullmatch(r"ejcs-[0-9a-f]{16}", key_id) and last_line(again) == key_id
    assert SigningKey.select().count() == 1


def test_signing_key_add_refuses_what_is_not_an_ed25519_public_key(runner, surety, tmp_path):
    pem = tmp_path / "not-a-key.pem"
    pem.write_text("hello")
    result = invoke(runner, "signing-key", "add", "--org", "EJCS", "--public-key-file", str(pem))
    assert result.exit_code == 1 and "PEM" in result.stderr
    assert SigningKey.select().count() == 0


def test_audit_verify_passes_then_names_the_tampered_entry(runner, surety):
    entries = AuditEvent.select().count()
    result = invoke(runner, "audit", "verify")
    assert result.exit_code == 0
    assert last_line(result) == f"OK {entries} entries"

    if is_postgresql():
        database.execute_sql("DROP TRIGGER audit_event_immutable ON audit_event")
    else:
        database.execute_sql("DROP TRIGGER audit_event_no_update")
    event = AuditEvent.get(AuditEvent.seq == 2)
    AuditEvent.update(details=event.details.replace("角田市", "白子町")) \
        .where(AuditEvent.seq == 2).execute()
    failed = invoke(runner, "audit", "verify")
    assert failed.exit_code == 1
    assert "audit entry 2" in failed.stderr and "audit entry 2" in last_line(failed)


def test_audit_verify_in_parts_names_the_same_entry(runner, surety, monkeypatch):
    from registry.audit import chain_split
    monkeypatch.setattr(chain_split, "MIN_PER_PROCESS", 1)
    entries = AuditEvent.select().count()
    result = invoke(runner, "audit", "verify", "--processes", "2")
    assert result.exit_code == 0 and last_line(result) == f"OK {entries} entries"

    if is_postgresql():
        database.execute_sql("DROP TRIGGER audit_event_immutable ON audit_event")
    else:
        database.execute_sql("DROP TRIGGER audit_event_no_update")
    AuditEvent.update(actor="someone:else").where(AuditEvent.seq == entries).execute()
    failed = invoke(runner, "audit", "verify", "--processes", "2")
    assert failed.exit_code == 1 and f"audit entry {entries}" in last_line(failed)


def test_demo_twice_stores_no_duplicates_and_prints_working_keys(runner, app):
    first = invoke(runner, "demo")
    assert first.exit_code == 0
    after_first = counts()
    second = invoke(runner, "demo")
    assert second.exit_code == 0
    assert counts() == after_first
    assert after_first["Certificate"] >= 5 and after_first["Revision"] > after_first["Certificate"]

    hasher = app.extensions["dsure.hasher"]
    for result in (first, second):
        samples = dict(m.groups() for m in map(DEMO_NUMBER.match, result.stdout.splitlines()) if m)
        assert set(samples) == {c.contract_number for c in Certificate.select()}
        for number, key in samples.items():
            assert len(key) == 12 and set(key) <= set(ALPHABET)
            cert = Certificate.get(Certificate.contract_number == number)
            found = find_certificate(contract_number=number, auth_key=key,
                                     obligee_code=cert.obligee.code, hasher=hasher)
            assert found is not None and found.id == cert.id
    assert first.stdout.count("API token") == 1 and "API token" not in second.stdout


# --- ending machine credentials ---------------------------------------------------------

@pytest.fixture
def credentials(runner, surety, tmp_path):
    """EJCS with an API client (its token) and a signing key (its id), made by the CLI."""
    token = last_line(invoke(runner, "client", "add", "--org", "EJCS", "--name", "EJCS system"))
    pem = tmp_path / "surety.pub.pem"
    pem.write_bytes(TEST_PUBLIC_PEM)
    key_id = last_line(invoke(runner, "signing-key", "add", "--org", "EJCS",
                              "--public-key-file", str(pem)))
    return token, key_id


def table(result) -> list[list[str]]:
    return [line.split("\t") for line in result.stdout.splitlines()]


def test_client_list_shows_each_client_and_when_it_was_last_used(runner, client, credentials):
    token, _ = credentials
    header, row = table(invoke(runner, "client", "list", "--org", "EJCS"))
    assert header == ["id", "name", "created", "last_used", "active"]
    assert row[1:2] == ["EJCS system"] and row[3] == "-" and row[4] == "yes"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row[2])
    assert client.get("/api/v1/certificates/30001-000001",
                      headers={"Authorization": f"Bearer {token}"}).status_code == 404
    [_, used] = table(invoke(runner, "client", "list", "--org", "EJCS"))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", used[3])
    assert token not in invoke(runner, "client", "list", "--org", "EJCS").stdout


def test_client_revoke_makes_the_token_answer_401(runner, client, credentials):
    token, key_id = credentials
    [_, row] = table(invoke(runner, "client", "list", "--org", "EJCS"))
    result = invoke(runner, "client", "revoke", row[0])
    assert result.exit_code == 0 and "revoked" in result.stdout
    response = client.put("/api/v1/certificates/30001-000001/revisions/1",
                          json=sign(make_document(), key_id),
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert Certificate.select().count() == 0
    [_, row] = table(invoke(runner, "client", "list", "--org", "EJCS"))
    assert row[4].startswith("no (revoked 20")
    assert AuditEvent.get(AuditEvent.kind == "api_client.revoked").organisation_code == "EJCS"
    again = invoke(runner, "client", "revoke", row[0])
    assert again.exit_code == 0 and "already revoked" in again.stdout
    assert AuditEvent.select().where(AuditEvent.kind == "api_client.revoked").count() == 1


def test_client_revoke_of_an_unknown_id_fails_clearly(runner, credentials):
    result = invoke(runner, "client", "revoke", "999")
    assert result.exit_code == 1 and "no API client with id 999" in result.stderr
    assert ApiClient.get().active


def test_signing_key_list_and_retire(runner, client, credentials):
    token, key_id = credentials
    auth = {"Authorization": f"Bearer {token}"}
    first = make_document()
    assert client.put("/api/v1/certificates/30001-000001/revisions/1", json=sign(first, key_id),
                      headers=auth).status_code == 201
    header, row = table(invoke(runner, "signing-key", "list", "--org", "EJCS"))
    assert header == ["key_id", "fingerprint", "created", "status"]
    assert row[0] == key_id and row[1] == SigningKey.get().fingerprint and row[3] == "active"

    result = invoke(runner, "signing-key", "retire", key_id)
    assert result.exit_code == 0 and f"signing key {key_id} of EJCS retired" in result.stdout
    [_, row] = table(invoke(runner, "signing-key", "list", "--org", "EJCS"))
    assert row[3].startswith("retired 20")

    second = next_revision(first, "change", guarantee_amount=21_000_000)
    refused = client.put("/api/v1/certificates/30001-000001/revisions/2",
                         json=sign(second, key_id), headers=auth)
    assert refused.status_code == 403
    assert refused.get_json()["type"] == "urn:dsure:problem:retired-signing-key"
    assert Revision.select().count() == 1
    verified = invoke(runner, "audit", "verify")
    assert verified.exit_code == 0 and last_line(verified).startswith("OK ")
    assert AuditEvent.get(AuditEvent.kind == "signing_key.retired").organisation_code == "EJCS"


def test_signing_key_retire_of_an_unknown_key_and_list_of_an_unknown_org_fail(runner, credentials):
    result = invoke(runner, "signing-key", "retire", "ejcs-0000000000000000")
    assert result.exit_code == 1 and "no signing key" in result.stderr
    assert SigningKey.get().active
    listed = invoke(runner, "signing-key", "list", "--org", "NOPE")
    assert listed.exit_code == 1 and "NOPE" in listed.stderr and listed.stdout == ""
