"""Notifications (DESIGN §10): who is told what when a listed certificate gets a new
revision. The messages are queued in the revision's own transaction and sent by a worker
to a real SMTP server and a real HTTP receiver on loopback. No Flask."""
from __future__ import annotations

import base64
import hashlib
import datetime as dt
import json

import pytest
from standardwebhooks.webhooks import Webhook

from registry.accounts.users import add_user, deactivate_user
from registry.notifications.preferences import set_email_notifications
from registry.clock import utcnow
from registry.models import AuditEvent, Revision
from registry.notifications.models import OutboxMessage
from registry.notifications.worker import Worker
from tests.factories import KAKUDA, SHIRAKO, FixedClock, make_document, next_revision
from tests.notification_parts import Receiver, SmtpServer
from tests.notification_world import PASSWORD, ListedWorld, delivery_settings


@pytest.fixture
def world(registry_db, hasher):
    return ListedWorld(hasher)


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


def messages(channel=None):
    query = OutboxMessage.select().order_by(OutboxMessage.id)
    return list(query.where(OutboxMessage.channel == channel) if channel else query)


def events(kind):
    return [json.loads(e.details) for e in
            AuditEvent.select().where(AuditEvent.kind == kind).order_by(AuditEvent.seq)]


def test_a_change_queues_one_email_per_staff_member_and_one_post_per_webhook(world):
    world.add_webhook("http://127.0.0.1:9/a")
    world.add_webhook("http://127.0.0.1:9/b")
    assert messages() == []  # revision 1 and registering tell nobody

    world.change()

    emails, posts = messages("email"), messages("webhook")
    assert sorted(m.user_id for m in emails) == sorted([world.staff.id, world.admin.id])
    assert len(posts) == 2 and len({m.endpoint_id for m in posts}) == 2
    assert {m.status for m in emails + posts} == {"pending"}
    assert len({m.message_id for m in emails + posts}) == 4


def test_nobody_is_told_about_a_certificate_that_is_not_on_the_list(registry_db, hasher):
    world = ListedWorld(hasher)
    other = make_document(contract_number="30001-000002", product="contract",
                          deposit_bank=..., guarantee_amount=5_000_000)
    world.post(other)
    world.post(next_revision(other, "change", guarantee_amount=6_000_000))
    assert messages() == []


def test_only_the_obligees_own_list_brings_notifications(registry_db, hasher):
    # The list rows the new revision's UPDATE touched say who holds it (RETURNING): a row
    # of another organisation (none the portal makes, but the rule must not hang on that)
    # moves to the front of that list and tells the obligee's staff nothing.
    from registry.certificates import portfolio
    from registry.models import Organisation
    world = ListedWorld(hasher)
    other = make_document(contract_number="30001-000002", product="contract",
                          deposit_bank=..., guarantee_amount=5_000_000)
    certificate = world.post(other).certificate
    shirako = Organisation.get(Organisation.code == SHIRAKO)
    portfolio.add_to_list(organisation_id=shirako.id, certificate_id=certificate.id,
                          user_id=world.staff.id)
    assert portfolio.follow_certificate_update(certificate) == {shirako.id}
    world.post(next_revision(other, "change", guarantee_amount=6_000_000))
    assert messages() == []
    assert portfolio.follow_certificate_update(world.certificate) == {world.staff.organisation_id}


def test_a_retry_of_a_stored_revision_queues_nothing_more(world):
    world.change()
    queued = len(messages())
    world.post(world.document)  # the surety retries the same signed revision
    assert len(messages()) == queued


def test_opted_out_deactivated_and_other_organisations_staff_get_no_email(world):
    set_email_notifications(world.admin, False, actor=f"user:{world.admin.id}")
    auditor = add_user(org_code=KAKUDA, email="audit@kakuda.example.jp", role="auditor",
                       password=PASSWORD)
    gone = add_user(org_code=KAKUDA, email="gone@kakuda.example.jp", role="staff",
                    password=PASSWORD)
    deactivate_user(email=gone.email)
    add_user(org_code=SHIRAKO, email="staff@shirako.example.jp", role="staff", password=PASSWORD)

    world.change()

    assert [m.user_id for m in messages("email")] == [world.staff.id]
    assert auditor.id not in [m.user_id for m in messages("email")]


def test_the_email_names_the_change_in_japanese_and_never_the_key(world, smtp):
    world.change(at=dt.datetime(2026, 4, 2, 1, 15))
    worker = Worker(delivery_settings(smtp_url=smtp.url))

    assert worker.drain() == 2

    by_recipient = {m["To"]: m for m in smtp.messages}
    assert set(by_recipient) == {"staff@kakuda.example.jp", "admin@kakuda.example.jp"}
    mail = by_recipient["staff@kakuda.example.jp"]
    assert mail["Subject"] == "【電子保証】保証契約番号 30001-000001 に第2版(変更)が届きました"
    body = mail.get_content()
    for expected in ("角田市 ご担当者様", "保証契約番号: 30001-000001", "保証の種類: 契約保証",
                     "工事名: 市道角田線舗装補修工事", "届いた版: 第2版(変更)",
                     "保証金額: 5,000,000円 → 4,999,999円", "到着日時: 令和8年4月2日 10時15分",
                     "https://portal.example.jp/certificates/30001-000001",
                     "https://portal.example.jp/account"):
        assert expected in body, expected
    raw = mail.as_bytes()
    assert world.auth_key not in body and world.auth_key.encode() not in raw
    assert mail.get_content_charset() == "utf-8"
    assert [m.status for m in messages("email")] == ["delivered", "delivered"]
    sent = events("notification.email_sent")
    assert sorted(e["user_id"] for e in sent) == sorted([world.staff.id, world.admin.id])
    assert {(e["attempt"], e["outcome"]) for e in sent} == {(1, "delivered")}
    assert all(world.auth_key not in e.details for e in AuditEvent.select())


