"""Keyset paging of the organisation's list (issue 11 §2): the order with ties, the
next/previous/last round trips, a certificate updated moving to the front, the count's
cap, the substring search's window, and the sort key filled by migration 10. No Flask."""
import datetime as dt

import pytest

from registry.certificates import keyset, portfolio
from registry.certificates.portfolio import OrganisationCertificate
from registry.db import database
from registry.models import Certificate
from registry.schema import create_schema
from tests.factories import make_document, next_revision
from tests.registry.test_migrations import old_release  # noqa: F401 - the fixture
from tests.registry.test_portfolio import post, staff, world  # noqa: F401 - fixtures

AT = dt.datetime(2026, 4, 1, 1, 0)


@pytest.fixture
def tied(world, hasher):  # noqa: F811
    """60 certificates on 角田市's list: 0-39 stored at one moment, 40-59 a minute apart."""
    user = staff("a@kakuda.example.jp")
    for i in range(60):
        at = AT if i < 40 else AT + dt.timedelta(minutes=i)
        cert = post(world, hasher, make_document(contract_number=f"40001-{i:06d}",
                                                 work__name=f"工事{i:02d}号"), at=at).certificate
        portfolio.add_to_list(organisation_id=user.organisation.id, certificate_id=cert.id,
                              user_id=user.id)
    return user


def page(user, position=keyset.FIRST, **search):
    return portfolio.list_page(organisation_id=user.organisation.id, user_id=user.id,
                               position=position, search=portfolio.Search(**search))


def numbers(p):
    return [item.certificate.contract_number for item in p.items]


def walk(user, start, step, **search):
    """Every page from ``start`` following ``step`` ("next" or "prev")."""
    pages, position = [], start
    while position is not None:
        current = page(user, position, **search)
        pages.append(numbers(current))
        position = getattr(current, step)
        assert len(pages) < 10, "the walk does not end"
    return pages


def test_a_cursor_is_a_readable_token_and_anything_else_is_the_first_page():
    cursor = keyset.Cursor(dt.datetime(2026, 4, 1, 1, 2, 3, 456), 42)
    assert cursor.token == "20260401010203000456-42"
    assert keyset.parse(cursor.token) == cursor
    for bad in ("", None, "42", "2026-04-01-42", "20261301010203000456-42",
                "20260401010203000456-", "20260401010203000456-42\n", "x" * 500,
                "00000000000000000000-1", "20260401010203000456-" + "9" * 40):
        assert keyset.parse(bad) is None
        assert keyset.position(after=bad) in ((keyset.FIRST, True), (keyset.FIRST, False))
    assert keyset.position(after=cursor.token) == (keyset.Position(after=cursor), False)
    assert keyset.position(before="nonsense") == (keyset.FIRST, True)
    assert keyset.position(last=True, after="nonsense") == (keyset.Position(last=True), False)


def test_ties_in_updated_at_page_by_id_with_nothing_lost_or_repeated(tied):
    forward = walk(tied, keyset.FIRST, "next")
    assert [len(p) for p in forward] == [25, 25, 10]
    everything = [n for p in forward for n in p]
    # Newest first; within the 40 stored at one moment, the later stored (higher id) first.
    assert everything == [f"40001-{i:06d}" for i in range(59, -1, -1)]
    backward = walk(tied, keyset.Position(last=True), "prev")
    assert [n for p in reversed(backward) for n in p] == everything
    assert [len(p) for p in backward] == [25, 25, 10]  # the last page is full, the first short


def test_next_then_prev_comes_back_to_the_same_page(tied):
    first = page(tied)
    second = page(tied, first.next)
    third = page(tied, second.next)
    assert third.next is None and page(tied, third.prev).items == second.items
    assert page(tied, second.prev).items == first.items
    assert page(tied, second.prev).prev is None  # back on the first page: no newer ones


def test_a_certificate_updated_moves_to_the_front(tied, world, hasher):  # noqa: F811
    doc = make_document(contract_number="40001-000003", work__name="工事03号")
    post(world, hasher, next_revision(doc, "change", guarantee_amount=30_000_000),
         at=AT + dt.timedelta(days=1))
    assert numbers(page(tied))[:2] == ["40001-000003", "40001-000059"]
    stored = Certificate.get(Certificate.contract_number == "40001-000003")
    listing = OrganisationCertificate.get(OrganisationCertificate.certificate == stored.id)
    assert listing.certificate_updated_at == stored.updated_at == AT + dt.timedelta(days=1)
    assert numbers(page(tied, date_from=dt.date(2026, 4, 2))) == ["40001-000003"]


def test_the_count_stops_at_the_cap(tied, monkeypatch):
    assert page(tied).total == 60 and not page(tied).over_cap
    monkeypatch.setattr(portfolio, "COUNT_CAP", 50)
    assert page(tied).total == 51 and page(tied).over_cap
    assert page(tied, text="工事0").total == 10  # under the cap: exact


def test_a_substring_search_reads_a_window_and_says_where_to_go_on(tied, monkeypatch):
    monkeypatch.setattr(portfolio, "SEARCH_WINDOW", 20)
    # 工事0x: ids 0-9, the oldest; the first window holds 59…40 only.
    first = page(tied, text="工事0")
    assert first.items == [] and first.counted_in_window and first.total == 0
    assert first.search_on.after.certificate_id == Certificate.get(
        Certificate.contract_number == "40001-000040").id
    on = page(tied, first.search_on, text="工事0")
    assert numbers(on) == [] and on.search_on is not None
    found = page(tied, on.search_on, text="工事0")
    assert numbers(found) == [f"40001-{i:06d}" for i in range(9, -1, -1)]
    assert found.search_on is None and found.next is None
    # Without a window limit it is one page.
    monkeypatch.setattr(portfolio, "SEARCH_WINDOW", 10_000)
    assert numbers(page(tied, text="工事0")) == numbers(found)


def test_migration_10_fills_the_sort_key_from_the_certificate(old_release):  # noqa: F811
    create_schema()
    rows = list(OrganisationCertificate.select(OrganisationCertificate, Certificate)
                .join(Certificate, on=(OrganisationCertificate.certificate == Certificate.id)))
    assert rows and all(r.certificate_updated_at == r.certificate.updated_at for r in rows)
    columns = {c.name: c for c in database.get_columns("organisation_certificate")}
    assert not columns["certificate_updated_at"].null
    indexes = {i.name: i.columns for i in database.get_indexes("organisation_certificate")}
    assert indexes["organisation_certificate_list_order"] == [
        "organisation_id", "certificate_updated_at", "certificate_id"]
