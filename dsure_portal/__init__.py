"""dsure-portal: the Flask application (HTTP only; the domain lives in ``registry``)."""
from __future__ import annotations

import os

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from registry.certificates.auth_keys import AuthKeyHasher
from registry.db import database, open_database

from . import denials, input_gate
from .config import (check_production, defaults, ensure_secrets, notice_font_problem,
                     proof_settings, secure_cookie_scope)
from .extensions import csrf, init_limiter
from .login import home_url, is_staff, login_manager
from .problems import problem
from .security import add_security_headers
from .uploads import PortalRequest


def create_app(test_config: dict | None = None) -> Flask:
    instance_path = (test_config or {}).get("INSTANCE_PATH") or os.environ.get("DSURE_INSTANCE_PATH")
    app = Flask(__name__, instance_path=os.path.abspath(instance_path) if instance_path else None,
                instance_relative_config=True)
    app.request_class = PortalRequest  # uploads stay in memory; a view may raise its body limit
    app.config.from_mapping(defaults(app.instance_path))
    app.config.from_prefixed_env("DSURE")
    if test_config:
        app.config.from_mapping(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    ensure_secrets(app.config, app.instance_path)
    check_production(app.config)
    secure_cookie_scope(app.config)
    if font_problem := notice_font_problem(app.config):
        app.logger.warning(font_problem)

    if app.config["TRUSTED_PROXIES"]:
        # Per-address limits need the client's address, not the load balancer's.
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    open_database(app.config["DATABASE_URL"])
    app.extensions["dsure.hasher"] = AuthKeyHasher(pepper=app.config["KEY_PEPPER"].encode())
    _configure_platform_signer(app)
    _configure_checkpoints(app)
    csrf.init_app(app)
    init_limiter(app)
    login_manager.init_app(app)
    app.jinja_env.globals.update(home_url=home_url, is_staff=is_staff)

    _register_database_hooks(app)
    input_gate.install(app)
    _register_error_pages(app)
    denials.install(app)
    app.after_request(add_security_headers)

    from .views import (api, audit, auth, certificates, desk, evidence, obligee_api, public,
                        sessions, staff, webhooks)
    for blueprint in (public.bp, auth.bp, sessions.bp, staff.bp, certificates.bp, desk.bp,
                      audit.bp, evidence.bp, api.bp, obligee_api.bp, webhooks.bp):
        app.register_blueprint(blueprint)
    for token_only in (api.bp, obligee_api.bp, webhooks.bp):
        csrf.exempt(token_only)  # token-authenticated, no cookies: CSRF does not apply

    from .cli import register_commands
    register_commands(app)

    from . import outbox
    outbox.check_config(app.config)
    app.extensions["dsure.webhook_box"] = outbox.secret_box(app.config)
    if app.config["OUTBOX_THREAD"]:
        outbox.start_thread(app)
    return app


def _configure_platform_signer(app: Flask) -> None:
    """The platform's Ed25519 key signs audit checkpoints and evidence bundles. Made in
    the instance folder on a first local run; in production it must already exist."""
    from registry.audit.checkpoints import PlatformSigner
    path = app.config["PLATFORM_KEY_FILE"] or os.path.join(app.instance_path,
                                                                "platform-signing-key.pem")
    try:
        signer = PlatformSigner.from_file(path, create=app.config.get("ENV") != "production")
    except FileNotFoundError:
        from .config import ConfigError
        raise ConfigError(f"the platform signing key {path} (DSURE_PLATFORM_KEY_FILE) must "
                          "exist when DSURE_ENV=production") from None
    app.extensions["dsure.platform_signer"] = signer


def _configure_checkpoints(app: Flask) -> None:
    """Checkpoints after writes, once the interval has passed (DESIGN §11)."""
    from registry.audit import checkpoint_publishing
    settings = proof_settings(app.config)
    app.extensions["dsure.proof_settings"] = settings
    checkpoint_publishing.configure(app.extensions["dsure.platform_signer"], settings)

    @app.after_request
    def checkpoint_when_due(response):
        # Two attribute reads per response; the work runs after the response is sent.
        if checkpoint_publishing.schedule.due():
            response.call_on_close(_run_due_checkpoint)
        return response


def _run_due_checkpoint() -> None:
    from registry.audit import checkpoint_publishing
    with database.connection_context():  # the request's connection went back to the pool
        checkpoint_publishing.run_configured()


def _register_database_hooks(app: Flask) -> None:
    @app.before_request
    def connect_database():
        database.connect(reuse_if_open=True)

    @app.teardown_request
    def close_database(exc):
        if not database.is_closed():
            database.close()  # returns the connection to the pool


def _register_error_pages(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if isinstance(exc, CSRFError):
            denials.note_csrf_refusal()
        if request.path.startswith("/api/"):
            # Allow (405), Retry-After, WWW-Authenticate: the answer keeps what they say.
            kept = {name: value for name, value in exc.get_headers()
                    if name.lower() in _KEPT_HEADERS}
            return problem(exc.code or 500, exc.name, exc.description or exc.name, headers=kept)
        title, message = ERROR_PAGES.get(exc.code, (exc.name, exc.description))
        response = exc.get_response()
        response.set_data(render_template("errors/error.html", title=title, message=message))
        response.mimetype = "text/html"
        return response


_KEPT_HEADERS = {"allow", "retry-after", "www-authenticate"}

ERROR_PAGES = {
    400: ("リクエストが正しくありません", "入力内容を確認して、もう一度お試しください。"),
    403: ("権限がありません", "このページを表示する権限がありません。"),
    404: ("ページが見つかりません", "アドレスを確認してください。"),
    405: ("この操作はできません", "ページを開き直してお試しください。"),
    413: ("送信データが大きすぎます", "送信できるデータの大きさを超えています。"),
    429: ("しばらくお待ちください", "試行回数の上限に達しました。時間をおいてからお試しください。"),
    500: ("システムエラー", "しばらくしてからもう一度お試しください。"),
}
