"""The baseline for bench/ingest.py: a bare Flask app with one route that reads a JSON
body and answers JSON, served by the same gunicorn the same way (``bare_app:app``)."""
from flask import Flask, jsonify, request

app = Flask(__name__)


@app.route("/", methods=["GET", "PUT"])
def echo():
    body = request.get_json(silent=True)
    return jsonify({"ok": True, "fields": len(body) if isinstance(body, dict) else 0})
