"""Public pages: health, and the list of enrolled obligees."""
from __future__ import annotations

from flask import Blueprint, jsonify

from registry.db import database

bp = Blueprint("public", __name__)


@bp.get("/healthz")
def healthz():
    database.execute_sql("SELECT 1")
    return jsonify({"status": "ok"})
