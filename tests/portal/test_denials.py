"""Refused access through HTTP lands in the trail as access.denied (ASVS 16.3.2): 403 and
404 on protected pages, refused CSRF tokens and 429s; the organisation's auditor reads
their own staff's denials; a flood leaves a bounded trail."""
from __future__ import annotations

import csv
import io
import json

from registry.models import AuditEvent
from registry.accounts.organisations import add_api_client
from tests.portal.certificate_fixtures import *  # noqa: F401,F403 - fixtures
from tests.portal.conftest import csrf_token_from


def denials(app) -> list[dict]:
    with app.app_context():
        return [dict(json.loads(e.details), actor=e.actor, org=e.organisation_code)
                for e in AuditEvent.select().where(AuditEvent.kind == "access.denied")
                .order_by(AuditEvent.seq)]


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8")[1:])))


def test_a_staff_members_403_on_the_audit_trail_is_in_their_auditors_export(app, staff_client):
    staff = staff_client()
    assert staff.get("/audit?kind=x&before=12").status_code == 403
    auditor = staff_client(email="audit@kakuda.example.jp", role="auditor")
    rows = [r for r in csv_rows(auditor.get("/audit/export.csv?kind=access.denied"))]
    assert len(rows) == 1 and rows[0]["actor"] == f"user:{staff.user.id}"
    assert rows[0]["organisation_code"] == "042081"
    details = json.loads(rows[0]["details"])
    assert details["reason"] == "forbidden" and details["endpoint"] == "audit.trail"
    assert details["rule"] == "/audit" and "before" not in rows[0]["details"]
    assert details["address"] == "127.0.0.1"
    # the kind is offered in the filter, with its Japanese name
    page = auditor.get("/audit").data.decode()
    assert 'value="access.denied"' in page and "アクセス拒否" in page


def test_another_organisations_certificate_is_a_404_recorded_by_its_url_class(
        app, staff_client, post_vectors):
    post_vectors("01-advance-new")
    other = staff_client(email="staff@shirako.example.jp", org_code="124249")
    assert other.get("/certificates/10001-000001?revision=1").status_code == 404
    [entry] = denials(app)
    assert entry["reason"] == "not_found" and entry["org"] == "124249"
    assert entry["rule"] == "/certificates/<contract_number>"
    assert "10001" not in json.dumps(entry)
    # 角田市's auditor does not read 白子町's staff's denials
    auditor = staff_client(email="audit@kakuda.example.jp", role="auditor")
    assert csv_rows(auditor.get("/audit/export.csv?kind=access.denied")) == []


def test_pages_that_do_not_exist_or_are_public_are_not_denials(app, client, staff_client):
    staff = staff_client()
    assert staff.get("/no-such-page").status_code == 404
    assert staff.get("/static/no-such.css").status_code == 404
    assert client.get("/certificates").status_code == 302  # anonymous: sent to sign in
    assert denials(app) == []


def test_a_refused_csrf_token_is_recorded(app, staff_client):
    staff = staff_client()
    response = staff.post("/lookup", data={"contract_number": "10001-000001", "auth_key": "x"})
    assert response.status_code == 400
    [entry] = denials(app)
    assert entry["reason"] == "csrf" and entry["endpoint"] == "certificates.lookup"
    assert entry["actor"] == f"user:{staff.user.id}" and entry["status"] == 400


def test_the_limiters_429_is_recorded_with_the_address(app, client, orgs):
    app.config["LOGIN_RATE_LIMIT"] = "2 per minute"
    token = csrf_token_from(client.get("/login").data.decode())
    statuses = [client.post("/login", data={"csrf_token": token, "email": "x@example.jp",
                                            "password": "wrong password"}).status_code
                for _ in range(3)]
    assert statuses == [200, 200, 429]
    [entry] = denials(app)
    assert entry == {**entry, "reason": "rate_limited", "actor": "anonymous", "org": None,
                     "address": "127.0.0.1", "endpoint": "auth.login"}


def test_the_lookups_own_lockout_429_is_recorded(app, staff_client, post_vectors):
    post_vectors("01-advance-new")
    app.config["LOOKUP_FAILURE_LIMIT"] = 2
    staff = staff_client()
    token = csrf_token_from(staff.get("/lookup").data.decode())
    statuses = [staff.post("/lookup", data={"csrf_token": token, "contract_number": "10001-000001",
                                            "auth_key": "WRNGKEYX2345"}).status_code
                for _ in range(3)]
    assert statuses[-1] == 429
    assert [e["reason"] for e in denials(app)] == ["rate_limited"]


def test_a_flood_of_denials_leaves_a_bounded_trail(app, staff_client):
    app.config["DENIAL_AUDIT_PER_SOURCE"] = 5
    staff = staff_client()
    for _ in range(40):
        assert staff.get("/audit").status_code == 403
    assert len(denials(app)) == 5


def test_the_api_records_another_suretys_certificate_but_not_a_refused_revision(
        app, orgs, surety, post_vectors):
    post_vectors("01-advance-new")
    with app.app_context():
        add_api_client(org_code="EJCS", name="second")  # same surety: not a denial
        from registry.accounts.organisations import add_organisation
        add_organisation(kind="surety", code="WJCS", name="西日本建設業保証株式会社")
        _, other_token = add_api_client(org_code="WJCS", name="wjcs")
    api = app.test_client()
    headers = {"Authorization": f"Bearer {other_token}"}
    assert api.get("/api/v1/certificates/10001-000001", headers=headers).status_code == 404
    assert api.put("/api/v1/certificates/10001-000001/revisions/2", headers=headers,
                   json={"document": {}, "signature": "", "key_id": "k"}).status_code == 422
    [entry] = denials(app)
    assert entry["reason"] == "not_found" and entry["org"] == "WJCS"
    assert entry["actor"].startswith("api-client:") and entry["endpoint"] == "api.get_certificate"
