"""Request bodies: uploads stay in memory, and one view may accept more than the rest.

Werkzeug spools a file part over 500 KB to a temporary file on disk; a notice PDF holds
an auth key and must never touch the disk, so every file part is read into memory (the
body limit bounds how much). The app-wide MAX_CONTENT_LENGTH stays small; a view that
takes a file says how much it accepts with ``@accepts_body(bytes)``. The limit has to be
known before the first before_request hook (the CSRF check) parses the form, so the
request reads it from the matched view rather than the view setting it.
"""
from __future__ import annotations

import io

from flask import Request, current_app


class PortalRequest(Request):
    def _get_file_stream(self, total_content_length, content_type, filename=None,
                         content_length=None):
        return io.BytesIO()

    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is None and current_app and self.endpoint:
            view = current_app.view_functions.get(self.endpoint)
            if getattr(view, "accepts_body", None):
                return view.accepts_body
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value


def accepts_body(limit: int):
    """Let one view take request bodies up to ``limit`` bytes."""
    def mark(view):
        view.accepts_body = limit
        return view
    return mark
