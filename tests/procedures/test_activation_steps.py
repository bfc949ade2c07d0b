"""Activation orders' steps: forward one at a time, failed from any open step, each step once, told once."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError

from procedures.activation import (
    ActivationStepRefusedError,
    activation_step_advance,
    activation_updates_set,
    normalize_mobile_number,
)
from procedures.models import ActivationOrder, ActivationStep, ActivationStepEvent
from selfcare.models import Channel, Notification
from tests.cast import Cast
from tests.procedures.activation_helpers import advance_to, fixed_line, make_order, rossi_order_of_line_user

pytestmark = pytest.mark.django_db

ROME = ZoneInfo("Europe/Rome")
TODAY = datetime(2026, 12, 2, 10, 0, tzinfo=ROME)


@pytest.fixture(autouse=True)
def today(time_machine: Any) -> None:
    time_machine.move_to(TODAY, tick=False)


def steps_of(order: ActivationOrder) -> list[str]:
    return list(order.steps.order_by("reached_at", "id").values_list("step", flat=True))


def step_notifications() -> list[tuple[str, str]]:
    return sorted(Notification.objects.filter(event="activation_step").values_list("channel", "dedupe_key"))


# ---------------------------------------------------------------------------
# Creating an order
# ---------------------------------------------------------------------------
def test_a_new_order_is_received_with_its_reference_and_first_step(cast: Cast) -> None:
    order = make_order(cast.rossi, ordered_on=date(2026, 11, 2))

    assert order.reference == f"ATT-2026-{order.pk:06d}"
    assert ActivationOrder.objects.get(pk=order.pk).reference == order.reference
    assert order.step == ActivationStep.RECEIVED
    assert steps_of(order) == ["received"]


def test_an_order_needs_a_service_a_promised_date_after_it_and_a_fixed_line_of_its_company(
    cast: Cast,
) -> None:
    with pytest.raises(ValidationError) as refused:
        make_order(
            cast.rossi,
            services=0,
            ordered_on=date(2026, 11, 2),
            promised_on=date(2026, 11, 1),
            line=fixed_line(cast.bianchi),
        )

    assert set(refused.value.message_dict) == {"services", "promised_on", "line"}
    assert not ActivationOrder.objects.exists()


# ---------------------------------------------------------------------------
# The order of the steps
# ---------------------------------------------------------------------------
def test_steps_go_forward_one_at_a_time_to_active(cast: Cast) -> None:
    order = advance_to(make_order(cast.rossi), ActivationStep.ACTIVE)

    assert steps_of(order) == [
        "received",
        "documents_checked",
        "technical_check",
        "appointment",
        "installed",
        "active",
    ]
    assert order.step == ActivationStep.ACTIVE
    assert order.completed_on == date(2026, 12, 2)


def test_a_step_cannot_be_skipped(cast: Cast) -> None:
    order = make_order(cast.rossi)

    with pytest.raises(ActivationStepRefusedError):
        activation_step_advance(order=order, step=ActivationStep.TECHNICAL_CHECK)

    order.refresh_from_db()
    assert order.step == ActivationStep.RECEIVED
    assert steps_of(order) == ["received"]


def test_a_step_never_goes_back_and_an_earlier_step_sent_late_changes_nothing(cast: Cast) -> None:
    order = advance_to(make_order(cast.rossi), ActivationStep.TECHNICAL_CHECK)

    again = activation_step_advance(order=order, step=ActivationStep.DOCUMENTS_CHECKED)

    order.refresh_from_db()
    assert again.recorded is False
    assert order.step == ActivationStep.TECHNICAL_CHECK
    assert steps_of(order).count("documents_checked") == 1


def test_an_order_can_fail_from_any_step_that_is_not_final(cast: Cast) -> None:
    for last in (ActivationStep.RECEIVED, ActivationStep.APPOINTMENT, ActivationStep.INSTALLED):
        order = make_order(cast.rossi)
        if last != ActivationStep.RECEIVED:
            advance_to(order, last)

        activation_step_advance(order=order, step=ActivationStep.FAILED, note="No fibre in the building")

        order.refresh_from_db()
        assert order.step == ActivationStep.FAILED
        assert order.completed_on == date(2026, 12, 2)
        assert steps_of(order)[-1] == "failed"


def test_an_order_that_is_over_takes_no_other_step(cast: Cast) -> None:
    active = advance_to(make_order(cast.rossi), ActivationStep.ACTIVE)
    failed = make_order(cast.rossi)
    activation_step_advance(order=failed, step=ActivationStep.FAILED)

    with pytest.raises(ActivationStepRefusedError):
        activation_step_advance(order=active, step=ActivationStep.FAILED)
    with pytest.raises(ActivationStepRefusedError):
        activation_step_advance(order=failed, step=ActivationStep.DOCUMENTS_CHECKED)
    assert steps_of(active)[-1] == "active"


def test_an_unknown_step_is_refused(cast: Cast) -> None:
    with pytest.raises(ActivationStepRefusedError):
        activation_step_advance(order=make_order(cast.rossi), step="teleported")


def test_a_step_is_audited_with_who_advanced_it(cast: Cast) -> None:
    order = make_order(cast.rossi)
    staff = cast.rossi_admin.user  # any user: the audit names who it was

    activation_step_advance(order=order, step=ActivationStep.DOCUMENTS_CHECKED, by=staff)

    entry = LogEntry.objects.filter(additional_data__event="activation_step").get()
    assert entry.actor == staff
    assert entry.additional_data["step"] == "documents_checked"


# ---------------------------------------------------------------------------
# Once per step, told once
# ---------------------------------------------------------------------------
def test_the_same_step_saved_twice_is_recorded_and_notified_once(cast: Cast) -> None:
    order = rossi_order_of_line_user(cast)
    activation_updates_set(order=order, membership=cast.rossi_line_user, enabled=True, sms_to="+393331234567")

    first = activation_step_advance(order=order, step=ActivationStep.DOCUMENTS_CHECKED)
    second = activation_step_advance(order=order, step=ActivationStep.DOCUMENTS_CHECKED)

    assert (first.recorded, second.recorded) == (True, False)
    assert second.event.pk == first.event.pk
    assert ActivationStepEvent.objects.filter(order=order, step="documents_checked").count() == 1
    sent = Notification.objects.filter(event="activation_step")
    assert sorted(sent.values_list("channel", flat=True)) == [Channel.EMAIL, Channel.INBOX, Channel.SMS]
    assert sent.get(channel=Channel.SMS).address == "+393331234567"
    assert sent.get(channel=Channel.EMAIL).user == cast.rossi_line_user.user


def test_each_new_step_is_told_with_its_own_message(cast: Cast) -> None:
    order = rossi_order_of_line_user(cast)
    activation_updates_set(order=order, membership=cast.rossi_line_user, enabled=True)

    advance_to(order, ActivationStep.TECHNICAL_CHECK)

    emails = Notification.objects.filter(event="activation_step", channel=Channel.EMAIL).order_by("pk")
    # In the recipient's language: Italian by default.
    assert [n.subject for n in emails] == [
        f"Ordine di attivazione {order.reference}: Documenti verificati",
        f"Ordine di attivazione {order.reference}: Verifica tecnica",
    ]
    assert f"/activations/{order.pk}/" in emails[0].body
    assert not Notification.objects.filter(channel=Channel.SMS).exists()


def test_a_notification_sent_again_for_a_step_already_told_adds_nothing(cast: Cast) -> None:
    """A retried task that reaches notify() again for the same step: the key makes it once."""
    from procedures.activation import _step_notify

    order = rossi_order_of_line_user(cast)
    activation_updates_set(order=order, membership=cast.rossi_line_user, enabled=True, sms_to="333 123 4567")
    advance = activation_step_advance(order=order, step=ActivationStep.DOCUMENTS_CHECKED)
    before = step_notifications()

    _step_notify(order=advance.order, event=advance.event)

    assert step_notifications() == before
    assert len(before) == 3


def test_nobody_is_told_without_keep_me_updated(cast: Cast) -> None:
    order = rossi_order_of_line_user(cast)

    advance_to(order, ActivationStep.ACTIVE)

    assert step_notifications() == []


def test_a_member_who_no_longer_sees_the_order_is_not_told(cast: Cast) -> None:
    order = rossi_order_of_line_user(cast)
    activation_updates_set(order=order, membership=cast.rossi_line_user, enabled=True)
    assert order.line is not None
    order.line.assigned_to = None
    order.line.save(update_fields=["assigned_to"])

    activation_step_advance(order=order, step=ActivationStep.DOCUMENTS_CHECKED)

    assert step_notifications() == []


def test_the_failed_step_is_told_as_a_failure(cast: Cast) -> None:
    order = rossi_order_of_line_user(cast)
    activation_updates_set(order=order, membership=cast.rossi_line_user, enabled=True)

    activation_step_advance(order=order, step=ActivationStep.FAILED)

    email = Notification.objects.get(event="activation_step", channel=Channel.EMAIL)
    assert "non è riuscita" in email.subject
    assert "Non siamo riusciti a completare l'attivazione" in email.body


# ---------------------------------------------------------------------------
# Keep me updated
# ---------------------------------------------------------------------------
def test_keep_me_updated_stores_the_mobile_number_in_international_form(cast: Cast) -> None:
    order = rossi_order_of_line_user(cast)

    activation_updates_set(order=order, membership=cast.rossi_admin, enabled=True, sms_to="333 123 4567")

    order.refresh_from_db()
    assert (order.keep_me_updated, order.updates_to, order.updates_sms_to) == (
        True,
        cast.rossi_admin.user,
        "+393331234567",
    )


@pytest.mark.parametrize("number", ["not a number", "+39 12", "+39 06 1234 5678"])
def test_keep_me_updated_refuses_what_is_not_a_mobile_number(cast: Cast, number: str) -> None:
    order = rossi_order_of_line_user(cast)

    with pytest.raises(ValidationError) as refused:
        activation_updates_set(order=order, membership=cast.rossi_admin, enabled=True, sms_to=number)

    assert list(refused.value.message_dict) == ["sms_to"]
    order.refresh_from_db()
    assert order.keep_me_updated is False


def test_unticking_keep_me_updated_forgets_the_number(cast: Cast) -> None:
    order = rossi_order_of_line_user(cast)
    activation_updates_set(order=order, membership=cast.rossi_admin, enabled=True, sms_to="+393331234567")

    activation_updates_set(order=order, membership=cast.rossi_admin, enabled=False, sms_to="+393331234567")

    order.refresh_from_db()
    assert (order.keep_me_updated, order.updates_to, order.updates_sms_to) == (False, None, "")


def test_a_mobile_number_from_abroad_is_accepted() -> None:
    assert normalize_mobile_number("+41 78 123 45 67") == "+41781234567"
