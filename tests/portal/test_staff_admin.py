"""An obligee admin manages the staff accounts of their own organisation (/staff)."""
import pytest

from registry.accounts import otp
from registry.accounts.users import User, enrol_otp, user_by_email
from registry.clock import utcnow
from tests.portal.auth_helpers import audit_events, log_in, post_form
from tests.portal.conftest import PASSWORD

ADMIN = "admin@kakuda.example.jp"
STAFF = "staff@kakuda.example.jp"
OTHER = "staff@shirako.example.jp"


@pytest.fixture
def people(make_user):
    return {"admin": make_user(email=ADMIN, role="admin"),
            "staff": make_user(email=STAFF),
            "other": make_user(email=OTHER, org_code="124249"),
            "other_admin": make_user(email="admin@shirako.example.jp", role="admin", org_code="124249")}


@pytest.fixture
def admin(app, people):
    client = app.test_client()
    log_in(client, ADMIN)
    return client


def test_the_admin_sees_their_own_organisation_only(admin):
    response = admin.get("/staff")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "職員管理" in html and "角田市" in html
    assert STAFF in html and ADMIN in html
    assert OTHER not in html and "shirako" not in html
    assert '<a href="/staff" aria-current="page">職員管理</a>' in html


@pytest.mark.parametrize("role", ["staff", "auditor"])
def test_only_admins_manage_staff(app, people, make_user, role):
    make_user(email=f"{role}2@kakuda.example.jp", role=role)
    client = app.test_client()
    log_in(client, f"{role}2@kakuda.example.jp")
    assert "職員管理" not in client.get("/lookup").get_data(as_text=True)
    assert client.get("/staff").status_code == 403
    staff_id = people["staff"].id
    for url, data in [("/staff", {"email": "x@kakuda.example.jp", "role": "staff", "password": PASSWORD}),
                      (f"/staff/{staff_id}/deactivate", {}),
                      (f"/staff/{staff_id}/password", {"password": "hijacked password"}),
                      (f"/staff/{staff_id}/otp/remove", {})]:
        assert post_form(client, url, data, page="/lookup").status_code == 403, url
    with app.app_context():
        assert user_by_email(STAFF).active and user_by_email("x@kakuda.example.jp") is None


def test_the_admin_adds_a_member_of_staff(app, admin):
    response = post_form(admin, "/staff", {"email": "New@Kakuda.example.jp", "role": "staff",
                                           "password": "an initial passphrase"})
    assert response.status_code == 303 and response.headers["Location"] == "/staff"
    assert "new@kakuda.example.jp を職員として追加しました" in admin.get("/staff").get_data(as_text=True)
    with app.app_context():
        added = user_by_email("new@kakuda.example.jp")
        assert added.organisation.code == "042081" and added.role == "staff"
    [(event, details)] = [e for e in audit_events(app, "user.added") if e[1]["email"].startswith("new@")]
    assert event.actor.startswith("user:") and "an initial passphrase" not in event.details
    assert log_in(app.test_client(), "new@kakuda.example.jp", "an initial passphrase").status_code == 303


@pytest.mark.parametrize("data, message", [
    ({"email": STAFF, "role": "staff", "password": "an initial passphrase"}, "登録できません"),
    ({"email": OTHER, "role": "staff", "password": "an initial passphrase"}, "登録できません"),
    ({"email": "new@kakuda.example.jp", "role": "staff", "password": "short"}, "12文字以上"),
    ({"email": "not-an-email", "role": "staff", "password": "an initial passphrase"}, "形式"),
    ({"email": "new@kakuda.example.jp", "role": "platform-auditor", "password": "an initial passphrase"},
     "Not a valid choice"),
])
def test_a_bad_addition_is_explained_and_changes_nothing(app, admin, data, message):
    before = None
    with app.app_context():
        before = User.select().count()
    response = post_form(admin, "/staff", data)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    with app.app_context():
        assert User.select().count() == before


def test_deactivating_a_member_ends_their_session_at_once(app, admin, people):
    staff = app.test_client()
    log_in(staff, STAFF)
    assert staff.get("/lookup").status_code == 200
    response = post_form(admin, f"/staff/{people['staff'].id}/deactivate", {}, page="/staff")
    assert response.status_code == 303
    assert staff.get("/lookup").status_code == 302
    assert log_in(app.test_client(), STAFF).status_code == 200  # cannot sign in again
    assert "無効" in admin.get("/staff").get_data(as_text=True)
    [(event, _)] = audit_events(app, "user.deactivated")
    assert event.actor == f"user:{people['admin'].id}"


def test_an_admin_cannot_deactivate_themselves(app, admin, people):
    response = post_form(admin, f"/staff/{people['admin'].id}/deactivate", {}, page="/staff")
    assert response.status_code == 303
    assert "自分自身のアカウントは無効にできません" in admin.get("/staff").get_data(as_text=True)
    with app.app_context():
        assert user_by_email(ADMIN).active


def test_a_password_reset_ends_the_member_s_sessions(app, admin, people):
    staff = app.test_client()
    log_in(staff, STAFF)
    response = post_form(admin, f"/staff/{people['staff'].id}/password",
                         {"password": "reset by the admin"}, page="/staff")
    assert response.status_code == 303
    assert staff.get("/lookup").status_code == 302
    assert log_in(app.test_client(), STAFF, PASSWORD).status_code == 200
    assert log_in(app.test_client(), STAFF, "reset by the admin").status_code == 303
    [(event, details)] = audit_events(app, "user.password_reset")
    assert "reset by the admin" not in event.details


def test_a_too_short_reset_password_is_refused(app, admin, people):
    response = post_form(admin, f"/staff/{people['staff'].id}/password", {"password": "short"},
                         page="/staff")
    assert response.status_code == 400 and "12文字以上" in response.get_data(as_text=True)
    assert log_in(app.test_client(), STAFF).status_code == 303


def test_the_admin_resets_a_lost_totp(app, admin, people):
    secret = otp.new_secret()
    with app.app_context():
        enrol_otp(people["staff"], secret=secret, code=otp.code_at(secret, utcnow()), actor="test")
    assert "二段階認証を解除" in admin.get("/staff").get_data(as_text=True)
    response = post_form(admin, f"/staff/{people['staff'].id}/otp/remove", {}, page="/staff")
    assert response.status_code == 303
    with app.app_context():
        assert user_by_email(STAFF).otp_secret is None
    assert audit_events(app, "otp.reset")
    member = app.test_client()
    assert log_in(member, STAFF).headers["Location"] == "/lookup"  # the password alone now
    # ... and then a password of their own, before anything else (tests/portal/test_mfa.py)
    assert member.get("/lookup").headers["Location"] == "/account/new-password"


@pytest.mark.parametrize("action, data", [("deactivate", {}), ("password", {"password": "hijacked password"}),
                                          ("otp/remove", {})])
def test_an_admin_cannot_touch_another_organisation_s_users(app, admin, people, action, data):
    other = app.test_client()
    log_in(other, OTHER)
    response = post_form(admin, f"/staff/{people['other'].id}/{action}", data, page="/staff")
    assert response.status_code == 403
    with app.app_context():
        user = user_by_email(OTHER)
        assert user.active
    assert other.get("/lookup").status_code == 200  # their session is untouched
    assert log_in(app.test_client(), OTHER).status_code == 303  # and their password


def test_an_unknown_user_is_404(admin):
    assert post_form(admin, "/staff/99999/deactivate", {}, page="/staff").status_code == 404
