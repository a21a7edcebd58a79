"""Portal fixtures: organisations, users, and a browser session for a user without
going through the login form (the login form has its own tests)."""
from __future__ import annotations

import pytest

from registry.accounts.users import add_user, start_session
from registry.accounts.organisations import add_organisation

PASSWORD = "correct horse battery staple"


@pytest.fixture
def orgs(app):
    """角田市 and 白子町 as obligees, EJCS as surety, an operator. The obligees and the
    operator allow password-only sign-in, explicitly (a new organisation requires TOTP):
    these tests sign in without an authenticator; tests/portal/test_mfa.py covers the
    default."""
    with app.app_context():
        made = {
            "kakuda": add_organisation(kind="obligee", code="042081", name="角田市",
                                       require_otp=False),
            "shirako": add_organisation(kind="obligee", code="124249", name="白子町",
                                        require_otp=False),
            "ejcs": add_organisation(kind="surety", code="EJCS", name="東日本建設業保証株式会社"),
            "operator": add_organisation(kind="operator", code="DSURE", name="運営事業者",
                                         require_otp=False),
        }
    return made


@pytest.fixture
def make_user(app, orgs):
    def make(email="staff@kakuda.example.jp", role="staff", org_code="042081", password=PASSWORD):
        with app.app_context():
            return add_user(org_code=org_code, email=email, role=role, password=password)
    return make


@pytest.fixture
def sign_in(app):
    """sign_in(test_client, user): give the client a live server-side session."""
    def sign_in(client, user):
        with app.app_context():
            token = start_session(user)
        with client.session_transaction() as session:
            session["_user_id"] = token
            session["_fresh"] = True
        return token
    return sign_in


def csrf_token_from(html: str) -> str:
    import re
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or \
        re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert match, "no csrf_token in the page"
    return match.group(1)
