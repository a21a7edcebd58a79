import json
import threading

import pytest

from registry.certificates import ingest
from registry.errors import (InvalidDocument, InvalidSignature, NotYourCertificate,
                             ObligeeNotEnrolled, RevisionConflict, UnknownSigningKey, NotFound)
from registry.certificates.history import hidden_by, visible_revisions
from registry.audit.integrity import verify_all
from registry.models import AuditEvent, Certificate, Revision
from tests.factories import VECTOR_NAMES, World, make_document, next_revision, sign, vector


@pytest.fixture
def world(registry_db):
    return World()


def put(world, body, hasher, client=None):
    doc = body["document"]
    return ingest.accept_revision(client=client or world.client,
                                  contract_number=doc["contract_number"],
                                  number=doc["revision"], body=body, hasher=hasher)


def stored_state():
    return (Certificate.select().count(), Revision.select().count())


def last_event():
    return AuditEvent.select().order_by(AuditEvent.seq.desc()).first()


def test_revision_one_is_stored_with_a_fresh_auth_key(world, hasher):
    body = world.signed(make_document())
    accepted = put(world, body, hasher)
    assert accepted.created and len(accepted.auth_key) == 12
    revision = Revision.get()
    assert bytes(revision.canonical).startswith(b'{"contract_amount":50000000')
    cert = Certificate.get()
    assert accepted.auth_key not in cert.auth_key_digest
    assert hasher.matches(cert.auth_key_digest, accepted.auth_key)
    assert last_event().kind == "revision.accepted"


def test_the_same_signed_revision_again_is_an_idempotent_retry(world, hasher):
    body = world.signed(make_document())
    first = put(world, body, hasher)
    again = put(world, body, hasher)
    assert not again.created and again.auth_key is None
    assert again.revision.id == first.revision.id
    assert stored_state() == (1, 1)


def test_a_gap_in_revision_numbers_is_a_conflict(world, hasher):
    doc = make_document()
    put(world, world.signed(doc), hasher)
    skipped = next_revision(next_revision(doc, "change"), "change")
    with pytest.raises(RevisionConflict):
        put(world, world.signed(skipped), hasher)
    assert stored_state() == (1, 1)
    assert last_event().kind == "revision.refused"


def test_revision_two_before_revision_one_is_a_conflict(world, hasher):
    with pytest.raises(RevisionConflict):
        put(world, world.signed(next_revision(make_document(), "change")), hasher)
    assert stored_state() == (0, 0)


def test_a_different_document_under_a_stored_number_is_a_conflict(world, hasher):
    put(world, world.signed(make_document()), hasher)
    with pytest.raises(RevisionConflict):
        put(world, world.signed(make_document(guarantee_amount=19_000_000)), hasher)
    assert stored_state() == (1, 1)
    assert Certificate.get().guarantee_amount == 20_000_000


def test_a_document_changed_after_signing_is_refused(world, hasher):
    body = world.signed(make_document())
    body["document"]["guarantee_amount"] = 25_000_000
    with pytest.raises(InvalidSignature):
        put(world, body, hasher)
    assert stored_state() == (0, 0)
    assert "invalid_signature" in last_event().details


def test_a_key_of_another_surety_or_no_key_is_refused(world, hasher):
    doc = make_document()
    for body in (sign(doc, world.other_key.key_id, world.other_private_key),
                 sign(doc, "ejcs-unknown")):
        with pytest.raises(UnknownSigningKey):
            put(world, body, hasher)
    assert stored_state() == (0, 0)


def test_another_surety_cannot_revise_or_read_the_certificate(world, hasher):
    doc = make_document()
    put(world, world.signed(doc), hasher)
    theirs = next_revision(doc, "change", surety__code="WJCS")
    with pytest.raises(NotYourCertificate):
        put(world, sign(theirs, world.other_key.key_id, world.other_private_key), hasher,
            client=world.other_client)
    with pytest.raises(NotFound):
        ingest.own_certificate(world.other_client, doc["contract_number"])
    with pytest.raises(NotFound):
        ingest.reissue_auth_key(client=world.other_client, contract_number=doc["contract_number"],
                                hasher=hasher)
    assert stored_state() == (1, 1)


@pytest.mark.parametrize("overrides, field", [
    ({"surety__code": "WJCS"}, "surety.code"),
    ({"obligee__code": "131016"}, "obligee.code"),
    ({"guarantee_amount": 90_000_000}, "guarantee_amount"),
])
def test_invalid_documents_are_refused_naming_the_field(world, hasher, overrides, field):
    with pytest.raises(InvalidDocument) as caught:
        put(world, world.signed(make_document(**overrides)), hasher)
    assert field in {e["field"] for e in caught.value.errors}
    assert stored_state() == (0, 0)


