"""An obligee's webhook endpoints: registration, the SSRF rules for their URLs, and the
signing secret (Standard Webhooks: ``whsec_<base64>``, HMAC-SHA256 of "id.timestamp.body").

The secret must be recoverable, since every delivery is signed with it; it is therefore
stored sealed with AES-256-GCM under a key derived (HKDF) from the key pepper, the same
out-of-database secret that protects the auth keys. A stolen database or backup alone
cannot sign a webhook a municipality's system would accept. Rotating the pepper makes the
sealed secrets unreadable (as it does the auth keys): endpoints are then registered anew.
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import ipaddress
import secrets
import socket
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..audit.chain import record
from ..clock import Clock, utcnow
from ..db import write_transaction
from ..errors import Forbidden, InvalidInput, NotFound
from ..models import ApiClient, Organisation
from .models import WebhookEndpoint

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32            # the spec asks for 24 to 64
MAX_ENDPOINTS = 10           # per organisation: each event fans out to all of them
MAX_URL_LENGTH = 2048


class SecretBox:
    """Seals webhook secrets for storage. The endpoint's public id is bound in as
    associated data, so a sealed secret copied onto another endpoint row does not open."""

    VERSION = "v1"

    def __init__(self, pepper: bytes):
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"dsure-portal webhook signing secret v1").derive(pepper)
        self._aead = AESGCM(key)

    def seal(self, secret: str, *, endpoint_id: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, secret.encode(), endpoint_id.encode())
        return f"{self.VERSION}:{base64.b64encode(nonce + sealed).decode()}"

    def open(self, sealed: str, *, endpoint_id: str) -> str:
        version, _, data = sealed.partition(":")
        if version != self.VERSION:
            raise ValueError(f"unknown sealed secret version {version!r}")
        raw = base64.b64decode(data)
        return self._aead.decrypt(raw[:12], raw[12:], endpoint_id.encode()).decode()


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signature(secret: str, *, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for one attempt."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


# --- where a webhook may go (SSRF) ---------------------------------------------------

@dataclasses.dataclass(frozen=True)
class TargetPolicy:
    """``allow_private``: loopback, private, link-local and other non-global addresses
    may be targets (development only; production refuses them). ``allow_http_loopback``:
    plain http is allowed to a loopback address (tests and local receivers)."""

    allow_private: bool = False
    allow_http_loopback: bool = False


class TargetRefused(InvalidInput):
    reason = "webhook_target_refused"

    def __init__(self, detail: str):
        super().__init__(detail, [{"field": "url", "message": detail}])


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def address_allowed(address, *, scheme: str, policy: TargetPolicy) -> bool:
    if address.is_loopback:
        return policy.allow_private or policy.allow_http_loopback
    if scheme == "http":
        return False
    return address.is_global or policy.allow_private


def check_url(url: str, *, policy: TargetPolicy) -> tuple[str, str, int]:
    """(scheme, host, port) of an acceptable URL; TargetRefused naming why otherwise.
    Names are resolved when they can be, so a name pointing inside is refused now;
    every delivery checks the addresses again (a name can change)."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise TargetRefused(f"url must be an https URL of at most {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise TargetRefused("url is not a valid URL.") from None
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in ("https", "http") or not host:
        raise TargetRefused("url must be an https URL.")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("url must not carry a user name or password.")
    if parts.fragment:
        raise TargetRefused("url must not have a #fragment.")
    if any(ch.isspace() or ord(ch) < 0x21 for ch in url):
        raise TargetRefused("url must not contain spaces or control characters.")
    port = port or (443 if scheme == "https" else 80)
    if scheme == "http" and not policy.allow_http_loopback:
        raise TargetRefused("url must be https.")
    literal = _address(host)
    addresses = [literal] if literal else _resolve(host, port, strict=False)
    if scheme == "http" and not (addresses and all(a.is_loopback for a in addresses)):
        raise TargetRefused("url must be https (plain http only to this machine's loopback).")
    for address in addresses:
        if not address_allowed(address, scheme=scheme, policy=policy):
            raise TargetRefused(f"url points to an address that is not on the public internet ({address}).")
    return scheme, host, port


def _resolve(host: str, port: int, *, strict: bool) -> list:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        if strict:
            raise
        return []  # not resolvable yet: checked again on every delivery
    return [a for a in (_address(info[4][0]) for info in infos) if a is not None]


def resolve_target(host: str, port: int, *, scheme: str, policy: TargetPolicy) -> str:
    """The address to connect to for one delivery: every address the name has now must
    be allowed (no mixing a public and an inside one), and we connect to the one checked."""
    literal = _address(host)
    addresses = [literal] if literal else _resolve(host, port, strict=True)
    if not addresses:
        raise TargetRefused("the webhook host has no address")
    for address in addresses:
        if not address_allowed(address, scheme=scheme, policy=policy):
            raise TargetRefused(f"the webhook host resolves to a refused address ({address})")
    return str(addresses[0])


# --- registration ----------------------------------------------------------------------

def url_for_trail(url: str) -> dict:
    """What the trail keeps of a URL: its origin, and a digest of the whole. Some
    receivers carry their own secret in the path or query (…/services/T0/B0/XXXX), and
    the trail never holds a secret; the digest still tells which URL it was."""
    parts = urlsplit(url)
    return {"url_origin": f"{parts.scheme}://{parts.netloc}",
            "url_sha256": hashlib.sha256(url.encode()).hexdigest()}


def obligee_of(client: ApiClient) -> Organisation:
    if client.organisation.kind != "obligee":
        raise Forbidden("Webhooks are registered with an obligee organisation's token.")
    return client.organisation


def add_endpoint(*, organisation: Organisation, url: str, box: SecretBox, policy: TargetPolicy,
                 actor: str, clock: Clock = utcnow) -> tuple[WebhookEndpoint, str]:
    """Register ``url``; return the endpoint and its secret (shown this once)."""
    if organisation.kind != "obligee":
        raise InvalidInput("webhooks belong to an obligee organisation")
    check_url(url, policy=policy)
    public_id = "ep_" + secrets.token_urlsafe(12)
    secret = new_secret()
    with write_transaction():
        if active_endpoints(organisation.id).count() >= MAX_ENDPOINTS:
            raise InvalidInput(f"an organisation may register at most {MAX_ENDPOINTS} webhooks")
        endpoint = WebhookEndpoint.create(
            public_id=public_id, organisation=organisation, url=url,
            secret_sealed=box.seal(secret, endpoint_id=public_id), created_at=clock())
        record("webhook.added", actor=actor, organisation_code=organisation.code,
               details={"endpoint_id": public_id, **url_for_trail(url)}, clock=clock)
    return endpoint, secret


def active_endpoints(organisation_id: int):
    return (WebhookEndpoint.select()
            .where(WebhookEndpoint.organisation == organisation_id,
                   WebhookEndpoint.active == True)  # noqa: E712
            .order_by(WebhookEndpoint.id))


def remove_endpoint(*, organisation: Organisation, public_id: str, actor: str,
                    clock: Clock = utcnow) -> None:
    """Stop delivering to it; messages still pending for it are cancelled."""
    from .outbox import cancel_pending_for_endpoint
    with write_transaction():
        endpoint = WebhookEndpoint.get_or_none(WebhookEndpoint.public_id == public_id,
                                               WebhookEndpoint.organisation == organisation.id,
                                               WebhookEndpoint.active == True)  # noqa: E712
        if endpoint is None:
            raise NotFound("No such webhook of your organisation.")
        endpoint.active = False
        endpoint.removed_at = clock()
        endpoint.save()
        cancelled = cancel_pending_for_endpoint(endpoint.id, clock=clock)
        record("webhook.removed", actor=actor, organisation_code=organisation.code,
               details={"endpoint_id": public_id, **url_for_trail(endpoint.url),
                        "pending_cancelled": cancelled}, clock=clock)
