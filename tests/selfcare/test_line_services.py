"""Line services: VoLTE and premium services (VAS) barring, lifted only with a code sent to the line."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from auditlog.models import LogEntry
from django.contrib.admin.sites import site as admin_site
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from selfcare import sms
from selfcare.demo_services import seed_services
from selfcare.models import (
    Line,
    LineKind,
    LineService,
    LineServiceChange,
    LineStatus,
    Notification,
    VasUnlockCode,
)
from selfcare.services.line_services import (
    CODE_VALIDITY,
    MAX_ATTEMPTS,
    line_volte_set,
    vas_barring_lift,
    vas_barring_restore,
    vas_unlock_code_send,
)
from selfcare.services.notifications import notification_deliver
from tests.cast import Cast
from tests.factories import LineFactory

pytestmark = pytest.mark.django_db

EN = {"Accept-Language": "en"}


def services_url(line: Line, action: str = "") -> str:
    names = {
        "": "selfcare:line-services",
        "volte": "selfcare:line-services-volte",
        "send": "selfcare:line-services-vas-send",
        "lift": "selfcare:line-services-vas",
        "restore": "selfcare:line-services-vas-restore",
    }
    return reverse(names[action], args=[line.pk])


def sent_code(line: Line) -> str:
    """The code of the newest SMS to the line, read from the outbox as the phone would read it."""
    sms_row = Notification.objects.filter(event="vas_unlock_code", channel="sms", address=line.number).latest(
        "created_at"
    )
    match = re.search(r"\b(\d{5,})\b", sms_row.body)
    assert match is not None, sms_row.body
    return match.group(1)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


def lift(client: Client, line: Line, code: str) -> Any:
    return client.post(services_url(line, "lift"), {"code": code}, headers=EN)


def send_code(client: Client, line: Line) -> Any:
    return client.post(services_url(line, "send"), headers=EN)


def page_text(client: Client, url: str) -> str:
    return client.get(url, headers=EN).content.decode()


# ---------------------------------------------------------------------------
# The code: sent to the line, at least five digits, kept only as a hash
# ---------------------------------------------------------------------------
def test_the_code_has_at_least_five_digits_goes_to_the_line_and_only_its_hash_is_stored(
    cast: Cast, client_as: Any
) -> None:
    line = cast.rossi_assigned_line

    with time_machine.travel(timezone.now(), tick=False):
        response = send_code(client_as(cast.rossi_line_user), line)

    assert response.status_code == 302
    assert response["Location"] == services_url(line, "lift")
    code = sent_code(line)
    assert len(code) >= 5
    unlock = VasUnlockCode.objects.get(line=line)
    assert code not in unlock.code_hash
    assert unlock.expires_at == unlock.created_at + CODE_VALIDITY
    assert unlock.requested_by == cast.rossi_line_user.user
    # Only to the line's own number, by SMS only: nobody else reads it.
    assert list(Notification.objects.filter(event="vas_unlock_code").values_list("channel", "address")) == [
        ("sms", line.number)
    ]
    assert LogEntry.objects.filter(additional_data__event="line_vas_code_sent").exists()


def test_the_sms_leaves_through_the_sms_backend_to_the_lines_number(
    cast: Cast, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.SMS_BACKEND = "locmem"
    sms.outbox.clear()
    line = cast.rossi_assigned_line
    with django_capture_on_commit_callbacks():
        vas_unlock_code_send(line=line, actor=cast.rossi_admin)
    row = Notification.objects.get(event="vas_unlock_code")
    code = sent_code(line)

    notification_deliver(notification_id=row.pk)

    assert [message.to for message in sms.outbox] == [line.number]
    assert code in sms.outbox[0].text
    # Delivered, the code is no longer kept in the outbox.
    row.refresh_from_db()
    assert code not in row.body


def test_sending_is_limited_to_one_code_a_minute_and_five_an_hour(cast: Cast, client_as: Any) -> None:
    client = client_as(cast.rossi_line_user)
    line = cast.rossi_assigned_line
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        send_code(client, line)
        again = send_code(client, line)
    assert "less than a minute ago" in page_text(client, again["Location"])
    assert VasUnlockCode.objects.filter(line=line).count() == 1

    for minute in range(2, 10, 2):
        with time_machine.travel(start + timedelta(minutes=minute), tick=False):
            send_code(client, line)
    assert VasUnlockCode.objects.filter(line=line).count() == 5
    with time_machine.travel(start + timedelta(minutes=20), tick=False):
        refused = send_code(client, line)
        text = page_text(client, refused["Location"])
    assert "5 codes have been sent to this line in the last hour" in text
    assert VasUnlockCode.objects.filter(line=line).count() == 5
    assert Notification.objects.filter(event="vas_unlock_code").count() == 5

    # An hour after the first, one more is allowed (through the service: the idle session has expired).
    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        vas_unlock_code_send(line=line, actor=cast.rossi_line_user)
    assert VasUnlockCode.objects.filter(line=line).count() == 6


# ---------------------------------------------------------------------------
# Lifting the barring
# ---------------------------------------------------------------------------
def test_the_right_code_lifts_the_barring_once_and_writes_who_when_before_and_after(
    cast: Cast, client_as: Any
) -> None:
    client = client_as(cast.rossi_line_user)
    line = cast.rossi_assigned_line
    send_code(client, line)

    response = lift(client, line, sent_code(line))

    assert response.status_code == 302
    line.refresh_from_db()
    assert line.vas_barred is False
    change = LineServiceChange.objects.get(line=line)
    assert (change.service, change.enabled_before, change.enabled_after) == (
        LineService.VAS_BARRING,
        True,
        False,
    )
    assert change.changed_by == cast.rossi_line_user.user
    assert VasUnlockCode.objects.get(line=line).used_at is not None
    assert LogEntry.objects.filter(
        additional_data__event="line_vas_barring_lifted", actor=cast.rossi_line_user.user
    ).exists()
    text = page_text(client, response["Location"])
    assert f"Premium services are now allowed on {line.number}." in text


def test_a_wrong_code_is_refused_counted_and_changes_nothing(cast: Cast, client_as: Any) -> None:
    client = client_as(cast.rossi_line_user)
    line = cast.rossi_assigned_line
    send_code(client, line)

    response = lift(client, line, wrong(sent_code(line)))

    assert response.status_code == 400
    assert f"The code is wrong: {MAX_ATTEMPTS - 1} attempts left." in response.content.decode()
    line.refresh_from_db()
    assert line.vas_barred is True
    assert not LineServiceChange.objects.exists()
    unlock = VasUnlockCode.objects.get(line=line)
    assert (unlock.attempts, unlock.used_at) == (1, None)


def test_after_too_many_attempts_even_the_right_code_is_refused(cast: Cast, client_as: Any) -> None:
    client = client_as(cast.rossi_line_user)
    line = cast.rossi_assigned_line
    send_code(client, line)
    code = sent_code(line)

    answers = [lift(client, line, wrong(code)).content.decode() for _attempt in range(MAX_ATTEMPTS)]
    last = lift(client, line, code)

    assert "that was the last attempt" in answers[-1]
    assert last.status_code == 400
    assert "Too many wrong attempts with this code: ask for a new one." in last.content.decode()
    line.refresh_from_db()
    assert line.vas_barred is True
    assert not LineServiceChange.objects.exists()


def test_an_expired_code_is_refused(cast: Cast, client_as: Any) -> None:
    client = client_as(cast.rossi_line_user)
    line = cast.rossi_assigned_line
    send_code(client, line)
    code = sent_code(line)

    with time_machine.travel(timezone.now() + CODE_VALIDITY + timedelta(seconds=1)):
        response = lift(client, line, code)

    assert response.status_code == 400
    assert "This code has expired: ask for a new one." in response.content.decode()
    line.refresh_from_db()
    assert line.vas_barred is True
    assert VasUnlockCode.objects.get(line=line).used_at is None


def test_a_used_code_cannot_lift_the_barring_again(cast: Cast) -> None:
    line = cast.rossi_assigned_line
    actor = cast.rossi_line_user
    vas_unlock_code_send(line=line, actor=actor)
    code = sent_code(line)
    vas_barring_lift(line=line, code=code, actor=actor)
    vas_barring_restore(line=line, actor=actor)

    with pytest.raises(ValidationError, match="already been used"):
        vas_barring_lift(line=line, code=code, actor=actor)

    line.refresh_from_db()
    assert line.vas_barred is True
    assert LineServiceChange.objects.filter(line=line).count() == 2


def test_only_the_newest_code_counts(cast: Cast) -> None:
    line = cast.rossi_assigned_line
    actor = cast.rossi_line_user
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        vas_unlock_code_send(line=line, actor=actor)
        first = sent_code(line)
    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        vas_unlock_code_send(line=line, actor=actor)
        second = sent_code(line)
        if first != second:
            with pytest.raises(ValidationError, match="The code is wrong"):
                vas_barring_lift(line=line, code=first, actor=actor)
        vas_barring_lift(line=line, code=second, actor=actor)

    line.refresh_from_db()
    assert line.vas_barred is False


def test_a_malformed_code_is_refused_without_using_an_attempt(cast: Cast, client_as: Any) -> None:
    client = client_as(cast.rossi_line_user)
    line = cast.rossi_assigned_line
    send_code(client, line)

    response = lift(client, line, "12ab")

    assert response.status_code == 400
    assert "The code is the 6 digits of the SMS sent to the line." in response.content.decode()
    assert VasUnlockCode.objects.get(line=line).attempts == 0


def test_lifting_without_a_code_sent_says_to_ask_for_one(cast: Cast, client_as: Any) -> None:
    response = lift(client_as(cast.rossi_admin), cast.rossi_other_line, "123456")

    assert response.status_code == 400
    assert "No code has been sent to this line: ask for one first." in response.content.decode()


def test_restoring_the_barring_needs_no_code_and_is_recorded(cast: Cast, client_as: Any) -> None:
    line = cast.rossi_other_line
    Line.objects.filter(pk=line.pk).update(vas_barred=False)
    client = client_as(cast.rossi_admin)

    response = client.post(services_url(line, "restore"), headers=EN)

    assert response.status_code == 302
    line.refresh_from_db()
    assert line.vas_barred is True
    change = LineServiceChange.objects.get(line=line)
    assert (change.enabled_before, change.enabled_after, change.changed_by) == (
        False,
        True,
        cast.rossi_admin.user,
    )
    again = client.post(services_url(line, "restore"), headers=EN)
    assert "Premium services are already barred on this line." in page_text(client, again["Location"])
    assert LineServiceChange.objects.filter(line=line).count() == 1


# ---------------------------------------------------------------------------
# VoLTE
# ---------------------------------------------------------------------------
def test_switching_volte_off_and_on_writes_the_history_newest_first(cast: Cast, client_as: Any) -> None:
    client = client_as(cast.rossi_line_user)
    line = cast.rossi_assigned_line

    off = client.post(services_url(line, "volte"), {"enabled": "off"}, headers=EN)
    client.post(services_url(line, "volte"), {"enabled": "on"}, headers=EN)

    assert off.status_code == 302
    line.refresh_from_db()
    assert line.volte_enabled is True
    changes = list(LineServiceChange.objects.filter(line=line).values_list("enabled_before", "enabled_after"))
    assert changes == [(False, True), (True, False)]
    assert LogEntry.objects.filter(additional_data__event="line_volte_disabled").count() == 1
    text = page_text(client, services_url(line))
    assert text.count(cast.rossi_line_user.user.name) >= 2
    assert "History of changes" in text


def test_switching_volte_to_the_state_it_has_is_refused_and_recorded_nowhere(
    cast: Cast, client_as: Any
) -> None:
    client = client_as(cast.rossi_admin)
    line = cast.rossi_other_line

    response = client.post(services_url(line, "volte"), {"enabled": "on"}, headers=EN)

    assert "VoLTE is already on for this line." in page_text(client, response["Location"])
    assert not LineServiceChange.objects.exists()


def test_an_htmx_switch_answers_with_the_services_block_and_its_outcome(cast: Cast, client_as: Any) -> None:
    line = cast.rossi_assigned_line

    response = client_as(cast.rossi_line_user).post(
        services_url(line, "volte"), {"enabled": "off"}, headers={"HX-Request": "true", **EN}
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert '<section id="line-services"' in body
    assert "<html" not in body
    assert f"VoLTE is now off for {line.number}." in body
    assert "Turn VoLTE on" in body


def test_the_history_shows_the_latest_twenty_changes(cast: Cast, client_as: Any) -> None:
    line = cast.rossi_assigned_line
    for _n in range(12):
        line_volte_set(line=line, enabled=False, actor=cast.rossi_admin)
        line_volte_set(line=line, enabled=True, actor=cast.rossi_admin)

    text = page_text(client_as(cast.rossi_line_user), services_url(line))

    history = text.split("History of changes", 1)[1]
    assert history.count("<tr>") == 1 + 20  # the header and twenty rows


# ---------------------------------------------------------------------------
# Who may: a line user on assigned lines only; nobody on another company's
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("action", ["", "volte", "send", "lift", "restore"])
def test_a_line_user_cannot_reach_an_unassigned_line(cast: Cast, client_as: Any, action: str) -> None:
    client = client_as(cast.rossi_line_user)
    line = cast.rossi_other_line

    assert client.get(services_url(line, action)).status_code == 404
    assert client.post(services_url(line, action), {"enabled": "off", "code": "123456"}).status_code == 404
    line.refresh_from_db()
    assert (line.volte_enabled, line.vas_barred) == (True, True)
    assert not VasUnlockCode.objects.exists()


@pytest.mark.parametrize("action", ["", "volte", "send", "lift", "restore"])
def test_nobody_reaches_a_line_of_another_company(cast: Cast, client_as: Any, action: str) -> None:
    client = client_as(cast.rossi_legal_rep)

    response = client.post(services_url(cast.bianchi_line, action), {"enabled": "off", "code": "123456"})

    assert response.status_code == 404
    assert not VasUnlockCode.objects.exists()
    assert not LineServiceChange.objects.exists()


def test_the_services_refuse_a_line_the_actor_cannot_see(cast: Cast) -> None:
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        line_volte_set(line=cast.rossi_other_line, enabled=False, actor=cast.rossi_line_user)
    with pytest.raises(PermissionDenied):
        vas_unlock_code_send(line=cast.bianchi_line, actor=cast.rossi_admin)


def test_a_fixed_line_has_no_volte_nor_premium_services(cast: Cast, client_as: Any) -> None:
    fixed = LineFactory.create(
        company=cast.rossi, kind=LineKind.FIXED, sim="", iccid="", number="+390212345678"
    )
    client = client_as(cast.rossi_admin)

    page = page_text(client, services_url(fixed))
    response = client.post(services_url(fixed, "volte"), {"enabled": "off"}, headers=EN)

    assert "A fixed line has no VoLTE nor premium services" in page
    assert "Turn VoLTE off" not in page
    assert "A fixed line has no VoLTE nor premium services" in page_text(client, response["Location"])
    with pytest.raises(ValidationError, match="fixed line"):
        vas_unlock_code_send(line=fixed, actor=cast.rossi_admin)
    fixed.refresh_from_db()
    assert fixed.volte_enabled is True
    assert not LineServiceChange.objects.exists()
    assert not VasUnlockCode.objects.exists()


def test_no_code_is_sent_to_a_suspended_line(cast: Cast) -> None:
    line = cast.rossi_other_line
    Line.objects.filter(pk=line.pk).update(status=LineStatus.SUSPENDED)
    line.refresh_from_db()

    with pytest.raises(ValidationError, match="only on an active line"):
        vas_unlock_code_send(line=line, actor=cast.rossi_admin)

    assert not Notification.objects.filter(event="vas_unlock_code").exists()


# ---------------------------------------------------------------------------
# The API
# ---------------------------------------------------------------------------
def api_url(line: Line, action: str = "") -> str:
    return f"/api/v1/lines/{line.pk}/services/{action}"


def test_the_api_lifts_the_barring_with_the_code_and_shows_the_history(
    cast: Cast, api_client_for: Any
) -> None:
    client = api_client_for(cast.rossi_line_user)
    line = cast.rossi_assigned_line

    sent = client.post(api_url(line, "vas/code/"))
    throttled = client.post(api_url(line, "vas/code/"))
    code = sent_code(line)
    refused = client.post(api_url(line, "vas/lift/"), {"code": wrong(code)}, format="json")
    lifted = client.post(api_url(line, "vas/lift/"), {"code": code}, format="json")
    state = client.get(api_url(line)).json()

    assert sent.status_code == 202
    assert code not in sent.content.decode()
    assert throttled.status_code == 429
    assert refused.status_code == 400
    assert "code" in refused.json()
    assert lifted.status_code == 200
    assert lifted.json()["vas_barred"] is False
    assert state["vas_barred"] is False
    assert state["vas_code_pending"] is False
    assert [(c["service"], c["enabled_before"], c["enabled_after"]) for c in state["history"]] == [
        ("vas_barring", True, False)
    ]
    assert state["history"][0]["changed_by"] == cast.rossi_line_user.user.name


def test_the_api_switches_volte_and_restores_the_barring(cast: Cast, api_client_for: Any) -> None:
    client = api_client_for(cast.rossi_admin)
    line = cast.rossi_other_line
    Line.objects.filter(pk=line.pk).update(vas_barred=False)

    volte = client.post(api_url(line, "volte/"), {"enabled": False}, format="json")
    same = client.post(api_url(line, "volte/"), {"enabled": False}, format="json")
    restored = client.post(api_url(line, "vas/restore/"))

    assert volte.status_code == 200
    assert volte.json()["volte_enabled"] is False
    assert same.status_code == 400
    assert restored.status_code == 200
    assert restored.json()["vas_barred"] is True
    assert [c["service"] for c in restored.json()["history"]] == ["vas_barring", "volte"]


@pytest.mark.parametrize(
    ("path", "method"),
    [("", "get"), ("volte/", "post"), ("vas/code/", "post"), ("vas/lift/", "post"), ("vas/restore/", "post")],
)
def test_the_api_answers_404_for_an_unassigned_or_foreign_line(
    cast: Cast, api_client_for: Any, path: str, method: str
) -> None:
    line_user = api_client_for(cast.rossi_line_user)
    admin = api_client_for(cast.rossi_admin)
    body = {"enabled": False, "code": "123456"}

    unassigned = getattr(line_user, method)(api_url(cast.rossi_other_line, path), body, format="json")
    foreign = getattr(admin, method)(api_url(cast.bianchi_line, path), body, format="json")

    assert (unassigned.status_code, foreign.status_code) == (404, 404)
    assert not VasUnlockCode.objects.exists()
    assert not LineServiceChange.objects.exists()


def test_the_api_refuses_a_fixed_line_with_a_clear_message(cast: Cast, api_client_for: Any) -> None:
    fixed = LineFactory.create(
        company=cast.rossi, kind=LineKind.FIXED, sim="", iccid="", number="+390212345679"
    )

    response = api_client_for(cast.rossi_admin).post(
        api_url(fixed, "volte/"), {"enabled": False}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 400
    assert "A fixed line has no VoLTE nor premium services" in response.content.decode()


# ---------------------------------------------------------------------------
# Staff and demo data
# ---------------------------------------------------------------------------
def test_staff_read_the_history_but_cannot_change_it_nor_read_the_code(
    cast: Cast, client: Client, staff_groups: None
) -> None:
    from tests.factories import UserFactory, give_totp

    line_volte_set(line=cast.rossi_assigned_line, enabled=False, actor=cast.rossi_admin)
    vas_unlock_code_send(line=cast.rossi_assigned_line, actor=cast.rossi_admin)
    code = sent_code(cast.rossi_assigned_line)
    staff = UserFactory.create(email="capo@operatore.example.it", is_staff=True, is_superuser=True)
    give_totp(staff)
    client.force_login(staff)
    model_admin = admin_site._registry[LineServiceChange]

    listing = client.get(
        reverse("admin:selfcare_lineservicechange_changelist"), {"q": cast.rossi_assigned_line.number}
    )
    notification = Notification.objects.get(event="vas_unlock_code")
    message = client.get(reverse("admin:selfcare_notification_change", args=[notification.pk]))

    assert listing.status_code == 200
    assert cast.rossi_assigned_line.number in listing.content.decode()
    assert not model_admin.has_change_permission(listing.wsgi_request)
    assert not model_admin.has_add_permission(listing.wsgi_request)
    assert code not in message.content.decode()


def test_the_demo_history_is_added_once() -> None:
    call_command("seed_demo", stdout=StringIO())
    changes = LineServiceChange.objects.count()

    again = seed_services(stdout=StringIO())

    assert changes > 0
    assert again == 0
    assert LineServiceChange.objects.count() == changes
    assert Line.objects.filter(volte_enabled=False).exists()
    assert Line.objects.filter(vas_barred=False).exists()
