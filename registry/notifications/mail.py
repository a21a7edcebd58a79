"""The email a staff member gets (Japanese, plain text) and how it is sent (SMTP).

The message names the certificate and what changed, and links to its page; it never
holds an auth key (the event it is made from has none to give).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import unquote, urlsplit

from ..certificates.history import KIND_LABELS
from ..certificates.presentation import PRODUCT_LABELS, yen
from ..wareki import wareki_datetime_long

SMTP_SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


@dataclasses.dataclass(frozen=True)
class MailSettings:
    smtp_url: str | None          # smtp://host:port (smtp+starttls://, smtps://; user:pass@ optional)
    sender: str                   # From:
    public_url: str               # the portal's address, for the link to the certificate
    timeout: float = 10.0


class MailNotConfigured(RuntimeError):
    """No DSURE_SMTP_URL: nothing can be sent (the message waits and is retried)."""


def _revision_phrase(event: dict) -> str:
    kind = KIND_LABELS.get(event["kind"], event["kind"])
    number = event["revision"]
    if event["kind"] == "correction" and event.get("supersedes"):
        return f"第{number}版({kind}: 第{event['supersedes']}版を訂正)"
    if event["kind"] == "change_cancellation" and event.get("supersedes"):
        return f"第{number}版({kind}: 第{event['supersedes']}版の変更を取消)"
    return f"第{number}版({kind})"


def _amount_line(event: dict) -> str:
    before, after = event.get("amount_before"), event.get("amount_after")
    if before is not None and before != after:
        return f"保証金額: {yen(before)} → {yen(after)}"
    return f"保証金額: {yen(after)}(変更なし)"


def render_revision_added(event: dict, *, public_url: str) -> tuple[str, str]:
    """(subject, body) of the email telling staff that a listed certificate changed."""
    number = event["contract_number"]
    phrase = _revision_phrase(event)
    link = f"{public_url.rstrip('/')}/certificates/{number}"
    arrived = wareki_datetime_long(dt.datetime.strptime(event["arrived_at"], "%Y-%m-%dT%H:%M:%S.%fZ"))
    subject = f"【電子保証】保証契約番号 {number} に{phrase}が届きました"
    body = "\n".join([
        f"{event.get('obligee_name', '')} ご担当者様",
        "",
        "一覧に登録されている電子保証の保証証書に、新しい版が届きました。",
        "",
        f"保証契約番号: {number}",
        f"保証の種類: {PRODUCT_LABELS.get(event['product'], event['product'])}",
        f"工事名: {event.get('work_name', '')}",
        f"届いた版: {phrase}",
        _amount_line(event),
        f"到着日時: {arrived}",
        "",
        "内容は、ポータルにログインして確認してください:",
        link,
        "",
        "―――",
        "このメールは電子保証ポータルから自動で送信しています。返信はできません。",
        "お知らせメールが不要な場合は、アカウントのページで受け取らない設定にできます:",
        f"{public_url.rstrip('/')}/account",
        "",
    ])
    return subject, body


def build_message(*, settings: MailSettings, to: str, subject: str, body: str,
                  message_id: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    domain = settings.sender.rpartition("@")[2].strip(">") or "dsure-portal.invalid"
    # The outbox id: a resend after a lost lease carries the same Message-ID.
    message["Message-ID"] = f"<{message_id}@{domain}>"
    message.set_content(body)  # UTF-8; the subject is RFC 2047-encoded by the policy
    return message


class SmtpSender:
    """One SMTP connection, opened on the first message and reused for a batch."""

    def __init__(self, settings: MailSettings):
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        if not self.settings.smtp_url:
            raise MailNotConfigured("DSURE_SMTP_URL is not set")
        parts = urlsplit(self.settings.smtp_url)
        if parts.scheme not in SMTP_SCHEMES or not parts.hostname:
            raise MailNotConfigured("DSURE_SMTP_URL must be smtp://host:port")
        port = parts.port or SMTP_SCHEMES[parts.scheme]
        timeout = self.settings.timeout
        if parts.scheme == "smtps":
            smtp = smtplib.SMTP_SSL(parts.hostname, port, timeout=timeout,
                                    context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(parts.hostname, port, timeout=timeout)
            if parts.scheme == "smtp+starttls":
                smtp.starttls(context=ssl.create_default_context())
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        return smtp

    def send(self, message: EmailMessage) -> None:
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            self._smtp.send_message(message)
        except (smtplib.SMTPServerDisconnected, OSError):
            self.close()  # the next message opens a fresh connection
            raise

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._smtp = None


def is_permanent(exc: Exception) -> bool:
    """A 5xx refusal of the recipient will not change by retrying; anything else might."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    return False


def describe(exc: Exception) -> str:
    """For the trail: the kind of failure and the server's code, never addresses."""
    code = getattr(exc, "smtp_code", None)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code = ",".join(str(c) for c, _ in exc.recipients.values())
    return f"{type(exc).__name__} {code}" if code else type(exc).__name__
