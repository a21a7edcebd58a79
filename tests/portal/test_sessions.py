"""Server-side sessions: every staff URL needs one; sign-in rotates it; sign-out,
deactivation and a password reset end it at once; idle and absolute timeouts; CSRF on
every state-changing request."""
import datetime as dt
import tempfile

import pytest
from flask import url_for

from registry.accounts.users import UserSession, deactivate_user, set_password
from registry.clock import utcnow
from tests.portal.auth_helpers import another_app, log_in, post_form, session_cookie, session_data
from tests.portal.conftest import csrf_token_from

EMAIL = "staff@kakuda.example.jp"
# Reachable without a session: the two sign-in steps. Blueprints without portal sessions:
# the token-authenticated API and the public pages (health, enrolled obligees).
PUBLIC_ENDPOINTS = {"auth.login", "auth.login_otp", "static"}
PUBLIC_BLUEPRINTS = {"api", "obligee_api", "public"}
SAMPLE_VALUES = {"IntegerConverter": 1, "BoundedIntegerConverter": 1, "AnyDigitsConverter": 1,
                 "UnicodeConverter": "10001-000001",
                 "PathConverter": "x"}


def staff_requests() -> list:
    """(method, url) of every rule of every staff blueprint, read from the app's url_map,
    so pages added later are covered without editing this test."""
    from dsure_portal import create_app
    found = []
    with tempfile.TemporaryDirectory(prefix="dsure-urlmap-") as workdir:
        app = create_app({"TESTING": True, "INSTANCE_PATH": f"{workdir}/instance",
                          "DATABASE_URL": f"sqlite:///{workdir}/urlmap.sqlite3",
                          "SECRET_KEY": "url-map", "KEY_PEPPER": "url-map-pepper-0123456789abcdef"})
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.rpartition(".")[0]
        if (rule.endpoint in PUBLIC_ENDPOINTS or blueprint in PUBLIC_BLUEPRINTS or not blueprint
                or rule.rule.startswith("/api/")):  # every API blueprint takes tokens
            continue
        values = {name: SAMPLE_VALUES[type(conv).__name__] for name, conv in rule._converters.items()}
        with app.test_request_context():
            url = url_for(rule.endpoint, **values)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append(pytest.param(method, url, id=f"{method} {url}"))
    assert len(found) > 10
    return found


STAFF_REQUESTS = staff_requests()


def anonymous_csrf_token(client) -> str:
    return csrf_token_from(client.get("/login").get_data(as_text=True))


