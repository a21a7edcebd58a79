"""Signing in and out through the forms: password, TOTP, lockout, audit, CLI, demo."""
import datetime as dt
import re

import pytest

from registry.accounts import otp
from registry.accounts.users import User, deactivate_user, enrol_otp, user_by_email
from registry.clock import utcnow
from registry.accounts.organisations import add_organisation
from tests.portal.auth_helpers import another_app, audit_events, log_in, post_form
from tests.portal.certificate_fixtures import strip_csrf
from tests.portal.conftest import PASSWORD, csrf_token_from

FAILED = "メールアドレスまたはパスワードが正しくありません"
EMAIL = "staff@kakuda.example.jp"


def signed_in(client) -> bool:
    return client.get("/lookup").status_code == 200


def test_the_login_page_is_a_labelled_japanese_form(client):
    response = client.get("/login")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and '<html lang="ja">' in html
    assert '<label for="email">メールアドレス</label>' in html
    assert '<label for="password">パスワード</label>' in html
    assert 'autocomplete="username"' in html and 'autocomplete="current-password"' in html
    assert 'name="csrf_token"' in html and '<h1>ログイン</h1>' in html


def test_the_right_password_signs_in_and_goes_to_the_lookup(app, client, make_user):
    user = make_user()
    response = log_in(client, EMAIL)
    assert response.status_code == 303 and response.headers["Location"] == "/lookup"
    page = client.get("/lookup").get_data(as_text=True)
    assert "ログアウト" in page and EMAIL in page
    [(event, details)] = audit_events(app, "login.succeeded")
    assert event.actor == f"user:{user.id}" and details["otp"] is False
    assert PASSWORD not in event.details


def test_a_signed_in_user_visiting_login_goes_on(client, make_user):
    make_user()
    log_in(client, EMAIL)
    response = client.get("/login")
    assert response.status_code == 302 and response.headers["Location"] == "/lookup"


@pytest.mark.parametrize("target", ["/certificates", "/certificates?page=2&q=%E8%A7%92",
                                    "/audit/certificates"])
def test_sign_in_returns_to_a_page_of_this_site(client, make_user, target):
    make_user()
    response = log_in(client, EMAIL, next=target.replace("&", "%26").replace("?", "%3F"))
    assert response.status_code == 303 and response.headers["Location"] == target


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example",
                                    "\\\\evil.example", "javascript:alert(1)", "http:/evil.example",
                                    "evil.example", "/%0d%0aSet-Cookie:x=1", "%2F%2Fevil.example"])
def test_sign_in_never_sends_anyone_off_site(client, make_user, target):
    make_user()
    response = log_in(client, EMAIL, next=target)
    assert response.status_code == 303 and response.headers["Location"] == "/lookup"


def test_an_anonymous_visit_comes_back_after_sign_in(client, make_user):
    make_user()
    first = client.get("/certificates?page=1")
    assert first.status_code == 302
    login_url = first.headers["Location"]
    assert login_url.startswith("/login?next=")
    html = client.get(login_url).get_data(as_text=True)
    action = re.search(r'<form method="post" action="([^"]+)"', html).group(1).replace("&amp;", "&")
    response = client.post(action, data={"email": EMAIL, "password": PASSWORD,
                                         "csrf_token": csrf_token_from(html)})
    assert response.status_code == 303 and response.headers["Location"] == "/certificates?page=1"


def test_a_wrong_email_and_a_wrong_password_read_exactly_the_same(app, client, make_user):
    make_user()
    wrong_password = log_in(client, EMAIL, "not the password at all")
    unknown_email = log_in(client, "nobody@kakuda.example.jp", PASSWORD)
    for response in (wrong_password, unknown_email):
        assert response.status_code == 200
        assert FAILED in response.get_data(as_text=True)
    assert (strip_csrf(wrong_password.get_data(as_text=True)).replace(EMAIL, "@")
            == strip_csrf(unknown_email.get_data(as_text=True)).replace("nobody@kakuda.example.jp", "@"))
    reasons = [d["reason"] for _, d in audit_events(app, "login.failed")]
    assert reasons == ["wrong_password", "unknown_email"]
    for event, _ in audit_events(app):
        assert "not the password at all" not in event.details and PASSWORD not in event.details
    assert not signed_in(client)


