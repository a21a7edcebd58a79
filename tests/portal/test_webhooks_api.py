"""Obligee webhooks over HTTP (DESIGN §10): registering with an obligee system's token,
and the whole path from a surety's 変更 to a signed POST and the staff's emails."""
from __future__ import annotations

import hashlib
import json

import pytest
from standardwebhooks.webhooks import Webhook

from registry.models import AuditEvent
from registry.notifications.models import OutboxMessage, WebhookEndpoint
from registry.accounts.organisations import add_api_client, add_signing_key
from tests.factories import TEST_PUBLIC_PEM, make_document, next_revision, sign
from tests.notification_parts import Receiver, SmtpServer
from tests.portal.certificate_fixtures import *  # noqa: F401,F403
from tests.portal.certificate_fixtures import look_up
from tests.portal.test_api import call

HOOKS = "/api/v1/obligee/webhooks"


@pytest.fixture
def obligee_token(app, orgs):
    with app.app_context():
        return add_api_client(org_code="042081", name="角田市 電子契約システム")[1]


@pytest.fixture
def surety_token(app, orgs):
    with app.app_context():
        token = add_api_client(org_code="EJCS", name="ejcs system")[1]
        key = add_signing_key(org_code="EJCS", pem=TEST_PUBLIC_PEM)
    return token, key.key_id


def events(app, kind):
    with app.app_context():
        return [json.loads(e.details) for e in
                AuditEvent.select().where(AuditEvent.kind == kind).order_by(AuditEvent.seq)]


def register(client, token, url):
    return call(client, "POST", HOOKS, token=token, json={"url": url})


def test_an_obligee_registers_lists_and_removes_a_webhook(app, client, obligee_token):
    url = "http://127.0.0.1:8099/services/T0/B0/their-own-secret?via=portal"
    created = register(client, obligee_token, url)
    assert created.status_code == 201 and created.headers["Cache-Control"] == "no-store"
    body = created.get_json()
    assert body["id"].startswith("ep_") and body["secret"].startswith("whsec_")
    assert body["url"] == url

    listed = call(client, "GET", HOOKS, token=obligee_token).get_json()["webhooks"]
    assert [w["id"] for w in listed] == [body["id"]] and "secret" not in listed[0]

    removed = call(client, "DELETE", f"{HOOKS}/{body['id']}", token=obligee_token)
    assert removed.status_code == 204
    assert call(client, "GET", HOOKS, token=obligee_token).get_json() == {"webhooks": []}
    again = call(client, "DELETE", f"{HOOKS}/{body['id']}", token=obligee_token)
    assert again.status_code == 404

    [added] = events(app, "webhook.added")
    assert added == {"endpoint_id": body["id"], "url_origin": "http://127.0.0.1:8099",
                     "url_sha256": hashlib.sha256(url.encode()).hexdigest()}
    assert events(app, "webhook.removed")[0]["endpoint_id"] == body["id"]
    with app.app_context():
        trail = " ".join(e.details for e in AuditEvent.select())
    assert body["secret"] not in trail and body["secret"][6:] not in trail
    assert "their-own-secret" not in trail


def test_another_obligees_webhook_cannot_be_seen_or_removed(app, client, obligee_token):
    with app.app_context():
        other = add_api_client(org_code="124249", name="白子町")[1]
    mine = register(client, obligee_token, "http://127.0.0.1:8099/a").get_json()["id"]
    assert call(client, "GET", HOOKS, token=other).get_json() == {"webhooks": []}
    assert call(client, "DELETE", f"{HOOKS}/{mine}", token=other).status_code == 404
    assert len(call(client, "GET", HOOKS, token=obligee_token).get_json()["webhooks"]) == 1


def test_a_surety_token_is_refused_and_no_token_is_401(app, client, surety_token):
    refused = register(client, surety_token[0], "http://127.0.0.1:8099/a")
    assert refused.status_code == 403
    assert refused.mimetype == "application/problem+json"
    anonymous = register(client, None, "http://127.0.0.1:8099/a")
    assert anonymous.status_code == 401
    assert events(app, "api.authentication_failed")[0]["path"] == HOOKS
    with app.app_context():
        assert WebhookEndpoint.select().count() == 0


def test_an_obligee_token_cannot_post_or_read_a_suretys_certificates(app, client, obligee_token,
                                                                      surety_token):
    _, key_id = surety_token
    document = make_document()
    posted = call(client, "PUT", "/api/v1/certificates/30001-000001/revisions/1",
                  token=obligee_token, json=sign(document, key_id))
    assert posted.status_code == 403
    # The surety API answers an obligee's token 403 wrong-api, whatever the number.
    assert call(client, "GET", "/api/v1/certificates/30001-000001",
                token=obligee_token).status_code == 403


