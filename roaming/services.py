"""Writes of the roaming app: a line's roaming and data-abroad switches, and the price list's rule of time.

The switches are line services: each change is a LineServiceChange (the
line's one history of its services, shown on the line page) and an audit
record, through selfcare.services.line_services.line_service_change_record.
Who may switch them is who may change the line's services: whoever sees
the line (a line user only the lines assigned to them; administrators and
legal representatives every line of the company).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from roaming.models import LineRoaming, RoamingSpendMonth
from roaming.spend import month_of, roaming_caps_check
from selfcare.models import Line, LineKind, LineService, LineServiceChange, LineStatus, Membership
from selfcare.permissions import can_manage_spending_cap
from selfcare.services.audit import audit_record
from selfcare.services.line_services import line_service_change_record
from selfcare.tenancy import visible


def _check_may_switch(*, line: Line, actor: Membership) -> None:
    """The actor sees the line (views load it so already: this guards every other caller)."""
    if not visible(Line, membership=actor).filter(pk=line.pk).exists():
        raise PermissionDenied(_("You may not change the services of this line."))
    if line.kind == LineKind.FIXED:
        raise ValidationError(_("A fixed line does not roam: roaming is a setting of mobile lines."))
    if line.status == LineStatus.CEASED:
        raise ValidationError(_("This line has ceased: its services can no longer be changed."))


def _switch(
    *, line: Line, actor: Membership, field: str, service: LineService, enabled: bool, already: str
) -> LineServiceChange:
    _check_may_switch(line=line, actor=actor)
    # A line has a settings row from its first change on; until then the defaults (on) hold.
    settings, _created = LineRoaming.objects.get_or_create(line=line)
    # Claimed in its current state: two people switching at once cannot both
    # succeed, and the history never shows a no-op.
    claimed = LineRoaming.objects.filter(pk=line.pk, **{field: not enabled}).update(
        **{field: enabled}, updated_at=timezone.now()
    )
    if claimed != 1:
        raise ValidationError(already)
    # The caller's line caches its row (line.roaming): give it the row as it is now.
    setattr(settings, field, enabled)
    settings.line = line  # assigning a one-to-one also sets the line's side of it
    return line_service_change_record(
        line=line,
        service=service,
        before=not enabled,
        after=enabled,
        actor=actor,
        event=f"line_{service}_{'enabled' if enabled else 'disabled'}",
    )


@transaction.atomic
def line_roaming_set(*, line: Line, enabled: bool, actor: Membership) -> LineServiceChange:
    """Switch international roaming on or off; a switch to the state the line already has is refused."""
    return _switch(
        line=line,
        actor=actor,
        field="roaming_enabled",
        service=LineService.ROAMING,
        enabled=enabled,
        already=_("Roaming is already on for this line.")
        if enabled
        else _("Roaming is already off for this line."),
    )


@transaction.atomic
def line_data_roaming_set(*, line: Line, enabled: bool, actor: Membership) -> LineServiceChange:
    """Switch data abroad on or off; it works abroad only while roaming is on too."""
    return _switch(
        line=line,
        actor=actor,
        field="data_enabled",
        service=LineService.DATA_ROAMING,
        enabled=enabled,
        already=_("Data abroad is already on for this line.")
        if enabled
        else _("Data abroad is already off for this line."),
    )


def roaming_rate_check_valid_from(*, valid_from: date, today: date) -> None:
    """A new rate starts tomorrow at the earliest: a price list never rewrites what past days cost.

    Not today either: part of today's traffic may be rated already.
    """
    if valid_from <= today:
        raise ValidationError(
            {
                "valid_from": _(
                    "A new rate starts tomorrow at the earliest: past days keep the prices they had."
                )
            }
        )


# ---------------------------------------------------------------------------
# The spending cap
# ---------------------------------------------------------------------------
def _check_may_manage_cap(*, line: Line, actor: Membership) -> None:
    _check_may_switch(line=line, actor=actor)
    if not can_manage_spending_cap(actor):
        raise PermissionDenied(
            _("Only the company's administrators and legal representatives may manage the spending cap.")
        )


def line_spending_cap_set(*, line: Line, cap: Decimal, actor: Membership) -> LineRoaming:
    """The company sets the line's monthly cap, from €0 (data abroad stays off) up to the cap staff granted.

    Recorded on the row (who, when) and audited; this month's spend is
    checked against the new cap at once, so a cap lowered below it stops
    data abroad now.
    """
    _check_may_manage_cap(line=line, actor=actor)
    if cap < 0 or cap != cap.quantize(Decimal("0.01")):
        raise ValidationError({"spending_cap": _("Give the cap in euro and cents, zero or more.")})
    with transaction.atomic():
        LineRoaming.objects.get_or_create(line=line)
        settings = LineRoaming.objects.select_for_update().get(pk=line.pk)
        if cap > settings.spending_cap_granted:
            raise ValidationError(
                {
                    "spending_cap": _(
                        "The cap may be at most €%(granted)s: ask customer service for a higher one."
                    )
                    % {"granted": settings.spending_cap_granted}
                }
            )
        before = settings.spending_cap
        settings.spending_cap = cap
        settings.spending_cap_changed_at = timezone.now()
        settings.spending_cap_changed_by = actor.user
        settings.save(
            update_fields=["spending_cap", "spending_cap_changed_at", "spending_cap_changed_by", "updated_at"]
        )
        audit_record(
            actor=actor.user,
            target=settings,
            event="line_roaming_cap_set",
            details={"line": line.number, "before": str(before), "after": str(cap)},
        )
        month = month_of(timezone.localdate())
        if cap == 0:
            # A cap of €0 keeps data abroad off: this month's row says so from now, spend or not.
            RoamingSpendMonth.objects.get_or_create(line=line, month=month)
    roaming_caps_check(month=month, line_ids=[line.pk])
    settings.line = line
    return settings


def line_roaming_month_continue(*, line: Line, actor: Membership) -> RoamingSpendMonth:
    """The customer consents to go on using data abroad this month once the cap stopped it; recorded and audited.

    The stop is claimed (`data_stopped` true to false), so two clicks
    record one consent. The cap does not stop the line again this month.
    """
    _check_may_manage_cap(line=line, actor=actor)
    month = month_of(timezone.localdate())
    now = timezone.now()
    with transaction.atomic():
        claimed = RoamingSpendMonth.objects.filter(line=line, month=month, data_stopped=True).update(
            data_stopped=False, continued_at=now, continued_by=actor.user, updated_at=now
        )
        if claimed != 1:
            raise ValidationError(_("Data abroad is not stopped by the spending cap this month."))
        row = RoamingSpendMonth.objects.get(line=line, month=month)
        audit_record(
            actor=actor.user,
            target=row,
            event="line_roaming_month_continued",
            details={"line": line.number, "month": f"{month:%Y-%m}"},
        )
    return row
