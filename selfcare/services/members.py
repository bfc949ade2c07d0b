"""The company's users: invitations, roles, line assignments and removal.

Company administrators and legal representatives manage their company's
users; what each may grant is decided in selfcare.permissions. Only staff,
the provisioning feed or a legal representative make someone a legal
representative (DOMAIN.md, "Who uses it").
"""

from __future__ import annotations

from collections.abc import Iterable

from auditlog.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from selfcare import permissions
from selfcare.models import Company, Line, Membership, Role, User
from selfcare.services.audit import audit_record
from selfcare.tenancy import visible


def _check_can_change(actor: Membership, target: Membership) -> None:
    if not permissions.can_change_membership(actor, target):
        raise PermissionDenied(_("You may not change this user's access."))


def _check_can_grant(actor: Membership, role: str) -> None:
    if role not in permissions.roles_grantable_by(actor):
        raise PermissionDenied(_("You may not give the role %(role)s.") % {"role": Role(role).label})


def _company_lines(*, actor: Membership, lines: Iterable[Line]) -> list[Line]:
    """The given lines, each checked to be one the actor may see in its company."""
    wanted = {line.pk for line in lines}
    found = list(visible(Line, membership=actor).filter(pk__in=wanted))
    if len(found) != len(wanted):
        raise ValidationError({"lines": _("Choose lines of your own company.")})
    return found


@transaction.atomic
def member_invite(
    *, actor: Membership, email: str, name: str, role: str, lines: Iterable[Line] = ()
) -> Membership:
    """Give a person access to the actor's company, creating their login if they have none.

    A new user gets no usable password: the invitation carries a link to set
    one. Inviting someone who is already a member changes nothing.
    """
    if not permissions.can_manage_users(actor):
        raise PermissionDenied(_("You may not manage this company's users."))
    _check_can_grant(actor, role)
    email = User.objects.normalize_email(email).strip().lower()
    company: Company = actor.company
    if Membership.objects.filter(company=company, user__email__iexact=email).exists():
        raise ValidationError({"email": _("%(email)s is already a user of this company.") % {"email": email}})
    chosen_lines = _company_lines(actor=actor, lines=lines)

    user = User.objects.filter(email__iexact=email).first()
    new_user = user is None
    if user is None:
        user = User.objects.create_user(email, None, name=name.strip())
    membership = Membership.objects.create(user=user, company=company, role=role, invited_by=actor.user)
    if chosen_lines:
        Line.objects.filter(pk__in=[line.pk for line in chosen_lines]).update(assigned_to=membership)

    audit_record(
        actor=actor.user,
        target=membership,
        event="member_invited",
        details={"role": role, "lines": [line.number for line in chosen_lines]},
        action=LogEntry.Action.CREATE,
    )
    _notify_invitation(membership=membership, new_user=new_user)
    return membership


def _notify_invitation(*, membership: Membership, new_user: bool) -> None:
    from selfcare.services.invitations import invitation_notify

    invitation_notify(membership=membership, new_user=new_user)


@transaction.atomic
def member_change_role(*, actor: Membership, membership: Membership, role: str) -> Membership:
    _check_can_change(actor, membership)
    _check_can_grant(actor, role)
    previous = membership.role
    if previous == role:
        return membership
    # Claim the row in its current role, so that two administrators changing
    # the same user at once cannot both succeed from a stale page.
    changed = Membership.objects.filter(pk=membership.pk, role=previous).update(role=role)
    if changed != 1:
        raise ValidationError(_("This user's role was changed meanwhile: reload the page."))
    membership.role = role
    audit_record(
        actor=actor.user,
        target=membership,
        event="member_role_changed",
        details={"from": previous, "to": role},
        action=LogEntry.Action.UPDATE,
    )
    return membership


@transaction.atomic
def member_assign_lines(*, actor: Membership, membership: Membership, lines: Iterable[Line]) -> list[Line]:
    """Make `lines` exactly the lines assigned to `membership`."""
    if actor.pk != membership.pk:
        _check_can_change(actor, membership)
    elif not permissions.can_manage_users(actor):
        raise PermissionDenied(_("You may not change this user's access."))
    chosen = _company_lines(actor=actor, lines=lines)
    chosen_ids = [line.pk for line in chosen]
    Line.objects.filter(assigned_to=membership).exclude(pk__in=chosen_ids).update(assigned_to=None)
    Line.objects.filter(pk__in=chosen_ids).update(assigned_to=membership)
    audit_record(
        actor=actor.user,
        target=membership,
        event="member_lines_assigned",
        details={"lines": sorted(line.number for line in chosen)},
        action=LogEntry.Action.UPDATE,
    )
    return chosen


@transaction.atomic
def member_remove(*, actor: Membership, membership: Membership) -> None:
    """Take a user's access to the company away; their lines stay, unassigned."""
    _check_can_change(actor, membership)
    audit_record(
        actor=actor.user,
        target=membership,
        event="member_removed",
        details={"email": membership.user.email, "role": membership.role},
        action=LogEntry.Action.DELETE,
    )
    membership.delete()
