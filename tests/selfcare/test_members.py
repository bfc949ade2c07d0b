"""Services and settings → Users: invitations, roles, lines and removal."""

from __future__ import annotations

from typing import Any

import pytest
from auditlog.models import LogEntry
from django.test import Client
from django.urls import reverse

from selfcare.models import Line, Membership, Notification, Role, User
from tests.cast import Cast
from tests.factories import LineFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def invite(client: Client, **data: Any) -> Any:
    # In English, so that the tests can read the messages.
    return client.post(reverse("selfcare:member-invite"), data, HTTP_ACCEPT_LANGUAGE="en")


def test_an_admin_invites_a_new_user_and_gives_them_a_line(cast: Cast, client_as: Any) -> None:
    client = client_as(cast.rossi_admin)

    response = invite(
        client,
        email="Nuovo.Utente@Rossi.example",
        name="Nuovo Utente",
        role="line_user",
        lines=[cast.rossi_other_line.pk],
    )

    assert response.status_code == 302
    member = Membership.objects.get(company=cast.rossi, user__email="nuovo.utente@rossi.example")
    assert member.role == Role.LINE_USER
    assert not member.user.has_usable_password()
    assert list(member.assigned_lines.all()) == [cast.rossi_other_line]
    invitation = Notification.objects.get(user=member.user, event="member_invited", channel="email")
    assert "/accounts/password/reset/key/" in invitation.body
    assert LogEntry.objects.filter(
        additional_data__event="member_invited", actor=cast.rossi_admin.user
    ).exists()


def test_inviting_an_existing_member_says_so_and_changes_nothing(cast: Cast, client_as: Any) -> None:
    client = client_as(cast.rossi_admin)
    before = Membership.objects.count()

    response = invite(client, email=cast.rossi_line_user.user.email, name="Luca", role="admin")

    assert response.status_code == 400
    assert "is already a user of this company" in response.content.decode()
    assert Membership.objects.count() == before
    cast.rossi_line_user.refresh_from_db()
    assert cast.rossi_line_user.role == Role.LINE_USER


def test_a_user_of_another_company_can_be_invited_and_keeps_their_login(cast: Cast, client_as: Any) -> None:
    consultant = cast.bianchi_admin.user

    response = invite(client_as(cast.rossi_legal_rep), email=consultant.email, name="x", role="admin")

    assert response.status_code == 302
    assert set(consultant.memberships.values_list("company__name", flat=True)) == {
        cast.rossi.name,
        cast.bianchi.name,
    }
    assert User.objects.get(pk=consultant.pk).has_usable_password()


def test_an_admin_is_not_offered_the_legal_rep_role_and_cannot_force_it(cast: Cast, client_as: Any) -> None:
    client = client_as(cast.rossi_admin)

    page = client.get(reverse("selfcare:member-invite")).content.decode()
    response = invite(client, email="capo@rossi.example", name="Capo", role="legal_rep")

    assert 'value="legal_rep"' not in page
    assert response.status_code == 400
    assert not User.objects.filter(email="capo@rossi.example").exists()


def test_an_admin_cannot_raise_anyone_to_legal_rep_by_editing(cast: Cast, client_as: Any) -> None:
    client = client_as(cast.rossi_admin)

    response = client.post(
        reverse("selfcare:member-edit", args=[cast.rossi_line_user.pk]), {"role": "legal_rep"}
    )

    assert response.status_code == 400
    cast.rossi_line_user.refresh_from_db()
    assert cast.rossi_line_user.role == Role.LINE_USER


def test_an_admin_cannot_change_their_own_role(cast: Cast, client_as: Any) -> None:
    client = client_as(cast.rossi_admin)

    response = client.post(reverse("selfcare:member-edit", args=[cast.rossi_admin.pk]), {"role": "line_user"})

    assert response.status_code == 403
    cast.rossi_admin.refresh_from_db()
    assert cast.rossi_admin.role == Role.ADMIN


def test_a_legal_rep_may_make_another_legal_rep(cast: Cast, client_as: Any) -> None:
    client = client_as(cast.rossi_legal_rep)

    response = client.post(
        reverse("selfcare:member-edit", args=[cast.rossi_admin.pk]),
        {"role": "legal_rep", "lines": []},
    )

    assert response.status_code == 302
    cast.rossi_admin.refresh_from_db()
    assert cast.rossi_admin.role == Role.LEGAL_REP
    assert LogEntry.objects.filter(additional_data__event="member_role_changed").exists()


def test_assigning_lines_replaces_the_previous_assignment(cast: Cast, client_as: Any) -> None:
    client = client_as(cast.rossi_admin)

    response = client.post(
        reverse("selfcare:member-edit", args=[cast.rossi_line_user.pk]),
        {"role": "line_user", "lines": [cast.rossi_other_line.pk]},
    )

    assert response.status_code == 302
    assert list(cast.rossi_line_user.assigned_lines.all()) == [cast.rossi_other_line]


def test_a_line_of_another_company_cannot_be_assigned(cast: Cast, client_as: Any) -> None:
    client = client_as(cast.rossi_admin)

    response = client.post(
        reverse("selfcare:member-edit", args=[cast.rossi_line_user.pk]),
        {"role": "line_user", "lines": [cast.bianchi_line.pk]},
    )

    assert response.status_code == 400
    cast.bianchi_line.refresh_from_db()
    assert cast.bianchi_line.assigned_to == cast.bianchi_line_user


