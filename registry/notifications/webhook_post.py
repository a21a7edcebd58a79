"""One webhook POST: connect to the address that passed the SSRF check (not to whatever
the name resolves to a moment later), never follow a redirect, read only the status."""
from __future__ import annotations

import http.client
import socket
import ssl
from urllib.parse import urlsplit

from .webhooks import TargetPolicy, resolve_target, signature

USER_AGENT = "dsure-portal-webhooks/1"


class WebhookFailed(Exception):
    """The receiver did not answer 2xx; ``status`` is its answer (None: no answer)."""

    def __init__(self, detail: str, status: int | None = None):
        super().__init__(detail)
        self.status = status


def _connection(scheme: str, host: str, port: int, address: str, timeout: float):
    if scheme == "https":
        conn = http.client.HTTPSConnection(host, port, timeout=timeout,
                                           context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    # TLS still checks the certificate against ``host`` (SNI); only the TCP peer is pinned.
    conn._create_connection = (  # noqa: SLF001 - the documented hook http.client uses
        lambda _addr, timeout=timeout, source=None: socket.create_connection(
            (address, port), timeout, source))
    return conn


def post(*, url: str, secret: str, message_id: str, timestamp: int, body: bytes,
         policy: TargetPolicy, timeout: float = 10.0) -> int:
    """POST ``body`` signed for this attempt; the 2xx status, or WebhookFailed."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), parts.hostname
    port = parts.port or (443 if scheme == "https" else 80)
    address = resolve_target(host, port, scheme=scheme, policy=policy)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, message_id=message_id, timestamp=timestamp,
                                       body=body),
    }
    conn = _connection(scheme, host, port, address, timeout)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        status = response.status
        response.read(65536)  # a little of the answer, so the connection closes cleanly
    finally:
        conn.close()
    if not 200 <= status < 300:
        raise WebhookFailed(f"HTTP {status}", status)
    return status
