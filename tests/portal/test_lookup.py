"""Looking a certificate up by contract number + auth key (DESIGN §5)."""
import json
import re

import pytest

from registry.models import AuditEvent
from registry.accounts.throttle import Failure
from tests.factories import make_document
from tests.portal.certificate_fixtures import *  # noqa: F401,F403
from tests.portal.certificate_fixtures import look_up, strip_csrf
from tests.portal.conftest import csrf_token_from

FAILURE = "保証契約番号または認証キーが正しくありません"


def events(app, kind):
    with app.app_context():
        return list(AuditEvent.select().where(AuditEvent.kind == kind).order_by(AuditEvent.seq))


def test_the_lookup_page_is_a_labelled_form(staff_client):
    html = staff_client().get("/lookup").get_data(as_text=True)
    for name in ("contract_number", "auth_key", "csrf_token"):
        assert f'name="{name}"' in html
    assert '<label for="contract_number">保証契約番号</label>' in html
    assert '<label for="auth_key">認証キー</label>' in html
    assert 'autocomplete="off"' in html


def test_the_lookup_needs_a_signed_in_user(client):
    response = client.get("/lookup")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("typed", ["10001-000001", "１０００１－０００００１", "10001000001",
                                   "１０００１ ０００００１", "10001ー000001", " 10001-000001 "])
def test_a_right_lookup_opens_the_certificate_and_lists_it(app, staff_client, post_vectors, typed):
    key = post_vectors("01-advance-new")
    client = staff_client()
    response = look_up(client, typed, key)
    assert response.status_code == 303
    assert response.headers["Location"] == "/certificates/10001-000001"
    page = client.get("/certificates/10001-000001")
    assert page.status_code == 200 and "保証証書(前払金保証)" in page.get_data(as_text=True)
    assert "10001-000001" in client.get("/certificates").get_data(as_text=True)
    [event] = events(app, "lookup.succeeded")
    assert event.organisation_code == "042081" and event.contract_number == "10001-000001"


def test_every_kind_of_failure_gives_the_same_page(app, staff_client, post_vectors, post_document):
    key = post_vectors("01-advance-new")
    other_key = post_document(make_document(contract_number="30001-000002",
                                            obligee__code="124249", obligee__name="白子町長"))
    client = staff_client()
    attempts = {
        "wrong key": ("10001-000001", key[:-1] + ("x" if key[-1] != "x" else "y")),
        "unknown number": ("19999-999999", key),
        "another organisation's certificate": ("30001-000002", other_key),
    }
    pages = {}
    for case, (number, typed_key) in attempts.items():
        response = look_up(client, number, typed_key)
        assert response.status_code == 200, case
        html = strip_csrf(response.get_data(as_text=True))
        assert f'value="{number}"' in html, "the typed number stays in its field"
        assert typed_key not in html, "the key is never echoed"
        pages[case] = html.replace(number, "NUMBER")
    assert FAILURE in pages["wrong key"]
    assert len(set(pages.values())) == 1, "the failure pages differ"
    reasons = [json.loads(e.details)["reason"] for e in events(app, "lookup.failed")]
    assert reasons == ["wrong_key", "unknown_number", "other_obligee"]
    # And the other organisation's certificate did not join this organisation's list.
    assert client.get("/certificates/30001-000002").status_code == 404


def test_after_a_failure_the_number_stays_and_has_the_focus(staff_client, post_vectors):
    key = post_vectors("01-advance-new")
    html = look_up(staff_client(), "１０００１－０００００１", "WRNGKEYX2345").get_data(as_text=True)
    number_input = re.search(r'<input[^>]*id="contract_number"[^>]*>', html).group()
    key_input = re.search(r'<input[^>]*id="auth_key"[^>]*>', html).group()
    assert 'value="１０００１－０００００１"' in number_input and "autofocus" in number_input
    assert "value=" not in key_input.replace('value=""', "") and "autofocus" not in key_input
    assert key not in html


@pytest.mark.parametrize("number, key, message", [
    ("1000100", "Z28YUE4J3Bux", "保証契約番号は「12345-678901」のように、数字5桁と6桁で入力してください。"),
    ("10001-000001", "Z28YUE4J3Bu", "認証キーは12文字です(入力されたのは11文字です)。"),
    ("10001-000001", "Z28YUE4J3BuxX", "認証キーは12文字です(入力されたのは13文字です)。"),
    ("10001-000001", "Z28YUE4J3BO0", "認証キーには数字の0・1や英字のO・I・l(小文字のエル)は使われていません。"),
    ("10001-000001", "Z28YUE4J3Bう!", "認証キーは英字と数字の12文字です。"),
])
def test_a_malformed_number_or_key_gets_a_format_message_and_is_not_a_lookup(
        app, staff_client, post_vectors, number, key, message):
    post_vectors("01-advance-new")
    client = staff_client()
    response = look_up(client, number, key)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and message in html
    assert FAILURE not in html and 'aria-invalid="true"' in html
    # Not a guess at anything: not counted, not audited, and says nothing of existence.
    with app.app_context():
        assert Failure.select().count() == 0
    assert not events(app, "lookup.failed") and not events(app, "lookup.succeeded")


