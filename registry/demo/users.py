"""Demo sign-ins for `make run` (demo data only: the passwords are fixed and printed).

Idempotent: a second run finds the accounts; one whose password was changed or reset,
or which was deactivated while trying the demo, is put back, so the printed logins always
work. The demo organisations allow password-only sign-in explicitly (a new organisation
requires TOTP by default), and no password contains its account's email local part.
"""
from __future__ import annotations

from ..accounts.users import (User, add_user, password_matches, reactivate_user, set_password,
                              user_by_email)
from ..models import Organisation
from ..accounts.organisations import add_organisation

OPERATOR = ("DSURE", "電子保証プラットフォーム運営事業者")
OBLIGEE_NAMES = {"042081": "角田市", "124249": "白子町"}

# (email, password, role, organisation code)
DEMO_USERS = [
    ("staff@kakuda.example.jp", "kakuda-shokuin-demo", "staff", "042081"),
    ("admin@kakuda.example.jp", "kakuda-kanrisha-demo", "admin", "042081"),
    ("auditor@kakuda.example.jp", "kakuda-kansa-demo", "auditor", "042081"),
    ("staff@shirako.example.jp", "shirako-shokuin-demo", "staff", "124249"),
    ("auditor@dsure.example.jp", "platform-kansa-demo", "platform-auditor", OPERATOR[0]),
]


def _organisation(code: str) -> Organisation:
    org = Organisation.get_or_none(Organisation.code == code)
    if org is not None:
        return org
    if code == OPERATOR[0]:
        return add_organisation(kind="operator", code=code, name=OPERATOR[1], require_otp=False,
                                actor="demo")
    return add_organisation(kind="obligee", code=code, name=OBLIGEE_NAMES[code],
                            require_otp=False, actor="demo")


def load_demo_users() -> list[tuple[str, str, str, str]]:
    """Create (or restore) the demo accounts; returns (email, password, role, org name)."""
    shown = []
    for email, password, role, code in DEMO_USERS:
        org = _organisation(code)
        user = user_by_email(email)
        if user is None:
            add_user(org_code=code, email=email, role=role, password=password, actor="demo")
        else:
            if (not password_matches(user, password) or user.must_change_password
                    or user.must_enrol_otp):
                set_password(user, password, actor="demo")  # must_change left False
                User.update(must_enrol_otp=False).where(User.id == user.id).execute()
            if not user.active:
                reactivate_user(user, actor="demo")
        shown.append((email, password, role, org.name))
    return shown
