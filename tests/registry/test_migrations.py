"""Versioned migrations (DESIGN §11): a database made by the release before migrations
(commit c4b2047, fixtures in tests/fixtures/c4b2047) upgrades to the current schema on
both engines without a stored byte changing; init-db is the same as upgrading from
nothing; running it twice changes nothing; the models and the migrated schema agree."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import psycopg
import pytest

from registry.audit import checkpoints, integrity
from registry import migrations
from registry.certificates.auth_keys import AuthKeyHasher
from registry.db import database, open_database
from registry.certificates.lookup import find_certificate
from registry.models import AuditEvent, Revision
from registry.schema import all_models, create_schema

OLD_RELEASE = Path(__file__).parent.parent / "fixtures" / "c4b2047"


def _engine(url: str) -> str:
    return "postgresql" if url.startswith("postgresql") else "sqlite"


@pytest.fixture
def old_release(database_url):
    """The bound database as the c4b2047 release left it after `init-db`, `demo`, a
    staff lookup and `audit checkpoint`; yields the fixture folder of that engine."""
    engine = _engine(database_url)
    folder = OLD_RELEASE / engine
    if engine == "sqlite":
        shutil.copyfile(folder / "dsure.sqlite3", database_url[len("sqlite:///"):])
    else:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute((folder / "dump.sql").read_text())
    db = open_database(database_url)
    yield folder
    db.close_all()


def _evidence() -> dict:
    """Every stored revision byte, signature and audit entry, as stored."""
    revisions = [(r.certificate_id, r.number, bytes(r.canonical), bytes(r.signature),
                  r.arrived_at, r.signing_key_id, r.kind, r.supersedes)
                 for r in Revision.select().order_by(Revision.id)]
    events = [(e.seq, e.occurred_at, e.kind, e.actor, e.details, e.prev_hash, e.entry_hash)
              for e in AuditEvent.select().order_by(AuditEvent.seq)]
    return {"revisions": revisions, "events": events}


def _schema_shape() -> dict:
    tables = sorted(database.get_tables())
    return {t: sorted((c.name, c.data_type, c.null) for c in database.get_columns(t))
            for t in tables}


def test_an_old_release_database_upgrades_without_a_byte_changing(old_release):
    before = _evidence()
    assert migrations.current_version() == 0  # made before migrations existed

    result = create_schema()

    assert result.adopted and migrations.current_version() == migrations.head_version()
    after = _evidence()
    assert after["revisions"] == before["revisions"]
    assert after["events"][:len(before["events"])] == before["events"]
    count, problems = integrity.verify_all()
    assert problems == [] and count == len(after["events"])


def test_the_old_release_checkpoint_still_proves_the_upgraded_log(old_release):
    create_schema()
    signer = checkpoints.PlatformSigner.from_file(old_release / "platform-signing-key.pem",
                                                  create=False)
    document = checkpoints.parse((old_release / "checkpoint.json").read_bytes())
    assert checkpoints.check(document, trusted_public_key=signer.public_key_raw).ok


def test_the_demo_number_and_key_still_open_the_certificate_after_upgrade(old_release):
    create_schema()
    keys = json.loads((old_release / "demo-auth-keys.json").read_text())
    hasher = AuthKeyHasher(pepper=(old_release / "key_pepper").read_text().strip().encode())
    found = find_certificate(contract_number="２０００１－０００００１",
                             auth_key=keys["20001-000001"], obligee_code="042081", hasher=hasher)
    assert found is not None and found.contract_number == "20001-000001"
    assert find_certificate(contract_number="20001-000001", auth_key="ABCDEFGHJKMN",
                            obligee_code="042081", hasher=hasher) is None


def test_upgrading_an_old_database_is_in_the_trail(old_release):
    events_before = AuditEvent.select().count()
    result = create_schema()
    [upgraded] = AuditEvent.select().where(AuditEvent.kind == "schema.upgraded")
    details = json.loads(upgraded.details)
    assert details["from_version"] == 1 and details["to_version"] == migrations.head_version()
    assert details["applied"] == list(result.applied)
    assert len(result.applied) == details["to_version"] - 1
    assert AuditEvent.select().count() == events_before + 1


def test_upgrading_twice_changes_nothing(registry_db):
    shape, evidence = _schema_shape(), _evidence()
    again = create_schema()
    assert not again.changed and again.applied == ()
    assert _schema_shape() == shape and _evidence() == evidence
    assert migrations.applied_versions() == list(range(1, migrations.head_version() + 1))


def test_init_db_from_nothing_records_every_version_and_audits_nothing(database_url):
    db = open_database(database_url)
    try:
        result = create_schema()
        assert result.before == 0 and not result.adopted
        assert migrations.applied_versions() == list(range(1, migrations.head_version() + 1))
        assert AuditEvent.select().count() == 0
    finally:
        db.close_all()


def test_every_model_matches_the_migrated_schema(registry_db):
    """A model changed without a migration (or a migration without its model) fails here."""
    for model in all_models():
        table = model._meta.table_name
        assert database.table_exists(table), f"no migration creates {table}"
        columns = {c.name: c for c in database.get_columns(table)}
        fields = {f.column_name: f for f in model._meta.sorted_fields}
        assert set(columns) == set(fields), f"{table}: columns {sorted(columns)} != model {sorted(fields)}"
        for name, field in fields.items():
            assert columns[name].null == field.null, f"{table}.{name}: nullability differs"
    modelled = {m._meta.table_name for m in all_models()} | {migrations.VERSION_TABLE}
    assert set(database.get_tables()) == modelled


def test_evidence_tables_stay_insert_only_after_upgrade(old_release):
    create_schema()
    with pytest.raises(Exception, match="immutable"):
        with database.atomic():
            AuditEvent.update(actor="someone else").where(AuditEvent.seq == 1).execute()


def test_a_half_made_old_database_is_refused_not_guessed(database_url):
    db = open_database(database_url)
    try:
        database.execute_sql('CREATE TABLE "organisation" ("id" INTEGER PRIMARY KEY)')
        with pytest.raises(migrations.SchemaRefused, match="refusing to guess"):
            create_schema()
        assert migrations.applied_versions() == []
    finally:
        db.close_all()
