"""The baselines: a bare Flask app served by the same gunicorn the same way
(``bare_app:app``). ``/`` reads a JSON body and answers JSON (bench/ingest.py, and the
bare-app phase of bench.run); ``/argon2id`` checks one auth key with the portal's own
hasher and nothing else: at saturation its requests per second are the lookup's ceiling,
workers × 1000 / argon2id ms, measured under the same load as the lookups next to it."""
import secrets

from flask import Flask, jsonify, request

from registry.certificates.auth_keys import AuthKeyHasher

app = Flask(__name__)
_hasher = AuthKeyHasher(pepper=secrets.token_bytes(32))
_KEY = "BENCHKEY2345"
_digest = _hasher.digest(_KEY)


@app.route("/", methods=["GET", "PUT"])
def echo():
    body = request.get_json(silent=True)
    return jsonify({"ok": True, "fields": len(body) if isinstance(body, dict) else 0})


@app.post("/argon2id")
def argon2id():
    return jsonify({"ok": _hasher.matches(_digest, _KEY)})
