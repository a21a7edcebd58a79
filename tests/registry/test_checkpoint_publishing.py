"""Checkpoints put outside the database (DESIGN §11): ``<seq>.json`` in the checkpoint
directory, an RFC 3161 token from a real TSA (openssl ts -reply on loopback) beside it
and in the database, and what happens when the directory or the TSA fails."""
from __future__ import annotations

import datetime as dt
import json
import os

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from registry.audit import checkpoint_publishing as publishing
from registry.audit import checkpoints, timestamps
from registry.audit.chain import record
from registry.clock import utcnow
from registry.audit.checkpoint_publishing import ProofSettings, run
from registry.audit.checkpoints import Checkpoint, PlatformSigner
from registry.models import AuditEvent
from registry.audit.timestamps import CheckpointTimestamp
from tests.tsa import openssl_verifies


@pytest.fixture
def signer(registry_db):
    publishing.schedule.__init__()
    return PlatformSigner(Ed25519PrivateKey.generate())


@pytest.fixture
def proof(tmp_path):
    """The checkpoint directory (the database file lives in tmp_path itself)."""
    return tmp_path / "proof"


def at(text: str):
    moment = dt.datetime.fromisoformat(text)
    return lambda: moment


def test_each_checkpoint_is_written_as_its_exact_bytes(signer, proof):
    settings = ProofSettings(directory=proof)
    record("a", actor="t")
    first = run(signer=signer, settings=settings, clock=at("2026-04-01T00:00:00")).made
    record("b", actor="t")
    second = run(signer=signer, settings=settings, clock=at("2026-04-01T00:10:00")).made
    files = sorted(p.name for p in proof.iterdir())
    assert files == ["1.json", "2.json"]  # no temp file left behind
    assert (proof / "2.json").read_bytes() == checkpoints.file_bytes(second)
    assert checkpoints.parse((proof / "1.json").read_bytes())["head_hash"] == first.head_hash


def test_a_run_before_the_interval_makes_nothing(signer, proof):
    settings = ProofSettings(directory=proof)
    record("a", actor="t")
    run(signer=signer, settings=settings, clock=at("2026-04-01T00:00:00"))
    record("b", actor="t")
    assert run(signer=signer, settings=settings, clock=at("2026-04-01T00:05:00")).made is None
    assert Checkpoint.select().count() == 1


def test_the_cheap_check_waits_for_activity_and_the_interval(signer, proof):
    schedule = publishing.schedule
    assert not schedule.due()                      # nothing appended yet
    record("a", actor="t")
    assert schedule.due()                          # no checkpoint known: look now
    run(signer=signer, settings=ProofSettings(directory=proof), clock=at("2026-04-01T00:00:00"))
    assert not schedule.due(dt.datetime(2026, 4, 1, 0, 20))  # sealed, nothing new
    record("b", actor="t")
    assert not schedule.due(dt.datetime(2026, 4, 1, 0, 9))
    assert schedule.due(dt.datetime(2026, 4, 1, 0, 10))


def test_a_file_already_there_is_never_overwritten(signer, proof):
    """After the newest entries were deleted and the log grew again, the next checkpoint
    may name a seq that already has a file: that file is the evidence, and stays."""
    proof.mkdir()
    (proof / "1.json").write_text("the checkpoint the database forgot\n")
    record("a", actor="t")
    result = run(signer=signer, settings=ProofSettings(directory=proof))
    assert result.made is not None and result.files_written == []
    assert (proof / "1.json").read_text() == "the checkpoint the database forgot\n"
    assert result.gaps[0].kind == "checkpoint.file_failed"
    assert AuditEvent.select().order_by(AuditEvent.seq.desc()).first().kind == "checkpoint.file_failed"


def test_a_directory_that_cannot_be_written_does_not_stop_the_checkpoint(signer, proof):
    proof.mkdir()
    blocked = proof / "not-a-directory"
    blocked.write_text("")
    record("a", actor="t")
    result = run(signer=signer, settings=ProofSettings(directory=blocked))
    assert result.made is not None and Checkpoint.select().count() == 1
    [event] = AuditEvent.select().where(AuditEvent.kind == "checkpoint.file_failed")
    assert json.loads(event.details)["head_seq"] == 1