def test_a_correction_and_an_unchanged_amount_read_as_such(world, smtp):
    world.change()  # revision 2: 4,999,999
    world.document = next_revision(world.document, "correction", supersedes=2,
                                   guarantee_amount=4_999_999, work__name="市道角田線舗装補修工事(その2)")
    world.post(world.document)
    for message in messages("email")[:2]:
        message.delete_instance()
    Worker(delivery_settings(smtp_url=smtp.url)).drain()
    mail = smtp.messages[0]
    assert "第3版(訂正: 第2版を訂正)" in mail["Subject"]
    body = mail.get_content()
    assert "保証金額: 4,999,999円(変更なし)" in body
    assert "工事名: 市道角田線舗装補修工事(その2)" in body


def test_a_staff_member_who_opts_out_after_the_change_is_not_mailed(world, smtp):
    world.change()
    set_email_notifications(world.admin, False, actor=f"user:{world.admin.id}")
    Worker(delivery_settings(smtp_url=smtp.url)).drain()
    assert [m["To"] for m in smtp.messages] == ["staff@kakuda.example.jp"]
    cancelled = [m for m in messages("email") if m.status == "cancelled"]
    assert [m.user_id for m in cancelled] == [world.admin.id]
    assert events("notification.email_cancelled")[0]["reason"] == "opted out"


def test_the_webhook_post_is_signed_as_standard_webhooks_says(world, receiver):
    endpoint, secret = world.add_webhook(receiver.url())
    assert secret.startswith("whsec_") and 24 <= len(base64.b64decode(secret[6:])) <= 64
    world.change()
    # The real clock: the library checks the timestamp against its own clock.
    worker = Worker(delivery_settings())

    worker.drain()

    [got] = receiver.received
    payload = Webhook(secret).verify(got.body, got.headers)
    assert payload == {"type": "certificate.revision_added",
                       "timestamp": payload["data"]["arrived_at"],
                       "data": {"contract_number": "30001-000001", "revision": 2,
                                "kind": "change", "supersedes": None, "product": "contract",
                                "arrived_at": payload["data"]["arrived_at"]}}
    arrived = Revision.get(Revision.number == 2).arrived_at
    assert payload["data"]["arrived_at"] == arrived.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    [message] = messages("webhook")
    assert got.headers["webhook-id"] == message.message_id and message.status == "delivered"
    assert world.auth_key.encode() not in got.body and secret.encode() not in got.body
    with pytest.raises(Exception):
        Webhook(secret).verify(got.body.replace(b"change", b"correction"), got.headers)
    [attempt] = events("webhook.delivery_attempted")
    assert attempt == {"message_id": message.message_id, "endpoint_id": endpoint.public_id,
                       "attempt": 1, "status_code": 200, "outcome": "delivered"}


def test_the_signature_matches_the_reference_library_at_any_time(world, receiver):
    """With a fixed clock: the header equals what standardwebhooks' own signer makes."""
    _, secret = world.add_webhook(receiver.url())
    world.change()
    clock = FixedClock(utcnow().replace(microsecond=0) + dt.timedelta(minutes=30))
    Worker(delivery_settings(), clock=clock).drain()
    [got] = receiver.received
    assert got.headers["webhook-timestamp"] == str(int(clock.now.replace(
        tzinfo=dt.timezone.utc).timestamp()))
    expected = Webhook(secret).sign(got.headers["webhook-id"],
                                    clock.now.replace(tzinfo=dt.timezone.utc), got.body.decode())
    assert got.headers["webhook-signature"] == expected


def test_a_secret_sealed_with_another_pepper_does_not_sign(world, receiver):
    world.add_webhook(receiver.url(), pepper=b"the old pepper")
    world.change()
    Worker(delivery_settings(pepper=b"a new pepper")).drain()
    assert receiver.received == []
    [message] = messages("webhook")
    assert message.status == "dead" and message.last_error == "secret unreadable"


def test_the_stored_secret_is_sealed_not_plain(world):
    endpoint, secret = world.add_webhook("http://127.0.0.1:9/x")
    assert secret not in endpoint.secret_sealed
    assert secret[6:] not in endpoint.secret_sealed
    added = events("webhook.added")[0]
    assert secret not in json.dumps(added)
    assert added["url_origin"] == "http://127.0.0.1:9"
    assert added["url_sha256"] == hashlib.sha256(b"http://127.0.0.1:9/x").hexdigest()


def test_an_ingest_never_waits_for_a_dead_mail_server_or_endpoint(world):
    """The ingest only writes rows: with nothing listening anywhere, it succeeds and
    the messages wait in the outbox."""
    world.add_webhook("http://127.0.0.1:9/nothing-here")
    accepted = world.change()
    assert accepted.created
    assert {m.status for m in messages()} == {"pending"}
    assert all(m.attempts == 0 for m in messages())


def test_removing_a_webhook_cancels_what_was_pending_for_it(world):
    from registry.notifications import webhooks
    endpoint, _ = world.add_webhook("http://127.0.0.1:9/x")
    world.change()
    webhooks.remove_endpoint(organisation=world.staff.organisation, public_id=endpoint.public_id,
                             actor="api-client:test")
    assert [m.status for m in messages("webhook")] == ["cancelled"]
    assert events("webhook.removed")[0]["pending_cancelled"] == 1
