"""Real Chromium (Debian's package, driven by Playwright) against the portal on a real
HTTP server over a SQLite file with the demo world loaded. Screenshots go to
tests/browser/screenshots/ (gitignored) for a person to look at."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).parent / "screenshots"
PASSWORD = "correct horse battery staple"


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.browser)
            if not CHROMIUM.exists():
                item.add_marker(pytest.mark.skip(reason="/usr/bin/chromium is not installed"))


@pytest.fixture
def demo_portal(tmp_path):
    """demo_portal(setup) -> {"url", "app", "demo", **setup(app, demo)}: the app with the demo
    world, then ``setup`` (inside the app context), then served on a free port."""
    from werkzeug.serving import make_server

    from dsure_portal import create_app
    from registry.db import database
    from registry.demo.world import load_demo
    from registry.schema import create_schema

    servers = []

    def start(setup=lambda app, demo: {}):
        app = create_app({"INSTANCE_PATH": str(tmp_path / "instance"),
                          "DATABASE_URL": f"sqlite:///{tmp_path / 'walk.sqlite3'}",
                          "SECRET_KEY": "browser-walk-secret",
                          "KEY_PEPPER": "browser-walk-pepper-0123456789",
                          "SESSION_COOKIE_SECURE": False})
        with app.app_context():
            create_schema()
            demo = load_demo(instance_path=app.instance_path, hasher=app.extensions["dsure.hasher"])
            extra = setup(app, demo)
        http = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=http.serve_forever, daemon=True)
        thread.start()
        servers.append((http, thread))
        return {"url": f"http://127.0.0.1:{http.server_port}", "app": app, "demo": demo, **extra}

    yield start
    for http, thread in servers:
        http.shutdown()
        thread.join(timeout=10)
    database.close_all()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM),
            # Without the background-networking flags Chromium keeps dialling Google's
            # hosts, which this sandbox refuses.
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"])
        yield chromium
        chromium.close()


def shot(page, name: str, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def sign_in(page, base_url: str, email: str, password: str = PASSWORD) -> None:
    """Through the login form, as a person would."""
    page.goto(f"{base_url}/login")
    page.get_by_label("メールアドレス").fill(email)
    page.get_by_label("パスワード").fill(password)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_load_state()
    assert "/login" not in page.url, "sign-in failed"
