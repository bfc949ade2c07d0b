"""The fixed cast of the tests (ARCHITECTURE.md): company "Rossi" with its legal
representative, administrator and line user, and company "Bianchi", which
must stay invisible to all of them."""

from __future__ import annotations

from dataclasses import dataclass

from selfcare.models import Company, Line, Membership, Role
from tests.factories import CompanyFactory, LineFactory, MembershipFactory, UserFactory


@dataclass
class Cast:
    rossi: Company
    rossi_legal_rep: Membership
    rossi_admin: Membership
    rossi_line_user: Membership
    rossi_assigned_line: Line
    rossi_other_line: Line
    bianchi: Company
    bianchi_legal_rep: Membership
    bianchi_admin: Membership
    bianchi_line_user: Membership
    bianchi_line: Line

    def memberships_of_rossi(self) -> dict[str, Membership]:
        return {
            "legal_rep": self.rossi_legal_rep,
            "admin": self.rossi_admin,
            "line_user": self.rossi_line_user,
        }


def make_cast() -> Cast:
    rossi = CompanyFactory.create(
        name="Rossi Impianti S.r.l.",
        vat_number="IT01234560017",
        tax_code="01234560017",
        pec="rossi@pec.example.it",
    )
    bianchi = CompanyFactory.create(name="Bianchi Logistica S.p.A.")
    rossi_legal_rep = MembershipFactory.create(
        company=rossi,
        role=Role.LEGAL_REP,
        user=UserFactory.create(email="anna@rossi.example", name="Anna Rossi"),
    )
    rossi_admin = MembershipFactory.create(
        company=rossi,
        role=Role.ADMIN,
        user=UserFactory.create(email="marco@rossi.example", name="Marco Rossi"),
    )
    rossi_line_user = MembershipFactory.create(
        company=rossi,
        role=Role.LINE_USER,
        user=UserFactory.create(email="luca@rossi.example", name="Luca Verdi"),
    )
    bianchi_legal_rep = MembershipFactory.create(
        company=bianchi,
        role=Role.LEGAL_REP,
        user=UserFactory.create(email="giulia@bianchi.example", name="Giulia Bianchi"),
    )
    bianchi_admin = MembershipFactory.create(
        company=bianchi,
        role=Role.ADMIN,
        user=UserFactory.create(email="paolo@bianchi.example", name="Paolo Bianchi"),
    )
    bianchi_line_user = MembershipFactory.create(
        company=bianchi,
        role=Role.LINE_USER,
        user=UserFactory.create(email="sara@bianchi.example", name="Sara Neri"),
    )
    return Cast(
        rossi=rossi,
        rossi_legal_rep=rossi_legal_rep,
        rossi_admin=rossi_admin,
        rossi_line_user=rossi_line_user,
        rossi_assigned_line=LineFactory.create(
            company=rossi, assigned_to=rossi_line_user, cost_centre="Cantieri"
        ),
        rossi_other_line=LineFactory.create(company=rossi, cost_centre="Ufficio"),
        bianchi=bianchi,
        bianchi_legal_rep=bianchi_legal_rep,
        bianchi_admin=bianchi_admin,
        bianchi_line_user=bianchi_line_user,
        bianchi_line=LineFactory.create(company=bianchi, assigned_to=bianchi_line_user),
    )
