"""The certificate page remembers what it verified, by the digest of the exact bytes
(issue 11 §3); `audit verify` never does."""
from __future__ import annotations

import pytest

from registry.audit.integrity import verify_all
from registry.certificates import ingest, signatures, verification
from registry.certificates.verification import RememberedChecks, history_of, verify_revision
from registry.models import Certificate
from tests.factories import World, make_document
from tests.tampering import change_revision_bytes


@pytest.fixture
def stored(registry_db, hasher):
    world = World()
    doc = make_document()
    ingest.accept_revision(client=world.client, contract_number=doc["contract_number"],
                           number=1, body=world.signed(doc), hasher=hasher)
    verification.remembered.forget()
    yield Certificate.get(Certificate.contract_number == doc["contract_number"])
    verification.remembered.forget()


@pytest.fixture
def checks(monkeypatch):
    """The list of (canonical bytes) that were really verified, not remembered."""
    done = []
    real = verification.check_stored

    def counting(key, canonical, signature):
        done.append(canonical)
        return real(key, canonical, signature)
    monkeypatch.setattr(verification, "check_stored", counting)
    return done


def current(cert):
    return history_of(cert).current


def test_unchanged_bytes_are_verified_once_per_process(stored, checks):
    first = verify_revision(stored, current(stored))
    second = verify_revision(stored, current(stored))
    assert first == second and first.intact
    assert len(checks) == 1


def test_a_byte_changed_on_disk_is_verified_again_and_fails(stored, checks):
    assert verify_revision(stored, current(stored)).intact
    revision = current(stored)
    tampered = bytes(revision.canonical).replace(b"20000000", b"90000000")
    change_revision_bytes(revision.id, tampered)
    after = verify_revision(stored, current(stored))
    assert not after.intact and not after.signature_valid
    assert checks == [bytes(revision.canonical), tampered]


def test_audit_verify_never_asks_the_memory(stored, monkeypatch):
    """Even a memory that wrongly holds the tampered bytes as intact fools only the page."""
    revision = current(stored)
    tampered = bytes(revision.canonical).replace(b"20000000", b"90000000")
    change_revision_bytes(revision.id, tampered)
    key = bytes(revision.signing_key.public_key)
    lie = signatures.StoredCheck(signature_valid=True, canonical=True)
    verification.remembered._checks[
        RememberedChecks.digest(key, tampered, bytes(revision.signature))] = lie
    assert verify_revision(stored, current(stored)).intact  # the page trusts its memory
    problems = verify_all()[1]
    assert any("30001-000001/1" in p and "signature" in p for p in problems), problems


def test_the_memory_is_bounded_and_forgets_the_least_recently_used(monkeypatch):
    monkeypatch.setattr(verification, "check_stored",
                        lambda k, c, s: signatures.StoredCheck(True, True))
    memory = RememberedChecks(size=3)
    for n in range(3):
        memory.check(b"k", bytes([n]), b"s")
    memory.check(b"k", bytes([0]), b"s")       # 0 used again: 1 is now the oldest
    memory.check(b"k", bytes([3]), b"s")
    assert len(memory) == 3
    kept = {RememberedChecks.digest(b"k", bytes([n]), b"s") for n in (0, 2, 3)}
    assert set(memory._checks) == kept


def test_the_parts_are_length_prefixed():
    """Moving a byte from the document to the signature is a different triple."""
    assert RememberedChecks.digest(b"k", b"ab", b"c") != RememberedChecks.digest(b"k", b"a", b"bc")
