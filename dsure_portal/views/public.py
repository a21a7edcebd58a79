"""Public pages: health, and the list of enrolled obligees (DESIGN §10)."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from registry.db import database
from registry.accounts.organisations import enrolled_obligees

from ..rendering import render

bp = Blueprint("public", __name__)


@bp.get("/healthz")
def healthz():
    database.execute_sql("SELECT 1")
    return jsonify({"status": "ok"})


@bp.get("/obligees")
def obligees():
    """電子保証対応の発注者: the page sureties' application screens point contractors to."""
    q = request.args.get("q", "")[:100]
    return render("public/obligees.html", block="results", q=q, obligees=enrolled_obligees(q))