def test_after_ten_failures_the_account_gets_429_even_with_the_right_key(app, staff_client, post_vectors):
    key = post_vectors("01-advance-new")
    client = staff_client()
    for _ in range(10):
        assert look_up(client, "10001-000001", "WRNGKEYX2345").status_code == 200
    locked = look_up(client, "10001-000001", key)
    assert locked.status_code == 429
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    html = locked.get_data(as_text=True)
    assert "照会の試行回数が上限に達しました" in html
    assert "このアカウントでは、続けて照会に失敗したため" in html
    assert "角田市の管理者にご相談ください" in html
    assert look_up(client, "10001-000002", "WRNGKEYX2345").status_code == 429
    assert len(events(app, "lookup.locked")) == 2
    assert not events(app, "lookup.succeeded")


def test_the_limit_follows_the_configuration(app, staff_client, post_vectors):
    app.config.update(LOOKUP_FAILURE_LIMIT=2, LOOKUP_FAILURE_WINDOW_MINUTES=1)
    key = post_vectors("01-advance-new")
    client = staff_client()
    look_up(client, "19999-999999", "WRNGKEYX2345")
    look_up(client, "19999-999998", "WRNGKEYX2345")
    locked = look_up(client, "10001-000001", key)
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) <= 60


def test_a_number_guessed_from_another_organisation_is_locked_for_its_owner(app, staff_client, post_vectors):
    app.config.update(LOOKUP_FAILURE_LIMIT=3)
    key = post_vectors("01-advance-new")
    for i in range(3):
        guesser = staff_client(f"g{i}@shirako.example.jp", "124249")
        look_up(guesser, "10001-000001", "WRNGKEYX2345")
    owner = staff_client()
    locked = look_up(owner, "10001-000001", key)
    assert locked.status_code == 429
    assert "この保証契約番号への照会が続けて失敗したため" in locked.get_data(as_text=True)


def test_the_auth_key_is_never_in_the_audit_trail(app, staff_client, post_vectors):
    key = post_vectors("01-advance-new")
    client = staff_client()
    look_up(client, "10001-000001", key[::-1])
    look_up(client, key, key)
    look_up(client, "10001-000001", key)
    with app.app_context():
        stored = " ".join(f"{e.details} {e.contract_number}" for e in AuditEvent.select())
    assert key not in stored and key[::-1] not in stored


def test_an_empty_field_is_not_an_attempt(app, staff_client):
    client = staff_client()
    token = csrf_token_from(client.get("/lookup").get_data(as_text=True))
    response = client.post("/lookup", data={"csrf_token": token, "contract_number": "", "auth_key": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "保証契約番号を入力してください。" in html
    assert FAILURE not in html
    assert not events(app, "lookup.failed")


def test_a_lookup_without_the_csrf_token_is_refused(staff_client):
    response = staff_client().post("/lookup", data={"contract_number": "10001-000001", "auth_key": "x"})
    assert response.status_code == 400


def test_the_coarse_lookup_rate_follows_the_configuration(app, staff_client, post_vectors):
    # The benchmark raises it (DSURE_LOOKUP_RATE_LIMIT) to measure lookups, not the limiter.
    app.config.update(LOOKUP_RATE_LIMIT="2 per minute")
    key = post_vectors("01-advance-new")
    client = staff_client()
    answers = [look_up(client, "10001-000001", key) for _ in range(3)]
    assert [a.status_code for a in answers] == [303, 303, 429]
    # The refusal says when to come back, within the minute; the answers carry no
    # X-RateLimit-* headers (each set would cost a round trip to the limit store).
    assert 1 <= int(answers[2].headers["Retry-After"]) <= 60
    assert not [h for a in answers for h in a.headers.keys() if h.lower().startswith("x-ratelimit")]


def test_the_coarse_lookup_rate_is_read_from_the_environment(monkeypatch, app_config):
    from dsure_portal import create_app
    monkeypatch.setenv("DSURE_LOOKUP_RATE_LIMIT", "100000 per minute")
    assert create_app(dict(app_config)).config["LOOKUP_RATE_LIMIT"] == "100000 per minute"
