"""A real SMTP server on 127.0.0.1 (aiosmtpd in a thread) that keeps what it receives.

The app sends to it through ``app.mail.send_mail``'s SMTP path, the one production uses; tests read
the messages back, parsed, and follow the links in them as a person would.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

LINK = re.compile(r"https?://\S+")


@dataclass(frozen=True)
class Mail:
    """One received message."""

    to: str
    subject: str
    body: str
    message: EmailMessage

    @property
    def links(self) -> list[str]:
        """Every http(s) address in the body, in order."""
        return LINK.findall(self.body)


class Mailbox:
    """The handler aiosmtpd calls; a thread-safe list of received mail."""

    def __init__(self) -> None:
        self._mail: list[Mail] = []
        self._lock = threading.Lock()

    # aiosmtpd calls the handler's hooks by these names
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        body = message.get_body(("plain",))
        text = body.get_content().replace("\r\n", "\n") if body is not None else ""  # SMTP sends CRLF
        with self._lock:
            for rcpt in envelope.rcpt_tos:
                self._mail.append(Mail(to=rcpt, subject=str(message["Subject"]), body=text, message=message))
        return "250 Message accepted for delivery"

    def all(self, to: str | None = None) -> list[Mail]:
        """Messages received so far (to one address when ``to`` is given)."""
        with self._lock:
            return [m for m in self._mail if to is None or m.to == to]

    def last(self, to: str, timeout: float = 5.0) -> Mail:
        """The newest message to ``to``, waiting a little for it to arrive."""
        deadline = time.monotonic() + timeout
        while True:
            mail = self.all(to)
            if mail:
                return mail[-1]
            if time.monotonic() > deadline:
                msg = f"no mail to {to} arrived"
                raise AssertionError(msg)
            time.sleep(0.05)

    def clear(self) -> None:
        """Forget every message (between tests)."""
        with self._lock:
            self._mail.clear()


class SMTPServer:
    """An aiosmtpd server on a free port of 127.0.0.1; ``config`` points the app's SMTP settings at it."""

    def __init__(self) -> None:
        self.mailbox = Mailbox()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)

    @property
    def config(self) -> dict[str, Any]:
        """Settings for ``create_app``: plain SMTP to this server (it offers no TLS)."""
        return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": self.port, "SMTP_STARTTLS": False,
                "SMTP_SSL": False, "MAIL_FROM": "Thetapath tests <tests@thetapath.test>"}

    def __enter__(self) -> SMTPServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._controller.stop()