def test_an_inactive_user_cannot_sign_in(app, client, make_user):
    make_user()
    with app.app_context():
        deactivate_user(email=EMAIL)
    response = log_in(client, EMAIL)
    assert response.status_code == 200 and FAILED in response.get_data(as_text=True)
    assert not signed_in(client)
    [(_, details)] = audit_events(app, "login.failed")
    assert details["reason"] == "inactive"


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_a_login_post_without_a_valid_csrf_token_is_refused(client, make_user, token):
    make_user()
    client.get("/login")
    data = {"email": EMAIL, "password": PASSWORD}
    if token is not None:
        data["csrf_token"] = token
    response = client.post("/login", data=data)
    assert response.status_code == 400
    assert not signed_in(client)


def test_the_account_locks_after_the_limit_even_for_the_right_password(app, client, make_user):
    make_user()
    limit = app.config["LOGIN_FAILURE_LIMIT"]
    for _ in range(limit - 1):
        assert log_in(client, EMAIL, "wrong password again").status_code == 200
    tripped = log_in(client, EMAIL, "wrong password again")
    assert tripped.status_code == 429
    right = log_in(client, EMAIL, PASSWORD)
    html = right.get_data(as_text=True)
    assert right.status_code == 429 and "試行回数が上限" in html
    assert 1 <= int(right.headers["Retry-After"]) <= 15 * 60
    assert not signed_in(client)
    assert audit_events(app, "login.locked")


def test_the_failure_count_lives_in_the_database_shared_by_every_instance(app, app_config, make_user):
    """Two app instances (two workers or two machines) see one count."""
    make_user()
    other_instance = another_app(app_config)
    first, second = app.test_client(), other_instance.test_client()
    limit = app.config["LOGIN_FAILURE_LIMIT"]
    for n in range(limit):
        client = first if n % 2 == 0 else second
        log_in(client, EMAIL, "wrong password again", environ_base={"REMOTE_ADDR": f"10.0.0.{n}"})
    for client in (first, second, other_instance.test_client()):
        response = log_in(client, EMAIL, PASSWORD, environ_base={"REMOTE_ADDR": "10.9.9.9"})
        assert response.status_code == 429
        assert not signed_in(client)


def test_post_login_has_a_coarse_request_rate_limit_too(app_config, make_user):
    make_user()
    app = another_app({**app_config, "LOGIN_RATE_LIMIT": "3 per minute"})
    client = app.test_client()
    codes = [log_in(client, "nobody@example.jp", "whatever it is").status_code for _ in range(4)]
    assert codes[:3] == [200, 200, 200] and codes[3] == 429
    assert client.get("/login").status_code == 200  # GET is not limited


# --- TOTP --------------------------------------------------------------------------------

@pytest.fixture
def otp_user(app, make_user):
    user = make_user()
    secret = otp.new_secret()
    with app.app_context():
        assert enrol_otp(user, secret=secret, code=otp.code_at(secret, utcnow() - dt.timedelta(seconds=30)),
                         actor="test")
    return user, secret


def current_code(secret: str) -> str:
    return otp.code_at(secret, utcnow())


def test_with_totp_the_password_leads_to_the_code_step(app, client, otp_user):
    user, secret = otp_user
    first = log_in(client, EMAIL, next="/certificates")
    assert first.status_code == 303 and first.headers["Location"] == "/login/otp"
    assert not signed_in(client)
    page = client.get("/login/otp").get_data(as_text=True)
    assert '<label for="otp">確認コード(6桁)</label>' in page
    # A recovery code (letters too) may stand in for the six digits: no digits-only keypad.
    assert 'autocomplete="one-time-code"' in page and "pattern=" not in page and "回復コード" in page
    code = current_code(secret)
    response = post_form(client, "/login/otp", {"otp": code})
    assert response.status_code == 303 and response.headers["Location"] == "/certificates"
    assert signed_in(client)
    [(event, details)] = audit_events(app, "login.succeeded")
    assert details["otp"] is True
    for event, _ in audit_events(app):
        assert code not in event.details and secret not in event.details


