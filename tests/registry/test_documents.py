import pytest

from registry.certificates.documents import parse_document
from registry.errors import InvalidDocument
from registry.accounts.obligee_codes import is_valid_obligee_code
from tests.factories import make_document


def fields_of(exc: InvalidDocument) -> set[str]:
    return {e["field"] for e in exc.errors}


def test_a_valid_document_parses():
    doc = parse_document(make_document())
    assert doc.guarantee_amount == 20_000_000 and doc.obligee.code == "042081"


def test_a_contract_guarantee_to_a_jv_parses_without_a_deposit_bank():
    doc = parse_document(make_document(product="contract", deposit_bank=...,
                                       principal__jv_name="角田・仙南JV",
                                       principal__jv_members=["A建設", "B工業"]))
    assert doc.deposit_bank is None and list(doc.principal.jv_members) == ["A建設", "B工業"]


@pytest.mark.parametrize("overrides, field", [
    ({"colour": "red"}, "colour"),
    ({"work__budget": 1}, "work.budget"),
    ({"issued_on": "2026-02-30"}, "issued_on"),
    ({"issued_on": "2026/04/01"}, "issued_on"),
    ({"work__contract_date": 20260325}, "work.contract_date"),
    ({"contract_amount": 0}, "contract_amount"),
    ({"guarantee_amount": -5}, "guarantee_amount"),
    ({"guarantee_amount": "20000000"}, "guarantee_amount"),
    ({"guarantee_amount": 20000000.5}, "guarantee_amount"),
    ({"guarantee_amount": 60_000_000}, "guarantee_amount"),
    ({"work__period_end": "2026-03-01"}, "work.period_end"),
    ({"guarantee_period__end": "2026-03-31"}, "guarantee_period.end"),
    ({"deposit_bank": ...}, "deposit_bank"),
    ({"deposit_bank": None}, "deposit_bank"),
    ({"product": "contract"}, "deposit_bank"),
    ({"product": "bid_bond"}, "product"),
    ({"contract_number": "3000100001"}, "contract_number"),
    ({"contract_number": "３0001-000001"}, "contract_number"),
    ({"obligee__code": "042082"}, "obligee.code"),
    ({"obligee__code": "42081"}, "obligee.code"),
    ({"kind": "change"}, "kind"),
    ({"revision": 2}, "kind"),
    ({"kind": "mystery"}, "kind"),
    ({"supersedes": 1}, "supersedes"),
    ({"surety__code": "ejcs"}, "surety.code"),
    ({"principal__name": ""}, "principal.name"),
    ({"principal__name": "　 "}, "principal.name"),   # blanks only, full-width too
    ({"deposit_bank": " "}, "deposit_bank"),
    ({"product": "contract", "deposit_bank": None}, "deposit_bank"),
    ({"principal__jv_members": ["A建設"]}, "principal.jv_name"),
    ({"principal__jv_name": "JV", "principal__jv_members": ["A建設"]}, "principal.jv_members"),
    ({"obligee": ...}, "obligee"),
])
def test_each_broken_rule_names_its_field(overrides, field):
    with pytest.raises(InvalidDocument) as caught:
        parse_document(make_document(**overrides))
    assert field in fields_of(caught.value)


def test_a_correction_must_name_an_earlier_revision():
    with pytest.raises(InvalidDocument) as caught:
        parse_document(make_document(revision=2, kind="correction", supersedes=2))
    assert fields_of(caught.value) == {"supersedes"}
    with pytest.raises(InvalidDocument) as caught:
        parse_document(make_document(revision=2, kind="correction", supersedes=None))
    assert fields_of(caught.value) == {"supersedes"}


def test_a_document_that_is_not_an_object_is_refused():
    with pytest.raises(InvalidDocument):
        parse_document(["not", "a", "document"])


@pytest.mark.parametrize("code", ["042081", "124249", "122246", "203629", "102083", "131016"])
def test_real_obligee_codes_have_valid_check_digits(code):
    assert is_valid_obligee_code(code)


@pytest.mark.parametrize("code", ["042080", "124240", "12224", "1222466", "abcdef", "０４２０８１"])
def test_wrong_obligee_codes_are_refused(code):
    assert not is_valid_obligee_code(code)
