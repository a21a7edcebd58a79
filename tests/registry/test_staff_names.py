"""A staff member's name and section as the list shows them: blanks folded, bounded."""
from registry.accounts.users import add_user
from registry.accounts.organisations import add_organisation

PASSWORD = "correct horse battery staple"


def test_names_and_sections_are_stored_with_blanks_folded(registry_db):
    add_organisation(kind="obligee", code="042081", name="角田市", require_otp=False)
    user = add_user(org_code="042081", email="x@kakuda.example.jp", role="staff",
                    password=PASSWORD, name="\u3000角田\u3000\u3000太郎 ", section=" 建設課\t")
    assert (user.name, user.section) == ("角田 太郎", "建設課")
    bare = add_user(org_code="042081", email="y@kakuda.example.jp", role="staff", password=PASSWORD)
    assert (bare.name, bare.section) == ("", "")
