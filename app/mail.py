"""Outgoing mail: one function, ``send_mail``, plain text, through SMTP when it is configured.

Settings (``THETAPATH_`` + key, see ``app.config``): ``SMTP_HOST``, ``SMTP_PORT``, ``SMTP_USERNAME``,
``SMTP_PASSWORD``, ``SMTP_STARTTLS`` (default on), ``SMTP_SSL`` (implicit TLS, port 465),
``SMTP_TIMEOUT`` and ``MAIL_FROM``. Without ``SMTP_HOST`` the message is written to the app log at
WARNING instead, so the demo shows its links in the terminal; nothing is lost silently.

Mail goes out while the request waits, so a failure can be told to the user (``MailError``, 503).
Links in mail come from ``external_url``: the configured ``BASE_URL``, or else the request's address.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any

from flask import current_app, url_for

from app.errors import ServiceError

log = logging.getLogger(__name__)


class MailError(ServiceError):
    """The mail server could not take the message; the user may try again later."""

    status = 503


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute link to ``endpoint`` for an e-mail.

    With ``BASE_URL`` set it starts with that address, so a forged ``Host`` header cannot redirect a
    reset link elsewhere; without it, the request's own scheme and host are used.
    """
    base = current_app.config.get("BASE_URL")
    if base:
        return str(base) + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def _port(config: dict[str, object]) -> int:
    if config.get("SMTP_PORT"):
        return int(str(config["SMTP_PORT"]))
    if config.get("SMTP_SSL"):
        return 465
    return 587 if config.get("SMTP_STARTTLS") else 25


def build_message(to: str, subject: str, body: str) -> EmailMessage:
    """The message ``send_mail`` sends (a plain-text part, UTF-8, with Date and Message-ID)."""
    if "\n" in to or "\r" in to or "\n" in subject or "\r" in subject:
        msg = "a mail header cannot contain a line break"
        raise ValueError(msg)
    sender = str(current_app.config["MAIL_FROM"])
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(body)
    return message


def send_mail(to: str, subject: str, body: str) -> None:
    """Send a plain-text message to one address, or log it when no SMTP server is configured.

    Raises ``MailError`` when the server refuses or cannot be reached (the cause is logged, the user
    sees only that the mail could not be sent).
    """
    message = build_message(to, subject, body)
    config = current_app.config
    host = config.get("SMTP_HOST")
    if not host:
        log.warning("No SMTP server configured (THETAPATH_SMTP_HOST); this mail was not sent:\n"
                    "To: %s\nSubject: %s\n\n%s", to, subject, body)
        return
    timeout = float(config.get("SMTP_TIMEOUT") or 10)
    port = _port(config)
    context = ssl.create_default_context()
    try:
        smtp: smtplib.SMTP
        if config.get("SMTP_SSL"):
            smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        with smtp:
            if config.get("SMTP_STARTTLS") and not config.get("SMTP_SSL"):
                smtp.starttls(context=context)
            if config.get("SMTP_USERNAME"):
                smtp.login(str(config["SMTP_USERNAME"]), str(config.get("SMTP_PASSWORD") or ""))
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as err:
        log.error("Could not send mail to %s via %s:%s: %s", to, host, port, err)
        msg = "The e-mail could not be sent just now. Please try again in a few minutes."
        raise MailError(msg) from err
    log.info("Mail sent to %s: %s", to, subject)
