"""Obligee webhooks (DESIGN §10): an obligee system registers the URLs that are told when
a certificate on its organisation's list gets a new revision. Bearer token of an
obligee organisation's API client; JSON in, JSON or problem+json out."""
from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request

from registry.errors import InvalidInput
from registry.notifications import webhooks

from ..api_auth import protect
from ..outbox import target_policy

bp = Blueprint("webhooks", __name__, url_prefix="/api/v1/obligee/webhooks")

protect(bp, "obligee")  # the obligee API's token, limits and problem+json answers


@bp.before_request
def organisation_of_the_caller():
    g.obligee = webhooks.obligee_of(g.client)
    return None


def _actor() -> str:
    return f"api-client:{g.client.id}"


def _shown(endpoint) -> dict:
    return {"id": endpoint.public_id, "url": endpoint.url,
            "created_at": endpoint.created_at.isoformat() + "Z"}


def _url_from_body() -> str:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or set(body) != {"url"} or not isinstance(body["url"], str):
        raise InvalidInput('The body must be {"url": "https://…"}.',
                           [{"field": "url", "message": "is required, and is the only field"}])
    return body["url"].strip()


@bp.post("")
def add():
    endpoint, secret = webhooks.add_endpoint(
        organisation=g.obligee, url=_url_from_body(),
        box=current_app.extensions["dsure.webhook_box"], policy=target_policy(current_app.config),
        actor=_actor())
    response = jsonify({**_shown(endpoint), "secret": secret})
    response.status_code = 201
    response.headers["Cache-Control"] = "no-store"  # the secret is shown this once
    return response


@bp.get("")
def index():
    return jsonify({"webhooks": [_shown(e) for e in webhooks.active_endpoints(g.obligee.id)]})


@bp.delete("/<webhook_id>")
def remove(webhook_id: str):
    webhooks.remove_endpoint(organisation=g.obligee, public_id=webhook_id, actor=_actor())
    return "", 204
