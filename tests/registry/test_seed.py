"""`seed`: real signed certificates in bulk through the registry's bulk write path, which
applies a PUT's checks; resumable; `audit verify` holds every seeded row."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from registry.audit.chain import Event, chain_breaks, record, record_many
from registry.audit.integrity import verify_all
from registry.certificates.bulk import NewCertificate, accept_certificates
from registry.certificates.lookup import find_certificate
from registry.certificates.portfolio import OrganisationCertificate
from registry.demo.seed import (KEYS_FILE, SeedPlan, document, index_of, number_of, seed,
                                _signed, _surety)
from registry.demo.world import load_demo
from registry.errors import InvalidInput, InvalidSignature, RegistryError
from registry.models import AuditEvent, Certificate, Organisation, Revision

KAKUDA, SHIRAKO = "042081", "124249"


@pytest.fixture
def world(registry_db, hasher, tmp_path):
    load_demo(instance_path=str(tmp_path), hasher=hasher)
    return str(tmp_path)


def counts() -> dict:
    return {"certificates": Certificate.select().count(), "revisions": Revision.select().count(),
            "listed": OrganisationCertificate.select().count(),
            "audit": AuditEvent.select().count()}


def test_seeded_certificates_are_whole_and_pass_audit_verify(world, hasher):
    before = counts()
    result = seed(SeedPlan(KAKUDA, 30, revisions=3, sample=2, batch=7), instance_path=world,
                  hasher=hasher, processes=1)
    after = counts()
    assert (result.added, result.revisions, result.already) == (30, 90, 0)
    assert after["certificates"] - before["certificates"] == 30
    assert after["revisions"] - before["revisions"] == 90
    assert after["listed"] - before["listed"] == 30
    assert after["audit"] - before["audit"] == 90 + 1  # an acceptance each, and the seed's own
    assert list(chain_breaks()) == []
    checked, problems = verify_all()
    assert problems == [] and checked >= after["revisions"]
    cert = Certificate.get(Certificate.contract_number == number_of(KAKUDA, 29))
    # the summary columns mirror the current revision, as a PUT would leave them
    assert (cert.latest_revision, cert.current_revision, cert.current_kind) == (3, 3, "change")
    assert cert.guarantee_amount == document(cert.obligee, cert.contract_number, 29, 3)["guarantee_amount"]
    seeded = AuditEvent.select().where(AuditEvent.kind == "certificates.seeded").get()
    assert json.loads(seeded.details)["certificates"] == 30


def test_only_the_sample_opens_by_key_and_its_keys_are_printed_again_on_resume(world, hasher):
    result = seed(SeedPlan(KAKUDA, 5, sample=2), instance_path=world, hasher=hasher, processes=1)
    assert [n for n, _ in result.sample] == [number_of(KAKUDA, 0), number_of(KAKUDA, 1)]
    for number, key in result.sample:
        assert find_certificate(contract_number=number, auth_key=key, obligee_code=KAKUDA,
                                hasher=hasher).contract_number == number
    # the rest share a digest whose key was thrown away: no sample key opens them
    assert find_certificate(contract_number=number_of(KAKUDA, 4), auth_key=result.sample[0][1],
                            obligee_code=KAKUDA, hasher=hasher) is None
    again = seed(SeedPlan(KAKUDA, 5, sample=2), instance_path=world, hasher=hasher, processes=1)
    assert again.added == 0 and again.sample == result.sample
    assert os.stat(Path(world) / KEYS_FILE).st_mode & 0o777 == 0o600  # demo data, still a secret


def test_a_run_stopped_part_way_continues_where_the_last_batch_committed(world, hasher):
    plan = SeedPlan(KAKUDA, 23, batch=5, sample=1)
    batches = []

    def stop_after_two(n):
        batches.append(n)
        if len(batches) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        seed(plan, instance_path=world, hasher=hasher, processes=1, progress=stop_after_two)
    assert Certificate.select().where(Certificate.contract_number.startswith(
        number_of(KAKUDA, 0)[:6])).count() == 10
    resumed = seed(plan, instance_path=world, hasher=hasher, processes=1)
    assert (resumed.already, resumed.added) == (10, 13)
    numbers = [c.contract_number for c in Certificate.select().where(
        Certificate.obligee == Organisation.get(Organisation.code == KAKUDA).id,
        Certificate.contract_number.startswith(number_of(KAKUDA, 0)[:6]))]
    assert sorted(numbers) == [number_of(KAKUDA, i) for i in range(23)]
    assert verify_all()[1] == []


def test_worker_processes_give_the_same_certificates(world, hasher):
    seed(SeedPlan(SHIRAKO, 12, revisions=2, batch=4, sample=0), instance_path=world,
         hasher=hasher, processes=2)
    assert Certificate.select().where(Certificate.contract_number.startswith(
        number_of(SHIRAKO, 0)[:6])).count() == 12
    assert list(chain_breaks()) == [] and verify_all()[1] == []


@pytest.mark.parametrize("plan, message", [
    (SeedPlan("999999", 5), "999999"),
    (SeedPlan("EJCS", 5), "not an obligee"),
    (SeedPlan(KAKUDA, 0), "--certificates"),
    (SeedPlan(KAKUDA, 5, revisions=21), "--revisions"),
])
def test_bad_plans_are_refused_and_store_nothing(world, hasher, plan, message):
    before = counts()
    with pytest.raises(RegistryError) as refused:
        seed(plan, instance_path=world, hasher=hasher, processes=1)
    assert message in refused.value.detail
    assert counts() == before


def test_without_the_demo_world_the_seed_says_what_to_run(registry_db, hasher, tmp_path):
    with pytest.raises(InvalidInput, match="dsure-portal demo"):
        _surety(tmp_path)


def test_one_bad_signature_stores_nothing_of_its_batch(world, hasher):
    client, key, pem = _surety(Path(world))
    private_key = serialization.load_pem_private_key(pem, password=None)
    obligee = Organisation.get(Organisation.code == KAKUDA)
    batch = []
    for index in range(3):
        number = number_of(KAKUDA, index)
        body = _signed(private_key, key.key_id, document(obligee, number, index, 1))
        batch.append(NewCertificate(number, [body], "digest"))
    batch[2].bodies[0]["document"]["guarantee_amount"] += 1  # no longer what was signed
    before = counts()
    with pytest.raises(InvalidSignature):
        accept_certificates(client=client, key=key, obligee=obligee, certificates=batch,
                            listed=True)
    assert counts() == before


def test_numbers_are_fixed_per_obligee_and_read_back():
    assert number_of(KAKUDA, 0) == "80810-000000"
    assert number_of(KAKUDA, 1_234_567) == "80811-234567"
    assert index_of(KAKUDA, "80811-234567") == 1_234_567
    assert number_of(SHIRAKO, 0) != number_of(KAKUDA, 0)


def test_record_many_chains_exactly_as_record_does(registry_db):
    record("test.first", actor="t")
    record_many([Event("test.many", actor="t", contract_number=f"00000-00000{i}",
                       details={"i": i, "text": "改\n\"行\""}) for i in range(5)])
    record("test.last", actor="t")
    assert list(chain_breaks()) == []
    assert [e.seq for e in AuditEvent.select().order_by(AuditEvent.seq)] == list(range(1, 8))


def test_on_postgresql_the_loaded_tables_are_vacuumed_and_analysed(world, hasher):
    """So autovacuum does not start reading a million freshly inserted rows later, while
    the portal serves, and index-only scans need not visit the heap."""
    from registry.db import database, is_postgresql
    if not is_postgresql():
        pytest.skip("VACUUM after a bulk load is PostgreSQL's")
    seed(SeedPlan(KAKUDA, 5, sample=1), instance_path=world, hasher=hasher, processes=1)
    tables = ("certificate", "revision", "organisation_certificate", "audit_event")
    done = database.execute_sql(
        "SELECT relname FROM pg_stat_user_tables WHERE relname = ANY(%s) "
        "AND last_vacuum IS NOT NULL AND last_analyze IS NOT NULL", (list(tables),)).fetchall()
    assert sorted(name for (name,) in done) == sorted(tables)
