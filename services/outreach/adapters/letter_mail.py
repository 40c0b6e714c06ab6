"""Letters by e-mail through the SMTP server the settings name (off unless
`KAA_LETTERS_SMTP_HOST` is set): each letter's text in the message, the letter as a PDF attached.
Blocking (smtplib): the use cases call it off the event loop. Nothing of a message is logged."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class MailSettings(BaseSettings):
    """Where letters are e-mailed from: `KAA_LETTERS_SMTP_HOST`, `_PORT` (25), `_SENDER`,
    `_STARTTLS` (false), `_USERNAME` and `_PASSWORD` (both or neither), `_TIMEOUT` seconds (10)."""

    model_config = SettingsConfigDict(env_prefix="KAA_LETTERS_SMTP_", extra="ignore")
    host: str | None = None
    port: int = 25
    sender: str = "kaa@localhost"
    starttls: bool = False
    username: str | None = None
    password: SecretStr | None = None
    timeout: float = 10.0

    @property
    def enabled(self) -> bool:
        return bool(self.host)


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    pdf: bytes


def send(settings: MailSettings, mails: list[Mail]) -> None:
    """Send the mails over one connection; raises `smtplib.SMTPException` or `OSError` when the
    server refuses or cannot be reached (what was sent before stays sent)."""
    assert settings.host is not None
    with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as server:
        if settings.starttls:
            server.starttls()
        if settings.username and settings.password:
            server.login(settings.username, settings.password.get_secret_value())
        for mail in mails:
            message = EmailMessage()
            message["From"] = settings.sender
            message["To"] = mail.to
            message["Subject"] = mail.subject
            message.set_content(mail.text)
            message.add_attachment(
                mail.pdf, maintype="application", subtype="pdf", filename="brev.pdf"
            )
            server.send_message(message)
