"""SMS through a small backend interface, chosen in settings like Django's e-mail backends.

`SMS_BACKEND` names the backend: "console" (written to standard output),
"file" (appended to a file a day under `SMS_FILE_PATH`, to be read by hand in
development), "locmem" (kept in `selfcare.sms.outbox`, for tests) or the
dotted path of a provider's class. A backend has one method,
`send(*, to, text, message_id)`, and raises on failure: the notification
task retries it and never marks an SMS sent that did not leave.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class SmsMessage:
    to: str
    text: str
    message_id: str


class SmsBackend(Protocol):
    def send(self, *, to: str, text: str, message_id: str) -> None: ...


def format_message(message: SmsMessage) -> str:
    """The text form of an SMS that the console and file backends write."""
    return f"To: {message.to}\nMessage-ID: {message.message_id}\n\n{message.text}\n{'-' * 72}\n"


class ConsoleBackend:
    """Writes each SMS to standard output, as Django's console e-mail backend does."""

    def send(self, *, to: str, text: str, message_id: str) -> None:
        sys.stdout.write(format_message(SmsMessage(to=to, text=text, message_id=message_id)))
        sys.stdout.flush()


class FileBackend:
    """Appends each SMS to `SMS_FILE_PATH/<day>.txt`.

    One write per message, in append mode: the web process and every worker
    may write to the same file at once without interleaving their messages.
    """

    def send(self, *, to: str, text: str, message_id: str) -> None:
        folder = Path(settings.SMS_FILE_PATH)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{timezone.localdate():%Y-%m-%d}.txt"
        with path.open("a", encoding="utf-8") as sms_file:
            sms_file.write(format_message(SmsMessage(to=to, text=text, message_id=message_id)))


# What the locmem backend sent, oldest first; tests clear it.
outbox: list[SmsMessage] = []
_outbox_lock = threading.Lock()


class LocmemBackend:
    """Keeps each SMS in `selfcare.sms.outbox`, for tests in the same process."""

    def send(self, *, to: str, text: str, message_id: str) -> None:
        with _outbox_lock:
            outbox.append(SmsMessage(to=to, text=text, message_id=message_id))


BACKEND_ALIASES: dict[str, str] = {
    "console": "selfcare.sms.ConsoleBackend",
    "file": "selfcare.sms.FileBackend",
    "locmem": "selfcare.sms.LocmemBackend",
}


def get_backend(name: str | None = None) -> SmsBackend:
    """The backend named by `name` or, by default, by the SMS_BACKEND setting."""
    name = name or settings.SMS_BACKEND
    backend_class = import_string(BACKEND_ALIASES.get(name, name))
    backend: SmsBackend = backend_class()
    return backend


def send_sms(*, to: str, text: str, message_id: str) -> None:
    """Send one SMS through the configured backend; raises if it could not be sent."""
    get_backend().send(to=to, text=text, message_id=message_id)
