"""Notifications: one outbox row per recipient and channel, written with its cause; the in-portal inbox."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.test import Client
from django.urls import reverse
from lxml import html

from selfcare.models import Channel, DeliveryStatus, Membership, Notification, Role, User
from selfcare.services.notifications import notify
from selfcare.views.notifications import INBOX_PAGE_SIZE
from tests.cast import Cast
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

# An event of the tests' own, with texts that use strings the Italian
# catalogue already has, a date (Django's own catalogue) and characters HTML
# would escape.
EVENT = "order_step"
EVENT_TEMPLATES = {
    "subject.txt": '{% load i18n %}{% translate "Invoices and usage" %}: {{ order_number }}\n',
    "body.txt": (
        '{% load i18n %}{% translate "Overview" %} {{ order_number }}, {{ when|date:"j F Y" }}.\n'
        "\n\n\n"
        "Rossi & Figli <impianti>\n"
        "{{ link_url }}\n"
    ),
    "sms.txt": "SMS {{ order_number }} {{ link_url }}\n",
}
WHEN = datetime(2025, 11, 5, 10, 0, tzinfo=ZoneInfo("Europe/Rome"))


def install_event_templates(settings: Any, folder: Path) -> Path:
    """Add a template folder holding the tests' event to the Django template engine."""
    event_folder = folder / "notifications" / EVENT
    event_folder.mkdir(parents=True)
    for name, text in EVENT_TEMPLATES.items():
        (event_folder / name).write_text(text, encoding="utf-8")
    engine = settings.TEMPLATES[0]
    settings.TEMPLATES = [{**engine, "DIRS": [*engine["DIRS"], folder]}, *settings.TEMPLATES[1:]]
    return folder


@pytest.fixture(autouse=True)
def event_templates(settings: Any, tmp_path: Path) -> Path:
    return install_event_templates(settings, tmp_path / "templates")


def notify_order(
    *, membership: Membership, key: str = "order-7-shipped", **options: Any
) -> list[Notification]:
    arguments: dict[str, Any] = {
        "company": membership.company,
        "event": EVENT,
        "key": key,
        "recipients": [membership.user],
        "context": {"order_number": "A-7", "when": WHEN},
        "link": "/orders/7/",
        **options,
    }
    return notify(**arguments)


def inbox_messages(membership: Membership, count: int) -> list[Notification]:
    return [
        row
        for number in range(count)
        for row in notify_order(membership=membership, key=f"order-{number}", channels=[Channel.INBOX])
    ]


# --- the outbox --------------------------------------------------------------


def test_the_same_event_notified_twice_makes_one_message_per_recipient_and_channel(cast: Cast) -> None:
    first = notify_order(membership=cast.rossi_line_user, sms_to="+393331234567")
    second = notify_order(membership=cast.rossi_line_user, sms_to="+393331234567")

    assert Notification.objects.count() == 3
    assert {row.pk for row in second} == {row.pk for row in first}


def test_a_user_gets_the_inbox_and_email_and_a_number_given_gets_an_sms(cast: Cast) -> None:
    rows = notify_order(membership=cast.rossi_line_user, sms_to="+39 333 123 4567")

    by_channel = {row.channel: row for row in rows}
    assert set(by_channel) == {Channel.INBOX, Channel.EMAIL, Channel.SMS}
    assert by_channel[Channel.INBOX].user == cast.rossi_line_user.user
    assert by_channel[Channel.EMAIL].user == cast.rossi_line_user.user
    assert by_channel[Channel.SMS].user is None
    assert by_channel[Channel.SMS].address == "+393331234567"
    assert {row.company for row in rows} == {cast.rossi}


