"""No auth key (認証キー) and no API token is ever stored or logged in plaintext (DESIGN §4):
after the secrets have been made and used, every column of every table and everything
logged at DEBUG (peewee's SQL log included) is searched for them."""
from __future__ import annotations

import logging

import pytest

from registry.db import database
from registry.certificates.lookup import find_certificate
from registry.models import Certificate
from registry.schema import all_models
from tests.factories import KAKUDA, World, make_document, next_revision

API = "/api/v1/certificates"


def as_text(value) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        return raw.decode("utf-8", "replace") + raw.decode("latin-1") + raw.hex()
    return "" if value is None else str(value)


def everything_stored() -> str:
    """Every value of every column of every table: the registry's models and, in case a
    table has no model, whatever else the database holds."""
    texts = []
    tables = set()
    for model in all_models():
        tables.add(model._meta.table_name)
        for row in model.select().tuples():
            texts.extend(as_text(v) for v in row)
    for table in set(database.get_tables()) - tables:
        for row in database.execute_sql(f'SELECT * FROM "{table}"').fetchall():
            texts.extend(as_text(v) for v in row)
    return "\n".join(texts)


@pytest.fixture
def secrets_in_use(app, caplog):
    """Make and use auth keys and API tokens through the API and the CLI, logging at DEBUG."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger=app.logger.name)
    caplog.set_level(logging.DEBUG, logger="peewee")
    with app.app_context():
        world = World()
    client = app.test_client()
    bearer = {"Authorization": f"Bearer {world.token}"}
    keys, tokens = [], [world.token, world.other_token]

    for i in range(3):
        doc = make_document(contract_number=f"30001-00000{i + 1}")
        answer = client.put(f"{API}/{doc['contract_number']}/revisions/1",
                            json=world.signed(doc), headers=bearer)
        assert answer.status_code == 201
        keys.append(answer.get_json()["auth_key"])
        change = next_revision(doc, "change", guarantee_amount=21_000_000)
        assert client.put(f"{API}/{doc['contract_number']}/revisions/2",
                          json=world.signed(change), headers=bearer).status_code == 201
    reissued = client.post(f"{API}/30001-000001/auth-key", headers=bearer)
    assert reissued.status_code == 200
    keys.append(reissued.get_json()["auth_key"])
    # a retry, a read-back, and refusals that log and audit
    client.put(f"{API}/30001-000002/revisions/1",
               json=world.signed(make_document(contract_number="30001-000002")), headers=bearer)
    client.get(f"{API}/30001-000001", headers=bearer)
    assert client.get(f"{API}/30001-000001",
                      headers={"Authorization": f"Bearer {world.token[:-1]}"}).status_code == 401
    assert client.get(f"{API}/30001-000001",
                      headers={"Authorization": f"Bearer {world.other_token}"}).status_code == 404

    runner = app.test_cli_runner()
    for name in ("second system", "third system"):
        result = runner.invoke(args=["client", "add", "--org", "EJCS", "--name", name])
        assert result.exit_code == 0
        tokens.append(result.stdout.strip().splitlines()[-1])
    # the keys and the new tokens work, so they are the real secrets
    hasher = app.extensions["dsure.hasher"]
    with app.app_context():
        assert find_certificate(contract_number="30001-000001", auth_key=keys[-1],
                                obligee_code=KAKUDA, hasher=hasher) is not None
        assert find_certificate(contract_number="30001-000002", auth_key=keys[1],
                                obligee_code=KAKUDA, hasher=hasher) is not None
    assert client.get(f"{API}/30001-000001",
                      headers={"Authorization": f"Bearer {tokens[-1]}"}).status_code == 200
    return keys, tokens


def test_no_secret_is_stored_in_any_column(secrets_in_use):
    keys, tokens = secrets_in_use
    assert Certificate.select().count() == 3
    stored = everything_stored()
    assert "revision.accepted" in stored and "30001-000001" in stored  # we are looking
    for secret in keys + tokens:
        assert secret not in stored
    # nor any long fragment of a token (e.g. without its dsk_ prefix)
    for token in tokens:
        assert token[4:24] not in stored


def test_no_secret_is_logged(secrets_in_use, caplog):
    keys, tokens = secrets_in_use
    records = caplog.get_records("setup") + caplog.get_records("call")  # the fixture logged
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    logged = "\n".join(formatter.format(r) + repr(r.args) for r in records)
    assert any(r.name == "peewee" for r in records)  # the SQL log was captured
    assert "api.authentication_failed" in logged
    for secret in keys + tokens:
        assert secret not in logged
