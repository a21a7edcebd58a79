"""accept_revision under any input (Hypothesis, both databases): any key_id, any top-level
field name, any revision number, any text in a signed document is either stored or
refused with a RegistryError naming the field, audited as revision.refused, with nothing
else written -- never another exception (which the API would answer with a 500)."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.certificates import ingest
from registry.errors import InvalidDocument, RegistryError
from registry.audit.integrity import verify_all
from registry.models import AuditEvent, Certificate, Revision
from tests.factories import World, make_document

EXAMPLES = settings(max_examples=50, derandomize=True, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=30)
NUMBER = "30001-000001"


@pytest.fixture
def world(registry_db):
    return World()


def _refused(world, hasher, *, body, number=1, contract_number=NUMBER) -> RegistryError:
    events = AuditEvent.select().count()
    with pytest.raises(RegistryError) as refused:
        ingest.accept_revision(client=world.client, contract_number=contract_number,
                               number=number, body=body, hasher=hasher)
    added = list(AuditEvent.select().order_by(AuditEvent.seq).offset(events))
    assert [e.kind for e in added] == ["revision.refused"]
    assert (Certificate.select().count(), Revision.select().count()) == (0, 0)
    return refused.value


@pytest.mark.parametrize("key_id", ["\ud800", "a\x00", "\udfff\udfff"])
def test_a_key_id_no_text_may_hold_is_named(world, hasher, key_id):
    body = {**world.signed(make_document()), "key_id": key_id}
    refused = _refused(world, hasher, body=body)
    assert isinstance(refused, InvalidDocument)
    assert refused.errors == [{"field": "key_id", "message": refused.errors[0]["message"]}]


def test_a_field_name_that_is_a_lone_surrogate_is_named_escaped(world, hasher):
    body = {"\ud800": 1, **world.signed(make_document())}
    refused = _refused(world, hasher, body=body)
    assert [e["field"] for e in refused.errors] == ["\\ud800"]
    assert '"fields":["\\\\ud800"]' in AuditEvent.select().order_by(AuditEvent.seq.desc()).first().details


@pytest.mark.parametrize("number", [0, 10_000, 2**53 - 1, 2**53, 2**64, 10**30])
def test_a_revision_number_out_of_range_is_refused_and_audited(world, hasher, number):
    refused = _refused(world, hasher, body=world.signed(make_document()), number=number)
    assert [e["field"] for e in refused.errors] == ["n"]
    assert verify_all()[1] == []


@pytest.mark.parametrize("text", ["a\x00b", "a\u202eb", "a\u2066b", "a\nb", "a\x85b"])
def test_a_signed_document_with_a_control_or_bidi_character_is_refused(world, hasher, text):
    refused = _refused(world, hasher, body=world.signed(make_document(principal__name=text)))
    assert [e["field"] for e in refused.errors] == ["principal.name"]


@given(key_id=ANY_TEXT, field=ANY_TEXT, text=ANY_TEXT,
       number=st.integers(min_value=-2**70, max_value=2**70))
@EXAMPLES
def test_any_body_is_stored_or_refused_naming_a_field(world, hasher, key_id, field, text, number):
    body = {**world.signed(make_document(work__location=text)), field: text}
    if key_id:
        body["key_id"] = key_id
    try:
        ingest.accept_revision(client=world.client, contract_number=NUMBER, number=number,
                               body=body, hasher=hasher)
    except RegistryError as refused:
        assert refused.detail
    refusal = AuditEvent.select().order_by(AuditEvent.seq.desc()).first()
    assert refusal.kind in ("revision.refused", "revision.accepted")
