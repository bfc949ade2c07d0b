"""What staff decide on a fair-use finding: the services, the admin's actions, the audit, the messages, the claims."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from billing.fair_use_measures import (
    FairUseMeasureRefusedError,
    fair_use_dismiss,
    fair_use_finding_warn,
    fair_use_plan_change,
    fair_use_speed_limit,
    fair_use_suspend,
    fair_use_suspensions_apply,
)
from billing.models import (
    FairUseChunk,
    FairUseFinding,
    FairUseFindingStatus,
    FairUseLimit,
    FairUseMeasure,
    FairUseRule,
    FairUseRun,
)
from billing.selectors_fair_use import line_data_speed_limited
from billing.tasks_fair_use_measures import apply_fair_use_suspensions
from selfcare.models import Channel, Line, LineStatus, Notification, Payment, User
from tests.billing.fair_use_rows import RULE_4_FIGURES, make_finding
from tests.cast import Cast
from tests.factories import OfferFactory, UserFactory, give_totp

pytestmark = pytest.mark.django_db

ROME = ZoneInfo("Europe/Rome")
TODAY = datetime(2026, 12, 2, 10, 0, tzinfo=ROME)
DAY = TODAY.date()
CHANGELIST = "admin:billing_fairusefinding_changelist"


@pytest.fixture(autouse=True)
def today(time_machine: Any) -> None:
    time_machine.move_to(TODAY, tick=False)


@pytest.fixture(autouse=True)
def managers_read_english(cast: Cast) -> None:
    """The messages below are asserted in English: the recipients read it."""
    User.objects.filter(memberships__company=cast.rossi).update(language="en")


@pytest.fixture
def staff(staff_groups: None) -> User:
    return staff_of("Fraud and fair use")


@pytest.fixture
def finding(cast: Cast) -> FairUseFinding:
    return make_finding(cast.rossi_assigned_line)


def staff_of(group: str) -> User:
    member = UserFactory.create(
        email=f"{group.lower().replace(' ', '.')}@operatore.example.it", is_staff=True
    )
    give_totp(member)
    member.groups.add(Group.objects.get(name=group))
    return member


def staff_client(client: Client, member: User) -> Client:
    client.force_login(member)
    # The messages below are asserted in English; the admin would answer in Italian.
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def told(event: str = "fair_use_measure") -> list[Notification]:
    return list(Notification.objects.filter(event=event, channel=Channel.INBOX).select_related("user"))


def audited(event: str) -> list[LogEntry]:
    return list(LogEntry.objects.filter(additional_data__event=event))


def decision_url(finding: FairUseFinding, slug: str) -> str:
    return reverse(f"admin:billing_fairusefinding_{slug.replace('-', '_')}", args=[finding.pk])


# ---------------------------------------------------------------------------
# The services
# ---------------------------------------------------------------------------
def test_a_speed_limit_is_recorded_audited_and_told_to_the_managers_with_the_rule_and_figures(
    cast: Cast, staff: User, finding: FairUseFinding
) -> None:
    measure = fair_use_speed_limit(
        finding=finding,
        by=staff,
        starts_on=date(2026, 12, 3),
        ends_on=date(2026, 12, 9),
        note="Please call us.",
    )

    finding.refresh_from_db()
    assert (finding.status, finding.decided_by, finding.decided_at) == (
        FairUseFindingStatus.MEASURE,
        staff,
        TODAY,
    )
    assert (measure.kind, measure.starts_on, measure.ends_on) == (
        "speed_limit",
        date(2026, 12, 3),
        date(2026, 12, 9),
    )
    assert (measure.created_by, measure.company, measure.line) == (
        staff,
        cast.rossi,
        cast.rossi_assigned_line,
    )
    (entry,) = audited("fair_use_speed_limit")
    assert entry.actor == staff
    assert entry.additional_data["starts_on"] == "2026-12-03"
    assert entry.additional_data["ends_on"] == "2026-12-09"
    messages = told()
    # The managers (admin and legal representative), never the line user.
    assert {m.user for m in messages} == {cast.rossi_admin.user, cast.rossi_legal_rep.user}
    body = messages[0].body
    assert "more than 160 min of outgoing calls, or more than 200 outgoing SMS and MMS" in body
    assert "Outgoing call minutes: 161 min (limit 160 min)" in body
    assert "Outgoing SMS and MMS: 250 (limit 200)" in body
    assert "withdraw from the contract at once, without any penalty" in body
    assert f"/requests/new/withdrawal/?finding={finding.pk}" in body
    assert "Please call us." in body
    assert messages[0].link == reverse("billing:fair-use-finding", args=[finding.pk])


def test_the_message_is_in_the_recipients_language(cast: Cast, staff: User, finding: FairUseFinding) -> None:
    User.objects.filter(pk=cast.rossi_admin.user.pk).update(language="it")
    User.objects.filter(pk=cast.rossi_legal_rep.user.pk).update(language="en")

    fair_use_speed_limit(finding=finding, by=staff, starts_on=DAY, ends_on=DAY)

    bodies = {m.user_id: m.body for m in told()}
    # (The new sentences wait for their Italian translation; the greeting has it already.)
    assert bodies[cast.rossi_legal_rep.user.pk].startswith("Hello Anna")
    assert bodies[cast.rossi_admin.user.pk].startswith("Ciao Marco")


def test_a_speed_limit_is_in_force_from_its_first_to_its_last_day_included(
    cast: Cast, staff: User, finding: FairUseFinding
) -> None:
    line = cast.rossi_assigned_line
    fair_use_speed_limit(finding=finding, by=staff, starts_on=date(2026, 12, 3), ends_on=date(2026, 12, 9))

    assert not line_data_speed_limited(line=line, day=date(2026, 12, 2))
    assert line_data_speed_limited(line=line, day=date(2026, 12, 3))
    assert line_data_speed_limited(line=line, day=date(2026, 12, 9))
    assert not line_data_speed_limited(line=line, day=date(2026, 12, 10))
    assert not line_data_speed_limited(line=cast.rossi_other_line, day=date(2026, 12, 5))


@pytest.mark.parametrize(
    ("starts_on", "ends_on", "field"),
    [(date(2026, 12, 1), date(2026, 12, 9), "starts_on"), (date(2026, 12, 9), date(2026, 12, 8), "ends_on")],
)
def test_a_speed_limit_needs_dates_that_make_sense(
    staff: User, finding: FairUseFinding, starts_on: date, ends_on: date, field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        fair_use_speed_limit(finding=finding, by=staff, starts_on=starts_on, ends_on=ends_on)

    assert field in refused.value.message_dict
    finding.refresh_from_db()
    assert finding.status == FairUseFindingStatus.OPEN
    assert not FairUseMeasure.objects.exists()
    assert not told()


def test_a_suspension_takes_effect_on_its_day_once(cast: Cast, staff: User, finding: FairUseFinding) -> None:
    line = cast.rossi_assigned_line
    measure = fair_use_suspend(finding=finding, by=staff, notice_on=DAY, effective_on=date(2026, 12, 17))
    body = told()[0].body
    assert "the line will be suspended on 12/17/2026" in body
    assert "without any penalty" in body

    assert fair_use_suspensions_apply(day=date(2026, 12, 16)) == 0
    line.refresh_from_db()
    assert line.status == LineStatus.ACTIVE

    assert fair_use_suspensions_apply(day=date(2026, 12, 17)) == 1
    assert fair_use_suspensions_apply(day=date(2026, 12, 17)) == 0
    assert fair_use_suspensions_apply(day=date(2026, 12, 18)) == 0

    line.refresh_from_db()
    measure.refresh_from_db()
    assert line.status == LineStatus.SUSPENDED
    assert measure.applied_at is not None
    assert len(audited("fair_use_suspension_applied")) == 1


def test_the_suspension_task_catches_up_and_leaves_a_blocked_line_blocked(
    cast: Cast, staff: User, finding: FairUseFinding, time_machine: Any
) -> None:
    other = make_finding(cast.rossi_other_line)
    fair_use_suspend(finding=finding, by=staff, notice_on=DAY, effective_on=date(2026, 12, 5))
    fair_use_suspend(finding=other, by=staff, notice_on=DAY, effective_on=date(2026, 12, 6))
    Line.objects.filter(pk=cast.rossi_other_line.pk).update(status=LineStatus.BLOCKED)
    time_machine.move_to(datetime(2026, 12, 10, 0, 5, tzinfo=ROME), tick=False)

    # The task as beat runs it: today in Rome, and the days it missed.
    from billing.tasks_fair_use_measures import apply_fair_use_suspensions

    assert apply_fair_use_suspensions() == 1

    statuses = dict(Line.objects.filter(company=cast.rossi).values_list("pk", "status"))
    assert statuses == {
        cast.rossi_assigned_line.pk: LineStatus.SUSPENDED,
        cast.rossi_other_line.pk: LineStatus.BLOCKED,
    }
    assert not FairUseMeasure.objects.filter(kind="suspension", applied_at__isnull=True).exists()


@pytest.mark.parametrize(
    ("notice_on", "effective_on", "field"),
    [(DAY, DAY, "effective_on"), (DAY - timedelta(days=1), DAY + timedelta(days=5), "notice_on")],
)
def test_a_suspension_needs_its_notice_first(
    staff: User, finding: FairUseFinding, notice_on: date, effective_on: date, field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        fair_use_suspend(finding=finding, by=staff, notice_on=notice_on, effective_on=effective_on)

    assert field in refused.value.message_dict
    assert not FairUseMeasure.objects.exists()


def test_only_an_active_line_is_suspended(cast: Cast, staff: User, finding: FairUseFinding) -> None:
    Line.objects.filter(pk=finding.line_id).update(status=LineStatus.BLOCKED)
    finding.refresh_from_db()

    with pytest.raises(ValidationError):
        fair_use_suspend(finding=finding, by=staff, notice_on=DAY, effective_on=DAY + timedelta(days=15))


def test_a_plan_change_moves_the_line_and_keeps_the_previous_offer(
    cast: Cast, staff: User, finding: FairUseFinding
) -> None:
    line = cast.rossi_assigned_line
    previous = line.offer
    new_offer = OfferFactory.create(code="BIZ-BASE", name="Business Base", payment=previous.payment)

    measure = fair_use_plan_change(finding=finding, by=staff, new_offer=new_offer)

    line.refresh_from_db()
    assert line.offer == new_offer
    assert (measure.old_offer, measure.new_offer) == (previous, new_offer)
    assert measure.applied_at == TODAY
    # The line's change of offer is in django-auditlog's own log, with who made it.
    line_log = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Line), object_pk=str(line.pk)
    )
    assert any("offer" in (entry.changes_dict or {}) for entry in line_log)
    assert f"from the plan {previous.name} to the plan Business Base" in told()[0].body


def test_a_plan_change_needs_another_offer_paid_the_same_way(
    cast: Cast, staff: User, finding: FairUseFinding
) -> None:
    line = cast.rossi_assigned_line
    prepaid = OfferFactory.create(code="BIZ-PRE", payment=Payment.PREPAID)

    with pytest.raises(ValidationError) as same:
        fair_use_plan_change(finding=finding, by=staff, new_offer=line.offer)
    with pytest.raises(ValidationError) as other_payment:
        fair_use_plan_change(finding=finding, by=staff, new_offer=prepaid)

    assert "new_offer" in same.value.message_dict
    assert "new_offer" in other_payment.value.message_dict
    assert not FairUseMeasure.objects.exists()


def test_a_dismissal_needs_a_reason_is_audited_and_tells_nobody(staff: User, finding: FairUseFinding) -> None:
    with pytest.raises(ValidationError):
        fair_use_dismiss(finding=finding, by=staff, reason="   ")

    fair_use_dismiss(finding=finding, by=staff, reason="Traffic of a call centre, agreed in the contract.")

    finding.refresh_from_db()
    assert finding.status == FairUseFindingStatus.DISMISSED
    assert finding.dismissal_reason == "Traffic of a call centre, agreed in the contract."
    (entry,) = audited("fair_use_dismissed")
    assert (entry.actor, entry.additional_data["previous_status"]) == (staff, "open")
    assert not Notification.objects.exists()


def test_a_warning_by_staff_is_sent_once_with_the_note(cast: Cast, staff: User) -> None:
    finding = make_finding(cast.rossi_assigned_line, rule="4", metrics=RULE_4_FIGURES)

    first = fair_use_finding_warn(finding=finding, by=staff, note="Check the switchboard.")
    second = fair_use_finding_warn(finding=finding, by=staff)

    assert first is not None
    assert second is None
    assert FairUseMeasure.objects.count() == 1
    body = told()[0].body
    assert "Share of call minutes to one other operator: 62.5% (limit 40%), operator TIM" in body
    assert "Check the switchboard." in body
    # A warning is no measure: no withdrawal in its message.
    assert "without any penalty" not in body


def test_two_staff_never_both_decide_a_finding(cast: Cast, staff: User, finding: FairUseFinding) -> None:
    # The second one works from the page they loaded before the first decided.
    stale = FairUseFinding.objects.get(pk=finding.pk)
    fair_use_speed_limit(finding=finding, by=staff, starts_on=DAY, ends_on=DAY)

    with pytest.raises(FairUseMeasureRefusedError):
        fair_use_suspend(finding=stale, by=staff, notice_on=DAY, effective_on=DAY + timedelta(days=10))
    with pytest.raises(FairUseMeasureRefusedError):
        fair_use_dismiss(finding=FairUseFinding.objects.get(pk=finding.pk), by=staff, reason="Late.")
    # Nor does the run warn a finding already decided.
    assert fair_use_finding_warn(finding=FairUseFinding.objects.get(pk=finding.pk), by=None) is None

    assert FairUseMeasure.objects.count() == 1
    assert len(told()) == 2  # one measure, told to two managers


def test_a_warned_finding_may_still_get_a_measure(staff: User, finding: FairUseFinding) -> None:
    fair_use_finding_warn(finding=finding, by=None)

    fair_use_speed_limit(
        finding=FairUseFinding.objects.get(pk=finding.pk), by=staff, starts_on=DAY, ends_on=DAY
    )

    assert list(FairUseMeasure.objects.order_by("id").values_list("kind", flat=True)) == [
        "warning",
        "speed_limit",
    ]


def test_the_suspension_task_is_scheduled_daily() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["fair-use-suspensions-daily"]

    assert entry["task"] == apply_fair_use_suspensions.name


# ---------------------------------------------------------------------------
# The admin
# ---------------------------------------------------------------------------
def test_the_findings_list_filters_searches_and_shows_the_figures(
    client: Client, cast: Cast, staff: User, finding: FairUseFinding
) -> None:
    make_finding(cast.bianchi_line, rule="4", metrics=RULE_4_FIGURES, status="warned")
    client = staff_client(client, staff)

    page = client.get(reverse(CHANGELIST))
    by_line = client.get(reverse(CHANGELIST), {"q": cast.rossi_assigned_line.number})
    by_vat = client.get(reverse(CHANGELIST), {"q": cast.rossi.vat_number})
    by_rule = client.get(reverse(CHANGELIST), {"rule__id__exact": FairUseRule.objects.get(code="4").pk})
    by_status = client.get(reverse(CHANGELIST), {"status__exact": "open", "period__exact": "day"})
    by_company = client.get(reverse(CHANGELIST), {"company__id__exact": cast.bianchi.pk})
    by_date = client.get(reverse(CHANGELIST), {"period_start__year": "2026", "period_start__month": "11"})

    assert page.status_code == 200
    assert "Outgoing call minutes: 161 min (limit 160 min)" in page.content.decode()
    assert by_line.context["cl"].result_count == 1
    assert by_vat.context["cl"].result_count == 1
    assert list(by_rule.context["cl"].result_list) == [FairUseFinding.objects.get(rule__code="4")]
    assert list(by_status.context["cl"].result_list) == [finding]
    assert by_company.context["cl"].result_count == 1
    assert by_date.context["cl"].result_count == 2


def test_staff_limit_the_speed_through_the_form_page(
    client: Client, cast: Cast, staff: User, finding: FairUseFinding
) -> None:
    client = staff_client(client, staff)
    url = decision_url(finding, "speed-limit")

    response = client.post(
        reverse(CHANGELIST), {"action": "apply_speed_limit", "_selected_action": [finding.pk]}
    )
    assert (response.status_code, response["Location"]) == (302, url)
    form = client.get(url)
    assert form.status_code == 200
    assert "more than 160 min of outgoing calls" in form.content.decode()
    # An end before the start: the form says so and nothing changes.
    refused = client.post(url, {"starts_on": "2026-12-05", "ends_on": "2026-12-04"})
    assert refused.status_code == 200
    assert "The limit must end on or after the day it starts." in refused.content.decode()
    past = client.post(url, {"starts_on": "2026-11-30", "ends_on": "2026-12-04"})
    assert "The limit cannot start in the past." in past.content.decode()
    assert not FairUseMeasure.objects.exists()

    done = client.post(url, {"starts_on": "2026-12-03", "ends_on": "2026-12-09", "note": ""}, follow=True)

    assert "Data speed limit recorded" in done.content.decode()
    measure = FairUseMeasure.objects.get()
    assert (measure.kind, measure.created_by, measure.ends_on) == ("speed_limit", staff, date(2026, 12, 9))
    assert len(audited("fair_use_speed_limit")) == 1
    assert len(told()) == 2


def test_staff_suspend_with_notice_through_the_form_page(
    client: Client, staff: User, finding: FairUseFinding
) -> None:
    client = staff_client(client, staff)
    url = decision_url(finding, "suspend")

    same_day = client.post(url, {"notice_on": "2026-12-02", "effective_on": "2026-12-02"})
    assert "takes effect after the notice" in same_day.content.decode()
    client.post(url, {"notice_on": "2026-12-02", "effective_on": "2026-12-20"}, follow=True)

    measure = FairUseMeasure.objects.get()
    assert (measure.kind, measure.notice_on, measure.effective_on) == ("suspension", DAY, date(2026, 12, 20))


def test_staff_change_the_plan_through_the_form_page(
    client: Client, cast: Cast, staff: User, finding: FairUseFinding
) -> None:
    new_offer = OfferFactory.create(code="BIZ-SMALL", name="Business Small")
    client = staff_client(client, staff)
    url = decision_url(finding, "plan-change")

    form = client.get(url).content.decode()
    assert "Business Small" in form
    client.post(url, {"new_offer": new_offer.pk}, follow=True)

    line = Line.objects.get(pk=cast.rossi_assigned_line.pk)
    assert line.offer == new_offer
    assert FairUseMeasure.objects.get().old_offer == cast.rossi_assigned_line.offer


def test_staff_dismiss_only_with_a_reason(client: Client, staff: User, finding: FairUseFinding) -> None:
    client = staff_client(client, staff)
    url = decision_url(finding, "dismiss")

    assert client.post(url, {"reason": ""}).status_code == 200
    assert FairUseFinding.objects.get().status == FairUseFindingStatus.OPEN
    done = client.post(url, {"reason": "A test line of the operator."}, follow=True)

    assert "Finding dismissed." in done.content.decode()
    assert FairUseFinding.objects.get().status == FairUseFindingStatus.DISMISSED


def test_staff_send_the_warning_of_a_rule_that_waits_for_them(
    client: Client, cast: Cast, staff: User
) -> None:
    finding = make_finding(
        cast.rossi_assigned_line,
        rule="8",
        # As the engine writes it: 45 calls and SMS out against 3 times the 12 received.
        metrics=[{"metric": "off_net_outgoing", "measured": "45", "limit": "36"}],
    )
    client = staff_client(client, staff)
    change = client.get(reverse("admin:billing_fairusefinding_change", args=[finding.pk])).content.decode()
    assert decision_url(finding, "warn") in change

    client.post(decision_url(finding, "warn"), {"note": "Please check."}, follow=True)

    finding.refresh_from_db()
    assert finding.status == FairUseFindingStatus.WARNED
    assert finding.decided_by == staff
    assert "45 (limit 36)" in told()[0].body
    # Warned already: the form page sends staff back, and nothing more is sent.
    again = client.get(decision_url(finding, "warn"), follow=True)
    assert "The finding is now “Warning sent”" in again.content.decode()
    assert FairUseMeasure.objects.count() == 1


def test_the_change_page_offers_only_the_decisions_left(
    client: Client, staff: User, finding: FairUseFinding
) -> None:
    fair_use_dismiss(finding=finding, by=staff, reason="No.")
    client = staff_client(client, staff)

    change = client.get(reverse("admin:billing_fairusefinding_change", args=[finding.pk])).content.decode()
    moved = client.post(
        reverse(CHANGELIST), {"action": "suspend", "_selected_action": [finding.pk]}, follow=True
    )

    assert "fair-use-decision" not in change
    assert "Select one finding that can still take this decision" in moved.content.decode()


def test_customer_care_read_findings_but_cannot_decide(
    client: Client, staff_groups: None, finding: FairUseFinding
) -> None:
    client = staff_client(client, staff_of("Customer care"))

    assert client.get(reverse(CHANGELIST)).status_code == 200
    assert client.get(reverse("admin:billing_fairusefinding_change", args=[finding.pk])).status_code == 200
    assert client.get(decision_url(finding, "speed-limit")).status_code == 403
    client.post(decision_url(finding, "dismiss"), {"reason": "x"})

    assert FairUseFinding.objects.get().status == FairUseFindingStatus.OPEN


def test_staff_never_edit_a_finding_nor_a_measure(
    client: Client, staff: User, finding: FairUseFinding
) -> None:
    fair_use_speed_limit(finding=finding, by=staff, starts_on=DAY, ends_on=DAY)
    client = staff_client(client, staff)
    change_url = reverse("admin:billing_fairusefinding_change", args=[finding.pk])

    page = client.get(change_url).content.decode()
    client.post(change_url, {"status": "dismissed"})
    measure_page = client.get(
        reverse("admin:billing_fairusemeasure_change", args=[FairUseMeasure.objects.get().pk])
    )

    assert 'name="status"' not in page
    assert FairUseFinding.objects.get().status == FairUseFindingStatus.MEASURE
    assert measure_page.status_code == 200
    assert 'name="kind"' not in measure_page.content.decode()


def test_staff_change_a_rules_limits_audited(client: Client, staff: User) -> None:
    rule = FairUseRule.objects.get(code="1")
    limits = list(rule.limits.order_by("id"))
    client = staff_client(client, staff)
    url = reverse("admin:billing_fairuserule_change", args=[rule.pk])
    assert client.get(url).status_code == 200
    data: dict[str, Any] = {
        "enabled": "on",
        "minimum_base_day": "10",
        "minimum_base_month": "60",
        "limits-TOTAL_FORMS": str(len(limits)),
        "limits-INITIAL_FORMS": str(len(limits)),
        "limits-MIN_NUM_FORMS": "0",
        "limits-MAX_NUM_FORMS": "1000",
    }
    for index, limit in enumerate(limits):
        data |= {
            f"limits-{index}-id": str(limit.pk),
            f"limits-{index}-rule": str(rule.pk),
            f"limits-{index}-period": limit.period,
            f"limits-{index}-metric": limit.metric,
            f"limits-{index}-limit": "180" if limit.metric == "voice_minutes" else str(limit.limit),
        }

    response = client.post(url, data)

    assert response.status_code == 302, response.content.decode()[:2000]
    rule.refresh_from_db()
    assert rule.warns_automatically is False
    assert FairUseLimit.objects.get(rule=rule, metric="voice_minutes").limit == 180
    logged = {entry.content_type.model for entry in LogEntry.objects.filter(actor=staff)}
    assert {"fairuserule", "fairuselimit"} <= logged


def test_runs_are_read_only_with_their_chunks(client: Client, staff: User) -> None:
    run = FairUseRun.objects.create(period="day", period_start=date(2026, 12, 1), chunks_total=1)
    FairUseChunk.objects.create(run=run, first_line_id=1, last_line_id=500)
    client = staff_client(client, staff)

    page = client.get(reverse("admin:billing_fairuserun_change", args=[run.pk]))

    assert page.status_code == 200
    assert "500" in page.content.decode()
    assert client.get(reverse("admin:billing_fairuserun_changelist")).status_code == 200
    assert client.get(reverse("admin:billing_fairusemeasure_changelist")).status_code == 200
