"""MFA by default through HTTP: first sign-in goes to enrolment, enrolment asks for the
password and ends the other sessions, recovery codes sign in once, an admin's reset
makes the member choose their own password (and enrol again) before anything else."""
import datetime as dt
import re

import pytest

from registry.accounts import otp
from registry.accounts.users import User, add_user, enrol_otp, user_by_email
from registry.clock import utcnow
from registry.accounts.organisations import add_organisation
from registry.accounts.recovery_codes import RecoveryCode
from tests.portal.auth_helpers import audit_events, log_in, post_form
from tests.portal.conftest import PASSWORD, csrf_token_from

EMAIL = "staff@kamagaya.example.jp"
CODES = re.compile(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>")


@pytest.fixture
def newcomer(app, orgs):
    """A member of staff of an organisation added with the defaults: TOTP required."""
    with app.app_context():
        add_organisation(kind="obligee", code="122246", name="鎌ケ谷市")
        return add_user(org_code="122246", email=EMAIL, role="staff", password=PASSWORD)


def signed_in(client) -> bool:
    return client.get("/lookup").status_code == 200


def enrolment_page(client) -> tuple[str, str]:
    page = client.get("/account/otp").get_data(as_text=True)
    secret = re.search(r'id="otp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    return page, secret


def enrol(client, password=PASSWORD):
    """Enrol through the page; returns (response, secret, recovery codes shown)."""
    page, secret = enrolment_page(client)
    response = client.post("/account/otp", data={
        "otp": otp.code_at(secret, utcnow()), "password": password,
        "csrf_token": csrf_token_from(page)})
    return response, secret, CODES.findall(response.get_data(as_text=True))


def stored_secret(app, email=EMAIL):
    with app.app_context():
        return user_by_email(email).otp_secret


def test_a_new_organisation_s_user_is_sent_to_enrolment_at_first_sign_in(client, newcomer):
    assert log_in(client, EMAIL).status_code == 303
    for url in ("/lookup", "/certificates", "/account"):
        response = client.get(url)
        assert response.status_code == 303 and response.headers["Location"] == "/account/otp", url
    page = client.get("/account/otp").get_data(as_text=True)
    assert "鎌ケ谷市では二段階認証が必須です" in page
    assert 'name="password"' in page and 'autocomplete="current-password"' in page


@pytest.mark.parametrize("password, message", [
    ("", "現在のパスワードを入力してください。"),
    ("not the password, long enough", "現在のパスワードが正しくありません。"),
])
def test_enrolment_without_the_current_password_is_refused(app, client, newcomer, password, message):
    log_in(client, EMAIL)
    response, _, codes = enrol(client, password=password)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert codes == [] and stored_secret(app) is None
    with app.app_context():
        assert RecoveryCode.select().count() == 0
    assert audit_events(app, "otp.enrolled") == []
    assert client.get("/lookup").headers["Location"] == "/account/otp"  # still due


def test_a_wrong_password_at_enrolment_counts_towards_the_lock(app, client, newcomer):
    log_in(client, EMAIL)
    for _ in range(4):
        assert enrol(client, password="not the password, long enough")[0].status_code == 400
    locked, _, _ = enrol(client, password="not the password, long enough")
    assert locked.status_code == 429 and "Retry-After" in locked.headers
    right, _, _ = enrol(client)
    assert right.status_code == 429 and stored_secret(app) is None
    assert [d["reason"] for _, d in audit_events(app, "reauthentication.failed")] == \
        ["wrong_password"] * 5


def test_enrolling_ends_the_user_s_other_sessions(app, newcomer):
    here, elsewhere = app.test_client(), app.test_client()
    log_in(here, EMAIL)
    log_in(elsewhere, EMAIL)
    assert elsewhere.get("/account/otp").status_code == 200
    response, _, codes = enrol(here)
    assert response.status_code == 200 and len(codes) == 10
    assert elsewhere.get("/account/otp").status_code == 302  # signed out: back to /login
    assert signed_in(here)  # this browser goes on, with a new session
    [(_, details)] = audit_events(app, "otp.enrolled")
    assert details["sessions_ended"] == 2 and details["recovery_codes"] == 10


def test_enrol_then_sign_in_with_a_recovery_code_once_and_never_twice(app, client, newcomer):
    """The whole walk without a browser: enrol, keep the codes, sign in with one of them."""
    log_in(client, EMAIL)
    response, secret, codes = enrol(client)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "二段階認証を設定しました" in html
    assert "この画面で一度だけ表示されます" in html and response.headers["Cache-Control"] == "no-store"
    assert len(set(codes)) == 10 and 'href="/lookup"' in html
    post_form(client, "/logout", {}, page="/lookup")

    # Signing in with a recovery code in place of the six digits.
    assert log_in(client, EMAIL).headers["Location"] == "/login/otp"
    used = post_form(client, "/login/otp", {"otp": codes[0].upper()})
    assert used.status_code == 303 and used.headers["Location"] == "/lookup"
    assert signed_in(client)
    assert 'id="recovery-codes-left">9個' in client.get("/account").get_data(as_text=True)
    [(event, details)] = audit_events(app, "otp.recovery_code_used")
    assert details["remaining"] == 9
    post_form(client, "/logout", {}, page="/lookup")

    # The same code a second time: refused, and counted like a wrong code.
    log_in(client, EMAIL)
    again = post_form(client, "/login/otp", {"otp": codes[0]})
    assert again.status_code == 200 and "確認コードが正しくありません" in again.get_data(as_text=True)
    assert not signed_in(client)
    assert audit_events(app, "login.failed")[-1][1]["reason"] == "wrong_recovery_code"
    assert post_form(client, "/login/otp", {"otp": codes[1]}).headers["Location"] == "/lookup"
    for event, _ in audit_events(app):
        assert not any(code in event.details or code.replace("-", "") in event.details
                       for code in codes)


def test_recovery_codes_are_renewed_with_the_password(app, client, newcomer):
    log_in(client, EMAIL)
    _, _, old = enrol(client)
    page = client.get("/account/recovery-codes").get_data(as_text=True)
    assert 'id="recovery-codes-left">10個' in page and CODES.findall(page) == []
    refused = post_form(client, "/account/recovery-codes", {"password": "wrong, but long enough"})
    assert refused.status_code == 400 and "現在のパスワードが正しくありません" in refused.get_data(as_text=True)
    renewed = post_form(client, "/account/recovery-codes", {"password": PASSWORD})
    new = CODES.findall(renewed.get_data(as_text=True))
    assert renewed.status_code == 200 and len(new) == 10 and set(new).isdisjoint(old)
    post_form(client, "/logout", {}, page="/lookup")
    log_in(client, EMAIL)
    assert post_form(client, "/login/otp", {"otp": old[0]}).status_code == 200
    assert post_form(client, "/login/otp", {"otp": new[0]}).headers["Location"] == "/lookup"
    assert audit_events(app, "otp.recovery_codes_replaced")


# --- an admin's reset ------------------------------------------------------------------------

ADMIN = "admin@kamagaya.example.jp"


@pytest.fixture
def admin(app, newcomer):
    """An admin of 鎌ケ谷市 with TOTP, signed in; the member of staff has TOTP too."""
    with app.app_context():
        add_user(org_code="122246", email=ADMIN, role="admin", password=PASSWORD)
        for email in (ADMIN, EMAIL):
            secret = otp.new_secret()
            assert enrol_otp(user_by_email(email), secret=secret,
                             code=otp.code_at(secret, utcnow()), actor="test")
            if email == ADMIN:
                admin_secret = secret
    client = app.test_client()
    log_in(client, ADMIN)
    post_form(client, "/login/otp", {"otp": next_code(admin_secret)})
    assert signed_in(client)
    return client


def next_code(secret: str) -> str:
    """The next step's code (accepted for drift): the current one was spent enrolling."""
    return otp.code_at(secret, utcnow() + dt.timedelta(seconds=30))


def member_id(app):
    with app.app_context():
        return user_by_email(EMAIL).id


def test_an_admin_s_totp_reset_makes_the_member_choose_a_password_then_enrol(app, admin):
    member = app.test_client()
    with app.app_context():  # the member's current session (the form would need their phone)
        from registry.accounts.users import start_session
        token = start_session(user_by_email(EMAIL))
    with member.session_transaction() as session:
        session["_user_id"] = token
    assert signed_in(member)
    response = post_form(admin, f"/staff/{member_id(app)}/otp/remove", {}, page="/staff")
    assert response.status_code == 303
    assert not signed_in(member)  # the member's sessions ended at the reset
    [(event, details)] = audit_events(app, "otp.reset")
    assert details["must_change_password"] and details["must_enrol_otp"]

    assert log_in(member, EMAIL).status_code == 303  # the password alone, this once
    for url in ("/lookup", "/account", "/account/otp"):
        assert member.get(url).headers["Location"] == "/account/new-password", url
    htmx = member.get("/lookup", headers={"HX-Request": "true"})
    assert htmx.status_code == 403 and htmx.headers["HX-Redirect"] == "/account/new-password"
    page = member.get("/account/new-password").get_data(as_text=True)
    assert "新しいパスワードの設定" in page
    weak = post_form(member, "/account/new-password", {
        "current_password": PASSWORD, "new_password": "passwordpassword",
        "confirm": "passwordpassword"})
    assert weak.status_code == 400 and "推測されやすいパスワードです" in weak.get_data(as_text=True)
    same = post_form(member, "/account/new-password", {
        "current_password": PASSWORD, "new_password": PASSWORD, "confirm": PASSWORD})
    assert same.status_code == 400 and "違うもの" in same.get_data(as_text=True)
    done = post_form(member, "/account/new-password", {
        "current_password": PASSWORD, "new_password": "my own quiet sentence",
        "confirm": "my own quiet sentence"})
    assert done.status_code == 303
    assert member.get("/lookup").headers["Location"] == "/account/otp"  # then TOTP again
    response, _, codes = enrol(member, password="my own quiet sentence")
    assert response.status_code == 200 and len(codes) == 10 and signed_in(member)
    assert audit_events(app, "user.password_changed")


def test_an_admin_s_password_reset_makes_the_member_choose_their_own(app, admin):
    response = post_form(admin, f"/staff/{member_id(app)}/password",
                         {"password": "told over the phone"}, page="/staff")
    assert response.status_code == 303
    assert "次回パスワード変更" in admin.get("/staff").get_data(as_text=True)
    [(event, details)] = audit_events(app, "user.password_reset")
    assert details["must_change_password"] is True and "told over" not in event.details
    member = app.test_client()
    # The member's own authenticator is still asked: the admin's password alone is not enough.
    assert log_in(member, EMAIL, "told over the phone").headers["Location"] == "/login/otp"
    with app.app_context():
        secret = user_by_email(EMAIL).otp_secret
    post_form(member, "/login/otp", {"otp": next_code(secret)})
    assert member.get("/lookup").headers["Location"] == "/account/new-password"
    post_form(member, "/account/new-password", {
        "current_password": "told over the phone", "new_password": "my own quiet sentence",
        "confirm": "my own quiet sentence"})
    assert signed_in(member)


@pytest.mark.parametrize("action, data", [("password", {"password": "a self-chosen sentence"}),
                                          ("otp/remove", {})])
def test_an_admin_changes_their_own_account_on_the_account_page_only(app, admin, action, data):
    with app.app_context():
        me = user_by_email(ADMIN)
    response = post_form(admin, f"/staff/{me.id}/{action}", data, page="/staff")
    assert response.status_code == 303 and response.headers["Location"] == "/account"
    with app.app_context():
        after = user_by_email(ADMIN)
        assert after.password_hash == me.password_hash and after.otp_secret == me.otp_secret
        assert not after.must_change_password
    assert signed_in(admin)


def test_the_admin_sees_whether_the_organisation_allows_password_only(app, admin, make_user):
    assert "パスワードのみのログインを許可しています" not in admin.get("/staff").get_data(as_text=True)
    make_user(email="admin@kakuda.example.jp", role="admin")  # 角田市: password-only allowed
    lax = app.test_client()
    log_in(lax, "admin@kakuda.example.jp")
    assert "この組織はパスワードのみのログインを許可しています" in lax.get("/staff").get_data(as_text=True)


def test_a_member_added_by_the_admin_sets_their_own_password_first(app, admin):
    added = post_form(admin, "/staff", {"email": "new@kamagaya.example.jp", "role": "staff",
                                        "password": "initial sentence from admin"}, page="/staff")
    assert added.status_code == 303
    member = app.test_client()
    log_in(member, "new@kamagaya.example.jp", "initial sentence from admin")
    assert member.get("/lookup").headers["Location"] == "/account/new-password"
    with app.app_context():
        assert User.get(User.email == "new@kamagaya.example.jp").must_change_password