@pytest.mark.parametrize("method, url", STAFF_REQUESTS)
def test_every_staff_url_sends_an_anonymous_browser_to_login(client, method, url):
    token = anonymous_csrf_token(client)
    response = client.open(url, method=method, data={"csrf_token": token} if method != "GET" else None)
    assert response.status_code == 302, response.status_code
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("method, url", STAFF_REQUESTS)
def test_every_staff_url_gives_anonymous_htmx_a_401_with_hx_redirect(client, method, url):
    token = anonymous_csrf_token(client)
    response = client.open(url, method=method, headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")
    assert response.get_data() == b""


@pytest.mark.parametrize("method, url", [p for p in STAFF_REQUESTS if p.values[0] != "GET"])
def test_every_state_change_needs_a_csrf_token_even_when_signed_in(client, make_user, method, url):
    make_user(role="admin")
    log_in(client, EMAIL)
    response = client.open(url, method=method, data={})
    assert response.status_code == 400
    assert client.get("/lookup").status_code == 200  # still signed in: nothing happened


def test_an_htmx_request_may_send_the_token_in_a_header(client, make_user):
    make_user()
    log_in(client, EMAIL)
    page = client.get("/lookup").get_data(as_text=True)
    token = csrf_token_from(page)
    assert f'hx-headers=\'{{"X-CSRFToken": "{token}"}}\'' in page
    response = client.post("/logout", headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 303


# --- rotation ------------------------------------------------------------------------------

def test_sign_in_rotates_the_session(app, client, make_user):
    make_user()
    client.get("/login")
    before_cookie, before = session_cookie(client, app), session_data(client)
    log_in(client, EMAIL)
    client.get("/lookup")  # a page with a form: the new session gets its CSRF token
    after_cookie, after = session_cookie(client, app), session_data(client)
    assert before_cookie and after_cookie and before_cookie != after_cookie
    assert "_user_id" not in before and after["_user_id"]
    assert after["csrf_token"] != before["csrf_token"]  # a new CSRF token too


def test_signing_in_again_ends_the_earlier_session(app, client, make_user):
    make_user()
    log_in(client, EMAIL)
    first = session_data(client)["_user_id"]
    assert log_in(client, EMAIL, page="/lookup").status_code == 303
    second = session_data(client)["_user_id"]
    assert first != second
    with app.app_context():
        assert UserSession.select().where(UserSession.ended_at.is_null()).count() == 1


def test_a_planted_session_cookie_does_not_survive_sign_in(app, make_user):
    """Session fixation: an attacker's own signed-in cookie, planted in a victim's
    browser, is replaced and ended when the victim signs in."""
    make_user()
    make_user(email="attacker@kakuda.example.jp")
    attacker, victim = app.test_client(), app.test_client()
    log_in(attacker, "attacker@kakuda.example.jp")
    planted = session_cookie(attacker, app)
    victim.set_cookie(app.config["SESSION_COOKIE_NAME"], planted)
    assert log_in(victim, EMAIL, page="/lookup").status_code == 303
    assert session_cookie(victim, app) != planted
    assert attacker.get("/lookup").status_code == 302  # the planted session ended


# --- replay after the session ended -----------------------------------------------------------

def replay(app, cookie):
    client = app.test_client()
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
    return client


@pytest.mark.parametrize("how", ["sign-out", "deactivation", "password reset", "admin deactivation",
                                 "admin password reset"])
def test_a_replayed_session_cookie_is_refused_once_the_session_ended(app, client, make_user, how):
    user = make_user()
    log_in(client, EMAIL)
    cookie = session_cookie(client, app)
    assert replay(app, cookie).get("/lookup").status_code == 200
    if how == "sign-out":
        post_form(client, "/logout", {}, page="/lookup")
    elif how == "deactivation":
        with app.app_context():
            deactivate_user(email=EMAIL)
    elif how == "password reset":
        with app.app_context():
            set_password(user, "the new passphrase", actor="test")
    else:
        make_user(email="admin@kakuda.example.jp", role="admin")
        admin = app.test_client()
        log_in(admin, "admin@kakuda.example.jp")
        if how == "admin deactivation":
            response = post_form(admin, f"/staff/{user.id}/deactivate", {}, page="/staff")
        else:
            response = post_form(admin, f"/staff/{user.id}/password",
                                 {"password": "the new passphrase"}, page="/staff")
        assert response.status_code == 303
    again = replay(app, cookie)
    response = again.get("/lookup")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    htmx = replay(app, cookie).get("/certificates", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and "HX-Redirect" in htmx.headers


# --- timeouts ------------------------------------------------------------------------------

def age_sessions(app, **changes):
    with app.app_context():
        UserSession.update(**changes).execute()


def test_a_session_idle_for_more_than_30_minutes_ends(app, client, make_user):
    make_user()
    log_in(client, EMAIL)
    age_sessions(app, last_seen_at=utcnow() - dt.timedelta(minutes=29))
    assert client.get("/lookup").status_code == 200
    age_sessions(app, last_seen_at=utcnow() - dt.timedelta(minutes=31))
    assert client.get("/lookup").status_code == 302


def test_a_session_ends_after_12_hours_however_busy(app, client, make_user):
    make_user()
    log_in(client, EMAIL)
    age_sessions(app, created_at=utcnow() - dt.timedelta(hours=11, minutes=59))
    assert client.get("/lookup").status_code == 200
    age_sessions(app, created_at=utcnow() - dt.timedelta(hours=12, minutes=1), last_seen_at=utcnow())
    assert client.get("/lookup").status_code == 302


def test_the_timeouts_come_from_the_config(app_config, make_user):
    make_user()
    app = another_app({**app_config, "SESSION_IDLE_MINUTES": 5})
    client = app.test_client()
    log_in(client, EMAIL)
    age_sessions(app, last_seen_at=utcnow() - dt.timedelta(minutes=6))
    assert client.get("/lookup").status_code == 302


def test_the_cookie_holds_a_token_not_the_user(app, client, make_user):
    user = make_user()
    log_in(client, EMAIL)
    data = session_data(client)
    assert data["_user_id"] != str(user.id) and len(data["_user_id"]) >= 40