def test_a_wrong_or_reused_code_does_not_sign_in(app, client, otp_user):
    user, secret = otp_user
    code = current_code(secret)
    log_in(client, EMAIL)
    assert post_form(client, "/login/otp", {"otp": code}).status_code == 303
    post_form(client, "/logout", {}, page="/lookup")

    log_in(client, EMAIL)
    reused = post_form(client, "/login/otp", {"otp": code})
    assert reused.status_code == 200 and "確認コードが正しくありません" in reused.get_data(as_text=True)
    assert not signed_in(client)
    wrong = "000000" if code != "000000" else "111111"
    assert post_form(client, "/login/otp", {"otp": wrong}).status_code == 200
    assert not signed_in(client)
    assert [d["reason"] for _, d in audit_events(app, "login.failed")] == ["wrong_otp", "wrong_otp"]


def test_wrong_codes_lock_the_account(app, client, otp_user):
    user, secret = otp_user
    log_in(client, EMAIL)
    code = current_code(secret)
    wrong = "000000" if code != "000000" else "111111"
    codes = [post_form(client, "/login/otp", {"otp": wrong}).status_code
             for _ in range(app.config["LOGIN_FAILURE_LIMIT"])]
    assert codes[-1] == 429
    assert log_in(client, EMAIL).status_code == 429


def test_the_code_step_needs_the_password_step_first(client, otp_user):
    response = client.get("/login/otp")
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    posted = client.post("/login/otp", data={"otp": current_code(otp_user[1]), "csrf_token": token})
    assert posted.status_code == 303 and posted.headers["Location"] == "/login"
    assert not signed_in(client)