def test_removing_a_user_keeps_their_lines_unassigned(cast: Cast, client_as: Any) -> None:
    client = client_as(cast.rossi_admin)
    line = cast.rossi_assigned_line

    response = client.post(reverse("selfcare:member-remove", args=[cast.rossi_line_user.pk]))

    assert response.status_code == 302
    assert not Membership.objects.filter(pk=cast.rossi_line_user.pk).exists()
    line.refresh_from_db()
    assert line.assigned_to is None
    assert Line.objects.filter(pk=line.pk).exists()


def test_a_line_user_cannot_manage_users(cast: Cast, client_as: Any) -> None:
    client = client_as(cast.rossi_line_user)

    assert client.get(reverse("selfcare:member-list")).status_code == 403
    assert invite(client, email="x@rossi.example", name="x", role="line_user").status_code == 403


def test_another_companys_member_is_not_found(cast: Cast, client_as: Any) -> None:
    client = client_as(cast.rossi_legal_rep)

    assert client.get(reverse("selfcare:member-edit", args=[cast.bianchi_admin.pk])).status_code == 404
    assert client.post(reverse("selfcare:member-remove", args=[cast.bianchi_admin.pk])).status_code == 404
    assert Membership.objects.filter(pk=cast.bianchi_admin.pk).exists()


# Session, user, selected membership, the page's count and rows, the
# switcher's memberships, the unread count, and the session saved (savepoint,
# update, release).
QUERIES_OF_USERS_PAGE = 10


def test_the_users_page_has_a_fixed_number_of_queries(
    cast: Cast, client_as: Any, pinned_queries: Any
) -> None:
    client_as(cast.rossi_admin)
    url = reverse("selfcare:member-list")
    pinned_queries(url, queries=QUERIES_OF_USERS_PAGE)

    for member in MembershipFactory.create_batch(10, company=cast.rossi):
        LineFactory.create_batch(2, company=cast.rossi, assigned_to=member)

    pinned_queries(url, queries=QUERIES_OF_USERS_PAGE)


def test_the_lines_page_shows_a_line_user_only_their_lines(cast: Cast, client_as: Any) -> None:
    LineFactory.create_batch(3, company=cast.rossi)

    content = client_as(cast.rossi_line_user).get(reverse("selfcare:line-list")).content.decode()

    assert cast.rossi_assigned_line.number in content
    assert cast.rossi_other_line.number not in content
    assert cast.bianchi_line.number not in content


def test_switching_company_works_only_for_ones_own_memberships(cast: Cast, client_as: Any) -> None:
    consultant = Membership.objects.create(
        user=cast.rossi_admin.user, company=cast.bianchi, role=Role.LINE_USER
    )
    client = client_as(cast.rossi_admin)

    client.post(reverse("selfcare:company-switch"), {"membership": consultant.pk, "next": "/"})
    assert client.get(reverse("selfcare:dashboard")).wsgi_request.membership == consultant

    response = client.post(reverse("selfcare:company-switch"), {"membership": cast.bianchi_legal_rep.pk})
    assert response.status_code == 302
    assert client.get(reverse("selfcare:dashboard")).wsgi_request.membership == consultant


def test_a_new_user_is_invited_by_e_mail_only(cast: Cast, client_as: Any) -> None:
    invite(client_as(cast.rossi_admin), email="jane@rossi.example", name="Jane Smith", role="admin")
    user = User.objects.get(email="jane@rossi.example")

    invitations = Notification.objects.filter(user=user, event="member_invited")

    assert [n.channel for n in invitations] == ["email"]


def test_an_invitation_speaks_the_language_of_the_invited_not_of_the_inviter(
    cast: Cast, client_as: Any
) -> None:
    consultant = cast.bianchi_admin.user
    consultant.language = "en"
    consultant.save(update_fields=["language"])

    client_as(cast.rossi_legal_rep).post(
        reverse("selfcare:member-invite"),
        {"email": consultant.email, "name": "x", "role": "admin"},
        HTTP_ACCEPT_LANGUAGE="it",
    )

    invitation = Notification.objects.get(user=consultant, event="member_invited", channel="email")
    assert "as Company administrator" in invitation.body


def test_staff_never_see_the_password_link_of_an_invitation(
    cast: Cast, client_as: Any, client: Client
) -> None:
    from tests.factories import UserFactory, give_totp

    invite(client_as(cast.rossi_admin), email="nuovo@rossi.example", name="Nuovo", role="line_user")
    invitation = Notification.objects.get(user__email="nuovo@rossi.example")
    staff = UserFactory.create(email="root@operatore.example.it", is_staff=True, is_superuser=True)
    give_totp(staff)
    client.force_login(staff)

    page = client.get(
        reverse("admin:selfcare_notification_change", args=[invitation.pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()

    assert "/accounts/password/reset/key/" in invitation.body
    assert "/accounts/password/reset/key/" not in page
    assert "[hidden: the message carries a one-time secret]" in page


def test_the_outbox_keeps_no_copy_of_an_invitation_once_it_is_sent(cast: Cast, client_as: Any) -> None:
    from django.core import mail

    from selfcare.services.notifications import TEXT_AFTER_DELIVERY, notification_deliver

    invite(client_as(cast.rossi_admin), email="nuovo@rossi.example", name="Nuovo", role="line_user")
    invitation = Notification.objects.get(user__email="nuovo@rossi.example")

    notification_deliver(notification_id=invitation.pk)

    invitation.refresh_from_db()
    assert "/accounts/password/reset/key/" in mail.outbox[-1].body
    assert invitation.status == "sent"
    assert invitation.body == TEXT_AFTER_DELIVERY
