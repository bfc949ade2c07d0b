"""Notifications: one service writes the outbox, tasks deliver it.

`notify()` is the only way the portal tells a customer something. It writes
one `Notification` row per recipient and channel in the caller's transaction,
so the message exists if and only if the event it tells of was committed
(ARCHITECTURE.md, "Background work"). After the commit a task per row sends
it; if the broker is down then, the rows wait as pending and the periodic
sweep sends them once it is back. Nothing is ever sent from inside a
transaction.

The texts are templates per event, rendered in each recipient's language:
`templates/notifications/<event>/subject.txt` and `body.txt` (and, optionally,
`sms.txt`, a short text for SMS; without it an SMS carries `body.txt`). They
are plain text: nothing is HTML-escaped. Besides the caller's `context` they
see `company`, `recipient` (the user, or None for an explicit address),
`link_url` (the absolute address of `link`) and `site_url`.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
from django.template import Context, Engine
from django.utils import timezone, translation

from selfcare.celery import outbox_enqueue
from selfcare.models import Channel, Company, DeliveryStatus, Membership, Notification, User
from selfcare.sms import send_sms

logger = logging.getLogger(__name__)

# A message is tried this many times (the first send and the task's retries)
# before it is marked failed for staff to look at.
MAX_ATTEMPTS = 5
# The sweep leaves a fresh pending row to the task its commit enqueued, so
# that a busy queue does not fill with duplicates that only lose their claim.
SWEEP_PENDING_AFTER = timedelta(seconds=30)
# A row put back after a failed attempt has a retry on its way (the task's
# backoff waits at most 80 s, see selfcare.tasks): the sweep steps in only if
# that retry was lost, for instance with the broker down.
SWEEP_RETRY_AFTER = timedelta(minutes=5)
# Sending takes seconds (EMAIL_TIMEOUT is 10 s): a row claimed for longer
# belongs to a worker that died, and is taken back.
SENDING_TIMEOUT = timedelta(minutes=5)
SWEEP_BATCH = 500

# Users get the inbox and e-mail by default; SMS only goes to a number given
# for the event, since users have no mobile number of their own here.
USER_CHANNELS: tuple[Channel, ...] = (Channel.INBOX, Channel.EMAIL)

# Event names become template folders: no dots, no slashes.
_EVENT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,79}$")
_DEDUPE_KEY_MAX_LENGTH = Notification._meta.get_field("dedupe_key").max_length or 300
_SUBJECT_MAX_LENGTH = Notification._meta.get_field("subject").max_length or 200


@dataclass(frozen=True)
class _Texts:
    subject: str
    body: str


def notify(
    *,
    company: Company | None,
    event: str,
    key: str,
    recipients: Iterable[User],
    context: Mapping[str, Any],
    link: str = "",
    channels: Collection[Channel] | None = None,
    sms_to: str | Sequence[str] | None = None,
    language: str | None = None,
    sensitive: bool = False,
) -> list[Notification]:
    """Tell `recipients` (and the `sms_to` numbers) about `event`, once.

    `key` identifies this occurrence of the event (`f"order-{order.pk}-{step}"`):
    with the event, company, channel and recipient it makes the row's `dedupe_key`, so
    notifying the same occurrence again writes nothing new and sends nothing.
    `link` is a page of the portal, as a path (`/invoices/12/`) or an absolute
    address under SITE_URL. `channels` narrows the
    default, which is the inbox and e-mail for each user and SMS for each
    number in `sms_to`. `language` is that of the texts sent to `sms_to`
    (users get their own). Inactive users are skipped. `sensitive` marks a
    text that carries a one-time secret: staff never see it, and it is
    removed from the row once delivered.

    Call it inside the transaction that records the event; the rows are
    returned, including those an earlier call had written.
    """
    if not _EVENT_NAME.match(event):
        raise ValueError(f"an event name is lowercase letters, digits and underscores: {event!r}")
    if not key:
        raise ValueError("a notification needs the key of the event's occurrence")
    link_url = _absolute_link(link)
    wanted = set(Channel) if channels is None else set(channels)
    base_context: dict[str, Any] = {
        "company": company,
        "site_url": settings.SITE_URL,
        "link_url": link_url,
    }
    now = timezone.now()
    rows: dict[str, Notification] = {}

    def add(*, channel: Channel, user: User | None, address: str, recipient: str, texts: _Texts) -> None:
        dedupe_key = _dedupe_key(event=event, company=company, key=key, channel=channel, recipient=recipient)
        # The inbox is the portal itself: its message is delivered by being written.
        delivered = channel == Channel.INBOX
        rows[dedupe_key] = Notification(
            company=company,
            user=user,
            address=address,
            event=event,
            dedupe_key=dedupe_key,
            channel=channel,
            subject=texts.subject,
            body=texts.body,
            link=link,
            sensitive=sensitive,
            status=DeliveryStatus.SENT if delivered else DeliveryStatus.PENDING,
            sent_at=now if delivered else None,
        )

    user_channels = [channel for channel in USER_CHANNELS if channel in wanted]
    for user in recipients:
        # A deactivated user can no longer log in to read, nor asked to be told.
        if not user.is_active or not user_channels:
            continue
        texts = _render(
            event=event, language=user.language, context={**base_context, "recipient": user, **context}
        )
        for channel in user_channels:
            add(channel=channel, user=user, address="", recipient=f"user:{user.pk}", texts=texts)

    if Channel.SMS in wanted:
        for number in _sms_numbers(sms_to):
            texts = _render(
                event=event,
                language=language or settings.LANGUAGE_CODE,
                context={**base_context, "recipient": None, **context},
                sms=True,
            )
            add(channel=Channel.SMS, user=None, address=number, recipient=f"sms:{number}", texts=texts)

    if not rows:
        return []
    # ON CONFLICT DO NOTHING on dedupe_key: a second notify of the same
    # occurrence, even from a concurrent transaction, adds nothing.
    Notification.objects.bulk_create(rows.values(), ignore_conflicts=True)
    notifications = list(Notification.objects.filter(dedupe_key__in=rows.keys()).select_related("user"))
    pending = [n.pk for n in notifications if n.status == DeliveryStatus.PENDING]
    if pending:
        # After the commit, never before: a worker must find the row, and a
        # rolled-back event must send nothing.
        transaction.on_commit(lambda: notifications_enqueue(notification_ids=pending))
    return notifications


def _absolute_link(link: str) -> str:
    """The link's absolute address. Only the portal's own pages: a message never sends anyone elsewhere."""
    if not link:
        return ""
    site = settings.SITE_URL.rstrip("/")
    if link.startswith("/") and not link.startswith("//"):
        return f"{site}{link}"
    if link.startswith(f"{site}/"):
        return link
    raise ValueError(f"a notification links to a page of the portal ({site}/…), not {link!r}")


def _dedupe_key(*, event: str, company: Company | None, key: str, channel: Channel, recipient: str) -> str:
    # The company is part of it: one user may work for two companies, and the
    # same occurrence key there (an invoice month) is another message.
    company_part = f"company-{company.pk}" if company is not None else "no-company"
    dedupe_key = f"{event}:{company_part}:{key}:{channel}:{recipient}"
    if len(dedupe_key) > _DEDUPE_KEY_MAX_LENGTH:
        # A long key still deduplicates: by its digest.
        digest = hashlib.sha256(key.encode()).hexdigest()
        dedupe_key = f"{event}:{company_part}:sha256-{digest}:{channel}:{recipient}"
    return dedupe_key


def _sms_numbers(sms_to: str | Sequence[str] | None) -> list[str]:
    """The numbers in E.164, so that "+39 333 123 4567" and "+393331234567" are one recipient."""
    if not sms_to:
        return []
    numbers = [sms_to] if isinstance(sms_to, str) else list(sms_to)
    normalised: list[str] = []
    for number in numbers:
        try:
            parsed = phonenumbers.parse(number, "IT")
        except phonenumbers.NumberParseException as error:
            raise ValueError("not a phone number: validate it in the form that takes it") from error
        if not phonenumbers.is_valid_number(parsed):
            raise ValueError("not a valid phone number: validate it in the form that takes it")
        normalised.append(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
    return normalised


def _render(*, event: str, language: str, context: Mapping[str, Any], sms: bool = False) -> _Texts:
    engine = Engine.get_default()
    folder = f"notifications/{event}"
    # Plain text: autoescape off, or "&" would reach an e-mail as "&amp;".
    template_context = Context(dict(context), autoescape=False)
    with translation.override(language):
        subject = str(engine.get_template(f"{folder}/subject.txt").render(template_context))
        body_names = [f"{folder}/sms.txt", f"{folder}/body.txt"] if sms else [f"{folder}/body.txt"]
        body = str(engine.select_template(body_names).render(template_context))
    return _Texts(
        # A subject is one header line: a newline in it would make it invalid.
        subject=" ".join(subject.split())[:_SUBJECT_MAX_LENGTH],
        body=re.sub(r"\n{3,}", "\n\n", body.strip()),
    )


def notifications_enqueue(*, notification_ids: Sequence[int]) -> int:
    """Queue a send task per id; returns how many were queued.

    A broker that is down is not an error here: the rows are committed and
    pending, and the sweep sends them once it is back. The event that caused
    them, already committed, must not fail because of it.
    """
    # selfcare.tasks imports this module: import the task when it is needed.
    from selfcare.tasks import send_notification

    return outbox_enqueue(send_notification, notification_ids, what="notification(s)")


class DeliveryOutcome(StrEnum):
    SKIPPED = "skipped"
    SENT = "sent"
    WILL_RETRY = "will_retry"
    FAILED = "failed"


# What a delivered sensitive message's row keeps instead of its text.
TEXT_AFTER_DELIVERY = "[removed after delivery: the message carried a one-time secret]"


def notification_deliver(*, notification_id: int) -> DeliveryOutcome:
    """Send one pending message through its channel, once.

    The row is claimed first (PENDING → SENDING): two workers given the same
    id never both send it. A message is sent twice only if a worker dies
    between sending and marking it sent; the sweep then sends it again with
    the same Message-ID, so the recipient's side can recognise it.
    """
    claimed_at = timezone.now()
    claimed = Notification.objects.filter(pk=notification_id, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.SENDING, claimed_at=claimed_at, attempts=F("attempts") + 1
    )
    if claimed != 1:
        # Gone, already sent or failed, or another worker has it.
        return DeliveryOutcome.SKIPPED
    notification = Notification.objects.select_related("user").filter(pk=notification_id).first()
    if notification is None:
        return DeliveryOutcome.SKIPPED
    # Ours only while the claim is: the sweep may have taken the row back (and
    # then it is still ours to mark, as long as nobody claimed it anew).
    ours = Notification.objects.filter(
        pk=notification_id,
        claimed_at=claimed_at,
        status__in=[DeliveryStatus.SENDING, DeliveryStatus.PENDING],
    )
    try:
        _send(notification)
    except Exception as error:  # Any failure of a backend is retried, then given up.
        give_up = notification.attempts >= MAX_ATTEMPTS
        ours.update(
            status=DeliveryStatus.FAILED if give_up else DeliveryStatus.PENDING,
            last_error=f"{type(error).__name__}: {error}"[:2000],
        )
        # The class only: the error's text may hold an address.
        logger.warning(
            "notification %s not sent (attempt %s of %s): %s",
            notification_id,
            notification.attempts,
            MAX_ATTEMPTS,
            type(error).__name__,
        )
        return DeliveryOutcome.FAILED if give_up else DeliveryOutcome.WILL_RETRY
    sent: dict[str, Any] = {"status": DeliveryStatus.SENT, "sent_at": timezone.now(), "last_error": ""}
    if notification.sensitive:
        # A secret has done its job once delivered: the outbox keeps no copy of it.
        sent["body"] = TEXT_AFTER_DELIVERY
    ours.update(**sent)
    return DeliveryOutcome.SENT


def message_id_header(notification: Notification) -> str:
    """The e-mail Message-ID: the row's own, so a resend after a crash is the same message."""
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"<{notification.message_id}@{domain}>"


