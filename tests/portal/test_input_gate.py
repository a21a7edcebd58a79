"""The inputs that answered 500 (issues 9 and 12), each through HTTP on both databases:
an API refusal is a 4xx problem+json naming the field and audited as revision.refused
with nothing stored; a page answers 400 naming the parameter, or a clamped page."""
from __future__ import annotations

import json

import pytest

from dsure_portal.openapi import openapi_document
from registry.models import AuditEvent, Certificate, Revision
from tests.factories import make_document, sign
from tests.portal.certificate_fixtures import *  # noqa: F401,F403 - fixtures
from tests.portal.conftest import csrf_token_from

PUT = "/api/v1/certificates/30001-000001/revisions/"
PROBLEM = "application/problem+json"


@pytest.fixture
def api(app, surety):
    from registry.accounts.organisations import add_api_client
    with app.app_context():
        _, token = add_api_client(org_code="EJCS", name="gate")
    client = app.test_client()
    client.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    client.body = sign(make_document(), surety.key.key_id)
    client.signed = lambda document: sign(document, surety.key.key_id)
    return client


def refusals(app) -> list[dict]:
    with app.app_context():
        return [json.loads(e.details) for e in
                AuditEvent.select().where(AuditEvent.kind == "revision.refused")]


def nothing_stored(app) -> bool:
    with app.app_context():
        return Certificate.select().count() == 0 and Revision.select().count() == 0


def fields_of(response, status: int) -> list[str]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    return [e["field"] for e in body["errors"]]


@pytest.mark.parametrize("raw, status, field", [
    (lambda api: json.dumps({**api.body, "key_id": "\ud800"}), 422, "key_id"),
    (lambda api: json.dumps({**api.body, "key_id": "ab\x00"}), 422, "key_id"),
    (lambda api: '{"\\ud800": 1, ' + json.dumps(api.body)[1:], 422, "\\ud800"),
    (lambda api: json.dumps(api.signed(make_document(work__name="市道\x00線"))), 422, "work.name"),
    (lambda api: json.dumps(api.signed(make_document(surety__branch="宮城\u202e支店"))), 422,
     "surety.branch"),
], ids=["surrogate key_id", "NUL key_id", "surrogate field name", "NUL in document",
        "bidi override in document"])
def test_a_revision_body_no_text_may_hold_is_refused_by_field_and_audited(app, api, raw, status, field):
    response = api.put(PUT + "1", data=raw(api), headers=api.headers)
    assert fields_of(response, status) == [field]
    assert [r["fields"] for r in refusals(app)] == [[field]]
    assert nothing_stored(app)


@pytest.mark.parametrize("n", [str(2**53), str(2**64), "9" * 5000])
def test_a_revision_number_past_253_is_refused_and_audited(app, api, n):
    response = api.put(PUT + n, data=json.dumps(api.body), headers=api.headers)
    assert fields_of(response, 422) == ["n"]
    assert [(r["revision"], r["fields"]) for r in refusals(app)] == [(None, ["n"])]
    assert nothing_stored(app)


def test_a_nul_in_the_contract_number_of_the_url_is_a_400_naming_it(app, api):
    response = api.put("/api/v1/certificates/30001%00-000001/revisions/1",
                       data=json.dumps(api.body), headers=api.headers)
    assert fields_of(response, 400) == ["contract_number"]
    assert [r["reason"] for r in refusals(app)] == ["invalid_text"]
    for method, url in (("GET", "/api/v1/certificates/3%00"),
                        ("POST", "/api/v1/certificates/3%00/auth-key")):
        assert fields_of(api.open(url, method=method, headers=api.headers), 400) == ["contract_number"]
    assert nothing_stored(app)


def test_a_non_integer_revision_number_is_a_declared_404(app, api):
    response = api.put(PUT + "abc", data=json.dumps(api.body), headers=api.headers)
    assert response.status_code == 404 and response.mimetype == PROBLEM
    assert "404" in openapi_document()["paths"]["/certificates/{contract_number}/revisions/{n}"]["put"]["responses"]


def test_405_answers_say_what_is_allowed(app, api, client):
    response = api.delete("/api/v1/certificates/30001-000001", headers=api.headers)
    assert response.status_code == 405 and response.mimetype == PROBLEM
    assert set(response.headers["Allow"].split(", ")) >= {"GET"}
    assert client.delete("/login").headers["Allow"]


@pytest.mark.parametrize("url, field", [
    ("/certificates?q=%E8%A7%92%00", "q"),
    ("/certificates/1%002", "contract_number"),
    ("/certificates?date_from=2026-04-01&x%00=1", "x\\u0000"),
])
def test_a_staff_page_answers_400_naming_the_parameter(staff_client, url, field):
    response = staff_client().get(url)
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert f"「{field}」" in response.data.decode()


@pytest.mark.parametrize("url", ["/audit?actor=a%00b", "/audit?kind=%00", "/audit?organisation=%00",
                                 "/audit/export.csv?contract_number=%00",
                                 "/audit/certificates?contract_number=%00"])
def test_audit_filters_answer_400_for_nul(staff_client, url):
    assert staff_client(email="audit@kakuda.example.jp", role="auditor").get(url).status_code == 400


def test_the_login_email_with_nul_answers_400_and_counts_nothing(app, client, orgs):
    token = csrf_token_from(client.get("/login").data.decode())
    response = client.post("/login", data={"csrf_token": token, "email": "a\x00@example.jp",
                                           "password": "x" * 12})
    assert response.status_code == 400 and "「email」" in response.data.decode()
    with app.app_context():
        assert not AuditEvent.select().where(AuditEvent.kind == "login.failed").exists()


@pytest.mark.parametrize("url, status", [
    ("/audit?before=99999999999999999999999", 200),
    ("/audit/certificates?page=99999999999999999999", 200),
    ("/audit/checkpoints/99999999999999999999999.json", 404),
    ("/audit?since=0001-01-01&until=9999-12-31", 200),
    ("/audit?before=%C2%B2", 200),
])
def test_the_audit_urls_that_answered_500(staff_client, url, status):
    auditor = staff_client(email="audit@kakuda.example.jp", role="auditor")
    assert auditor.get(url).status_code == status


def test_a_date_at_the_calendars_end_is_answered_with_a_page(staff_client, post_vectors):
    post_vectors("01-advance-new")
    staff = staff_client()
    for url in ("/certificates?date_from=0001-01-01&date_field=arrived",
                "/certificates?date_to=9999-12-31&date_field=issued",
                "/certificates?page=99999999999999999999",
                "/certificates/10001-000001?revision=%C2%B2"):
        assert staff.get(url).status_code in (200, 404), url


def test_an_out_of_range_page_is_the_last_page(app, staff_client, post_vectors):
    post_vectors("01-advance-new")
    auditor = staff_client(email="audit@kakuda.example.jp", role="auditor")
    page = auditor.get("/audit/certificates?page=99999999999999999999").data.decode()
    assert "10001-000001" in page


def test_a_contract_number_with_a_trailing_newline_is_refused_not_stored(app, api):
    """``^…$`` matches before a final newline: the 13 characters reached a 12-character
    column (a 500 on PostgreSQL)."""
    response = api.put("/api/v1/certificates/30001-000001%0A/revisions/1",
                       data=json.dumps(api.body), headers=api.headers)
    assert fields_of(response, 422) == ["contract_number"]
    with app.app_context():
        refusal = AuditEvent.get(AuditEvent.kind == "revision.refused")
        assert refusal.contract_number is None
    assert nothing_stored(app)
