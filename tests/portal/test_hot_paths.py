"""The hot paths' cost in SQL statements, pinned (issue 11 §3): the certificate page, a
`change` PUT from a surety, and a failed lookup. Counts, never times: speed is measured
in bench/. Each ceiling is the count this code reaches; a change that adds a statement
to a hot path has to say so here."""
from __future__ import annotations

import pytest

from tests.factories import make_document, next_revision, sign
from tests.portal.certificate_fixtures import *  # noqa: F401,F403
from tests.portal.certificate_fixtures import look_up
from tests.portal.conftest import csrf_token_from
from tests.statements import counted_statements

N = "10001-000001"
# The session user, the listed certificate with its revisions, the seen-revision upsert,
# the audit head and append, the contract record, and the menu's three capped counts
# (registry.contracts.queue.counts: one statement of three subqueries).
MENU_COUNTS = 1
PAGE_CEILING = 6 + MENU_COUNTS
# The client, the signing key, the certificate with its obligee and revisions, the new
# revision, the summary, the listing's sort key (portfolio.follow_certificate_update),
# the contract records, the audit head and append, the listing check for notifications.
PUT_CEILING = 10
# The session user, the throttle's two (its failures read, the attempt's added; expired
# ones are deleted only when it read some), the certificate, the audit head and append,
# and the menu's counts.
FAILED_LOOKUP_CEILING = 6 + MENU_COUNTS


@pytest.fixture
def opened(staff_client, post_vectors):
    key = post_vectors("01-advance-new", "02-advance-change")
    client = staff_client()
    assert look_up(client, N, key).status_code == 303
    client.get(f"/certificates/{N}")  # the first view creates the seen-revision row
    return client


def test_the_certificate_page_runs_few_statements(app, opened):
    with app.app_context(), counted_statements() as seen:
        response = opened.get(f"/certificates/{N}")
    assert response.status_code == 200
    assert len(seen) <= PAGE_CEILING, seen.listing()


def test_a_change_put_runs_few_statements(app, surety):
    from registry.accounts.organisations import add_api_client
    with app.app_context():
        _, token = add_api_client(org_code="EJCS", name="hot path")
    first = make_document()
    client = app.test_client()
    url = f"/api/v1/certificates/{first['contract_number']}/revisions/"
    headers = {"Authorization": f"Bearer {token}"}
    assert client.put(url + "1", json=sign(first, surety.key.key_id), headers=headers).status_code == 201
    change = next_revision(first, "change", guarantee_amount=19_000_000)
    with app.app_context(), counted_statements() as seen:
        response = client.put(url + "2", json=sign(change, surety.key.key_id), headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert len(seen) <= PUT_CEILING, seen.listing()


def test_a_failed_lookup_runs_few_statements(app, staff_client, post_vectors):
    post_vectors("01-advance-new")
    client = staff_client()
    token = csrf_token_from(client.get("/lookup").get_data(as_text=True))
    with app.app_context(), counted_statements() as seen:
        response = client.post("/lookup", data={"csrf_token": token, "contract_number": N,
                                                "auth_key": "WRNGKEYX2345"})
    assert response.status_code == 200
    assert len(seen) <= FAILED_LOOKUP_CEILING, seen.listing()


def test_a_page_seen_before_still_catches_bytes_changed_on_disk(app, opened):
    """The page remembers what it verified (verification.RememberedChecks); a byte
    changed since then is another digest, verified again, and shown as a failure."""
    from registry.models import Revision
    from tests.tampering import change_revision_bytes
    assert "署名は有効です" in opened.get(f"/certificates/{N}").get_data(as_text=True)
    with app.app_context():
        current = Revision.select().order_by(Revision.number.desc()).first()
        change_revision_bytes(current.id, bytes(current.canonical).replace(b"2026", b"2027", 1))
    html = opened.get(f"/certificates/{N}").get_data(as_text=True)
    assert "署名を確認できません" in html and "署名は有効です" not in html