def test_the_inbox_message_is_delivered_at_once_and_the_others_wait_for_a_worker(cast: Cast) -> None:
    rows = notify_order(membership=cast.rossi_line_user, sms_to="+393331234567")

    states = {row.channel: (row.status, row.sent_at is not None) for row in rows}
    assert states == {
        Channel.INBOX: (DeliveryStatus.SENT, True),
        Channel.EMAIL: (DeliveryStatus.PENDING, False),
        Channel.SMS: (DeliveryStatus.PENDING, False),
    }


def test_the_messages_are_written_in_the_callers_transaction_and_rolled_back_with_it(
    cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    class OrderRefusedError(Exception):
        pass

    written: list[int] = []

    def refuse_the_order_after_notifying() -> None:
        with transaction.atomic():
            notify_order(membership=cast.rossi_line_user)
            written.append(Notification.objects.count())
            raise OrderRefusedError

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(OrderRefusedError):
        refuse_the_order_after_notifying()

    assert written == [2]
    assert Notification.objects.count() == 0
    assert callbacks == []


def test_the_sending_is_queued_only_once_the_cause_is_committed(
    cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    queued_before_commit: list[int] = []
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        notify_order(membership=cast.rossi_line_user)
        queued_before_commit.append(len(callbacks))

    assert queued_before_commit == [0]
    assert len(callbacks) == 1


def test_a_message_already_sent_is_not_queued_again(
    cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    notify_order(membership=cast.rossi_line_user, channels=[Channel.EMAIL])
    Notification.objects.update(status=DeliveryStatus.SENT)

    with django_capture_on_commit_callbacks() as callbacks:
        notify_order(membership=cast.rossi_line_user, channels=[Channel.EMAIL])

    assert callbacks == []


def test_each_recipient_reads_the_message_in_their_own_language(cast: Cast) -> None:
    anna = cast.rossi_legal_rep.user
    marco = cast.rossi_admin.user
    User.objects.filter(pk=anna.pk).update(language="it")
    User.objects.filter(pk=marco.pk).update(language="en")
    anna.refresh_from_db()
    marco.refresh_from_db()

    rows = notify(
        company=cast.rossi,
        event=EVENT,
        key="order-7-shipped",
        recipients=[anna, marco],
        context={"order_number": "A-7", "when": WHEN},
        channels=[Channel.EMAIL],
    )

    texts = {row.user: (row.subject, row.body.splitlines()[0]) for row in rows}
    assert texts[anna] == ("Fatture e consumi: A-7", "Panoramica A-7, 5 Novembre 2025.")
    assert texts[marco] == ("Invoices and usage: A-7", "Overview A-7, 5 November 2025.")


def test_an_sms_number_is_written_in_the_language_asked_for(cast: Cast) -> None:
    rows = notify(
        company=cast.rossi,
        event=EVENT,
        key="order-7-shipped",
        recipients=[],
        context={"order_number": "A-7", "when": WHEN},
        sms_to=["+393331234567"],
        language="en",
    )

    assert [(row.channel, row.subject) for row in rows] == [(Channel.SMS, "Invoices and usage: A-7")]


def test_texts_are_plain_text_with_an_absolute_link(cast: Cast) -> None:
    (email,) = notify_order(membership=cast.rossi_line_user, channels=[Channel.EMAIL])

    assert "Rossi & Figli <impianti>" in email.body
    assert f"{django_settings.SITE_URL}/orders/7/" in email.body
    # Blank lines left by template tags are folded, and the text trimmed.
    assert "\n\n\n" not in email.body
    assert email.body == email.body.strip()
    assert email.link == "/orders/7/"


def test_an_sms_carries_the_short_text_of_the_event(cast: Cast) -> None:
    (sms,) = notify_order(membership=cast.rossi_line_user, channels=[Channel.SMS], sms_to="+393331234567")

    assert sms.body == f"SMS A-7 {django_settings.SITE_URL}/orders/7/"


def test_a_number_written_two_ways_is_one_recipient(cast: Cast) -> None:
    rows = notify_order(
        membership=cast.rossi_line_user, channels=[Channel.SMS], sms_to=["+39 333 1234567", "3331234567"]
    )

    assert [row.address for row in rows] == ["+393331234567"]


def test_a_link_may_be_an_absolute_address_of_the_portal_itself(cast: Cast) -> None:
    link = f"{django_settings.SITE_URL}/accounts/password/reset/key/abc/"

    (email,) = notify_order(membership=cast.rossi_line_user, channels=[Channel.EMAIL], link=link)

    assert email.link == link
    assert email.body.endswith(link)


def test_channels_narrow_the_default(cast: Cast) -> None:
    rows = notify_order(membership=cast.rossi_line_user, channels=[Channel.INBOX], sms_to="+393331234567")

    assert [row.channel for row in rows] == [Channel.INBOX]


def test_an_inactive_user_is_not_notified(cast: Cast) -> None:
    user = cast.rossi_line_user.user
    user.is_active = False
    user.save(update_fields=["is_active"])

    assert notify_order(membership=cast.rossi_line_user) == []
    assert Notification.objects.count() == 0


def test_a_long_event_key_still_deduplicates(cast: Cast) -> None:
    key = "report-" + "x" * 400

    notify_order(membership=cast.rossi_line_user, key=key)
    notify_order(membership=cast.rossi_line_user, key=key)

    keys = list(Notification.objects.values_list("dedupe_key", flat=True))
    assert len(keys) == 2
    assert all(len(dedupe_key) <= 300 for dedupe_key in keys)


def test_different_occurrences_of_an_event_are_different_messages(cast: Cast) -> None:
    notify_order(membership=cast.rossi_line_user, key="order-7-shipped")
    notify_order(membership=cast.rossi_line_user, key="order-7-delivered")

    assert Notification.objects.count() == 4


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("event", "../../base"),
        ("event", "Order Step"),
        ("key", ""),
        ("link", "https://elsewhere.example/"),
        ("link", "//elsewhere.example/"),
        ("link", f"{django_settings.SITE_URL}.elsewhere.example/"),
        ("link", "javascript:alert(1)"),
        ("sms_to", "not a number"),
        ("sms_to", "+39 12"),
    ],
)
def test_a_notification_refuses_what_it_cannot_send_safely(cast: Cast, argument: str, value: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        notify_order(membership=cast.rossi_line_user, **{argument: value})

    assert Notification.objects.count() == 0


# --- the inbox page --------------------------------------------------------------


@pytest.fixture
def english(client: Client) -> Client:
    """The portal in English, the language of the source strings the tests read."""
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def page_of(response: Any) -> Any:
    return html.fromstring(response.content.decode())


def listed_ids(response: Any) -> list[int]:
    return [
        int(item.get("id").removeprefix("notification-"))
        for item in page_of(response).cssselect(".inbox-list > li")
    ]


def badge_count(response: Any) -> str:
    (badge,) = page_of(response).cssselect("#inbox-badge .badge")
    return str(badge.text).strip()


def test_the_inbox_lists_only_the_users_own_messages_in_the_selected_company(
    cast: Cast, client_as: Any
) -> None:
    luca = cast.rossi_line_user
    # Luca also works for Bianchi: what he gets there is not shown while he works for Rossi.
    luca_at_bianchi = MembershipFactory.create(user=luca.user, company=cast.bianchi, role=Role.LINE_USER)
    own = inbox_messages(luca, 2)
    inbox_messages(luca_at_bianchi, 1)
    inbox_messages(cast.rossi_admin, 1)
    inbox_messages(cast.bianchi_line_user, 1)
    notify_order(membership=luca, key="by-email-only", channels=[Channel.EMAIL])

    response = client_as(luca).get(reverse("selfcare:inbox"))

    assert response.status_code == 200
    assert listed_ids(response) == [row.pk for row in reversed(own)]


def test_the_inbox_shows_the_newest_first_with_unread_ones_marked(cast: Cast, client_as: Any) -> None:
    older, newer = inbox_messages(cast.rossi_line_user, 2)
    Notification.objects.filter(pk=older.pk).update(read_at=older.created_at)

    response = client_as(cast.rossi_line_user).get(reverse("selfcare:inbox"))

    assert listed_ids(response) == [newer.pk, older.pk]
    unread = page_of(response).cssselect(".notification-unread")
    assert [item.get("id") for item in unread] == [f"notification-{newer.pk}"]
    assert page_of(response).cssselect(f"#notification-{older.pk} form") == []
    assert page_of(response).cssselect(f'#notification-{newer.pk} a[href="/orders/7/"]')


def test_the_header_shows_the_number_of_unread_messages_on_every_page(cast: Cast, client_as: Any) -> None:
    rows = inbox_messages(cast.rossi_line_user, 3)
    Notification.objects.filter(pk=rows[0].pk).update(read_at=rows[0].created_at)

    response = client_as(cast.rossi_line_user).get(reverse("selfcare:dashboard"))

    assert badge_count(response) == "2"


def test_the_header_shows_no_count_when_everything_is_read(cast: Cast, client_as: Any) -> None:
    response = client_as(cast.rossi_line_user).get(reverse("selfcare:dashboard"))

    assert page_of(response).cssselect("#inbox-badge")
    assert page_of(response).cssselect("#inbox-badge .badge") == []


def test_marking_a_message_read(cast: Cast, client_as: Any) -> None:
    message, other = inbox_messages(cast.rossi_line_user, 2)

    response = client_as(cast.rossi_line_user).post(
        reverse("selfcare:inbox-read", args=[message.pk]), {"page": "1"}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("selfcare:inbox") + "?page=1"
    message.refresh_from_db()
    other.refresh_from_db()
    assert message.read_at is not None
    assert other.read_at is None


def test_marking_a_message_read_with_htmx_answers_the_message_and_the_new_count(
    cast: Cast, client_as: Any
) -> None:
    message, _other = inbox_messages(cast.rossi_line_user, 2)

    response = client_as(cast.rossi_line_user).post(
        reverse("selfcare:inbox-read", args=[message.pk]), HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    fragment = html.fromstring(f"<div>{response.content.decode()}</div>")
    (item,) = fragment.cssselect(f"#notification-{message.pk}")
    assert "notification-unread" not in (item.get("class") or "")
    (badge,) = fragment.cssselect("#inbox-badge")
    assert badge.get("hx-swap-oob") == "true"
    assert str(badge.cssselect(".badge")[0].text).strip() == "1"


@pytest.mark.parametrize("owner", ["rossi_admin", "bianchi_line_user"])
def test_nobody_marks_read_a_message_of_another_user_or_company(
    cast: Cast, client_as: Any, owner: str
) -> None:
    (message,) = inbox_messages(getattr(cast, owner), 1)

    response = client_as(cast.rossi_line_user).post(reverse("selfcare:inbox-read", args=[message.pk]))

    assert response.status_code == 404
    message.refresh_from_db()
    assert message.read_at is None


def test_a_message_cannot_be_marked_read_by_a_link(cast: Cast, client_as: Any) -> None:
    (message,) = inbox_messages(cast.rossi_line_user, 1)

    response = client_as(cast.rossi_line_user).get(reverse("selfcare:inbox-read", args=[message.pk]))

    assert response.status_code == 405
    message.refresh_from_db()
    assert message.read_at is None


def test_marking_all_read_touches_only_the_users_inbox_in_the_selected_company(
    cast: Cast, client_as: Any
) -> None:
    luca = cast.rossi_line_user
    luca_at_bianchi = MembershipFactory.create(user=luca.user, company=cast.bianchi, role=Role.LINE_USER)
    own = inbox_messages(luca, 3)
    elsewhere = inbox_messages(luca_at_bianchi, 1) + inbox_messages(cast.rossi_admin, 1)

    response = client_as(luca).post(reverse("selfcare:inbox-read-all"))

    assert response.status_code == 302
    assert Notification.objects.filter(pk__in=[row.pk for row in own], read_at__isnull=True).count() == 0
    assert (
        Notification.objects.filter(pk__in=[row.pk for row in elsewhere], read_at__isnull=True).count() == 2
    )


def test_marking_all_read_with_htmx_answers_the_inbox_and_an_empty_badge(cast: Cast, client_as: Any) -> None:
    inbox_messages(cast.rossi_line_user, 2)

    response = client_as(cast.rossi_line_user).post(
        reverse("selfcare:inbox-read-all"), HTTP_HX_REQUEST="true"
    )

    fragment = html.fromstring(f"<div>{response.content.decode()}</div>")
    assert len(fragment.cssselect("#inbox-content .inbox-list > li")) == 2
    assert fragment.cssselect(".notification-unread") == []
    assert fragment.cssselect("#inbox-badge")[0].get("hx-swap-oob") == "true"
    assert fragment.cssselect("#inbox-badge .badge") == []


def test_the_inbox_is_paginated(cast: Cast, client_as: Any) -> None:
    rows = inbox_messages(cast.rossi_line_user, INBOX_PAGE_SIZE + 5)
    newest_first = [row.pk for row in reversed(rows)]
    client = client_as(cast.rossi_line_user)

    first = client.get(reverse("selfcare:inbox"))
    second = client.get(reverse("selfcare:inbox"), {"page": 2})
    beyond = client.get(reverse("selfcare:inbox"), {"page": "nine"})

    assert listed_ids(first) == newest_first[:INBOX_PAGE_SIZE]
    assert listed_ids(second) == newest_first[INBOX_PAGE_SIZE:]
    assert listed_ids(beyond) == newest_first[:INBOX_PAGE_SIZE]
    assert page_of(first).cssselect('.pagination a[href="?page=2"]')


def test_an_empty_inbox_says_so(cast: Cast, client_as: Any, english: Client) -> None:
    response = client_as(cast.rossi_line_user).get(reverse("selfcare:inbox"))

    assert response.status_code == 200
    assert "You have no messages yet." in response.content.decode()
    assert listed_ids(response) == []
    assert page_of(response).cssselect("#inbox-content form") == []


def test_the_inbox_page_is_translatable_and_has_no_inline_script_or_style(
    cast: Cast, client_as: Any, english: Client
) -> None:
    inbox_messages(cast.rossi_line_user, 1)

    content = client_as(cast.rossi_line_user).get(reverse("selfcare:inbox")).content.decode()

    assert "Mark all as read" in content
    assert "1 unread message" in content
    assert "<style" not in content
    assert " style=" not in content
    assert " onclick=" not in content


def test_the_inbox_needs_a_login(client: Client) -> None:
    response = client.get(reverse("selfcare:inbox"))

    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_a_user_without_a_company_has_no_inbox(client: Client) -> None:
    client.force_login(UserFactory.create())

    response = client.get(reverse("selfcare:inbox"))

    assert response.status_code == 302
    assert response["Location"] == reverse("selfcare:no-company")


@pytest.mark.parametrize("messages", [1, INBOX_PAGE_SIZE * 2 + 5])
def test_the_inbox_page_runs_the_same_number_of_queries_whatever_the_number_of_messages(
    cast: Cast, client_as: Any, pinned_queries: Any, messages: int
) -> None:
    inbox_messages(cast.rossi_line_user, messages)
    client_as(cast.rossi_line_user)

    # Every page: session, user, membership, company switcher, and the session
    # saved (savepoint, update, release); the two-factor check ran at login. The
    # inbox: its count, its page of rows, and the unread count shared by the
    # header and the page.
    pinned_queries(reverse("selfcare:inbox"), queries=10)
