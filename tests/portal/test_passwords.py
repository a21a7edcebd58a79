"""The password rule on every path that sets one (the account page, an admin's /staff
forms, the operator's CLI), and the CLI's organisation default (TOTP required)."""
import pytest

from registry.accounts.users import User, user_by_email
from registry.models import AuditEvent, Organisation
from tests.portal.auth_helpers import audit_events, log_in, post_form
from tests.portal.conftest import PASSWORD

EMAIL = "staff@kakuda.example.jp"
WEAK = ["passwordpassword", "123456789012", "qwertyuiop12"]


def password_hash(app, email=EMAIL) -> str:
    with app.app_context():
        return user_by_email(email).password_hash


@pytest.mark.parametrize("weak", WEAK)
def test_the_account_page_refuses_a_common_password_and_says_why(app, client, make_user, weak):
    make_user()
    log_in(client, EMAIL)
    before = password_hash(app)
    response = post_form(client, "/account/password", {
        "current_password": PASSWORD, "new_password": weak, "confirm": weak}, page="/account")
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "推測されやすいパスワードです" in html
    assert "よく使われる" in html or "繰り返し" in html
    assert password_hash(app) == before and audit_events(app, "user.password_changed") == []
    assert client.get("/account").status_code == 200  # still signed in, nothing ended


def test_the_account_page_refuses_the_email_local_part(app, client, make_user):
    make_user()
    log_in(client, EMAIL)
    response = post_form(client, "/account/password", {
        "current_password": PASSWORD, "new_password": "STAFF of the river office",
        "confirm": "STAFF of the river office"}, page="/account")
    assert response.status_code == 400
    assert "メールアドレスの@より前の部分が含まれています" in response.get_data(as_text=True)


@pytest.fixture
def admin(app, make_user):
    make_user(email="admin@kakuda.example.jp", role="admin")
    make_user()
    client = app.test_client()
    log_in(client, "admin@kakuda.example.jp")
    return client


@pytest.mark.parametrize("weak", WEAK)
def test_the_staff_forms_refuse_a_common_password(app, admin, weak):
    added = post_form(admin, "/staff", {"email": "new@kakuda.example.jp", "role": "staff",
                                        "password": weak})
    assert added.status_code == 400 and "推測されやすいパスワードです" in added.get_data(as_text=True)
    with app.app_context():
        assert user_by_email("new@kakuda.example.jp") is None
        member = user_by_email(EMAIL)
    before = member.password_hash
    reset = post_form(admin, f"/staff/{member.id}/password", {"password": weak}, page="/staff")
    assert reset.status_code == 400 and "推測されやすいパスワードです" in reset.get_data(as_text=True)
    assert password_hash(app) == before and audit_events(app, "user.password_reset") == []


def test_the_staff_form_refuses_the_organisation_name(app, admin):
    added = post_form(admin, "/staff", {"email": "new@kakuda.example.jp", "role": "staff",
                                        "password": "角田市の桜並木をゆっくり歩く朝"})
    assert added.status_code == 400 and "組織名が含まれています" in added.get_data(as_text=True)


@pytest.mark.parametrize("weak", WEAK)
def test_cli_user_add_refuses_a_common_password_with_the_reason(app, orgs, runner, weak):
    result = runner.invoke(args=["user", "add", "--org", "042081", "--email", "new@kakuda.example.jp",
                                 "--role", "staff", "--password-stdin"], input=weak + "\n")
    assert result.exit_code == 1 and "推測されやすいパスワードです" in result.output
    assert weak not in result.output
    with app.app_context():
        assert User.select().count() == 0


def test_cli_set_password_refuses_a_common_password(app, runner, make_user):
    make_user()
    before = password_hash(app)
    result = runner.invoke(args=["user", "set-password", "--email", EMAIL, "--password-stdin"],
                           input="passwordpassword\n")
    assert result.exit_code == 1 and "推測されやすいパスワードです" in result.output
    assert password_hash(app) == before


def test_cli_set_password_makes_the_user_choose_their_own_next(app, runner, client, make_user):
    make_user()
    result = runner.invoke(args=["user", "set-password", "--email", EMAIL, "--password-stdin"],
                           input="the operator typed this\n")
    assert result.exit_code == 0 and "next sign-in" in result.output
    log_in(client, EMAIL, "the operator typed this")
    assert client.get("/lookup").headers["Location"] == "/account/new-password"


# --- `org add`: TOTP unless --allow-password-only ---------------------------------------------

def org_add(runner, *flags, code="122246", name="鎌ケ谷市"):
    return runner.invoke(args=["org", "add", "--kind", "obligee", "--code", code, "--name", name,
                               *flags])


@pytest.mark.parametrize("flags, required", [((), True), (("--require-otp",), True),
                                             (("--allow-password-only",), False)])
def test_cli_org_add_requires_totp_unless_password_only_is_allowed(app, runner, flags, required):
    result = org_add(runner, *flags)
    assert result.exit_code == 0, result.output
    assert ("TOTP required" if required else "password only allowed") in result.output
    assert Organisation.get(Organisation.code == "122246").require_otp is required
    [(_, details)] = audit_events(app, "organisation.added")
    assert details["require_otp"] is required and details["allow_password_only"] is not required


def test_cli_org_add_refuses_contradicting_flags(app, runner):
    result = org_add(runner, "--require-otp", "--allow-password-only")
    assert result.exit_code == 1 and "contradict" in result.output
    assert Organisation.select().count() == 0 and AuditEvent.select().count() == 0
