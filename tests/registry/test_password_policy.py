"""The one password rule (registry.accounts.password_policy), and add_user applying it: no Flask.
Runs on SQLite and, when configured, PostgreSQL."""
import pytest

from registry.accounts.users import User, add_user
from registry.models import AuditEvent
from registry.accounts.organisations import add_organisation
from registry.accounts.password_policy import WeakPassword, check_password_strength

KAKUDA = {"email": "taro.yamada@kakuda.example.jp", "organisation_name": "角田市",
          "organisation_code": "042081"}


@pytest.mark.parametrize("password, why", [
    ("passwordpassword", "繰り返し"),
    ("123456789012", "よく使われるパスワード"),
    ("qwertyuiop12", "よく使われるパスワード"),
    ("ｐａｓｓｗｏｒｄｐａｓｓｗｏｒｄ", "繰り返し"),   # 全角 is no way round it
    ("Password1234", "よく使われるパスワード"),
    ("abcdefghijkl", "連続した文字"),
])
def test_common_and_breached_passwords_are_refused_with_the_reason(password, why):
    with pytest.raises(WeakPassword, match="推測されやすいパスワードです") as refused:
        check_password_strength(password, **KAKUDA)
    assert why in refused.value.detail
    assert password not in refused.value.detail


@pytest.mark.parametrize("password", [
    "yamada-loves-long-walks",        # a piece of the local part
    "My TARO.YAMADA passphrase",      # the whole local part, another case
    "ｙａｍａｄａ is my favourite",      # 全角
])
def test_a_password_containing_the_email_local_part_is_refused(password):
    with pytest.raises(WeakPassword, match="メールアドレス"):
        check_password_strength(password, **KAKUDA)


@pytest.mark.parametrize("password", ["角田市役所の春はさくら色", "わたしの角田はいつも晴れ"])
def test_a_password_containing_the_organisation_name_is_refused(password):
    with pytest.raises(WeakPassword, match="組織名"):
        check_password_strength(password, **KAKUDA)


@pytest.mark.parametrize("password, message", [("short", "12文字以上"), ("x" * 257, "256文字以内")])
def test_length_is_checked_first(password, message):
    with pytest.raises(WeakPassword, match=message):
        check_password_strength(password, **KAKUDA)


@pytest.mark.parametrize("password", ["correct horse battery staple", "川沿いの道を自転車で走る朝",
                                      "tr0mbone-quietly-ate-47-figs" + "x" * 80])
def test_a_long_unusual_passphrase_is_accepted(password):
    check_password_strength(password, **KAKUDA)


def test_add_user_refuses_a_weak_password_and_stores_nothing(registry_db):
    add_organisation(kind="obligee", code="042081", name="角田市")
    before = AuditEvent.select().count()
    with pytest.raises(WeakPassword, match="推測されやすい"):
        add_user(org_code="042081", email="new@kakuda.example.jp", role="staff",
                 password="passwordpassword")
    with pytest.raises(WeakPassword, match="メールアドレス"):
        add_user(org_code="042081", email="suzuki@kakuda.example.jp", role="staff",
                 password="suzuki-and-the-long-river")
    assert User.select().count() == 0 and AuditEvent.select().count() == before


def test_a_password_ending_in_a_line_break_is_judged_not_a_crash():
    """zxcvbn's date matcher failed on a trailing newline (found by tests/portal/test_any_input.py)."""
    with pytest.raises(WeakPassword):
        check_password_strength("1234567\n", email="a@kakuda.example.jp",
                                organisation_name="角田市", organisation_code="042081")
