"""Help and contacts: the information pages the operator's FAQ points to, maintained by staff."""

from __future__ import annotations

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class HelpCategory(models.TextChoices):
    CODES = "codes", _("Useful codes and services")
    SETTINGS = "settings", _("Settings and configuration")
    ABROAD = "abroad", _("Abroad")
    CONTACTS = "contacts", _("Contacts and opening hours")
    PRIVACY = "privacy", _("Privacy and your rights")
    APP = "app", _("The app")


class HelpPage(models.Model):
    """A public help page, in Italian and English."""

    slug = models.SlugField(_("address"), max_length=80, unique=True)
    category = models.CharField(_("category"), max_length=12, choices=HelpCategory.choices)
    title_it = models.CharField(_("title (Italian)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200)
    body_it = models.TextField(
        _("text (Italian)"), help_text=_("Plain text; blank lines separate paragraphs.")
    )
    body_en = models.TextField(
        _("text (English)"), help_text=_("Plain text; blank lines separate paragraphs.")
    )
    position = models.PositiveSmallIntegerField(_("position"), default=100)
    published = models.BooleanField(_("published"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("help page")
        verbose_name_plural = _("help pages")
        ordering = ["category", "position", "slug"]

    def __str__(self) -> str:
        return self.title_en

    @property
    def title(self) -> str:
        return self.title_it if (get_language() or "it").startswith("it") else self.title_en

    @property
    def body(self) -> str:
        return self.body_it if (get_language() or "it").startswith("it") else self.body_en
