"""One tenancy mechanism: what each membership may see."""

from __future__ import annotations

import pytest
from django.http import Http404

from selfcare.models import Line, Membership
from selfcare.tenancy import get_visible_or_404, visible
from tests.cast import Cast

pytestmark = pytest.mark.django_db


def test_a_line_user_sees_only_the_lines_assigned_to_them(cast: Cast) -> None:
    lines = visible(Line, membership=cast.rossi_line_user)

    assert list(lines) == [cast.rossi_assigned_line]


@pytest.mark.parametrize("role", ["rossi_admin", "rossi_legal_rep"])
def test_administrators_and_legal_reps_see_every_line_of_their_company(cast: Cast, role: str) -> None:
    lines = visible(Line, membership=getattr(cast, role))

    assert set(lines) == {cast.rossi_assigned_line, cast.rossi_other_line}


@pytest.mark.parametrize("role", ["rossi_admin", "rossi_legal_rep", "rossi_line_user"])
def test_no_role_loads_a_line_of_another_company(cast: Cast, role: str) -> None:
    with pytest.raises(Http404):
        get_visible_or_404(Line, membership=getattr(cast, role), pk=cast.bianchi_line.pk)


def test_a_line_user_cannot_load_an_unassigned_line_of_their_own_company(cast: Cast) -> None:
    with pytest.raises(Http404):
        get_visible_or_404(Line, membership=cast.rossi_line_user, pk=cast.rossi_other_line.pk)


def test_no_membership_sees_nothing(cast: Cast) -> None:
    with pytest.raises(Http404):
        get_visible_or_404(Line, membership=None, pk=cast.rossi_assigned_line.pk)


def test_a_malformed_id_is_not_found_rather_than_an_error(cast: Cast) -> None:
    with pytest.raises(Http404):
        get_visible_or_404(Line, membership=cast.rossi_admin, pk="not-a-number")


def test_company_users_are_listed_only_to_those_who_manage_them(cast: Cast) -> None:
    assert set(visible(Membership, membership=cast.rossi_admin)) == set(cast.memberships_of_rossi().values())
    assert list(visible(Membership, membership=cast.rossi_line_user)) == [cast.rossi_line_user]
