"""Roles: what each may do (DOMAIN.md, "Who uses it")."""

from __future__ import annotations

import pytest

from selfcare import permissions
from selfcare.models import Role
from tests.cast import Cast

pytestmark = pytest.mark.django_db


def test_only_a_legal_rep_signs_legal_forms(cast: Cast) -> None:
    assert permissions.can_sign_legal_forms(cast.rossi_legal_rep)
    assert not permissions.can_sign_legal_forms(cast.rossi_admin)
    assert not permissions.can_sign_legal_forms(cast.rossi_line_user)
    assert not permissions.can_sign_legal_forms(None)


def test_an_admin_cannot_grant_the_legal_rep_role(cast: Cast) -> None:
    assert Role.LEGAL_REP not in permissions.roles_grantable_by(cast.rossi_admin)
    assert Role.LEGAL_REP in permissions.roles_grantable_by(cast.rossi_legal_rep)
    assert permissions.roles_grantable_by(cast.rossi_line_user) == []


def test_an_admin_cannot_change_a_legal_reps_membership(cast: Cast) -> None:
    assert not permissions.can_change_membership(cast.rossi_admin, cast.rossi_legal_rep)
    assert permissions.can_change_membership(cast.rossi_admin, cast.rossi_line_user)
    assert permissions.can_change_membership(cast.rossi_legal_rep, cast.rossi_admin)


def test_nobody_changes_their_own_membership_or_another_companys(cast: Cast) -> None:
    assert not permissions.can_change_membership(cast.rossi_legal_rep, cast.rossi_legal_rep)
    assert not permissions.can_change_membership(cast.rossi_legal_rep, cast.bianchi_line_user)


def test_two_factor_is_required_for_staff_admins_and_legal_reps(cast: Cast) -> None:
    assert permissions.requires_two_factor(cast.rossi_legal_rep.user)
    assert permissions.requires_two_factor(cast.rossi_admin.user)
    assert not permissions.requires_two_factor(cast.rossi_line_user.user)