def test_the_code_step_expires(client, otp_user):
    log_in(client, EMAIL)
    token = csrf_token_from(client.get("/login/otp").get_data(as_text=True))
    with client.session_transaction() as session:
        session["otp_pending"] = {**session["otp_pending"], "since": session["otp_pending"]["since"] - 301}
    response = client.post("/login/otp", data={"otp": current_code(otp_user[1]), "csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert not signed_in(client)


def enrol_through_the_page(client, password: str = PASSWORD) -> tuple[str, str]:
    page = client.get("/account/otp").get_data(as_text=True)
    assert '<img class="otp-qr" src="data:image/svg+xml' in page
    secret = re.search(r'id="otp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    code = current_code(secret)
    response = client.post("/account/otp", data={"otp": code, "password": password,
                                                 "csrf_token": csrf_token_from(page)})
    return secret, response


def test_a_user_may_turn_totp_on_from_their_account(app, client, make_user):
    user = make_user()
    log_in(client, EMAIL)
    assert "二段階認証を設定する" in client.get("/account").get_data(as_text=True)
    # A wrong code saves nothing.
    page = client.get("/account/otp").get_data(as_text=True)
    failed = client.post("/account/otp", data={"otp": "12345", "password": PASSWORD,
                                               "csrf_token": csrf_token_from(page)})
    assert failed.status_code == 400
    with app.app_context():
        assert User.get_by_id(user.id).otp_secret is None
    # Reloading shows the same secret (GET stores nothing).
    assert page == client.get("/account/otp").get_data(as_text=True).replace(
        csrf_token_from(client.get("/account/otp").get_data(as_text=True)), csrf_token_from(page))
    secret, response = enrol_through_the_page(client)
    assert response.status_code == 200 and "二段階認証を設定しました" in response.get_data(as_text=True)
    with app.app_context():
        assert User.get_by_id(user.id).otp_secret == secret
    [(event, details)] = audit_events(app, "otp.enrolled")
    assert secret not in event.details
    post_form(client, "/logout", {}, page="/lookup")
    assert log_in(client, EMAIL).headers["Location"] == "/login/otp"


def test_a_user_may_turn_optional_totp_off_with_the_password_and_a_current_code(app, client, otp_user):
    user, secret = otp_user
    log_in(client, EMAIL)
    post_form(client, "/login/otp", {"otp": current_code(secret)})
    # Spend nothing on the reuse check: a fresh step's code is needed; use the next one.
    next_code = otp.code_at(secret, utcnow() + dt.timedelta(seconds=30))
    without_password = post_form(client, "/account/otp/remove", {"otp": next_code}, page="/account")
    assert without_password.status_code == 400
    with app.app_context():
        assert User.get_by_id(user.id).otp_secret == secret
    response = post_form(client, "/account/otp/remove", {"otp": next_code, "password": PASSWORD},
                         page="/account")
    assert response.status_code == 303 and response.headers["Location"] == "/account"
    assert signed_in(client)  # this browser goes on; the other sessions ended
    with app.app_context():
        assert User.get_by_id(user.id).otp_secret is None
    assert audit_events(app, "otp.removed")
    post_form(client, "/logout", {}, page="/lookup")
    assert log_in(client, EMAIL).headers["Location"] == "/lookup"


@pytest.fixture
def strict_org(app, orgs):
    with app.app_context():
        return add_organisation(kind="obligee", code="122246", name="鎌ケ谷市", require_otp=True)


def test_an_organisation_that_requires_totp_makes_its_users_enrol_first(app, client, make_user, strict_org):
    make_user(email="staff@kamagaya.example.jp", org_code="122246")
    assert log_in(client, "staff@kamagaya.example.jp").status_code == 303
    for url in ("/lookup", "/certificates", "/account", "/staff"):
        response = client.get(url)
        assert response.status_code == 303 and response.headers["Location"] == "/account/otp", url
        htmx = client.get(url, headers={"HX-Request": "true"})
        assert htmx.status_code == 403 and htmx.headers["HX-Redirect"] == "/account/otp", url
    blocked = post_form(client, "/lookup", {"contract_number": "x", "auth_key": "y"}, page="/account/otp")
    assert blocked.status_code == 303 and blocked.headers["Location"] == "/account/otp"
    page = client.get("/account/otp").get_data(as_text=True)
    assert "二段階認証が必須" in page
    secret, response = enrol_through_the_page(client)
    assert response.status_code == 200 and 'href="/lookup"' in response.get_data(as_text=True)
    assert client.get("/lookup").status_code == 200
    # Sign-out stays reachable before enrolment, too (tested above by the page's form).
    post_form(client, "/logout", {}, page="/lookup")
    assert log_in(client, "staff@kamagaya.example.jp").headers["Location"] == "/login/otp"


def test_sign_out_is_possible_before_enrolment(client, make_user, strict_org):
    make_user(email="staff@kamagaya.example.jp", org_code="122246")
    log_in(client, "staff@kamagaya.example.jp")
    response = post_form(client, "/logout", {}, page="/account/otp")
    assert response.status_code == 303 and response.headers["Location"] == "/login"


# --- sign-out --------------------------------------------------------------------------

def test_sign_out_ends_the_session_and_is_audited(app, client, make_user):
    user = make_user()
    log_in(client, EMAIL)
    response = post_form(client, "/logout", {}, page="/lookup")
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert "ログアウトしました" in client.get("/login").get_data(as_text=True)
    assert not signed_in(client)
    [(event, _)] = audit_events(app, "logout")
    assert event.actor == f"user:{user.id}"


def test_sign_out_is_post_only(client, make_user):
    make_user()
    log_in(client, EMAIL)
    assert client.get("/logout").status_code == 405
    assert signed_in(client)


def test_a_user_changes_their_own_password(app, client, make_user):
    make_user()
    log_in(client, EMAIL)
    bad = post_form(client, "/account/password", {"current_password": "wrong one entirely",
                                                  "new_password": "a new passphrase here",
                                                  "confirm": "a new passphrase here"}, page="/account")
    assert bad.status_code == 400 and "現在のパスワードが正しくありません" in bad.get_data(as_text=True)
    good = post_form(client, "/account/password", {"current_password": PASSWORD,
                                                   "new_password": "a new passphrase here",
                                                   "confirm": "a new passphrase here"}, page="/account")
    assert good.status_code == 303 and signed_in(client)
    post_form(client, "/logout", {}, page="/lookup")
    assert log_in(client, EMAIL).status_code == 200
    assert log_in(client, EMAIL, "a new passphrase here").status_code == 303
    assert audit_events(app, "user.password_changed")

def test_guessing_the_current_password_on_the_account_page_locks_out(app, client, make_user):
    """A borrowed session must not become a free password oracle."""
    user = make_user()
    log_in(client, EMAIL)
    change = {"current_password": "wrong one entirely", "new_password": "a new passphrase here",
              "confirm": "a new passphrase here"}
    statuses = [post_form(client, "/account/password", change, page="/account").status_code
                for _ in range(app.config["LOGIN_FAILURE_LIMIT"])]
    assert statuses == [400] * (len(statuses) - 1) + [429]
    right = post_form(client, "/account/password", {**change, "current_password": PASSWORD},
                      page="/account")
    assert right.status_code == 429 and "試行回数が上限に達しました" in right.get_data(as_text=True)
    with app.app_context():
        assert User.get_by_id(user.id).password_hash == user.password_hash  # unchanged
    assert len(audit_events(app, "reauthentication.failed")) == app.config["LOGIN_FAILURE_LIMIT"]



# --- the operator's CLI and the demo ------------------------------------------------------

def test_cli_user_add_reads_the_password_from_stdin(app, orgs, runner, client):
    result = runner.invoke(args=["user", "add", "--org", "042081", "--email", "new@kakuda.example.jp",
                                 "--role", "admin", "--password-stdin"],
                           input="a long enough password\n")
    assert result.exit_code == 0, result.output
    assert "new@kakuda.example.jp" in result.output and "a long enough password" not in result.output
    with app.app_context():
        user = user_by_email("new@kakuda.example.jp")
        assert user.role == "admin" and user.organisation.code == "042081"
    assert log_in(client, "new@kakuda.example.jp", "a long enough password").status_code == 303


@pytest.mark.parametrize("args, stdin, code, message", [
    (["--org", "042081", "--email", "a@b.jp", "--role", "root"], "a long enough password\n", 2, "root"),
    (["--org", "042081", "--email", "a@b.jp", "--role", "staff"], "short\n", 1, "12"),
    (["--org", "999999", "--email", "a@b.jp", "--role", "staff"], "a long enough password\n", 1, "999999"),
    (["--org", "042081", "--email", "a@b.jp", "--role", "staff"], "\n", 1, "no password"),
])
def test_cli_user_add_refuses_bad_input(orgs, runner, args, stdin, code, message):
    result = runner.invoke(args=["user", "add", *args, "--password-stdin"], input=stdin)
    assert result.exit_code == code and message in result.output


def test_cli_user_deactivate(app, runner, client, make_user):
    make_user()
    log_in(client, EMAIL)
    result = runner.invoke(args=["user", "deactivate", "--email", EMAIL.upper()])
    assert result.exit_code == 0, result.output
    assert not signed_in(client)
    assert log_in(client, EMAIL).status_code == 200
    assert runner.invoke(args=["user", "deactivate", "--email", "x@y.jp"]).exit_code == 1


def test_cli_set_password_and_reset_otp(app, runner, client, otp_user):
    result = runner.invoke(args=["user", "set-password", "--email", EMAIL, "--password-stdin"],
                           input="the operator's new one\n")
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["user", "reset-otp", "--email", EMAIL]).exit_code == 0
    assert log_in(client, EMAIL, "the operator's new one").headers["Location"] == "/lookup"


def test_the_demo_prints_logins_that_work(app, runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    logins = re.findall(r"^  (\S+@\S+)  (\S+)  (\S+)  (\S+)$", result.output, re.M)
    assert {role for _, _, role, _ in logins} == {"staff", "admin", "auditor", "platform-auditor"}
    assert ("staff@shirako.example.jp", "shirako-shokuin-demo", "staff", "白子町") in logins
    for email, password, role, _ in logins:
        client = app.test_client()
        response = log_in(client, email, password)
        home = "/audit" if role.endswith("auditor") else "/lookup"
        assert response.status_code == 303 and response.headers["Location"] == home, email
        assert client.get(home).status_code == 200
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0 and re.findall(r"^  (\S+@\S+)  (\S+)  (\S+)  (\S+)$", again.output, re.M) == logins


def test_the_site_root_leads_to_sign_in_or_to_the_users_home(client, make_user):
    assert client.get("/").headers["Location"].startswith("/login")
    make_user()
    log_in(client, EMAIL)
    assert client.get("/").headers["Location"] == "/lookup"
