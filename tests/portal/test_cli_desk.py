"""The operator's commands for the obligee desk (DESIGN §10) through Flask's CLI runner:
`org add --prefecture`, `client add` for an obligee, `contract import`."""
from __future__ import annotations

import json

from registry.contracts.models import ObligeeContract
from registry.models import ApiClient, AuditEvent, Organisation
from tests.factories import make_document, sign
from tests.portal.test_cli import invoke, last_line


def test_org_add_takes_a_prefecture_or_reads_it_from_the_code(runner):
    assert invoke(runner, "org", "add", "--kind", "obligee", "--code", "042081",
                  "--name", "角田市").stdout.strip() == "obligee 042081 角田市 宮城県 (TOTP required)"
    result = invoke(runner, "org", "add", "--kind", "obligee", "--code", "124249",
                    "--name", "白子町", "--prefecture", "千葉県")
    assert result.exit_code == 0
    assert Organisation.get(Organisation.code == "124249").prefecture == "千葉県"
    added = AuditEvent.select().where(AuditEvent.kind == "organisation.added").order_by(AuditEvent.seq)
    assert json.loads(added[1].details)["prefecture"] == "千葉県"


def test_org_add_refuses_a_prefecture_the_code_contradicts_or_that_is_none(runner):
    for prefecture, message in (("千葉県", "is in 宮城県"), ("ミヤギ", "47 prefectures")):
        result = invoke(runner, "org", "add", "--kind", "obligee", "--code", "042081",
                        "--name", "角田市", "--prefecture", prefecture)
        assert result.exit_code == 1 and message in result.stderr
    result = invoke(runner, "org", "add", "--kind", "surety", "--code", "EJCS",
                    "--name", "x", "--prefecture", "東京都")
    assert result.exit_code == 1 and "only an obligee" in result.stderr
    assert Organisation.select().count() == 0


def test_client_add_for_an_obligee_makes_a_token_for_the_obligee_api_only(runner, client):
    invoke(runner, "org", "add", "--kind", "obligee", "--code", "042081", "--name", "角田市")
    result = invoke(runner, "client", "add", "--org", "042081", "--name", "電子契約システム")
    assert result.exit_code == 0
    token = last_line(result)
    headers = {"Authorization": f"Bearer {token}"}
    listed = client.get("/api/v1/obligee/certificates", headers=headers)
    assert listed.status_code == 200 and listed.get_json()["certificates"] == []
    assert client.get("/api/v1/certificates/30001-000001", headers=headers).status_code == 403
    [added] = AuditEvent.select().where(AuditEvent.kind == "api_client.added")
    assert json.loads(added.details)["api"] == "obligee"


def test_client_add_for_the_operator_is_refused(runner):
    invoke(runner, "org", "add", "--kind", "operator", "--code", "DSURE", "--name", "運営")
    result = invoke(runner, "client", "add", "--org", "DSURE", "--name", "x")
    assert result.exit_code == 1 and "sureties and obligees" in result.stderr
    assert ApiClient.select().count() == 0


def _listed_certificate(app, runner):
    """角田市 with 30001-000001 on its list (looked up through its own API client)."""
    from registry.accounts.organisations import add_signing_key
    from tests.factories import TEST_PUBLIC_PEM
    for args in (("surety", "EJCS", "東日本建設業保証株式会社"), ("obligee", "042081", "角田市")):
        invoke(runner, "org", "add", "--kind", args[0], "--code", args[1], "--name", args[2])
    surety = last_line(invoke(runner, "client", "add", "--org", "EJCS", "--name", "s"))
    obligee = last_line(invoke(runner, "client", "add", "--org", "042081", "--name", "o"))
    with app.app_context():
        key = add_signing_key(org_code="EJCS", pem=TEST_PUBLIC_PEM)
    client = app.test_client()
    auth_key = client.put("/api/v1/certificates/30001-000001/revisions/1",
                          json=sign(make_document(), key.key_id),
                          headers={"Authorization": f"Bearer {surety}"}).get_json()["auth_key"]
    assert client.post("/api/v1/lookups", json={"contract_number": "30001-000001", "auth_key": auth_key},
                       headers={"Authorization": f"Bearer {obligee}"}).status_code == 200


def test_contract_import_reports_progress_and_each_refused_row(app, runner, tmp_path):
    _listed_certificate(app, runner)
    register = tmp_path / "台帳.csv"
    register.write_bytes(("保証契約番号,請負金額,工期(自),工期(至)\r\n"
                          "３０００１－０００００１,\"50,000,000\",令和8年4月1日,令和8年12月25日\r\n"
                          "30001-000002,50000000,,\r\n").encode("cp932"))
    result = invoke(runner, "contract", "import", "--org", "042081", str(register))
    assert result.exit_code == 1  # one row refused
    assert "2/2 rows" in result.stderr
    assert "row 3 30001-000002: この保証契約番号は貴団体の保証証書一覧にありません" in result.stdout
    assert last_line(result) == "2 rows: 1 recorded, 0 unchanged, 1 refused"
    assert ObligeeContract.get().contract_amount == 50_000_000
    again = invoke(runner, "contract", "import", "--org", "042081", str(register))
    assert last_line(again) == "2 rows: 0 recorded, 1 unchanged, 1 refused"


def test_contract_import_of_a_file_that_is_not_a_register_fails_whole(app, runner, tmp_path):
    invoke(runner, "org", "add", "--kind", "obligee", "--code", "042081", "--name", "角田市")
    register = tmp_path / "x.csv"
    register.write_bytes("工事名\r\nx\r\n".encode())
    result = invoke(runner, "contract", "import", "--org", "042081", str(register))
    assert result.exit_code == 1 and "保証契約番号" in result.stderr
    wrong_org = invoke(runner, "contract", "import", "--org", "NOPE", str(register))
    assert wrong_org.exit_code == 1 and "NOPE" in wrong_org.stderr
