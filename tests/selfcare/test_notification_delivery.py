"""Delivering the outbox: claimed sends, retries, the sweep, and real workers through a real broker, killed midway."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.utils import timezone

from selfcare import sms
from selfcare.models import Channel, DeliveryStatus, Notification
from selfcare.services.notifications import (
    MAX_ATTEMPTS,
    SENDING_TIMEOUT,
    SWEEP_PENDING_AFTER,
    SWEEP_RETRY_AFTER,
    DeliveryOutcome,
    message_id_header,
    notification_deliver,
    notifications_sweep,
)
from selfcare.tasks import send_notification, sweep_notifications
from tests.cast import Cast, make_cast
from tests.selfcare.test_notifications import install_event_templates, notify_order
from tests.worker import WorkerProcess, wait_until

NUMBER = "+393331234567"


@pytest.fixture(autouse=True)
def event_templates(settings: Any, tmp_path: Path) -> Path:
    return install_event_templates(settings, tmp_path / "templates")


@pytest.fixture
def sms_outbox(settings: Any) -> list[sms.SmsMessage]:
    settings.SMS_BACKEND = "locmem"
    sms.outbox.clear()
    return sms.outbox


class SmsProviderHangsBackend:
    """An SMS provider that takes the message and never answers: the worker is killed meanwhile."""

    def send(self, *, to: str, text: str, message_id: str) -> None:
        Path(os.environ["SMS_SEND_STARTED"]).write_text(message_id, encoding="utf-8")
        time.sleep(600)


class SmsProviderHangsOnTheThirdBackend:
    """An SMS provider that takes two messages, then hangs on the third: the worker is killed meanwhile."""

    def send(self, *, to: str, text: str, message_id: str) -> None:
        delivered = Path(os.environ["SMS_DELIVERED"])
        taken = delivered.read_text(encoding="utf-8").split() if delivered.exists() else []
        if len(taken) < 2:
            with delivered.open("a", encoding="utf-8") as log:
                log.write(f"{message_id}\n")
            return
        Path(os.environ["SMS_SEND_STARTED"]).write_text(message_id, encoding="utf-8")
        time.sleep(600)


class SmsProviderDownBackend:
    """An SMS provider that never answers: what a retry is for."""

    def send(self, *, to: str, text: str, message_id: str) -> None:
        raise ConnectionError("the SMS provider did not answer")


def pending(cast: Cast, channel: Channel) -> Notification:
    kwargs: dict[str, Any] = {"sms_to": NUMBER} if channel == Channel.SMS else {}
    (row,) = notify_order(membership=cast.rossi_line_user, channels=[channel], **kwargs)
    return row


# --- sending one message ----------------------------------------------------------


@pytest.mark.django_db
def test_an_email_goes_to_the_user_with_the_notifications_message_id(cast: Cast) -> None:
    row = pending(cast, Channel.EMAIL)

    assert notification_deliver(notification_id=row.pk) is DeliveryOutcome.SENT

    (message,) = mail.outbox
    assert message.to == [cast.rossi_line_user.user.email]
    assert message.subject == row.subject
    assert message.body == row.body
    assert message.message()["Message-ID"] == f"<{row.message_id}@127.0.0.1>" == message_id_header(row)
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (DeliveryStatus.SENT, 1, "")
    assert row.sent_at is not None


@pytest.mark.django_db
def test_an_sms_goes_to_the_number_given_with_the_notifications_message_id(
    cast: Cast, sms_outbox: list[sms.SmsMessage]
) -> None:
    row = pending(cast, Channel.SMS)

    notification_deliver(notification_id=row.pk)

    assert sms_outbox == [sms.SmsMessage(to=NUMBER, text=row.body, message_id=str(row.message_id))]


@pytest.mark.django_db
def test_a_claim_prevents_sending_twice(cast: Cast) -> None:
    row = pending(cast, Channel.EMAIL)

    first = notification_deliver(notification_id=row.pk)
    second = notification_deliver(notification_id=row.pk)

    assert (first, second) == (DeliveryOutcome.SENT, DeliveryOutcome.SKIPPED)
    assert len(mail.outbox) == 1
    row.refresh_from_db()
    assert row.attempts == 1


@pytest.mark.django_db
def test_a_message_another_worker_is_sending_is_left_to_it(cast: Cast) -> None:
    row = pending(cast, Channel.EMAIL)
    Notification.objects.filter(pk=row.pk).update(status=DeliveryStatus.SENDING, claimed_at=timezone.now())

    assert notification_deliver(notification_id=row.pk) is DeliveryOutcome.SKIPPED
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_message_that_is_gone_is_nothing_to_do(cast: Cast) -> None:
    row = pending(cast, Channel.EMAIL)
    row.delete()

    result = send_notification.apply(args=(row.pk,))

    assert result.successful()
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_failed_send_is_put_back_with_its_error_for_a_retry(cast: Cast, settings: Any) -> None:
    settings.SMS_BACKEND = f"{__name__}.SmsProviderDownBackend"
    row = pending(cast, Channel.SMS)

    assert notification_deliver(notification_id=row.pk) is DeliveryOutcome.WILL_RETRY

    row.refresh_from_db()
    assert (row.status, row.attempts) == (DeliveryStatus.PENDING, 1)
    assert row.last_error == "ConnectionError: the SMS provider did not answer"
    assert row.sent_at is None


@pytest.mark.django_db
def test_the_task_retries_a_failing_send_and_gives_up_after_the_last_attempt(
    cast: Cast, settings: Any
) -> None:
    settings.SMS_BACKEND = f"{__name__}.SmsProviderDownBackend"
    row = pending(cast, Channel.SMS)

    # In-process, Celery runs the retries at once, one after the other.
    send_notification.apply(args=(row.pk,))

    row.refresh_from_db()
    assert (row.status, row.attempts) == (DeliveryStatus.FAILED, MAX_ATTEMPTS)
    assert "did not answer" in row.last_error


@pytest.mark.django_db
def test_a_retry_after_a_failure_sends_the_message(cast: Cast, sms_outbox: list[sms.SmsMessage]) -> None:
    row = pending(cast, Channel.SMS)
    Notification.objects.filter(pk=row.pk).update(attempts=2, last_error="ConnectionError: earlier")

    assert notification_deliver(notification_id=row.pk) is DeliveryOutcome.SENT

    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (DeliveryStatus.SENT, 3, "")
    assert len(sms_outbox) == 1


def test_the_send_task_declares_its_retries_and_their_backoff() -> None:
    task: Any = send_notification  # celery-types does not know the autoretry options

    assert task.max_retries == MAX_ATTEMPTS - 1
    assert task.retry_backoff > 0
    assert task.retry_jitter is True
    assert task.autoretry_for


def test_beat_runs_the_sweep_every_minute() -> None:
    entry = django_settings.CELERY_BEAT_SCHEDULE["notifications-sweep"]

    assert entry["task"] == sweep_notifications.name
    assert entry["schedule"] <= 60


# --- the sweep -------------------------------------------------------------------


@pytest.mark.django_db
def test_the_sweep_sends_a_message_whose_commit_could_not_queue_it(cast: Cast) -> None:
    row = pending(cast, Channel.EMAIL)
    now = timezone.now()

    assert notifications_sweep(now=now) == []
    assert notifications_sweep(now=now + SWEEP_PENDING_AFTER + timedelta(seconds=1)) == [row.pk]


@pytest.mark.django_db
def test_the_sweep_leaves_a_failed_message_to_its_own_retry_for_a_while(cast: Cast) -> None:
    row = pending(cast, Channel.EMAIL)
    now = timezone.now()
    Notification.objects.filter(pk=row.pk).update(attempts=1, claimed_at=now)

    assert notifications_sweep(now=now + timedelta(minutes=1)) == []
    assert notifications_sweep(now=now + SWEEP_RETRY_AFTER + timedelta(seconds=1)) == [row.pk]


@pytest.mark.django_db
def test_the_sweep_takes_back_a_message_whose_worker_died_while_sending_it(cast: Cast) -> None:
    row = pending(cast, Channel.EMAIL)
    now = timezone.now()
    Notification.objects.filter(pk=row.pk).update(status=DeliveryStatus.SENDING, claimed_at=now, attempts=1)

    assert notifications_sweep(now=now + timedelta(minutes=1)) == []
    due = notifications_sweep(now=now + SENDING_TIMEOUT + timedelta(seconds=1))

    assert due == [row.pk]
    row.refresh_from_db()
    assert row.status == DeliveryStatus.PENDING


@pytest.mark.django_db
def test_the_sweep_gives_up_on_a_message_that_stopped_its_worker_at_every_attempt(cast: Cast) -> None:
    row = pending(cast, Channel.EMAIL)
    now = timezone.now()
    Notification.objects.filter(pk=row.pk).update(
        status=DeliveryStatus.SENDING, claimed_at=now, attempts=MAX_ATTEMPTS
    )

    assert notifications_sweep(now=now + SENDING_TIMEOUT + timedelta(seconds=1)) == []
    row.refresh_from_db()
    assert row.status == DeliveryStatus.FAILED


@pytest.mark.django_db
def test_the_sweep_ignores_what_is_sent_or_failed(cast: Cast) -> None:
    sent = pending(cast, Channel.EMAIL)
    inbox = notify_order(membership=cast.rossi_admin, channels=[Channel.INBOX])[0]
    Notification.objects.filter(pk=sent.pk).update(status=DeliveryStatus.FAILED)

    assert inbox.status == DeliveryStatus.SENT
    assert notifications_sweep(now=timezone.now() + timedelta(hours=1)) == []


# --- the SMS backends -------------------------------------------------------------


def test_the_file_sms_backend_appends_each_message_to_the_days_file(settings: Any, tmp_path: Path) -> None:
    settings.SMS_BACKEND = "file"
    settings.SMS_FILE_PATH = tmp_path / "sms"

    sms.send_sms(to=NUMBER, text="Primo", message_id="m-1")
    sms.send_sms(to=NUMBER, text="Secondo", message_id="m-2")

    (day_file,) = (tmp_path / "sms").iterdir()
    text = day_file.read_text(encoding="utf-8")
    assert text.index("Message-ID: m-1") < text.index("Primo") < text.index("Message-ID: m-2")
    assert text.count(f"To: {NUMBER}") == 2


def test_the_console_sms_backend_writes_to_standard_output(
    settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.SMS_BACKEND = "console"

    sms.send_sms(to=NUMBER, text="Ciao", message_id="m-1")

    assert capsys.readouterr().out.startswith(f"To: {NUMBER}\nMessage-ID: m-1\n\nCiao\n")


def test_a_provider_backend_is_named_by_its_dotted_path(settings: Any) -> None:
    settings.SMS_BACKEND = f"{__name__}.SmsProviderDownBackend"

    with pytest.raises(ConnectionError):
        sms.send_sms(to=NUMBER, text="Ciao", message_id="m-1")


# --- real workers, real broker ----------------------------------------------------


def read_folder(folder: Path) -> str:
    return "".join(path.read_text(encoding="utf-8") for path in sorted(folder.glob("*")))


def succeeded(worker: WorkerProcess, task: Any) -> int:
    return sum(
        1 for line in worker.log.splitlines() if f"Task {task.name}[" in line and " succeeded in " in line
    )


@pytest.mark.worker
def test_a_real_worker_sends_the_email_with_the_message_id(transactional_db: None, tmp_path: Path) -> None:
    cast = make_cast()
    mail_folder = tmp_path / "mail"
    with WorkerProcess(extra_env={"EMAIL_URL": f"filemail://{mail_folder}"}):
        row = pending(cast, Channel.EMAIL)

        wait_until(lambda: Notification.objects.get(pk=row.pk).status == DeliveryStatus.SENT)

    text = read_folder(mail_folder)
    assert f"Message-ID: <{row.message_id}@127.0.0.1>" in text
    assert f"To: {cast.rossi_line_user.user.email}" in text
    assert "Subject: Fatture e consumi: A-7" in text


@pytest.mark.worker
def test_a_real_worker_sends_the_sms_to_the_number_given(transactional_db: None, tmp_path: Path) -> None:
    cast = make_cast()
    sms_folder = tmp_path / "sms"
    with WorkerProcess(extra_env={"SMS_BACKEND": "file", "SMS_FILE_PATH": str(sms_folder)}):
        row = pending(cast, Channel.SMS)

        wait_until(lambda: Notification.objects.get(pk=row.pk).status == DeliveryStatus.SENT)

    text = read_folder(sms_folder)
    assert f"To: {NUMBER}\nMessage-ID: {row.message_id}\n\n{row.body}\n" in text


@pytest.mark.worker
def test_a_message_queued_many_times_is_sent_once_by_concurrent_workers(
    transactional_db: None, tmp_path: Path
) -> None:
    cast = make_cast()
    mail_folder = tmp_path / "mail"
    with WorkerProcess(concurrency=3, extra_env={"EMAIL_URL": f"filemail://{mail_folder}"}) as worker:
        row = pending(cast, Channel.EMAIL)  # queued once by its commit
        for _ in range(5):
            send_notification.delay(row.pk)

        wait_until(lambda: succeeded(worker, send_notification) == 6)

    assert read_folder(mail_folder).count(f"<{row.message_id}@") == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (DeliveryStatus.SENT, 1)


@pytest.mark.worker
def test_a_message_whose_worker_was_killed_while_sending_it_is_sent_by_the_next_worker(
    transactional_db: None, tmp_path: Path
) -> None:
    cast = make_cast()
    started = tmp_path / "sms-send-started"
    sms_folder = tmp_path / "sms"
    hanging = {"SMS_BACKEND": f"{__name__}.SmsProviderHangsBackend", "SMS_SEND_STARTED": str(started)}
    with WorkerProcess(extra_env=hanging) as worker:
        row = pending(cast, Channel.SMS)
        wait_until(started.exists)
        worker.kill()

    row.refresh_from_db()
    assert (row.status, row.attempts) == (DeliveryStatus.SENDING, 1)
    with WorkerProcess(extra_env={"SMS_BACKEND": "file", "SMS_FILE_PATH": str(sms_folder)}) as worker:
        # What beat's sweep does once the claim has timed out.
        later = timezone.now() + SENDING_TIMEOUT + timedelta(seconds=1)
        for notification_id in notifications_sweep(now=later):
            send_notification.delay(notification_id)

        wait_until(lambda: Notification.objects.get(pk=row.pk).status == DeliveryStatus.SENT)

    assert read_folder(sms_folder).count(f"Message-ID: {row.message_id}") == 1
    row.refresh_from_db()
    assert row.attempts == 2


@pytest.mark.worker
def test_a_batch_whose_worker_was_killed_midway_is_sent_in_full_and_each_message_once(
    transactional_db: None, tmp_path: Path
) -> None:
    cast = make_cast()
    started = tmp_path / "sms-send-started"
    delivered = tmp_path / "sms-delivered-before-the-kill"
    sms_folder = tmp_path / "sms"
    hanging = {
        "SMS_BACKEND": f"{__name__}.SmsProviderHangsOnTheThirdBackend",
        "SMS_SEND_STARTED": str(started),
        "SMS_DELIVERED": str(delivered),
    }
    with WorkerProcess(extra_env=hanging) as worker:
        rows = [
            row
            for number in range(5)
            for row in notify_order(
                membership=cast.rossi_line_user, key=f"order-{number}", channels=[Channel.SMS], sms_to=NUMBER
            )
        ]
        wait_until(started.exists)
        worker.kill()

    # Two sent, one cut off while sending, two never started.
    states = sorted(Notification.objects.filter(channel=Channel.SMS).values_list("status", flat=True))
    assert states == sorted(
        [DeliveryStatus.SENT] * 2 + [DeliveryStatus.SENDING] + [DeliveryStatus.PENDING] * 2
    )
    with WorkerProcess(extra_env={"SMS_BACKEND": "file", "SMS_FILE_PATH": str(sms_folder)}):
        # What beat's sweep does once the claim has timed out (the first worker's queue was lost with it).
        later = timezone.now() + SENDING_TIMEOUT + timedelta(seconds=1)
        for notification_id in notifications_sweep(now=later):
            send_notification.delay(notification_id)

        wait_until(lambda: not Notification.objects.exclude(status=DeliveryStatus.SENT).exists())

    # Every message of the batch went out, before or after the kill, and none twice.
    sent_before = delivered.read_text(encoding="utf-8").split()
    sent_after = read_folder(sms_folder)
    for row in rows:
        assert sent_before.count(str(row.message_id)) + sent_after.count(f"Message-ID: {row.message_id}") == 1
    assert len(sent_before) + sent_after.count("Message-ID: ") == len(rows) == 5


# The broker down (Redis stopped and started again): tests/faults/test_redis_down.py.
