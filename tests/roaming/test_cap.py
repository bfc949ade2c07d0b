"""The spending cap: alerts at 80% and 100% once, data stopped and resumed by consent, the company's own cap,
and the month's charge for the billing run."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from auditlog.models import LogEntry
from celery.schedules import crontab
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.urls import reverse

from billing.models import ExtraCharge, ExtraChargeKind, TrafficDailyTotal
from roaming.models import LineRoaming, RoamingSpendMonth
from roaming.selectors import roaming_status_of
from roaming.services import line_roaming_month_continue, line_spending_cap_set
from roaming.spend import (
    EVENT_CAP_REACHED,
    EVENT_CAP_WARNING,
    roaming_month_charges_write,
    roaming_spend_update,
)
from roaming.tasks import roaming_month_close
from selfcare.models import Line, Notification
from tests.billing.invoices import make_invoice
from tests.cast import Cast
from tests.roaming.abroad_traffic import import_rows, megabytes_abroad, today

pytestmark = pytest.mark.django_db

NOVEMBER = date(2026, 11, 1)


def alerts(line: Line, event: str) -> list[Notification]:
    return list(
        Notification.objects.filter(event=event, channel="inbox", dedupe_key__contains=f"line-{line.pk}-")
    )


def month_row(line: Line, month: date) -> RoamingSpendMonth:
    return RoamingSpendMonth.objects.get(line=line, month=month)


def this_month() -> date:
    return today().replace(day=1)


def use_data_in_switzerland(
    tmp_path: Path, line: Line, *, mb: int, record_id: str, day: date | None = None
) -> None:
    """`mb` MB in Switzerland (zone 1, €0.50 a MB): 320 MB is €160, 80% of the default cap; 400 MB €200."""
    import_rows(
        tmp_path, [megabytes_abroad(record_id, line, day=day or today(), mb=mb)], name=f"{record_id}.csv"
    )


# ---------------------------------------------------------------------------
# Alerts and the stop
# ---------------------------------------------------------------------------
def test_the_80_and_100_percent_alerts_are_sent_once_each_even_when_imports_are_rerun(
    cast: Cast, tmp_path: Path
) -> None:
    line = cast.rossi_assigned_line
    use_data_in_switzerland(tmp_path, line, mb=300, record_id="a")
    assert alerts(line, EVENT_CAP_WARNING) == []

    use_data_in_switzerland(tmp_path, line, mb=20, record_id="b")  # €160: 80%
    use_data_in_switzerland(tmp_path, line, mb=20, record_id="b")  # the same file again
    roaming_spend_update(month=this_month())

    warned = {alert.user for alert in alerts(line, EVENT_CAP_WARNING)}
    # The line's user and the company's managers, each once.
    assert warned == {cast.rossi_line_user.user, cast.rossi_admin.user, cast.rossi_legal_rep.user}
    assert len(alerts(line, EVENT_CAP_WARNING)) == 3
    assert not month_row(line, this_month()).data_stopped

    use_data_in_switzerland(tmp_path, line, mb=80, record_id="c")  # €200: 100%
    use_data_in_switzerland(tmp_path, line, mb=80, record_id="c")
    use_data_in_switzerland(tmp_path, line, mb=10, record_id="d")
    roaming_spend_update(month=this_month())

    assert len(alerts(line, EVENT_CAP_WARNING)) == 3
    assert len(alerts(line, EVENT_CAP_REACHED)) == 3
    row = month_row(line, this_month())
    assert row.data_stopped
    assert row.data_stopped_at
    assert row.alert_100_at
    assert row.data_spend == Decimal("205.00")
    status = roaming_status_of(line=line)
    assert status.data_stopped
    assert not status.data_works_abroad
    assert status.cap_state == "reached"
    reached = alerts(line, EVENT_CAP_REACHED)[0]
    # In the user's language (Italian by default).
    assert "€ 200,00" in reached.body
    assert line.number in reached.subject


def test_a_jump_past_the_cap_sends_only_the_100_percent_alert(cast: Cast, tmp_path: Path) -> None:
    line = cast.rossi_assigned_line
    use_data_in_switzerland(tmp_path, line, mb=500, record_id="a")

    assert alerts(line, EVENT_CAP_WARNING) == []
    assert len(alerts(line, EVENT_CAP_REACHED)) == 3
    assert month_row(line, this_month()).alert_80_at is not None


def test_the_cap_counts_data_only_calls_abroad_are_charged_but_do_not_stop_data(cast: Cast) -> None:
    line = cast.rossi_assigned_line
    TrafficDailyTotal.objects.create(
        company=cast.rossi,
        line=line,
        day=today(),
        service="voice",
        direction="out",
        country="CH",
        records=10,
        duration_s=60 * 300,
    )
    roaming_spend_update(month=this_month(), line_ids=[line.pk])

    row = month_row(line, this_month())
    assert (row.chargeable_spend, row.data_spend) == (Decimal("237.00"), Decimal("0"))
    assert not row.data_stopped


def test_consent_resumes_data_abroad_for_the_month_recorded_and_audited(
    cast: Cast, tmp_path: Path, client_as: Any
) -> None:
    line = cast.rossi_assigned_line
    use_data_in_switzerland(tmp_path, line, mb=400, record_id="a")
    url = reverse("roaming:line", args=[line.pk])
    page = client_as(cast.rossi_admin).get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Continue using data abroad this month" in page
    assert "100% reached" in page

    response = client_as(cast.rossi_admin).post(reverse("roaming:line-continue", args=[line.pk]))

    assert response.status_code == 302
    row = month_row(line, this_month())
    assert not row.data_stopped
    assert row.continued_by == cast.rossi_admin.user
    assert row.continued_at is not None
    entry = LogEntry.objects.filter(object_pk=str(row.pk)).latest("timestamp")
    assert entry.additional_data["event"] == "line_roaming_month_continued"
    assert roaming_status_of(line=line).data_works_abroad
    # More data this month does not stop it again, nor tell again.
    use_data_in_switzerland(tmp_path, line, mb=100, record_id="b")
    assert not month_row(line, this_month()).data_stopped
    assert len(alerts(line, EVENT_CAP_REACHED)) == 3
    with pytest.raises(ValidationError):
        line_roaming_month_continue(line=line, actor=cast.rossi_admin)


def test_consent_through_the_api(cast: Cast, tmp_path: Path, api_client_for: Any) -> None:
    line = cast.rossi_assigned_line
    use_data_in_switzerland(tmp_path, line, mb=400, record_id="a")
    url = reverse("api:roaming-line-continue-month", args=[line.pk])

    assert api_client_for(cast.rossi_line_user).post(url).status_code == 403
    response = api_client_for(cast.rossi_legal_rep).post(url)

    assert response.status_code == 200
    assert response.json()["data_stopped"] is False
    assert response.json()["continued"] is True
    assert api_client_for(cast.rossi_legal_rep).post(url).status_code == 400


def test_a_new_month_starts_unstopped(cast: Cast, tmp_path: Path) -> None:
    line = cast.rossi_assigned_line
    use_data_in_switzerland(tmp_path, line, mb=400, record_id="a", day=date(2026, 10, 20))
    assert month_row(line, date(2026, 10, 1)).data_stopped

    use_data_in_switzerland(tmp_path, line, mb=10, record_id="b", day=date(2026, 11, 2))

    november = month_row(line, NOVEMBER)
    assert not november.data_stopped
    assert november.alert_80_at is None


# ---------------------------------------------------------------------------
# The company's own cap
# ---------------------------------------------------------------------------
def test_a_higher_cap_is_asked_through_the_request_form_with_the_line_chosen(
    cast: Cast, client_as: Any
) -> None:
    line = cast.rossi_assigned_line
    client = client_as(cast.rossi_admin)

    page = client.get(reverse("roaming:line", args=[line.pk])).content.decode()
    form = client.get(f"/requests/new/roaming_cap/?lines={line.pk}").content.decode()

    assert f'href="/requests/new/roaming_cap/?lines={line.pk}" id="roaming-cap-request"' in page
    assert f'<option value="{line.pk}" selected>' in form


def test_the_company_lowers_the_cap_on_the_page_recorded_and_audited(
    cast: Cast, tmp_path: Path, client_as: Any
) -> None:
    line = cast.rossi_assigned_line
    use_data_in_switzerland(tmp_path, line, mb=100, record_id="a")  # €50

    response = client_as(cast.rossi_legal_rep).post(
        reverse("roaming:line-cap", args=[line.pk]), {"spending_cap": "60.00"}
    )

    assert response.status_code == 302
    settings_row = LineRoaming.objects.get(line=line)
    assert settings_row.spending_cap == Decimal("60.00")
    assert settings_row.spending_cap_changed_by == cast.rossi_legal_rep.user
    entry = LogEntry.objects.filter(
        object_pk=str(line.pk), additional_data__event="line_roaming_cap_set"
    ).get()
    assert entry.additional_data["after"] == "60.00"
    # €50 of €60 is over 80%: told at once.
    assert len(alerts(line, EVENT_CAP_WARNING)) == 3
    assert roaming_status_of(line=Line.objects.get(pk=line.pk)).cap_used_percent == 83


def test_a_cap_above_the_one_granted_is_refused_and_staff_grant_a_higher_one(cast: Cast) -> None:
    line = cast.rossi_assigned_line

    with pytest.raises(ValidationError) as error:
        line_spending_cap_set(line=line, cap=Decimal("250.00"), actor=cast.rossi_admin)
    assert "spending_cap" in error.value.message_dict

    LineRoaming.objects.create(line=line, spending_cap_granted=Decimal("500.00"))
    line_spending_cap_set(line=line, cap=Decimal("250.00"), actor=cast.rossi_admin)
    assert LineRoaming.objects.get(line=line).spending_cap == Decimal("250.00")


def test_a_cap_of_zero_keeps_data_abroad_off(cast: Cast) -> None:
    line = cast.rossi_assigned_line

    line_spending_cap_set(line=line, cap=Decimal("0"), actor=cast.rossi_admin)

    assert month_row(line, this_month()).data_stopped
    assert not roaming_status_of(line=line).data_works_abroad


def test_the_cap_through_the_api(cast: Cast, api_client_for: Any) -> None:
    line = cast.rossi_assigned_line
    url = reverse("api:roaming-line-spending-cap", args=[line.pk])

    response = api_client_for(cast.rossi_admin).post(url, {"spending_cap": "75.50"}, format="json")

    assert response.status_code == 200
    assert response.json()["spending_cap"] == "75.50"
    assert response.json()["spending_cap_granted"] == "200.00"
    too_high = api_client_for(cast.rossi_admin).post(url, {"spending_cap": "300"}, format="json")
    assert too_high.status_code == 400
    assert (
        api_client_for(cast.rossi_line_user).post(url, {"spending_cap": "10"}, format="json").status_code
        == 403
    )


def test_a_line_user_cannot_change_the_cap_nor_consent(cast: Cast, client_as: Any) -> None:
    line = cast.rossi_assigned_line
    client = client_as(cast.rossi_line_user)

    assert client.post(reverse("roaming:line-cap", args=[line.pk]), {"spending_cap": "10"}).status_code == 403
    assert client.post(reverse("roaming:line-continue", args=[line.pk])).status_code == 403
    with pytest.raises(PermissionDenied):
        line_spending_cap_set(line=line, cap=Decimal("10"), actor=cast.rossi_line_user)
    page = client.get(reverse("roaming:line", args=[line.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="roaming-cap-form"' not in page
    assert not LineRoaming.objects.filter(line=line, spending_cap__lt=200).exists()


def test_another_companys_line_is_404(cast: Cast, client_as: Any, api_client_for: Any) -> None:
    line = cast.bianchi_line
    client = client_as(cast.rossi_admin)

    assert client.post(reverse("roaming:line-cap", args=[line.pk]), {"spending_cap": "10"}).status_code == 404
    assert client.post(reverse("roaming:line-continue", args=[line.pk])).status_code == 404
    api = api_client_for(cast.rossi_admin)
    assert (
        api.post(reverse("api:roaming-line-spending-cap", args=[line.pk]), {"spending_cap": "1"}).status_code
        == 404
    )
    assert api.post(reverse("api:roaming-line-continue-month", args=[line.pk])).status_code == 404


def test_the_pages_show_the_spend_against_the_cap_in_italian_and_english(
    cast: Cast, tmp_path: Path, client_as: Any
) -> None:
    line = cast.rossi_assigned_line
    use_data_in_switzerland(tmp_path, line, mb=330, record_id="a")  # €165, 82%
    client = client_as(cast.rossi_admin)

    english = client.get(reverse("roaming:abroad"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    italian = client.get(reverse("roaming:abroad")).content.decode()

    assert "€ 165.00 of € 200.00" in english
    assert "80% reached" in english
    assert "€ 165,00" in italian
    assert "€ 200,00" in italian
    assert 'value="82"' in italian


# ---------------------------------------------------------------------------
# The month's charge for the billing run
# ---------------------------------------------------------------------------
def test_the_months_roaming_is_written_as_one_charge_per_line_once(cast: Cast, tmp_path: Path) -> None:
    line, other = cast.rossi_assigned_line, cast.rossi_other_line
    use_data_in_switzerland(tmp_path, line, mb=25, record_id="a", day=date(2026, 11, 3))
    # Roam like at home only: nothing to charge.
    import_rows(
        tmp_path, [megabytes_abroad("fr", other, day=date(2026, 11, 3), mb=999, country="FR")], name="fr.csv"
    )

    assert roaming_month_charges_write(month=NOVEMBER) == 1
    assert roaming_month_charges_write(month=NOVEMBER) == 0
    roaming_month_close(year=2026, month=11)

    [charge] = ExtraCharge.objects.all()
    assert (charge.company, charge.line, charge.period_start) == (cast.rossi, line, NOVEMBER)
    assert (charge.kind, charge.amount) == (ExtraChargeKind.CHARGE, Decimal("12.50"))
    assert line.number in charge.description
    assert month_row(line, NOVEMBER).extra_charge == charge


def test_a_charge_follows_late_traffic_until_billed_then_never_changes(cast: Cast, tmp_path: Path) -> None:
    line = cast.rossi_assigned_line
    use_data_in_switzerland(tmp_path, line, mb=10, record_id="a", day=date(2026, 11, 3))
    call_command("roaming_close_month", "2026-11", stdout=None)
    use_data_in_switzerland(tmp_path, line, mb=10, record_id="b", day=date(2026, 11, 4))
    roaming_month_charges_write(month=NOVEMBER)
    charge = ExtraCharge.objects.get()
    assert charge.amount == Decimal("10.00")

    ExtraCharge.objects.filter(pk=charge.pk).update(
        billed_on_invoice=make_invoice(cast.rossi, month=11, year=2026)
    )
    use_data_in_switzerland(tmp_path, line, mb=10, record_id="c", day=date(2026, 11, 5))
    roaming_month_charges_write(month=NOVEMBER)

    assert ExtraCharge.objects.get().amount == Decimal("10.00")
    assert ExtraCharge.objects.count() == 1


def test_the_charges_are_written_on_the_first_before_the_billing_run() -> None:
    schedule = settings.CELERY_BEAT_SCHEDULE
    names = list(schedule)
    entry = schedule["roaming-charges-monthly"]

    assert entry["task"] == "roaming.tasks.roaming_month_close"
    assert entry["schedule"] == crontab(minute="30", hour="2", day_of_month="1")
    assert names.index("roaming-charges-monthly") == names.index("billing-run-monthly") - 1
