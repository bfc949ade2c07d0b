"""Line services: VoLTE and the barring of premium services (VAS), with their history.

Premium services are barred by default on new SIMs (AGCOM 10/21/CONS).
Lifting the barring needs a one-time code sent by SMS to the line itself, so
that whoever lifts it has the SIM in hand; putting it back needs no code,
since barring is the safe direction. Every change writes a LineServiceChange
(who, when, before, after), which the line page shows, and an audit record.

Who may change a line's services is who may see the line: a line user on
the lines assigned to them, administrators and legal representatives on
every line of the company (selfcare.models.lines.LineQuerySet.visible_to).
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from auditlog.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from selfcare.models import (
    Channel,
    Line,
    LineKind,
    LineService,
    LineServiceChange,
    LineStatus,
    Membership,
    VasUnlockCode,
)
from selfcare.services.audit import audit_record
from selfcare.services.notifications import notify
from selfcare.tenancy import visible

# AGCOM 10/21/CONS asks for a code of at least five digits; six make a
# guess one in a million, and each code allows only MAX_ATTEMPTS guesses.
CODE_DIGITS = 6
CODE_VALIDITY = timedelta(minutes=10)
MAX_ATTEMPTS = 5
# Each code is an SMS to the line: a user must not be able to flood a phone,
# nor to buy more guesses by asking for code after code.
SEND_INTERVAL = timedelta(minutes=1)
SENDS_PER_HOUR = 5
HISTORY_LENGTH = 20

NOTIFICATION_EVENT = "vas_unlock_code"
# The code of the ValidationError that refuses a send over the limits (the API answers 429).
THROTTLED = "throttled"
_CODE_FORMAT = re.compile(rf"^\d{{{CODE_DIGITS}}}$")
# The HMAC's own salt: a hash made for this purpose is useless for any other.
_HASH_SALT = "selfcare.services.line_services.vas_unlock_code"


# ---------------------------------------------------------------------------
# Checks shared by every change
# ---------------------------------------------------------------------------
def _check_may_change(*, line: Line, actor: Membership) -> None:
    """The actor sees the line (views load it so already: this guards every other caller)."""
    if not visible(Line, membership=actor).filter(pk=line.pk).exists():
        raise PermissionDenied(_("You may not change the services of this line."))
    if line.kind == LineKind.FIXED:
        raise ValidationError(
            _("A fixed line has no VoLTE nor premium services: they are settings of mobile lines.")
        )
    if line.status == LineStatus.CEASED:
        raise ValidationError(_("This line has ceased: its services can no longer be changed."))


def _check_active(line: Line) -> None:
    # The code travels by SMS to the line: a suspended or blocked SIM would not get it.
    if line.status != LineStatus.ACTIVE:
        raise ValidationError(
            _("Premium services can be allowed only on an active line; this line is %(status)s.")
            % {"status": line.get_status_display().lower()}
        )


def line_service_change_record(
    *, line: Line, service: LineService, before: bool, after: bool, actor: Membership, event: str
) -> LineServiceChange:
    """Record one change of a line service: its history row and its audit record.

    Shared with the roaming switches (roaming.services), so that every
    service of a line has one history.
    """
    change = LineServiceChange.objects.create(
        line=line, service=service, enabled_before=before, enabled_after=after, changed_by=actor.user
    )
    # The line row was changed with update(), which auditlog does not see.
    audit_record(
        actor=actor.user,
        target=line,
        event=event,
        details={"number": line.number, "service": str(service), "before": before, "after": after},
        action=LogEntry.Action.UPDATE,
    )
    return change


# ---------------------------------------------------------------------------
# VoLTE
# ---------------------------------------------------------------------------
@transaction.atomic
def line_volte_set(*, line: Line, enabled: bool, actor: Membership) -> LineServiceChange:
    """Switch VoLTE on or off; a switch to the state the line already has is refused, not repeated."""
    _check_may_change(line=line, actor=actor)
    # Claimed in its current state: two people switching at once from two
    # pages cannot both succeed, and the history never shows a no-op.
    claimed = Line.objects.filter(pk=line.pk, volte_enabled=not enabled).update(
        volte_enabled=enabled, updated_at=timezone.now()
    )
    if claimed != 1:
        raise ValidationError(
            _("VoLTE is already on for this line.") if enabled else _("VoLTE is already off for this line.")
        )
    line.volte_enabled = enabled
    return line_service_change_record(
        line=line,
        service=LineService.VOLTE,
        before=not enabled,
        after=enabled,
        actor=actor,
        event="line_volte_enabled" if enabled else "line_volte_disabled",
    )


# ---------------------------------------------------------------------------
# Premium services (VAS) barring
# ---------------------------------------------------------------------------
def _code_hash(*, line: Line, code: str) -> str:
    """HMAC-SHA256 keyed with SECRET_KEY: a copy of the database alone cannot try the million codes."""
    return salted_hmac(_HASH_SALT, f"{line.pk}:{code}", algorithm="sha256").hexdigest()


@transaction.atomic
def vas_unlock_code_send(*, line: Line, actor: Membership) -> VasUnlockCode:
    """Send a new one-time code by SMS to the line itself; only its hash is kept.

    The newest code is the only one that counts: asking for another makes
    the previous one useless.
    """
    _check_may_change(line=line, actor=actor)
    # Locked, so that two requests at once cannot both slip under the limits.
    line = (
        Line.objects.select_for_update(of=("self",))
        .select_related("assigned_to__user", "company")
        .get(pk=line.pk)
    )
    _check_active(line)
    if not line.vas_barred:
        raise ValidationError(_("Premium services are already allowed on this line: no code is needed."))
    now = timezone.now()
    recent = VasUnlockCode.objects.filter(line=line, created_at__gt=now - timedelta(hours=1))
    if recent.filter(created_at__gt=now - SEND_INTERVAL).exists():
        raise ValidationError(
            _(
                "A code was sent to this line less than a minute ago: wait a minute before asking for another."
            ),
            code=THROTTLED,
        )
    if recent.count() >= SENDS_PER_HOUR:
        raise ValidationError(
            _("%(count)d codes have been sent to this line in the last hour: try again later.")
            % {"count": SENDS_PER_HOUR},
            code=THROTTLED,
        )
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    unlock = VasUnlockCode.objects.create(
        line=line,
        code_hash=_code_hash(line=line, code=code),
        requested_by=actor.user,
        expires_at=now + CODE_VALIDITY,
    )
    # The SMS is read by whoever holds the SIM: the assigned user, in their language.
    reader = line.assigned_to.user if line.assigned_to is not None else actor.user
    notify(
        company=line.company,
        event=NOTIFICATION_EVENT,
        key=f"vas-code-{unlock.pk}",
        recipients=[],
        context={
            "code": code,
            "number": line.number,
            "requested_by": actor.user.get_full_name() or actor.user.email,
            "minutes": int(CODE_VALIDITY.total_seconds() // 60),
        },
        channels=[Channel.SMS],
        sms_to=line.number,
        language=reader.language or None,
        sensitive=True,
    )
    audit_record(
        actor=actor.user,
        target=line,
        event="line_vas_code_sent",
        details={"number": line.number, "code_id": unlock.pk},
    )
    return unlock


def vas_barring_lift(*, line: Line, code: str, actor: Membership) -> LineServiceChange:
    """Allow premium services on the line with the code of the newest SMS.

    Not atomic as a whole, on purpose: a wrong guess must stay counted when
    the refusal is raised. Do not call it inside a transaction that a
    refusal rolls back, or the attempts would not count.
    """
    _check_may_change(line=line, actor=actor)
    code = re.sub(r"\s+", "", code or "")
    if not _CODE_FORMAT.match(code):
        raise ValidationError(
            _("The code is the %(digits)d digits of the SMS sent to the line.") % {"digits": CODE_DIGITS}
        )
    line.refresh_from_db(fields=["vas_barred", "status"])
    _check_active(line)
    if not line.vas_barred:
        raise ValidationError(_("Premium services are already allowed on this line."))

    latest = VasUnlockCode.objects.filter(line=line).order_by("-created_at", "-pk").first()
    now = timezone.now()
    if latest is None:
        raise ValidationError(_("No code has been sent to this line: ask for one first."))
    if latest.used_at is not None:
        raise ValidationError(_("This code has already been used: ask for a new one."))
    if latest.expires_at <= now:
        raise ValidationError(_("This code has expired: ask for a new one."))
    if latest.attempts >= MAX_ATTEMPTS:
        raise ValidationError(_("Too many wrong attempts with this code: ask for a new one."))
    # The attempt is counted before the comparison, and committed on its own.
    counted = VasUnlockCode.objects.filter(
        pk=latest.pk, used_at__isnull=True, attempts__lt=MAX_ATTEMPTS, expires_at__gt=now
    ).update(attempts=F("attempts") + 1)
    if counted != 1:
        raise ValidationError(_("This code can no longer be used: ask for a new one."))
    if not constant_time_compare(_code_hash(line=line, code=code), latest.code_hash):
        left = MAX_ATTEMPTS - latest.attempts - 1
        if left <= 0:
            raise ValidationError(_("The code is wrong, and that was the last attempt: ask for a new one."))
        raise ValidationError(
            ngettext(
                "The code is wrong: %(left)d attempt left.",
                "The code is wrong: %(left)d attempts left.",
                left,
            )
            % {"left": left}
        )

    with transaction.atomic():
        used = VasUnlockCode.objects.filter(pk=latest.pk, used_at__isnull=True).update(used_at=now)
        if used != 1:
            raise ValidationError(_("This code has already been used: ask for a new one."))
        lifted = Line.objects.filter(pk=line.pk, vas_barred=True).update(vas_barred=False, updated_at=now)
        if lifted != 1:
            # Lifted meanwhile by someone else: the code stays unused (rolled back).
            raise ValidationError(_("Premium services are already allowed on this line."))
        line.vas_barred = False
        return line_service_change_record(
            line=line,
            service=LineService.VAS_BARRING,
            before=True,
            after=False,
            actor=actor,
            event="line_vas_barring_lifted",
        )


@transaction.atomic
def vas_barring_restore(*, line: Line, actor: Membership) -> LineServiceChange:
    """Bar premium services again. No code: barring only protects the line."""
    _check_may_change(line=line, actor=actor)
    restored = Line.objects.filter(pk=line.pk, vas_barred=False).update(
        vas_barred=True, updated_at=timezone.now()
    )
    if restored != 1:
        raise ValidationError(_("Premium services are already barred on this line."))
    line.vas_barred = True
    return line_service_change_record(
        line=line,
        service=LineService.VAS_BARRING,
        before=False,
        after=True,
        actor=actor,
        event="line_vas_barring_restored",
    )


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------
def line_service_history(*, line: Line, limit: int = HISTORY_LENGTH) -> QuerySet[LineServiceChange]:
    """The line's latest service changes, newest first, with who made them: one query."""
    return (
        LineServiceChange.objects.filter(line=line)
        .select_related("changed_by")
        .order_by("-changed_at", "-pk")[:limit]
    )


def vas_code_pending(*, line: Line) -> VasUnlockCode | None:
    """The newest code of the line if it can still be entered, else None."""
    latest = VasUnlockCode.objects.filter(line=line).order_by("-created_at", "-pk").first()
    if latest is None or latest.used_at is not None or latest.attempts >= MAX_ATTEMPTS:
        return None
    if latest.expires_at <= timezone.now():
        return None
    return latest
