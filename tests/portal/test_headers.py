"""Response headers and cookie flags (OWASP ASVS L2 V3, V14.4), and templates that a
strict CSP does not break."""
import re
from pathlib import Path

import pytest

from dsure_portal.security import CSP
from tests.portal.auth_helpers import another_app, log_in
from tests.portal.conftest import PASSWORD, csrf_token_from

TEMPLATES = Path(__file__).resolve().parents[2] / "dsure_portal" / "templates"
EMAIL = "staff@kakuda.example.jp"
EXPECTED = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def test_the_csp_allows_only_this_site_and_no_inline_code():
    directives = dict(d.split(" ", 1) for d in CSP.split("; "))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["img-src"] == "'self' data:"
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert directives["form-action"] == "'self'" and directives["base-uri"] == "'none'"
    assert "unsafe-inline" not in CSP and "unsafe-eval" not in CSP


@pytest.mark.parametrize("url", ["/login", "/healthz", "/static/portal.css", "/no-such-page",
                                 "/api/v1/obligees"])
def test_every_answer_carries_the_security_headers(client, url):
    response = client.get(url)
    response.close()
    assert response.headers["Content-Security-Policy"] == CSP
    for name, value in EXPECTED.items():
        assert response.headers[name] == value
    assert response.headers["Strict-Transport-Security"].startswith("max-age=63072000")
    assert "camera=()" in response.headers["Permissions-Policy"]


def test_pages_are_not_cached_and_vary_on_htmx(client, make_user):
    make_user()
    assert client.get("/login").headers["Cache-Control"] == "no-store"
    log_in(client, EMAIL)
    for url in ("/lookup", "/account", "/account/otp"):
        response = client.get(url)
        assert response.headers["Cache-Control"] == "no-store", url
        assert "HX-Request" in response.headers.get("Vary", ""), url


def set_cookie_of(response, name):
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(name + "=")]
    assert cookies, response.headers
    return cookies[-1]


def test_the_session_cookie_is_httponly_samesite_lax_and_secure_by_default(app_config, make_user):
    make_user()
    config = {k: v for k, v in app_config.items() if k != "SESSION_COOKIE_SECURE"}
    app = another_app(config)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    client = app.test_client()
    html = client.get("/login", base_url="https://localhost").get_data(as_text=True)
    # Over HTTPS Flask-WTF also checks the Referer is this site (WTF_CSRF_SSL_STRICT).
    response = client.post("/login", base_url="https://localhost", headers={"Referer": "https://localhost/login"},
                           data={"email": EMAIL, "password": PASSWORD, "csrf_token": csrf_token_from(html)})
    assert response.status_code == 303
    cookie = set_cookie_of(response, "__Host-dsure_session")  # the prefix only when Secure
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    assert "Path=/;" in cookie and "Domain" not in cookie  # what __Host- requires
    assert "Expires=" not in cookie and "Max-Age" not in cookie  # a browser-session cookie
    device = set_cookie_of(response, "__Host-dsure_device")
    assert all(flag in device for flag in ("HttpOnly", "SameSite=Lax", "Secure", "Path=/;"))
    assert "Domain" not in device and f"Max-Age={180 * 24 * 3600}" in device
    assert "remember_token" not in " ".join(response.headers.getlist("Set-Cookie"))  # no "remember me"


def test_the_secure_flag_can_be_turned_off_for_local_http(app_config, monkeypatch, make_user):
    make_user()
    monkeypatch.setenv("DSURE_SESSION_COOKIE_SECURE", "false")
    config = {k: v for k, v in app_config.items() if k != "SESSION_COOKIE_SECURE"}
    app = another_app(config)
    assert app.config["SESSION_COOKIE_SECURE"] is False
    response = log_in(app.test_client(), EMAIL)
    cookie = set_cookie_of(response, "dsure_session")
    assert "Secure" not in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    device = set_cookie_of(response, "dsure_device")  # no __Host- prefix without Secure
    assert "Secure" not in device and "HttpOnly" in device and "SameSite=Lax" in device


def all_templates():
    return sorted(TEMPLATES.rglob("*.html"))


@pytest.mark.parametrize("path", all_templates(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_template_has_inline_script_or_event_handlers(path):
    text = path.read_text()
    for tag in re.findall(r"<script\b[^>]*>", text):
        assert "src=" in tag, f"inline <script> in {path.name}: {tag}"
    assert not re.search(r"\son[a-z]+\s*=", text), f"inline event handler in {path.name}"
    assert "javascript:" not in text


@pytest.mark.parametrize("path", sorted((TEMPLATES / "auth").glob("*.html")) + [TEMPLATES / "base.html"],
                         ids=lambda p: p.name)
def test_the_auth_templates_have_no_inline_styles(path):
    text = path.read_text()
    assert not re.search(r"\sstyle\s*=", text) and "<style" not in text


def test_rendered_auth_pages_need_nothing_inline(client, make_user):
    make_user(role="admin")
    pages = [client.get("/login")]
    log_in(client, EMAIL)
    pages += [client.get(url) for url in ("/account", "/account/otp", "/staff")]
    for response in pages:
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", html)
        assert not re.search(r"\sstyle\s*=", html)
        assert not re.search(r"<img[^>]+src=\"(?!data:|/)", html)  # img-src 'self' data:
