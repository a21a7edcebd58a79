"""Request-rate limits of the surety API: token guessing is limited per address, and
with Redis configured the count is shared by every app instance."""
from __future__ import annotations

import os

import pytest

from dsure_portal import create_app

URL = "/api/v1/certificates/30001-000001"


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_token_guessing_is_limited_per_address_whatever_token_is_tried(app, client):
    app.config["API_AUTH_FAILURE_LIMIT"] = "3 per minute"
    statuses = [client.get(URL, headers=bearer(f"dsk_guess{i}")).status_code for i in range(5)]
    assert statuses == [401, 401, 401, 429, 429]
    refused = client.get(URL, headers=bearer("dsk_guess9"))
    assert refused.mimetype == "application/problem+json" and refused.get_json()["status"] == 429


def test_a_refusal_says_when_to_retry_and_no_answer_carries_rate_limit_headers(app, client):
    app.config["API_AUTH_FAILURE_LIMIT"] = "2 per minute"
    answers = [client.get(URL, headers=bearer(f"dsk_guess{i}")) for i in range(3)]
    assert [a.status_code for a in answers] == [401, 401, 429]
    assert 1 <= int(answers[2].headers["Retry-After"]) <= 60
    assert "Retry-After" not in answers[0].headers
    assert not [h for a in answers for h in a.headers.keys() if h.lower().startswith("x-ratelimit")]


def test_public_endpoints_are_not_counted_as_failures(app, client):
    app.config["API_AUTH_FAILURE_LIMIT"] = "2 per minute"
    assert {client.get("/api/v1/obligees").status_code for _ in range(5)} == {200}


@pytest.mark.skipif(not os.environ.get("DSURE_TEST_REDIS_URL"), reason="DSURE_TEST_REDIS_URL is not set")
def test_rate_limits_in_redis_are_shared_by_app_instances(app, app_config):
    import redis
    url = os.environ["DSURE_TEST_REDIS_URL"]
    store = redis.Redis.from_url(url)
    store.flushdb()
    config = dict(app_config, RATELIMIT_STORAGE_URI=url, API_AUTH_FAILURE_LIMIT="4 per minute")
    first, second = create_app(dict(config)), create_app(dict(config))
    statuses = []
    for _ in range(3):
        for instance in (first, second):
            statuses.append(instance.test_client().get(URL, headers=bearer("no")).status_code)
    assert statuses == [401, 401, 401, 401, 429, 429]
    refused = second.test_client().get(URL, headers=bearer("no"))
    assert 1 <= int(refused.headers["Retry-After"]) <= 60  # read from Redis, only now
    store.flushdb()
    store.close()


def test_retry_after_is_whole_seconds_rounded_up_and_never_zero():
    import datetime as dt

    from dsure_portal.problems import retry_after
    from registry.clock import utcnow
    assert retry_after(utcnow() + dt.timedelta(seconds=59.2)) == "60"
    assert retry_after(utcnow() - dt.timedelta(seconds=5)) == "1"  # already over: still 1