def _send(notification: Notification) -> None:
    if notification.channel == Channel.INBOX:
        return
    if notification.channel == Channel.EMAIL:
        address = notification.address or (notification.user.email if notification.user else "")
        if not address:
            raise ValueError("no e-mail address to send to")
        EmailMessage(
            subject=notification.subject,
            body=notification.body,
            to=[address],
            headers={
                "Message-ID": message_id_header(notification),
                # RFC 3834: no out-of-office replies to a robot.
                "Auto-Submitted": "auto-generated",
            },
        ).send(fail_silently=False)
        return
    if notification.channel == Channel.SMS:
        if not notification.address:
            raise ValueError("no number to send the SMS to")
        send_sms(to=notification.address, text=notification.body, message_id=str(notification.message_id))
        return
    raise ValueError(f"unknown channel {notification.channel!r}")


def notifications_sweep(*, now: datetime | None = None, limit: int = SWEEP_BATCH) -> list[int]:
    """Take back rows stuck in sending and return the ids of the pending rows due a send.

    Due: never tried and older than SWEEP_PENDING_AFTER (the commit-time
    enqueue failed or was lost), or last tried longer ago than
    SWEEP_RETRY_AFTER (the task's own retry was lost).
    """
    now = now or timezone.now()
    stuck = Notification.objects.filter(status=DeliveryStatus.SENDING, claimed_at__lt=now - SENDING_TIMEOUT)
    given_up = stuck.filter(attempts__gte=MAX_ATTEMPTS).update(
        status=DeliveryStatus.FAILED, last_error="the worker stopped while sending it, at every attempt"
    )
    # Its worker died: sent again, and perhaps for the second time, with the same Message-ID.
    taken_back = stuck.filter(attempts__lt=MAX_ATTEMPTS).update(status=DeliveryStatus.PENDING)
    due = list(
        Notification.objects.filter(status=DeliveryStatus.PENDING, created_at__lt=now - SWEEP_PENDING_AFTER)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - SWEEP_RETRY_AFTER))
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    if given_up or taken_back or due:
        logger.info(
            "notification sweep: %d taken back from a dead worker, %d given up, %d due",
            taken_back,
            given_up,
            len(due),
        )
    return due


def notification_mark_read(*, notification: Notification) -> Notification:
    if notification.read_at is None:
        read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=read_at)
        notification.read_at = read_at
    return notification


def notifications_mark_all_read(*, membership: Membership) -> int:
    """Mark the membership's whole inbox read; returns how many were unread."""
    return (
        Notification.objects.visible_to(membership)
        .filter(read_at__isnull=True)
        .update(read_at=timezone.now())
    )
