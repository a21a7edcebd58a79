"""Proof outside the database, end to end (DESIGN §11): a write through HTTP leaves a
checkpoint file and an RFC 3161 token from a real TSA (openssl on loopback) that
`openssl ts -verify` accepts; `audit verify` reads the directory without being told and
catches the newest entries deleted together with their checkpoints; a TSA that is down
fails nothing but shows; what cannot be read is a named FAILED line, never a traceback."""
from __future__ import annotations

import json

import pytest

from registry.accounts.users import add_user
from registry.audit.chain import record
from registry.audit.checkpoints import Checkpoint
from registry.db import database
from registry.models import AuditEvent
from registry.accounts.organisations import add_organisation
from registry.schema import create_schema
from registry.audit.timestamps import CheckpointTimestamp
from tests.factories import World, make_document
from tests.portal.conftest import PASSWORD
from tests.tampering import delete_newest_entries, write_column
from tests.tsa import openssl_verifies

NUMBER = "30001-000001"


@pytest.fixture
def proof_dir(tmp_path):
    return tmp_path / "proof"


@pytest.fixture
def proof_config(app_config, proof_dir, tsa):
    return dict(app_config, CHECKPOINT_DIR=str(proof_dir), TSA_URL=tsa.url,
                TSA_CA_FILE=str(tsa.ca_file))


def _app(config):
    from dsure_portal import create_app
    app = create_app(config)
    with app.app_context():
        create_schema()
    return app


@pytest.fixture
def app(proof_config):
    yield _app(proof_config)
    database.close_all()


@pytest.fixture
def world(app):
    with app.app_context():
        return World()


def put_revision(client, world, number=NUMBER):
    """A surety's write through HTTP; closing the response is when the server has sent it."""
    response = client.put(f"/api/v1/certificates/{number}/revisions/1",
                          json=world.signed(make_document(contract_number=number)),
                          headers={"Authorization": f"Bearer {world.token}"})
    assert response.status_code == 201, response.data
    response.close()
    return response


def verify(runner):
    result = runner.invoke(args=["audit", "verify"])
    assert "Traceback" not in result.output
    return result


def test_a_write_leaves_a_checkpoint_file_and_a_token_openssl_accepts(app, client, runner, world,
                                                                      proof_dir, tsa):
    put_revision(client, world)
    with app.app_context():
        [cp] = Checkpoint.select()
        head = AuditEvent.select().count()
    assert cp.head_seq == head and cp.reason == "interval"
    assert sorted(p.name for p in proof_dir.iterdir()) == [f"{head}.json", f"{head}.tsr"]
    verified = openssl_verifies(proof_dir / f"{head}.json", proof_dir / f"{head}.tsr", tsa.ca_file)
    assert verified.returncode == 0 and "Verification: OK" in verified.stdout, verified.stderr

    result = verify(runner)
    assert result.exit_code == 0, result.output
    assert f"checkpoint {head}.json: entry {head} unchanged" in result.output
    assert "1 file(s), 2 time-stamp token(s) checked" in result.output  # the file's and the row's


def test_the_next_write_within_the_interval_makes_no_checkpoint(app, client, world):
    put_revision(client, world)
    put_revision(client, world, number="30001-000002")
    with app.app_context():
        assert Checkpoint.select().count() == 1


def test_deleting_the_newest_entries_and_their_checkpoints_is_caught(app, runner, world, proof_dir,
                                                                     proof_config):
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0
    with app.app_context():
        kept = AuditEvent.select().count()
        for n in range(3):
            record("lookup.failed", actor="user:1", details={"n": n})
    made = runner.invoke(args=["audit", "checkpoint"])
    assert made.exit_code == 0 and f"entry {kept + 3}" in made.output
    assert verify(runner).exit_code == 0

    with app.app_context():
        delete_newest_entries(after_seq=kept)  # as an attacker with the owner's rights

    result = verify(runner)
    assert result.exit_code == 1
    assert (f"FAILED: checkpoint file {kept + 3}.json: audit entry {kept + 3} is missing "
            f"(the log ends at entry {kept}: entries {kept + 1} to {kept + 3} at least were deleted)") in result.output
    assert f"checkpoint file {kept + 3}.json: its checkpoint is missing from the database" in result.output

    # The same database without the directory: nothing left in it shows the deletion.
    alone = _app(dict(proof_config, CHECKPOINT_DIR=None)).test_cli_runner()
    assert verify(alone).exit_code == 0


