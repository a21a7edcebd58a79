"""`dsure-portal seed` through the CLI, then what staff see of it over HTTP."""
from __future__ import annotations

import json

from registry.accounts.users import user_by_email
from registry.demo.seed import number_of
from registry.demo.users import DEMO_USERS
from registry.models import Certificate
from tests.portal.conftest import csrf_token_from

KAKUDA = "042081"


def invoke(runner, *args):
    return runner.invoke(args=list(args), catch_exceptions=False)


def kakuda_staff(app):
    email = next(e for e, _, role, code in DEMO_USERS if code == KAKUDA and role == "staff")
    with app.app_context():
        return user_by_email(email)


def test_seeded_certificates_are_listed_open_and_their_sample_looks_up(app, runner, client,
                                                                       sign_in, tmp_path):
    assert invoke(runner, "demo").exit_code == 0
    sample_file = tmp_path / "sample.json"
    result = invoke(runner, "seed", "--certificates", "12", "--obligee", KAKUDA, "--batch", "5",
                    "--revisions", "2", "--sample", "2", "--sample-file", str(sample_file))
    assert result.exit_code == 0, result.output
    assert "seeded 12 certificates (24 revisions)" in result.stdout
    sample = json.loads(sample_file.read_text())
    assert sample["certificates"] == 12 and len(sample["sample"]) == 2
    first = sample["sample"][0]
    assert f"{first['contract_number']}  {first['auth_key']}" in result.stdout

    sign_in(client, kakuda_staff(app))
    listing = client.get("/certificates").get_data(as_text=True)
    assert number_of(KAKUDA, 11) in listing  # joined the list as if opened
    page = client.get(f"/certificates/{number_of(KAKUDA, 7)}")
    assert page.status_code == 200 and number_of(KAKUDA, 7) in page.get_data(as_text=True)
    form = client.get("/lookup").get_data(as_text=True)
    answer = client.post("/lookup", data={"csrf_token": csrf_token_from(form),
                                          "contract_number": first["contract_number"],
                                          "auth_key": first["auth_key"]})
    assert answer.status_code == 303 and first["contract_number"] in answer.headers["Location"]

    again = invoke(runner, "seed", "--certificates", "12", "--obligee", KAKUDA)
    assert again.exit_code == 0 and "seeded 0 certificates" in again.stdout
    assert "12 were there before" in again.stdout


def test_a_surety_is_not_an_obligee_to_seed(app, runner):
    assert invoke(runner, "demo").exit_code == 0
    with app.app_context():
        before = Certificate.select().count()
    result = invoke(runner, "seed", "--certificates", "3", "--obligee", "EJCS")
    assert result.exit_code == 1 and "not an obligee" in result.stderr
    with app.app_context():
        assert Certificate.select().count() == before
