"""Signed checkpoints of the audit chain: made once the interval has passed and the log
has grown, one at a time, and proving that the log still extends one after a rewrite."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from registry.audit import checkpoints
from registry.audit.chain import chain_breaks, record
from registry.audit.checkpoints import Checkpoint, PlatformSigner, check, write_checkpoint
from registry.models import AuditEvent
from tests.tampering import rewrite_audit_entry


def at(text: str):
    moment = dt.datetime.fromisoformat(text)
    return lambda: moment


@pytest.fixture
def signer(registry_db):
    return PlatformSigner(Ed25519PrivateKey.generate())


def test_a_checkpoint_waits_for_the_interval_and_for_new_entries(signer):
    def due_at(text):
        return write_checkpoint(signer=signer, reason="interval", interval=600, clock=at(text))
    record("a", actor="t")
    first = due_at("2026-04-01T00:00:00")
    assert (first.reason, first.head_seq) == ("interval", 1)
    record("b", actor="t")
    assert due_at("2026-04-01T00:09:59") is None          # younger than the interval
    second = due_at("2026-04-01T00:10:00")
    assert second.head_seq == 2
    assert due_at("2026-04-01T05:00:00") is None          # nothing new since
    assert Checkpoint.select().count() == 2


def test_two_instances_making_the_same_checkpoint_make_one(signer, database_url):
    """Each asks in its own thread and connection; the write lock lets one through and
    the other then sees its checkpoint."""
    import threading
    record("a", actor="t")
    barrier, made = threading.Barrier(2), []

    def instance():
        barrier.wait()
        made.append(write_checkpoint(signer=signer, reason="interval", interval=600))

    threads = [threading.Thread(target=instance) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Checkpoint.select().count() == 1
    assert sorted(m is None for m in made) == [False, True]


def test_a_failing_signer_never_loses_the_event(registry_db):
    class Broken(PlatformSigner):
        def sign(self, data):
            raise RuntimeError("HSM unreachable")
    record("a", actor="t")
    with pytest.raises(RuntimeError):
        write_checkpoint(signer=Broken(Ed25519PrivateKey.generate()), reason="interval", interval=600)
    assert AuditEvent.select().count() == 1 and Checkpoint.select().count() == 0
    assert list(chain_breaks()) == []


def test_manual_checkpoint_of_an_empty_log_is_none(signer):
    assert write_checkpoint(signer=signer) is None


def test_a_checkpoint_is_signed_and_names_the_head(signer):
    for kind in "abc":
        record(kind, actor="t")
    cp = write_checkpoint(signer=signer, clock=at("2026-04-01T00:00:00"))
    doc = checkpoints.parse(checkpoints.file_bytes(cp))
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
    doc = checkpoints.parse(write_checkpoint(signer=other, force=True).document)
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
