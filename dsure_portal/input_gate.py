"""Where untrusted text and numbers enter over HTTP: one check for every request.

Path values, query and form parameters (names and values) may not hold U+0000 or a
lone surrogate (registry.safe_text): the page answers 400 naming the parameter, the API
a problem+json with the parameter in ``errors``. Integers in URLs are ASCII digits
below 2**53, which every database and JSON hold exactly; a longer one is no such page.
Signed documents get the stricter document rule in the registry (registry.certificates.documents).
"""
from __future__ import annotations

from flask import Flask, render_template, request
from werkzeug.routing import IntegerConverter

from registry.safe_text import NOT_ALLOWED, is_safe, shown

JSON_EXACT_MAX = 2**53 - 1
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


class BoundedIntegerConverter(IntegerConverter):
    """``<int:…>``: 1 to 16 ASCII digits, at most 2**53 - 1."""

    regex = r"[0-9]{1,16}"

    def __init__(self, map, fixed_digits=0, min=None, max=JSON_EXACT_MAX, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=False)


class AnyDigitsConverter(IntegerConverter):
    """``<digits:…>``: any run of ASCII digits, for a number the view itself refuses
    when out of range (so the refusal can be audited), not the router. Past 30 digits
    the value is only "too large" (Python refuses to read 4300 digits)."""

    regex = r"[0-9]+"

    def to_python(self, value: str) -> int:
        return int(value) if len(value) <= 30 else 10**30


def whole_number(text: str | None, *, limit: int = JSON_EXACT_MAX) -> int | None:
    """A parameter of ASCII digits as a number, a larger one as ``limit``; None when it
    is anything else ("", "-1", "²", "1e9")."""
    if not text or not text.isascii() or not text.isdigit():
        return None
    return limit if len(text) > 20 else min(int(text), limit)


def unsafe_fields() -> list[dict]:
    """{"field", "message"} for each path value, query or form parameter (name or value)
    that holds a character no text may hold."""
    problems = []

    def check(name: str, values) -> None:
        if not is_safe(name) or any(isinstance(v, str) and not is_safe(v) for v in values):
            problems.append({"field": shown(name), "message": NOT_ALLOWED})

    for name, value in (request.view_args or {}).items():
        check(name, [value])
    for name, values in request.args.lists():
        check(name, values)
    if request.mimetype in _FORMS:
        for name, values in request.form.lists():
            check(name, values)
    return problems


# The APIs check after authenticating (api_auth.refuse_unsafe_text), to audit the refusal.
API_BLUEPRINTS = {"api", "obligee_api"}


def refuse_unsafe_pages():
    """Before every page (the API checks after authenticating, to audit the refusal)."""
    if request.blueprint in API_BLUEPRINTS:
        return None
    problems = unsafe_fields()
    if not problems:
        return None
    names = "、".join(f"「{p['field']}」" for p in problems)
    body = render_template("errors/error.html", title="入力内容に使えない文字があります",
                           message=f"{names}の入力に、使えない文字(制御文字など)が含まれています。"
                                   "入力し直してください。")
    return body, 400, {"Cache-Control": "no-store"}


def install(app: Flask) -> None:
    """Before the blueprints are registered: their rules bind the converters."""
    app.url_map.converters["int"] = BoundedIntegerConverter
    app.url_map.converters["digits"] = AnyDigitsConverter
    app.before_request(refuse_unsafe_pages)
