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

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from roaming.models import LineRoaming
from selfcare.models import Line, LineKind, LineService, LineServiceChange, LineStatus, Membership
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
