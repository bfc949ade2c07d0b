"""eSIM profiles: requesting one, showing its activation code, activation and reissue.

A profile is made for a new eSIM or for a swap from a physical SIM
(DOMAIN.md, "Lines and SIMs"). Its activation code, in the GSMA SGP.22 form
`LPA:1$<SM-DP+ address>$<matching id>`, is a secret: encrypted at rest and
shown at most EsimProfile.MAX_VIEWS times, each view audited; after that
staff reissue the profile. When the network reports the profile installed
(`esim_activate`), a swapped line's physical SIM stops working.
"""

from __future__ import annotations

import secrets
import string

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from selfcare.models import EsimProfile, EsimStatus, Line, LineKind, LineStatus, SimKind, User
from selfcare.services.audit import audit_record
from selfcare.validators import normalize_eid, validate_eid

MATCHING_ID_ALPHABET = string.ascii_uppercase + string.digits
MATCHING_ID_GROUPS = 4
MATCHING_ID_GROUP_LENGTH = 5

ALREADY_READY = _(
    "This line already has an eSIM profile ready to install: show its activation code, "
    "or ask customer care to reissue it."
)


def esim_matching_id() -> str:
    """A new matching id: four groups of five capitals and digits (about 103 bits), unguessable."""
    return "-".join(
        "".join(secrets.choice(MATCHING_ID_ALPHABET) for _ in range(MATCHING_ID_GROUP_LENGTH))
        for _ in range(MATCHING_ID_GROUPS)
    )


def esim_activation_code(*, smdp_address: str, matching_id: str) -> str:
    # GSMA SGP.22 §4.1: "LPA:" then the format "1", the SM-DP+ address and the matching id.
    return f"LPA:1${smdp_address}${matching_id}"


def _new_profile(
    *, line: Line, eid: str, is_swap: bool, actor: User | None, reissued_from: EsimProfile | None = None
) -> EsimProfile:
    smdp_address = settings.ESIM_SMDP_ADDRESS
    return EsimProfile.objects.create(
        line=line,
        eid=eid,
        smdp_address=smdp_address,
        activation_code=esim_activation_code(smdp_address=smdp_address, matching_id=esim_matching_id()),
        is_swap=is_swap,
        requested_by=actor,
        reissued_from=reissued_from,
    )


def esim_request(*, line: Line, eid: str, actor: User | None) -> EsimProfile:
    """A new eSIM profile for the device with this EID: a swap when the line has a physical SIM.

    Refused, with nothing stored, for an invalid EID, a line that cannot
    have an eSIM (fixed or ceased) and a line that has a profile ready already.
    """
    eid = normalize_eid(eid)
    try:
        validate_eid(eid)
    except ValidationError as error:
        raise ValidationError({"eid": error.error_list}) from error
    if line.kind != LineKind.MOBILE or line.status == LineStatus.CEASED:
        raise ValidationError(_("Only an active mobile line can have an eSIM."), code="esim_not_possible")
    if EsimProfile.objects.filter(line=line, status=EsimStatus.READY).exists():
        raise ValidationError(ALREADY_READY, code="esim_already_ready")
    try:
        # The constraint esim_one_ready_profile_per_line settles two requests at once.
        with transaction.atomic():
            profile = _new_profile(line=line, eid=eid, is_swap=line.sim == SimKind.PHYSICAL, actor=actor)
            audit_record(
                actor=actor,
                target=profile,
                event="esim_requested",
                details={"line": line.number, "is_swap": profile.is_swap},
            )
    except IntegrityError as error:
        raise ValidationError(ALREADY_READY, code="esim_already_ready") from error
    return profile


def esim_views_left(*, profile: EsimProfile) -> int:
    return max(EsimProfile.MAX_VIEWS - profile.views, 0)


def esim_code_show(*, profile: EsimProfile, actor: User | None) -> str:
    """The activation code, counted as one of its MAX_VIEWS views and audited; refused after that.

    The view is claimed in the database: two requests at once can never
    both take the last view. `profile.views` is brought up to date.
    """
    with transaction.atomic():
        claimed = EsimProfile.objects.filter(
            pk=profile.pk, status=EsimStatus.READY, views__lt=EsimProfile.MAX_VIEWS
        ).update(views=F("views") + 1)
        profile.refresh_from_db(fields=["views", "status"])
        if claimed != 1:
            if profile.status != EsimStatus.READY:
                raise ValidationError(
                    _("This eSIM profile is no longer waiting to be installed: its code cannot be shown."),
                    code="esim_not_ready",
                )
            raise ValidationError(
                _(
                    "This activation code has been shown three times already: "
                    "ask customer care to reissue it."
                ),
                code="esim_views_exhausted",
            )
        audit_record(
            actor=actor,
            target=profile,
            event="esim_code_shown",
            details={"line": profile.line.number, "view": profile.views},
        )
    code: str = profile.activation_code
    return code


def esim_activate(*, profile: EsimProfile, actor: User | None = None) -> EsimProfile:
    """The network reports the profile installed: it is activated and the line's SIM is the eSIM.

    For a swap the physical SIM stops working: the line's SIM becomes the
    eSIM and the physical card's ICCID is no longer the line's.
    """
    now = timezone.now()
    with transaction.atomic():
        claimed = EsimProfile.objects.filter(pk=profile.pk, status=EsimStatus.READY).update(
            status=EsimStatus.ACTIVATED, activated_at=now
        )
        if claimed != 1:
            raise ValidationError(
                _("Only a profile ready to install can be activated."), code="esim_not_ready"
            )
        profile.refresh_from_db(fields=["status", "activated_at"])
        audit_record(
            actor=actor, target=profile, event="esim_activated", details={"line": profile.line.number}
        )
        line = profile.line
        old_iccid = line.iccid
        changes: dict[str, object] = {"sim": SimKind.ESIM}
        if profile.is_swap:
            changes["iccid"] = ""
        # update(), not save(): only these fields, whatever else the Line object
        # in memory holds; the audit record below says what happened.
        Line.objects.filter(pk=line.pk).update(**changes, updated_at=now)
        for field, value in changes.items():
            setattr(line, field, value)
        if profile.is_swap:
            audit_record(
                actor=actor,
                target=line,
                event="physical_sim_disabled",
                details={"iccid": old_iccid, "esim_profile": profile.pk},
            )
    return profile


def esim_reissue(*, profile: EsimProfile, actor: User | None) -> EsimProfile:
    """A new profile (new code, no views yet) in place of one still waiting to be installed."""
    with transaction.atomic():
        claimed = EsimProfile.objects.filter(pk=profile.pk, status=EsimStatus.READY).update(
            status=EsimStatus.SUPERSEDED
        )
        if claimed != 1:
            raise ValidationError(
                _(
                    "Only a profile waiting to be installed can be reissued; "
                    "for an activated one, request a new eSIM."
                ),
                code="esim_not_ready",
            )
        profile.status = EsimStatus.SUPERSEDED
        reissued = _new_profile(
            line=profile.line, eid=profile.eid, is_swap=profile.is_swap, actor=actor, reissued_from=profile
        )
        audit_record(
            actor=actor,
            target=reissued,
            event="esim_reissued",
            details={"line": profile.line.number, "reissued_from": profile.pk},
        )
    return reissued
