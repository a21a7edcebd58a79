"""Device cookies through the login form (OWASP "Slow Down Online Guessing Attacks with
Device Cookies"): a stranger's wrong passwords lock unknown browsers, never the owner's
own browser; the cookie is signed, per account, and taken away when it is rejected."""
import time

import pytest
from itsdangerous import TimestampSigner

from dsure_portal import devices
from registry.accounts.devices import RejectedDevice
from tests.portal.auth_helpers import audit_events, log_in, post_form
from tests.portal.conftest import PASSWORD

EMAIL = "staff@kakuda.example.jp"
WRONG = "wrong password again"
OWNER = {"REMOTE_ADDR": "192.0.2.10"}
STRANGER = {"REMOTE_ADDR": "203.0.113.7"}


def device_cookie(client):
    cookie = client.get_cookie(devices.COOKIE)
    return cookie.value if cookie else None


def signed_in(client) -> bool:
    return client.get("/lookup").status_code == 200


@pytest.fixture
def owner(app, make_user):
    """The owner's browser: it signed in once (and signed out), so it holds a device cookie."""
    make_user()
    browser = app.test_client()
    assert log_in(browser, EMAIL, environ_base=OWNER).status_code == 303
    post_form(browser, "/logout", {}, page="/lookup", environ_base=OWNER)
    assert device_cookie(browser) and not signed_in(browser)
    return browser


def test_after_five_wrong_passwords_from_a_new_browser_the_owner_still_signs_in(app, owner):
    stranger = app.test_client()
    codes = [log_in(stranger, EMAIL, WRONG, environ_base=STRANGER).status_code for _ in range(5)]
    assert codes == [200] * 4 + [429]

    assert log_in(owner, EMAIL, PASSWORD, environ_base=OWNER).status_code == 303
    assert signed_in(owner)
    assert log_in(stranger, EMAIL, PASSWORD, environ_base=STRANGER).status_code == 429
    assert not signed_in(stranger)
    assert log_in(app.test_client(), EMAIL, PASSWORD).status_code == 429  # any new browser

    succeeded = [d for _, d in audit_events(app, "login.succeeded")]
    assert [d["device"] for d in succeeded] == [False, True]
    trail = " ".join(e.details for e, _ in audit_events(app))
    assert device_cookie(owner) not in trail


def test_an_altered_device_cookie_counts_for_nothing(app, owner):
    stranger = app.test_client()
    for _ in range(5):
        log_in(stranger, EMAIL, WRONG, environ_base=STRANGER)
    value = device_cookie(owner)
    forged = app.test_client()
    forged.set_cookie(devices.COOKIE, value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    assert log_in(forged, EMAIL, PASSWORD).status_code == 429


def test_a_device_cookie_older_than_its_lifetime_counts_for_nothing(app, owner):
    class Signed181DaysAgo(TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - 181 * 24 * 3600

    with app.test_request_context():
        old = devices._serializer()
        old.signer = Signed181DaysAgo
        entries = old.loads(device_cookie(owner))  # (loads does not check age without max_age)
        aged = old.dumps(entries)
    stranger = app.test_client()
    for _ in range(5):
        log_in(stranger, EMAIL, WRONG, environ_base=STRANGER)
    owner.set_cookie(devices.COOKIE, aged)
    assert log_in(owner, EMAIL, PASSWORD, environ_base=OWNER).status_code == 429


def test_one_browser_keeps_a_device_cookie_for_each_account(app, owner, make_user):
    make_user(email="colleague@kakuda.example.jp")
    assert log_in(owner, "colleague@kakuda.example.jp").status_code == 303
    post_form(owner, "/logout", {}, page="/lookup")
    stranger = app.test_client()
    for email in (EMAIL, "colleague@kakuda.example.jp"):
        for _ in range(5):
            log_in(stranger, email, WRONG, environ_base=STRANGER)
    for email in (EMAIL, "colleague@kakuda.example.jp"):
        assert log_in(owner, email, PASSWORD).status_code == 303, email
        post_form(owner, "/logout", {}, page="/lookup")


def test_five_wrong_passwords_from_the_owners_browser_lock_that_browser_only(app, owner):
    codes = [log_in(owner, EMAIL, WRONG, environ_base=OWNER).status_code for _ in range(5)]
    assert codes == [200] * 4 + [429]
    assert log_in(owner, EMAIL, PASSWORD, environ_base=OWNER).status_code == 429
    with app.app_context():
        assert RejectedDevice.select().count() == 1  # trusted no more, once its lock is over
    assert [d["device"] for _, d in audit_events(app, "login.failed")] == [True] * 5
    assert len(audit_events(app, "login.device_rejected")) == 1
    # The account itself is not locked: another browser signs in.
    assert log_in(app.test_client(), EMAIL, PASSWORD).status_code == 303


def test_the_owners_browser_with_totp_gets_its_cookie_after_the_code(app, make_user):
    import datetime as dt

    from registry.accounts import otp
    from registry.accounts.users import enrol_otp
    from registry.clock import utcnow
    user = make_user()
    secret = otp.new_secret()
    with app.app_context():
        assert enrol_otp(user, secret=secret, code=otp.code_at(secret, utcnow() - dt.timedelta(seconds=30)),
                         actor="test")
    browser = app.test_client()
    assert log_in(browser, EMAIL).headers["Location"] == "/login/otp"
    assert device_cookie(browser) is None
    done = post_form(browser, "/login/otp", {"otp": otp.code_at(secret, utcnow())})
    assert done.status_code == 303 and device_cookie(browser)
