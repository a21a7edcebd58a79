"""Start-up configuration: generated secrets locally, refusal in production, proxies."""
import pytest
from flask import request

from dsure_portal import create_app
from dsure_portal.config import ConfigError


def test_a_first_local_run_generates_secrets_and_keeps_them(tmp_path):
    config = {"INSTANCE_PATH": str(tmp_path / "i"), "DATABASE_URL": f"sqlite:///{tmp_path}/d.sqlite3"}
    first = create_app(dict(config))
    second = create_app(dict(config))
    assert len(first.config["SECRET_KEY"]) == 64 and len(first.config["KEY_PEPPER"]) == 64
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] != first.config["KEY_PEPPER"]
    assert oct((tmp_path / "i" / "key_pepper").stat().st_mode)[-3:] == "600"


@pytest.mark.parametrize("missing", ["SECRET_KEY", "KEY_PEPPER"])
def test_production_refuses_to_start_without_its_secrets(tmp_path, missing):
    config = {"ENV": "production", "INSTANCE_PATH": str(tmp_path / "i"),
              "DATABASE_URL": f"sqlite:///{tmp_path}/d.sqlite3",
              "SECRET_KEY": "s" * 64, "KEY_PEPPER": "p" * 64}
    config[missing] = None
    with pytest.raises(ConfigError, match=missing):
        create_app(config)


def test_behind_a_trusted_proxy_the_client_address_is_the_forwarded_one(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path / "i"), "TRUSTED_PROXIES": 1,
                      "DATABASE_URL": f"sqlite:///{tmp_path}/d.sqlite3"})
    client_seen = []
    app.add_url_rule("/whoami", "whoami", lambda: client_seen.append(request.remote_addr) or "")
    app.test_client().get("/whoami", environ_base={"REMOTE_ADDR": "10.0.0.2"},
                          headers={"X-Forwarded-For": "203.0.113.9"})
    assert client_seen == ["203.0.113.9"]


def test_the_demo_world_is_refused_in_production(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    key_file = tmp_path / "platform.pem"
    key_file.write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    app = create_app({"ENV": "production", "INSTANCE_PATH": str(tmp_path / "i"),
                      "DATABASE_URL": f"sqlite:///{tmp_path}/d.sqlite3", "SECRET_KEY": "s" * 64,
                      "KEY_PEPPER": "p" * 64, "PLATFORM_KEY_FILE": str(key_file)})
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 1 and "production" in result.output


def test_an_all_digit_secret_from_the_environment_stays_the_text_it_was(tmp_path, monkeypatch):
    """Flask reads DSURE_* values as JSON, so 0123… would be text but 1234… a number."""
    pepper = "1234567890" * 4
    monkeypatch.setenv("DSURE_KEY_PEPPER", pepper)
    monkeypatch.setenv("DSURE_SECRET_KEY", "98765432109876543210")
    app = create_app({"INSTANCE_PATH": str(tmp_path / "i"),
                      "DATABASE_URL": f"sqlite:///{tmp_path}/d.sqlite3"})
    assert app.config["KEY_PEPPER"] == pepper
    assert app.config["SECRET_KEY"] == "98765432109876543210"
