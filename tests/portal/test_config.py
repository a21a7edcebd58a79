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


# --- production refuses weak settings --------------------------------------------------

def production_config(tmp_path, **changes) -> dict:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    key_file = tmp_path / "platform.pem"
    if not key_file.exists():
        key_file.write_bytes(Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
    return {"ENV": "production", "INSTANCE_PATH": str(tmp_path / "i"),
            "DATABASE_URL": f"sqlite:///{tmp_path}/d.sqlite3", "SECRET_KEY": "s" * 32,
            "KEY_PEPPER": "p" * 32, "PLATFORM_KEY_FILE": str(key_file), **changes}


def test_production_starts_with_32_byte_secrets_and_a_host_prefixed_cookie(tmp_path):
    app = create_app(production_config(tmp_path))
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-dsure_session"
    assert app.config["SESSION_COOKIE_PATH"] == "/" and not app.config.get("SESSION_COOKIE_DOMAIN")


@pytest.mark.parametrize("name", ["SECRET_KEY", "KEY_PEPPER"])
def test_production_refuses_a_secret_under_32_bytes(tmp_path, name):
    with pytest.raises(ConfigError, match=f"DSURE_{name} must be at least 32 bytes"):
        create_app(production_config(tmp_path, **{name: "x" * 31}))


def test_production_refuses_insecure_session_cookies(tmp_path, monkeypatch):
    monkeypatch.setenv("DSURE_SESSION_COOKIE_SECURE", "false")
    with pytest.raises(ConfigError, match="DSURE_SESSION_COOKIE_SECURE"):
        create_app(production_config(tmp_path))


def test_a_secure_session_cookie_cannot_have_a_domain(tmp_path):
    with pytest.raises(ConfigError, match="DSURE_SESSION_COOKIE_DOMAIN"):
        create_app(production_config(tmp_path, SESSION_COOKIE_DOMAIN="example.jp"))


@pytest.mark.parametrize("entry", [
    "import wsgi",                                             # gunicorn wsgi:app
    "import sys; from dsure_portal.cli import main; sys.argv[1:] = ['init-db']; main()",
], ids=["wsgi", "cli"])
def test_production_start_up_with_a_weak_secret_exits_naming_the_variable(tmp_path, entry):
    import os
    import subprocess
    import sys
    from pathlib import Path
    config = production_config(tmp_path)
    env = {**os.environ, "DSURE_ENV": "production", "DSURE_SECRET_KEY": "x",
           "DSURE_KEY_PEPPER": "p" * 64, "DSURE_INSTANCE_PATH": config["INSTANCE_PATH"],
           "DSURE_DATABASE_URL": config["DATABASE_URL"],
           "DSURE_PLATFORM_KEY_FILE": config["PLATFORM_KEY_FILE"]}
    started = subprocess.run([sys.executable, "-c", entry], env=env, capture_output=True,
                             text=True, timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert started.returncode != 0
    assert "DSURE_SECRET_KEY must be at least 32 bytes" in started.stderr.splitlines()[-1]
