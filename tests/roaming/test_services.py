"""A line's roaming and data-abroad switches: defaults, history, audit, who may switch them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError

from roaming.models import DEFAULT_SPENDING_CAP, LineRoaming, RoamingSpendMonth
from roaming.selectors import month_of, roaming_lines, roaming_status_of, rome_today
from roaming.services import line_data_roaming_set, line_roaming_set
from selfcare.models import LineKind, LineService, LineServiceChange, LineStatus
from tests.cast import Cast
from tests.factories import LineFactory

pytestmark = pytest.mark.django_db


def test_a_business_sim_has_roaming_and_data_abroad_on_and_the_default_cap(cast: Cast) -> None:
    status = roaming_status_of(line=cast.rossi_assigned_line)

    assert status.roaming_enabled
    assert status.data_enabled
    assert status.works_abroad
    assert status.data_works_abroad
    assert status.spending_cap == DEFAULT_SPENDING_CAP == Decimal("200.00")
    assert status.month_spend == Decimal("0.00")
    assert status.cap_used_percent == 0
    assert not LineRoaming.objects.exists()


def test_switching_roaming_off_is_recorded_in_the_lines_service_history_and_audited(cast: Cast) -> None:
    line = cast.rossi_assigned_line

    change = line_roaming_set(line=line, enabled=False, actor=cast.rossi_line_user)

    assert change.service == LineService.ROAMING
    assert (change.enabled_before, change.enabled_after) == (True, False)
    assert change.changed_by == cast.rossi_line_user.user
    assert LineServiceChange.objects.filter(line=line).count() == 1
    entry = LogEntry.objects.filter(object_pk=str(line.pk)).latest("timestamp")
    assert entry.additional_data["event"] == "line_roaming_disabled"
    status = roaming_status_of(line=line)
    assert not status.works_abroad
    assert not status.data_works_abroad
    assert status.data_enabled  # data abroad keeps its own setting while roaming is off


def test_switching_data_abroad_is_recorded_and_a_repeated_switch_is_refused(cast: Cast) -> None:
    line = cast.rossi_other_line

    line_data_roaming_set(line=line, enabled=False, actor=cast.rossi_admin)
    with pytest.raises(ValidationError, match="already off"):
        line_data_roaming_set(line=line, enabled=False, actor=cast.rossi_admin)
    line_data_roaming_set(line=line, enabled=True, actor=cast.rossi_admin)

    assert list(
        LineServiceChange.objects.filter(line=line).order_by("pk").values_list("service", "enabled_after")
    ) == [(LineService.DATA_ROAMING, False), (LineService.DATA_ROAMING, True)]
    assert roaming_status_of(line=line).data_works_abroad


def test_a_line_user_cannot_switch_a_line_not_assigned_to_them(cast: Cast) -> None:
    with pytest.raises(PermissionDenied):
        line_roaming_set(line=cast.rossi_other_line, enabled=False, actor=cast.rossi_line_user)
    with pytest.raises(PermissionDenied):
        line_roaming_set(line=cast.bianchi_line, enabled=False, actor=cast.rossi_legal_rep)

    assert not LineServiceChange.objects.exists()


def test_fixed_and_ceased_lines_cannot_be_switched(cast: Cast) -> None:
    fixed = LineFactory.create(company=cast.rossi, kind=LineKind.FIXED, sim="")
    ceased = LineFactory.create(company=cast.rossi, status=LineStatus.CEASED)

    with pytest.raises(ValidationError, match="fixed line"):
        line_roaming_set(line=fixed, enabled=False, actor=cast.rossi_admin)
    with pytest.raises(ValidationError, match="ceased"):
        line_data_roaming_set(line=ceased, enabled=False, actor=cast.rossi_admin)


def test_a_suspended_line_will_not_work_abroad_even_with_roaming_on(cast: Cast) -> None:
    line = LineFactory.create(company=cast.rossi, status=LineStatus.SUSPENDED)

    status = roaming_status_of(line=line)

    assert status.roaming_enabled
    assert not status.works_abroad


def test_the_status_shows_this_months_spend_against_the_cap(cast: Cast) -> None:
    line = cast.rossi_assigned_line
    LineRoaming.objects.create(line=line, spending_cap=Decimal("50.00"))
    RoamingSpendMonth.objects.create(
        line=line,
        month=month_of(rome_today()),
        chargeable_spend=Decimal("40.0049"),
        data_spend=Decimal("40.0049"),
        data_stopped=False,
    )

    [listed] = [ln for ln in roaming_lines(membership=cast.rossi_admin) if ln.pk == line.pk]
    status = roaming_status_of(line=listed)

    assert status.month_spend == Decimal("40.00")
    assert status.spending_cap == Decimal("50.00")
    assert status.cap_used_percent == 80
    assert roaming_status_of(line=line).month_spend == Decimal("40.00")


def test_data_stopped_by_the_cap_stops_data_abroad(cast: Cast) -> None:
    line = cast.rossi_assigned_line
    RoamingSpendMonth.objects.create(
        line=line,
        month=month_of(rome_today()),
        chargeable_spend=Decimal("200"),
        data_spend=Decimal("200"),
        data_stopped=True,
    )

    status = roaming_status_of(line=line)

    assert status.works_abroad
    assert status.data_enabled
    assert not status.data_works_abroad
    assert status.cap_used_percent == 100


def test_a_line_user_sees_only_assigned_lines_and_nobody_sees_fixed_or_ceased_lines(cast: Cast) -> None:
    LineFactory.create(company=cast.rossi, kind=LineKind.FIXED, sim="")
    LineFactory.create(company=cast.rossi, status=LineStatus.CEASED)

    assert list(roaming_lines(membership=cast.rossi_line_user)) == [cast.rossi_assigned_line]
    assert set(roaming_lines(membership=cast.rossi_admin)) == {
        cast.rossi_assigned_line,
        cast.rossi_other_line,
    }