def test_a_tsa_that_is_down_fails_no_write_and_the_gap_shows(app, client, runner, world, tsa,
                                                             proof_dir, proof_config, sign_in):
    tsa.down = True
    put_revision(client, world)                     # 201 all the same
    with app.app_context():
        [cp] = Checkpoint.select()
        assert CheckpointTimestamp.select().count() == 0
        [event] = AuditEvent.select().where(AuditEvent.kind == "checkpoint.timestamp_failed")
        assert json.loads(event.details)["head_seq"] == cp.head_seq
    assert (proof_dir / f"{cp.head_seq}.json").exists()

    result = verify(runner)
    assert result.exit_code == 0, result.output
    assert f"NOTE: 1 checkpoint(s) without an RFC 3161 time-stamp token: {cp.head_seq}" in result.output
    strict = _app(dict(proof_config, TSA_REQUIRED=True)).test_cli_runner()
    assert "FAILED: 1 checkpoint(s) without an RFC 3161 time-stamp token" in verify(strict).output

    with app.app_context():
        add_organisation(kind="operator", code="DSURE", name="運営事業者", require_otp=False)
        auditor = add_user(org_code="DSURE", email="audit@dsure.example.jp",
                           role="platform-auditor", password=PASSWORD)
    sign_in(client, auditor)
    assert "未取得" in client.get("/audit").data.decode()

    tsa.down = False
    retried = runner.invoke(args=["audit", "checkpoint"])
    assert retried.exit_code == 0 and f"checkpoint of entry {cp.head_seq} time-stamped" in retried.output
    assert (proof_dir / f"{cp.head_seq}.tsr").exists()
    assert "NOTE" not in verify(runner).output


def test_a_changed_token_or_a_broken_file_is_a_named_failure(app, client, runner, world, proof_dir):
    put_revision(client, world)
    [tsr] = proof_dir.glob("*.tsr")
    seq = int(tsr.stem)
    original = tsr.read_bytes()

    tsr.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))  # a bit of the TSA's signature
    result = verify(runner)
    assert result.exit_code == 1 and f"checkpoint file {seq}.tsr:" in result.output

    tsr.write_bytes(original)
    with app.app_context():
        write_column("checkpoint_timestamp", "token", b"not a token")
    result = verify(runner)
    assert result.exit_code == 1
    assert f"FAILED: checkpoint {seq} (id 1): time-stamp token: it cannot be read" in result.output

    (proof_dir / f"{seq + 1}.json").write_text("{ broken")
    assert f"checkpoint file {seq + 1}.json: not JSON" in verify(runner).output


def test_an_unreadable_arrival_time_is_a_failed_line_not_a_traceback(app, client, runner, world):
    put_revision(client, world)
    with app.app_context():
        write_column("revision", "arrived_at", "not a date", retype=True)
    result = verify(runner)
    assert result.exit_code == 1
    assert (f"FAILED: revision {NUMBER}/1: arrival time 'not a date' cannot be read as a date "
            "and time") in result.output


def test_audit_checkpoint_needs_no_argument_and_can_write_a_copy(app, runner, world, proof_dir,
                                                                 tmp_path):
    first = runner.invoke(args=["audit", "checkpoint"])
    assert first.exit_code == 0 and "made" in first.output and "time-stamped" in first.output
    copy = tmp_path / "copy.json"
    again = runner.invoke(args=["audit", "checkpoint", "--out", str(copy)])
    assert again.exit_code == 0 and "no new entries since" in again.output
    [json_file] = proof_dir.glob("*.json")
    assert copy.read_bytes() == json_file.read_bytes()


def test_verify_bundle_checks_the_tokens_against_the_configured_tsa(app, client, runner, world,
                                                                    tmp_path):
    put_revision(client, world)
    out = tmp_path / "bundle.zip"
    made = runner.invoke(args=["evidence", "--contract-number", NUMBER, "--out", str(out)])
    assert made.exit_code == 0, made.output
    result = runner.invoke(args=["verify-bundle", str(out), "--this-platform"])
    assert result.exit_code == 0, result.output
    assert "time-stamped by the TSA at" in result.output and "NOTE: the TSA" not in result.output


@pytest.mark.parametrize("name, value", [("CHECKPOINT_INTERVAL", "soon"), ("CHECKPOINT_INTERVAL", 0),
                                         ("TSA_URL", "ftp://tsa.example"), ("TSA_TIMEOUT", -1)])
def test_a_bad_setting_stops_startup_naming_it(app_config, name, value):
    from dsure_portal import create_app
    from dsure_portal.config import ConfigError
    with pytest.raises(ConfigError, match=f"DSURE_{name}"):
        create_app(dict(app_config, **{name: value}))


def test_a_token_not_signed_under_the_configured_tsa_root_fails(app, client, world, proof_config,
                                                               tsa):
    put_revision(client, world)
    wrong_root = _app(dict(proof_config, TSA_CA_FILE=str(tsa.directory / "tsa.pem")))
    result = verify(wrong_root.test_cli_runner())
    assert result.exit_code == 1
    assert "FAILED: checkpoint file" in result.output and "signature does not verify" in result.output
