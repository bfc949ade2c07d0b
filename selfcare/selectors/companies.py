"""Reads about companies, memberships and lines."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, QuerySet

from selfcare.models import Company, Line, LineQuerySet, Membership, Role, User


def memberships_of(*, user: User) -> QuerySet[Membership]:
    """The companies a user may work in, for the company switcher."""
    return Membership.objects.filter(user=user).select_related("company").order_by("company__name")


def membership_for_session(*, user: User | AnonymousUser, membership_id: object) -> Membership | None:
    """The membership selected in the session, if it is still the user's; else their first one."""
    if not user.is_authenticated:
        return None
    memberships = memberships_of(user=user)
    if isinstance(membership_id, int):
        selected = memberships.filter(pk=membership_id).first()
        if selected is not None:
            return selected
    return memberships.first()


def company_managers(*, company: Company) -> list[User]:
    """The company's active administrators and legal representatives: who manages its contract and is told of it."""
    return list(
        User.objects.filter(
            memberships__company=company, memberships__role__in=[Role.ADMIN, Role.LEGAL_REP], is_active=True
        )
        .distinct()
        .order_by("pk")
    )


def lines_visible_to(*, membership: Membership) -> LineQuerySet:
    return Line.objects.visible_to(membership)


def members_of_company(*, membership: Membership) -> QuerySet[Membership]:
    """The company's users as `membership` may see them, with what their rows show."""
    return (
        Membership.objects.visible_to(membership)
        .select_related("user")
        .annotate(line_count=Count("assigned_lines"))
        .order_by("user__name", "user__email")
    )