def test_each_checkpoint_is_time_stamped_and_openssl_accepts_the_token(signer, proof, tsa):
    settings = ProofSettings(directory=proof, tsa_url=tsa.url)
    record("a", actor="t")
    result = run(signer=signer, settings=settings)
    assert result.tokens_fetched == [1] and result.gaps == []
    token = CheckpointTimestamp.get()
    assert (proof / "1.tsr").read_bytes() == bytes(token.token)
    verified = openssl_verifies(proof / "1.json", proof / "1.tsr", tsa.ca_file)
    assert verified.returncode == 0 and "Verification: OK" in verified.stdout, verified.stderr
    roots = timestamps.load_roots(tsa.ca_file)
    assert timestamps.token_problem(bytes(token.token), (proof / "1.json").read_bytes(),
                                    nonce=int(token.nonce), roots=roots) is None


def test_a_token_proves_only_its_own_checkpoint(signer, proof, tsa):
    record("a", actor="t")
    run(signer=signer, settings=ProofSettings(tsa_url=tsa.url))
    token = bytes(CheckpointTimestamp.get().token)
    data = checkpoints.file_bytes(Checkpoint.get())
    assert "imprint" in timestamps.token_problem(token, data + b" ")
    assert "nonce" in timestamps.token_problem(token, data, nonce=12345)
    later = utcnow() + dt.timedelta(hours=1)
    assert "before the checkpoint" in timestamps.token_problem(token, data, not_before=later)
    assert "cannot be read" in timestamps.token_problem(token[:-10], data)
    [other_root] = timestamps.load_roots(tsa.directory / "tsa.pem")  # not a root of this TSA
    assert "signature" in timestamps.token_problem(token, data, roots=[other_root])


def test_a_tsa_that_is_down_leaves_a_visible_gap_then_is_asked_again(signer, proof, tsa):
    settings = ProofSettings(directory=proof, tsa_url=tsa.url)
    tsa.down = True
    record("a", actor="t")
    result = run(signer=signer, settings=settings, clock=at("2026-04-01T00:00:00"))
    assert result.made.head_seq == 1 and (proof / "1.json").exists()
    assert [g.kind for g in result.gaps] == ["checkpoint.timestamp_failed"]
    assert "503" in result.gaps[0].reason
    assert CheckpointTimestamp.select().count() == 0 and not (proof / "1.tsr").exists()
    assert [e.kind for e in AuditEvent.select().order_by(AuditEvent.seq)] == [
        "a", "checkpoint.timestamp_failed"]

    # Still down: the failure event is sealed, but not reported again and again.
    run(signer=signer, settings=settings, clock=at("2026-04-01T00:10:00"))
    run(signer=signer, settings=settings, clock=at("2026-04-01T00:20:00"))
    assert AuditEvent.select().count() == 2 and Checkpoint.select().count() == 2

    tsa.down = False
    result = run(signer=signer, settings=settings, clock=at("2026-04-01T00:30:00"))
    assert result.made is None and sorted(result.tokens_fetched) == [1, 2]
    assert sorted(p.name for p in proof.iterdir()) == ["1.json", "1.tsr", "2.json", "2.tsr"]


def test_an_unreachable_tsa_is_a_gap_too(signer, proof):
    import socket
    with socket.socket() as s:  # a port nobody listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    record("a", actor="t")
    result = run(signer=signer, settings=ProofSettings(tsa_url=f"http://127.0.0.1:{port}/",
                                                       tsa_timeout=5))
    assert result.made is not None and "cannot be reached" in result.gaps[0].reason


def test_tokens_are_insert_only(signer, tsa):
    record("a", actor="t")
    run(signer=signer, settings=ProofSettings(tsa_url=tsa.url))
    with pytest.raises(Exception):
        CheckpointTimestamp.update(nonce="1").execute()


def test_the_file_is_written_atomically_and_synced(proof):
    proof.mkdir()
    assert publishing.write_file(proof, "7.json", b"{}\n") is True
    assert publishing.write_file(proof, "7.json", b"{}\n") is False  # same bytes: nothing to do
    with pytest.raises(publishing.FileConflict):
        publishing.write_file(proof, "7.json", b"[]\n")
    assert os.listdir(proof) == ["7.json"]