def test_an_obligee_that_is_not_enrolled_is_refused(world, hasher):
    with pytest.raises(ObligeeNotEnrolled):
        put(world, world.signed(make_document(obligee__code="131016")), hasher)


@pytest.mark.parametrize("history, error_field", [
    # a change cancellation may only withdraw a change
    ([("change_cancellation", 1)], "supersedes"),
    # a correction may not name a revision that is already hidden
    ([("change", None), ("correction", 2), ("correction", 2)], "supersedes"),
    # product cannot change
    ([("change", None, {"product": "intermediate_advance_payment"})], "product"),
])
def test_revision_rules_are_enforced(world, hasher, history, error_field):
    doc = make_document()
    put(world, world.signed(doc), hasher)
    *accepted, refused = history
    for step in accepted:
        doc = next_revision(doc, step[0], step[1])
        put(world, world.signed(doc), hasher)
    before = stored_state()
    with pytest.raises(InvalidDocument) as caught:
        put(world, world.signed(next_revision(doc, refused[0], refused[1], **(refused[2] if len(refused) > 2 else {}))), hasher)
    assert error_field in {e["field"] for e in caught.value.errors}
    assert stored_state() == before


def test_a_cancellation_may_withdraw_the_correction_of_a_change(world, hasher):
    doc = make_document()
    revisions = [doc, next_revision(doc, "change", guarantee_amount=24_000_000)]
    revisions.append(next_revision(revisions[-1], "correction", 2, guarantee_amount=23_000_000))
    back = dict(doc, revision=4, kind="change_cancellation", supersedes=3)
    revisions.append(back)
    for d in revisions:
        put(world, world.signed(d), hasher)
    stored = list(Revision.select())
    assert hidden_by(stored) == {2: 3, 3: 4}
    assert [r.number for r in visible_revisions(stored)] == [1, 4]
    assert Certificate.get().guarantee_amount == 20_000_000


def test_the_independent_vectors_are_accepted_and_give_the_documented_history(world, hasher):
    for name in VECTOR_NAMES:
        body = vector(name, world.key.key_id)
        assert put(world, body, hasher).created
        canonical = (body["document"]["contract_number"], body["document"]["revision"])
        expected = (world_vector_canonical(name))
        stored = Revision.select().join(Certificate).where(
            Certificate.contract_number == canonical[0], Revision.number == canonical[1]).get()
        assert bytes(stored.canonical) == expected
    advance = Certificate.get(Certificate.contract_number == "10001-000001")
    revisions = list(advance.revisions)
    assert [r.number for r in visible_revisions(revisions)] == [1, 4]
    assert hidden_by(revisions) == {2: 3, 3: 4}
    bookkeeping = ("revision", "kind", "supersedes", "issued_on")
    first, cancelled = (json.loads(bytes(revisions[i].canonical)) for i in (0, 3))
    assert {k: v for k, v in first.items() if k not in bookkeeping} == \
        {k: v for k, v in cancelled.items() if k not in bookkeeping}
    assert advance.current_revision == 4 and advance.guarantee_amount == 20_000_000
    jv = Certificate.get(Certificate.contract_number == "10001-000002")
    assert jv.principal_name == "角田・仙南特定建設工事共同企業体" and jv.product == "contract"
    assert verify_all() == (AuditEvent.select().count(), [])


def world_vector_canonical(name):
    from tests.factories import VECTORS
    return (VECTORS / f"{name}.canonical").read_bytes()


def test_a_reissued_key_replaces_the_old_one(world, hasher):
    first = put(world, world.signed(make_document()), hasher)
    new_key = ingest.reissue_auth_key(client=world.client, contract_number="30001-000001",
                                      hasher=hasher)
    cert = Certificate.get()
    assert hasher.matches(cert.auth_key_digest, new_key)
    assert not hasher.matches(cert.auth_key_digest, first.auth_key)
    assert last_event().kind == "auth_key.reissued" and new_key not in last_event().details


def run_together(functions):
    errors = []
    barrier = threading.Barrier(len(functions))

    def run(fn):
        barrier.wait()
        try:
            fn()
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(fn,)) for fn in functions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_concurrent_identical_revisions_store_one(world, hasher):
    body = world.signed(make_document())
    results = []
    errors = run_together([lambda: results.append(put(world, body, hasher))] * 20)
    assert errors == []
    assert sorted(r.created for r in results) == [False] * 19 + [True]
    assert stored_state() == (1, 1)


def test_concurrent_writers_of_different_certificates_keep_the_chain_intact(world, hasher):
    bodies = [world.signed(make_document(contract_number=f"30001-00010{i}")) for i in range(8)]
    errors = run_together([lambda b=b: put(world, b, hasher) for b in bodies])
    assert errors == []
    count, problems = verify_all()
    assert problems == [] and stored_state() == (8, 8)
    assert [e.seq for e in AuditEvent.select().order_by(AuditEvent.seq)] == list(range(1, count + 1))
