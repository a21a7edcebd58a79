"""Where a webhook may be sent (SSRF) and how its secret is kept. No Flask."""
from __future__ import annotations

import dataclasses

import pytest

from registry.errors import InvalidInput
from registry.notifications import webhooks
from registry.notifications.models import WebhookEndpoint
from registry.notifications.webhooks import TargetPolicy, TargetRefused, check_url
from registry.notifications.worker import Worker
from tests.notification_parts import Receiver, self_signed_tls
from tests.notification_world import ListedWorld, delivery_settings

PRODUCTION = TargetPolicy()
TESTS = TargetPolicy(allow_private=True, allow_http_loopback=True)
DEVELOPMENT = TargetPolicy(allow_private=True)


@pytest.mark.parametrize("url", [
    "https://93.184.216.34/hooks/dsure",
    "https://93.184.216.34:8443/hooks?token=abc",
    "https://hooks.invalid/dsure",  # not resolvable now: checked again at each delivery
])
def test_public_https_urls_are_accepted(url):
    assert check_url(url, policy=PRODUCTION)[0] == "https"


@pytest.mark.parametrize("url", [
    "https://127.0.0.1/x", "https://localhost/x", "https://10.1.2.3/x", "https://192.168.0.1/x",
    "https://172.16.0.1/x", "https://169.254.169.254/latest/meta-data", "https://0.0.0.0/x",
    "https://100.64.0.1/x", "https://[::1]/x", "https://[fd00::1]/x", "https://[fe80::1]/x",
    "https://[::ffff:10.0.0.1]/x",
])
def test_production_refuses_addresses_inside(url):
    with pytest.raises(TargetRefused, match="not on the public internet"):
        check_url(url, policy=PRODUCTION)


@pytest.mark.parametrize("url, message", [
    ("http://93.184.216.34/x", "must be https"),
    ("http://127.0.0.1:8080/x", "must be https"),
    ("ftp://93.184.216.34/x", "must be an https URL"),
    ("https://user:pw@93.184.216.34/x", "user name or password"),
    ("https://93.184.216.34/x#frag", "fragment"),
    ("https:///x", "must be an https URL"),
    ("https://93.184.216.34/" + "a" * 2100, "at most 2048"),
    ("https://93.184.216.34/a b", "spaces"),
    ("https://[::1/x", "not a valid URL"),
    ("", "at most 2048"),
])
def test_malformed_or_plain_http_urls_are_refused_with_the_reason(url, message):
    with pytest.raises(TargetRefused, match=message):
        check_url(url, policy=DEVELOPMENT)


def test_plain_http_only_to_loopback_and_only_when_allowed():
    assert check_url("http://127.0.0.1:8080/x", policy=TESTS)[1] == "127.0.0.1"
    assert check_url("http://localhost:8080/x", policy=TESTS)[1] == "localhost"
    with pytest.raises(TargetRefused, match="only to this machine"):
        check_url("http://93.184.216.34/x", policy=TESTS)
    with pytest.raises(TargetRefused, match="only to this machine"):
        check_url("http://10.0.0.1/x", policy=TESTS)


def test_the_secret_box_opens_only_its_own_endpoints_secret():
    box = webhooks.SecretBox(b"pepper")
    secret = webhooks.new_secret()
    sealed = box.seal(secret, endpoint_id="ep_a")
    assert box.open(sealed, endpoint_id="ep_a") == secret
    with pytest.raises(Exception):
        box.open(sealed, endpoint_id="ep_b")  # moved onto another endpoint's row
    with pytest.raises(Exception):
        webhooks.SecretBox(b"other pepper").open(sealed, endpoint_id="ep_a")


@pytest.fixture
def world(registry_db, hasher):
    return ListedWorld(hasher)


def test_a_refused_url_stores_nothing(world):
    with pytest.raises(TargetRefused):
        webhooks.add_endpoint(organisation=world.staff.organisation, url="https://10.0.0.1/x",
                              box=webhooks.SecretBox(b"p"), policy=PRODUCTION, actor="t")
    assert WebhookEndpoint.select().count() == 0


def test_only_an_obligee_registers_webhooks_and_at_most_ten(world):
    with pytest.raises(InvalidInput, match="obligee"):
        webhooks.add_endpoint(organisation=world.client.organisation, url="https://93.184.216.34/",
                              box=webhooks.SecretBox(b"p"), policy=PRODUCTION, actor="t")
    for n in range(webhooks.MAX_ENDPOINTS):
        world.add_webhook(f"http://127.0.0.1:9/{n}")
    with pytest.raises(InvalidInput, match="at most 10"):
        world.add_webhook("http://127.0.0.1:9/one-more")


def test_a_delivery_checks_the_address_again_and_sends_nothing_inside(world):
    """Registered while allowed (or while the name pointed outside), refused when sent."""
    with Receiver() as receiver:
        world.add_webhook(receiver.url())
        world.change()
        Worker(dataclasses.replace(delivery_settings(), policy=PRODUCTION)).run_once()
    assert receiver.received == []
    from registry.notifications.models import OutboxMessage
    [message] = OutboxMessage.select().where(OutboxMessage.channel == "webhook")
    assert message.status == "pending" and message.last_error.startswith("TargetRefused")


def test_a_redirect_is_not_followed_but_retried(world):
    with Receiver(status=302) as receiver:
        world.add_webhook(receiver.url())
        world.change()
        Worker(delivery_settings()).run_once()
    assert len(receiver.received) == 1
    from registry.notifications.models import OutboxMessage
    [message] = OutboxMessage.select().where(OutboxMessage.channel == "webhook")
    assert message.status == "pending" and message.last_error == "HTTP 302"


def test_https_checks_the_receivers_certificate_against_the_name(world, tmp_path):
    """The TCP peer is pinned to the checked address, but TLS still verifies the
    certificate for the URL's name: an untrusted one is a failed attempt."""
    with Receiver(tls=self_signed_tls(tmp_path)) as receiver:
        world.add_webhook(f"https://localhost:{receiver.port}/hook")
        world.change()
        Worker(delivery_settings()).run_once()
    assert receiver.received == []
    from registry.notifications.models import OutboxMessage
    [message] = OutboxMessage.select().where(OutboxMessage.channel == "webhook")
    assert message.status == "pending" and message.last_error == "SSLCertVerificationError"
