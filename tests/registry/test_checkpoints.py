"""Signed checkpoints of the audit chain: daily ones on the first entry of a JST day,
manual ones, and proving that the log still extends one after a rewrite."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from registry import checkpoints
from registry.audit import chain_breaks, record
from registry.checkpoints import Checkpoint, PlatformSigner, check, configure_checkpoints, write_checkpoint
from registry.models import AuditEvent
from tests.tampering import rewrite_audit_entry


def at(text: str):
    moment = dt.datetime.fromisoformat(text)
    return lambda: moment


@pytest.fixture
def signer(registry_db):
    signer = PlatformSigner(Ed25519PrivateKey.generate())
    configure_checkpoints(signer)
    yield signer
    configure_checkpoints(None)


def test_the_first_entry_of_a_new_jst_day_seals_the_previous_day(signer):
    record("a", actor="t", clock=at("2026-04-01T03:00:00"))   # JST 04-01 12:00
    record("b", actor="t", clock=at("2026-04-01T14:59:59"))   # JST 04-01 23:59:59
    assert Checkpoint.select().count() == 0
    record("c", actor="t", clock=at("2026-04-01T15:00:00"))   # JST 04-02 00:00: new day
    record("d", actor="t", clock=at("2026-04-01T20:00:00"))   # same JST day
    [cp] = Checkpoint.select()
    doc = json.loads(cp.document)
    assert (cp.reason, cp.head_seq, doc["head_seq"], doc["entries"]) == ("daily", 2, 2, 2)
    assert doc["head_hash"] == AuditEvent.get(AuditEvent.seq == 2).entry_hash
    assert doc["sealed_day_jst"] == "2026-04-01"
    assert doc["created_at"] == "2026-04-01T15:00:00.000000Z"
    assert check(doc, trusted_public_key=signer.public_key_raw).ok


def test_a_new_utc_day_within_one_jst_day_writes_nothing(signer):
    record("a", actor="t", clock=at("2026-04-01T23:59:00"))   # JST 04-02 08:59
    record("b", actor="t", clock=at("2026-04-02T00:01:00"))   # JST 04-02 09:01
    assert Checkpoint.select().count() == 0


def test_no_checkpoint_without_a_configured_key(registry_db):
    configure_checkpoints(None)
    record("a", actor="t", clock=at("2026-04-01T03:00:00"))
    record("b", actor="t", clock=at("2026-04-03T03:00:00"))
    assert Checkpoint.select().count() == 0


def test_a_failing_signer_never_loses_the_event(registry_db):
    class Broken(PlatformSigner):
        def sign(self, data):
            raise RuntimeError("HSM unreachable")
    configure_checkpoints(Broken(Ed25519PrivateKey.generate()))
    try:
        record("a", actor="t", clock=at("2026-04-01T03:00:00"))
        record("b", actor="t", clock=at("2026-04-03T03:00:00"))
    finally:
        configure_checkpoints(None)
    assert AuditEvent.select().count() == 2 and Checkpoint.select().count() == 0
    assert list(chain_breaks()) == []


def test_manual_checkpoint_of_an_empty_log_is_none(signer):
    assert write_checkpoint(signer=signer) is None


def test_a_checkpoint_is_signed_and_names_the_head(signer):
    for kind in "abc":
        record(kind, actor="t")
    cp = write_checkpoint(signer=signer, clock=at("2026-04-01T00:00:00"))
    doc = checkpoints.parse(cp.document)
    assert (doc["entries"], doc["head_seq"], doc["reason"]) == (3, 3, "manual")
    assert doc["key_fingerprint"] == signer.fingerprint
    assert "BEGIN PUBLIC KEY" in doc["public_key_pem"]
    assert check(doc, trusted_public_key=signer.public_key_raw).ok


def test_an_edited_checkpoint_fails_its_signature(signer):
    record("a", actor="t")
    record("b", actor="t")
    doc = checkpoints.parse(write_checkpoint(signer=signer).document)
    forged = dict(doc, head_seq=1, head_hash=AuditEvent.get(AuditEvent.seq == 1).entry_hash)
    assert check(forged).problem == "checkpoint signature does not verify"


def test_a_checkpoint_signed_by_another_key_is_refused(signer):
    record("a", actor="t")
    other = PlatformSigner(Ed25519PrivateKey.generate())
    doc = checkpoints.parse(write_checkpoint(signer=other).document)
    assert check(doc).ok  # genuine for its own key...
    result = check(doc, trusted_public_key=signer.public_key_raw)
    assert not result.ok and "not this platform's" in result.problem  # ...but not ours


def test_a_rewrite_with_every_hash_recomputed_passes_the_chain_but_not_the_checkpoint(signer):
    for n in range(5):
        record("lookup.failed", actor="user:1", details={"n": n})
    doc = checkpoints.parse(write_checkpoint(signer=signer).document)
    record("later", actor="t")

    rewrite_audit_entry(2, details='{"n":99}')

    assert list(chain_breaks()) == []  # self-consistent again
    result = check(doc, trusted_public_key=signer.public_key_raw)
    assert not result.ok
    assert result.problem.startswith("audit entry 5:")


def test_the_log_may_grow_after_a_checkpoint(signer):
    record("a", actor="t")
    doc = checkpoints.parse(write_checkpoint(signer=signer).document)
    for kind in "bcd":
        record(kind, actor="t")
    assert check(doc, trusted_public_key=signer.public_key_raw).ok


def test_parse_refuses_what_is_not_a_checkpoint():
    for data in (b"not json", b"[]", b'{"format": "other"}',
                 json.dumps({"format": checkpoints.FORMAT, "head_seq": "1"}).encode()):
        with pytest.raises(ValueError):
            checkpoints.parse(data)


def test_checkpoints_are_insert_only(signer):
    record("a", actor="t")
    write_checkpoint(signer=signer)
    with pytest.raises(Exception):
        Checkpoint.update(head_seq=7).execute()


def test_the_platform_key_file_is_made_once_and_kept_private(tmp_path):
    path = tmp_path / "instance" / "platform-signing-key.pem"
    first = PlatformSigner.from_file(path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert PlatformSigner.from_file(path).public_key_raw == first.public_key_raw
    with pytest.raises(FileNotFoundError):
        PlatformSigner.from_file(tmp_path / "missing.pem", create=False)
