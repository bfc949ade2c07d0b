"""The portal's sections, as the operator's own area names them.

One list feeds the header, the dashboard and the section pages, so a section
is added or renamed in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Section:
    slug: str
    title: str | Promise
    summary: str | Promise
    # Until a later feature gives a section pages of its own, it links to
    # the generic section page, which says what is coming.
    url_name: str = "selfcare:section"
    # Other paths whose pages belong to the section, for the header's highlight.
    also_under: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        if self.url_name == "selfcare:section":
            return reverse(self.url_name, kwargs={"slug": self.slug})
        return reverse(self.url_name)


SECTIONS: tuple[Section, ...] = (
    Section(
        "invoices",
        _("Invoices and usage"),
        _("Invoices, electronic invoices and copies, payments, traffic reports."),
        "billing:invoice-list",
        also_under=("/traffic/",),
    ),
    Section(
        "lines",
        _("Lines and SIMs"),
        _("Your lines, SIM and eSIM details, residual credit and recharges."),
        "selfcare:line-list",
        # The lines' fair-use findings and measures (billing.views_fair_use).
        also_under=("/fair-use/",),
    ),
    Section(
        "abroad",
        _("Abroad"),
        _("Roaming status, rates by country, the spending cap and a trip calculator."),
        "roaming:abroad",
    ),
    Section(
        "insight",
        _("Reports"),
        _("Spend per month and per cost centre, traffic per day, top lines, roaming by country, alerts."),
        "insight:dashboard",
        also_under=("/insight/",),
    ),
    Section(
        "services",
        _("Services and settings"),
        _("Line services, premium services barring, users, payment method."),
        "selfcare:settings",
    ),
    Section(
        "procedures",
        _("Procedures and documents"),
        _("Requests and forms, theft and loss, activation orders, documents."),
        "procedures:request-list",
        # Fixed-line activation orders (procedures.views_activation).
        also_under=("/activations/",),
    ),
    Section(
        "help",
        _("Help and contacts"),
        _("Settings, useful codes, contacts and opening hours."),
        "selfcare:help",
    ),
)

SECTIONS_BY_SLUG = {section.slug: section for section in SECTIONS}
