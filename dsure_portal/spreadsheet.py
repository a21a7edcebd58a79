"""CSV for Excel, the one way every download of the portal writes it: UTF-8 with a BOM
(so Excel reads the Japanese), CRLF rows, streamed, and every cell a spreadsheet would run
as a formula quoted (CSV injection)."""
from __future__ import annotations

import csv
import io
import unicodedata
from typing import Iterable

from flask import Response, stream_with_context

_FORMULA_STARTS = ("=", "+", "-", "@", "|", "%")
_BLANKS = " \t\r\n\u3000"


def excel_safe(value) -> str:
    """Spreadsheets run a cell that starts with = + - @ (after blanks, and in its
    full-width form ＝ too) as a formula: quote it. Typed text reaches the downloads (an
    email at a failed sign-in, a work name a surety sent), so this is not only a
    theoretical case."""
    text = "" if value is None else str(value)
    first = unicodedata.normalize("NFKC", text.lstrip(_BLANKS))[:1]
    if first in _FORMULA_STARTS or text[:1] in ("\t", "\r", "\n"):
        return "'" + text
    return text


def csv_download(header: list[str], rows: Iterable[list], filename: str) -> Response:
    """``rows`` as an attachment named ``filename`` (ASCII), written as they come."""
    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow([excel_safe(h) for h in header])
        yield "\ufeff" + buffer.getvalue()
        for row in rows:
            buffer.seek(0)
            buffer.truncate()
            writer.writerow([excel_safe(value) for value in row])
            yield buffer.getvalue()

    response = Response(stream_with_context(generate()), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
