"""Numbers and dates at and past their ends, at the registry's layer: the audit trail's
filter and paging, and the staff list's date range answer, never overflow."""
from __future__ import annotations

import datetime as dt

import pytest

from registry.audit import queries as q
from registry.audit.chain import record
from registry.models import AuditEvent
from registry.accounts.organisations import add_organisation
from registry.certificates import keyset
from registry.certificates.portfolio import Search, list_page


@pytest.fixture
def trail(registry_db):
    operator = add_organisation(kind="operator", code="DSURE", name="運営事業者")
    for n in range(3):
        record("test.event", actor="operator", details={"n": n})
    return q.AuditScope(None), operator


@pytest.mark.parametrize("since, until, found", [
    ("0001-01-01", "", 4), ("", "9999-12-31", 4), ("", "9999-12-31T23:59", 4),
    ("0001-01-01T00:00", "9999-12-31T23:59:59", 4), ("0999-01-01", "", 4),
    ("9999-12-31", "", 0), ("", "0001-01-01T00:00", 0), ("", "0999-12-31", 0),
])
def test_a_trail_range_at_the_calendars_ends_is_clamped(trail, since, until, found):
    scope, _ = trail
    trail_filter = q.TrailFilter.from_params({"since": since, "until": until})
    assert trail_filter.errors == ()
    assert len(q.trail_page(scope, trail_filter).events) == found  # 3 + organisation.added


def test_any_before_is_a_page(trail):
    scope, _ = trail
    everything = q.TrailFilter.from_params({})
    assert len(q.trail_page(scope, everything, before=10**30).events) == 4
    assert q.trail_page(scope, everything, before=0).events == []


def test_a_page_past_the_last_is_the_last(trail):
    scope, _ = trail
    assert q.certificate_page(scope, "", 10**20) == q.CertificatePage([], 1, 0)


def test_the_text_of_an_early_year_sorts_before_later_ones():
    assert q.utc_text(dt.datetime(999, 1, 1)) < q.utc_text(dt.datetime(2026, 1, 1))
    assert q.utc_text(dt.datetime(2026, 4, 1, 1, 2, 3)) == "2026-04-01T01:02:03.000000Z"


@pytest.mark.parametrize("date_from, date_to", [
    (dt.date.min, None), (None, dt.date.max), (dt.date.min, dt.date.max),
    (dt.date(1, 1, 2), dt.date(9999, 12, 30))])
def test_the_list_answers_for_dates_at_the_calendars_ends(registry_db, date_from, date_to):
    obligee = add_organisation(kind="obligee", code="042081", name="角田市")
    for field in ("updated", "issued"):
        for position in (keyset.FIRST, keyset.Position(last=True),
                         keyset.Position(after=keyset.Cursor(dt.datetime.max, 2**62)),
                         keyset.Position(before=keyset.Cursor(dt.datetime.min, 0))):
            page = list_page(organisation_id=obligee.id, user_id=1, position=position,
                             search=Search(date_field=field, date_from=date_from, date_to=date_to))
            assert (page.total, page.items, page.next, page.prev) == (0, [], None, None)
