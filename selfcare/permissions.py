"""What each role may do: one function per capability, used by views, API and templates alike.

Roles (DOMAIN.md, "Who uses it"):
- a line user reaches only the lines assigned to them;
- a company administrator reaches every line, invoices, payments, traffic
  reports and the company's users (line users and administrators);
- a legal representative can do all of that and sign the legal forms.

Each capability is a function of the request's membership. Templates get
the same functions' answers as `capabilities.<name>` (selfcare.context_processors),
so a page never shows what its view would refuse.
"""

from __future__ import annotations

from collections.abc import Callable

from selfcare.models.companies import Membership, Role


def is_legal_rep(membership: Membership | None) -> bool:
    return membership is not None and membership.role == Role.LEGAL_REP


def is_admin(membership: Membership | None) -> bool:
    return membership is not None and membership.role == Role.ADMIN


def can_see_all_lines(membership: Membership | None) -> bool:
    return is_admin(membership) or is_legal_rep(membership)


def can_manage_users(membership: Membership | None) -> bool:
    return is_admin(membership) or is_legal_rep(membership)


def can_manage_billing(membership: Membership | None) -> bool:
    """Invoices and copies, payments and the payment method, company traffic reports."""
    return is_admin(membership) or is_legal_rep(membership)


def can_sign_legal_forms(membership: Membership | None) -> bool:
    """Withdrawal, takeover, company and tax data, exemptions, traffic details in clear."""
    return is_legal_rep(membership)


def can_manage_spending_cap(membership: Membership | None) -> bool:
    """A line's roaming spending cap (lowering it) and the consent to go on once it is reached: money of the company."""
    return is_admin(membership) or is_legal_rep(membership)


def can_use_api_tokens(membership: Membership | None) -> bool:
    return membership is not None


CAPABILITIES: dict[str, Callable[[Membership | None], bool]] = {
    "can_see_all_lines": can_see_all_lines,
    "can_manage_users": can_manage_users,
    "can_manage_billing": can_manage_billing,
    "can_sign_legal_forms": can_sign_legal_forms,
    "can_use_api_tokens": can_use_api_tokens,
}


def capabilities_of(membership: Membership | None) -> dict[str, bool]:
    return {name: check(membership) for name, check in CAPABILITIES.items()}


def roles_grantable_by(membership: Membership | None) -> list[Role]:
    """The roles this membership may give to others in its company.

    Only staff, the provisioning feed or an existing legal representative make
    someone a legal representative (DOMAIN.md): an administrator grants
    `line_user` and `admin`, never `legal_rep`, not even to themselves.
    """
    if is_legal_rep(membership):
        return [Role.LINE_USER, Role.ADMIN, Role.LEGAL_REP]
    if is_admin(membership):
        return [Role.LINE_USER, Role.ADMIN]
    return []


def can_change_membership(actor: Membership | None, target: Membership) -> bool:
    """Whether `actor` may change the role, lines or presence of `target`.

    An administrator manages line users and administrators; only a legal
    representative touches a legal representative's membership. Nobody edits
    their own membership here, so nobody locks themselves out by mistake.
    """
    if actor is None or actor.company_id != target.company_id or actor.pk == target.pk:
        return False
    if not can_manage_users(actor):
        return False
    return target.role in roles_grantable_by(actor)


def requires_two_factor(user: object) -> bool:
    """Two-factor authentication is required for staff, administrators and legal representatives."""
    if getattr(user, "is_staff", False):
        return True
    memberships = getattr(user, "memberships", None)
    if memberships is None:
        return False
    return bool(memberships.filter(role__in=[Role.ADMIN, Role.LEGAL_REP]).exists())