@pytest.mark.parametrize("body, field_message", [
    ({"url": "ftp://example.jp/x"}, "must be an https URL"),
    ({"url": "http://93.184.216.34/x"}, "must be https"),
    ({"url": "https://user:pw@93.184.216.34/x"}, "user name or password"),
    ({}, "is required"),
    ({"url": "https://93.184.216.34/x", "events": ["all"]}, "the only field"),
    ({"url": 42}, "is required"),
])
def test_a_bad_url_or_body_is_a_400_naming_url_and_stores_nothing(app, client, obligee_token,
                                                                  body, field_message):
    response = call(client, "POST", HOOKS, token=obligee_token, json=body)
    assert response.status_code == 400
    [error] = response.get_json()["errors"]
    assert error["field"] == "url" and field_message in error["message"]
    with app.app_context():
        assert WebhookEndpoint.select().count() == 0


class TestProduction:
    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "WEBHOOK_ALLOW_HTTP_LOOPBACK": False,
                "WEBHOOK_ALLOW_PRIVATE_TARGETS": False}

    @pytest.mark.parametrize("url", ["https://10.0.0.5/hook", "https://169.254.169.254/latest",
                                     "https://[::1]/hook", "https://localhost/hook",
                                     "http://127.0.0.1:8099/hook"])
    def test_inside_targets_are_refused(self, app, client, obligee_token, url):
        response = register(client, obligee_token, url)
        assert response.status_code == 400, response.get_json()
        with app.app_context():
            assert WebhookEndpoint.select().count() == 0


# --- from a surety's change to the obligee's inbox and system ------------------------------

class TestDoneWhen:
    """A change to 4,999,999 of a listed certificate: the staff who opened it (and every
    other opted-in staff member) get one email, and the webhook receives one signed POST
    whose signature verifies with the secret."""

    @pytest.fixture
    def smtp(self):
        with SmtpServer() as server:
            yield server

    @pytest.fixture
    def app_config(self, app_config, smtp):
        return {**app_config, "SMTP_URL": smtp.url, "PORTAL_URL": "https://portal.example.jp",
                "MAIL_FROM": "電子保証ポータル <noreply@portal.example.jp>"}

    def test_a_change_reaches_the_staff_and_the_webhook_once(self, app, client, runner, smtp,
                                                            obligee_token, surety_token,
                                                            staff_client):
        token, key_id = surety_token
        first = make_document(product="contract", deposit_bank=..., contract_amount=50_000_000,
                              guarantee_amount=5_000_000)
        created = call(client, "PUT", "/api/v1/certificates/30001-000001/revisions/1",
                       token=token, json=sign(first, key_id))
        auth_key = created.get_json()["auth_key"]
        opener = staff_client("opener@kakuda.example.jp")
        assert look_up(opener, "30001-000001", auth_key).status_code == 303
        recorded = call(client, "PUT", "/api/v1/obligee/certificates/30001-000001/contract",
                        token=obligee_token, json={"contract_amount": 50_000_000})
        assert recorded.status_code == 200, recorded.get_json()
        assert _tenth(client, obligee_token) is True  # 5,000,000 is exactly 1/10
        staff_client("colleague@kakuda.example.jp")
        quiet = staff_client("quiet@kakuda.example.jp")
        quiet.post("/account/notifications", data={"csrf_token": _csrf(quiet)})  # opts out

        with Receiver() as receiver:
            secret = register(client, obligee_token, receiver.url()).get_json()["secret"]
            change = next_revision(first, "change", guarantee_amount=4_999_999)
            put = call(client, "PUT", "/api/v1/certificates/30001-000001/revisions/2",
                       token=token, json=sign(change, key_id))
            assert put.status_code == 201
            assert smtp.messages == [] and receiver.received == []  # nothing sent in the request
            assert _tenth(client, obligee_token) is False  # one yen short, in the API
            page = opener.get("/certificates/30001-000001").get_data(as_text=True)
            assert "4,999,999円" in page and "5,000,000円" in page  # and on the page

            result = runner.invoke(args=["outbox", "run", "--once"])
            assert result.exit_code == 0, result.output
            assert "delivered 3," in result.output

        [post] = receiver.received
        event = Webhook(secret).verify(post.body, post.headers)
        assert event["type"] == "certificate.revision_added"
        assert event["data"]["contract_number"] == "30001-000001" and event["data"]["revision"] == 2
        mails = {m["To"]: m for m in smtp.messages}
        assert sorted(mails) == ["colleague@kakuda.example.jp", "opener@kakuda.example.jp"]
        body = mails["opener@kakuda.example.jp"].get_content()
        assert "保証金額: 5,000,000円 → 4,999,999円" in body
        assert "https://portal.example.jp/certificates/30001-000001" in body
        assert auth_key not in body and auth_key.encode() not in post.body
        with app.app_context():
            assert {m.status for m in OutboxMessage.select()} == {"delivered"}


def _tenth(client, token) -> bool | None:
    """contract_guarantee_at_least_tenth as the obligee API reports it."""
    got = call(client, "GET", "/api/v1/obligee/certificates/30001-000001", token=token)
    assert got.status_code == 200, got.get_json()
    return {c["id"]: c["ok"] for c in got.get_json()["checks"]}.get(
        "contract_guarantee_at_least_tenth")


def _csrf(client):
    from tests.portal.conftest import csrf_token_from
    return csrf_token_from(client.get("/account").get_data(as_text=True))
