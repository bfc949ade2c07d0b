"""Requests: every form of DOMAIN.md "Forms and procedures" through one mechanism.

A request has a kind, the company, who submitted it, the lines concerned,
the form's data (validated per kind by `procedures.kinds`, stored as JSON),
documents, a status with the history of every change, messages between the
customer and staff, and a reference number. What each kind's approval does
is the kind's code (`procedures.kinds`), not the model's.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from selfcare.models import Company, Line, Membership
from selfcare.tenancy import TenantQuerySet


class RequestKind(models.TextChoices):
    TAKEOVER = "takeover", _("Takeover (subentro)")
    WITHDRAWAL = "withdrawal", _("Withdrawal")
    COMPANY_DATA = "company_data", _("Company and tax data change")
    VAT_EXEMPTION = "vat_exemption", _("VAT exemption")
    CONCESSION_FEE_EXEMPTION = "concession_fee_exemption", _("Concession fee exemption")
    STAMP_DUTY_EXEMPTION = "stamp_duty_exemption", _("Stamp duty exemption")
    THEFT_LOSS = "theft_loss", _("Theft or loss")
    DIRECTORY_LISTING = "directory_listing", _("Phone directory listing")
    DISPUTE = "dispute", _("Dispute under the Budget Law 2020")
    CLEAR_NUMBERS = "clear_numbers", _("Traffic details in clear")
    ROAMING_CAP = "roaming_cap", _("Higher roaming spending cap")


class RequestStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    IN_REVIEW = "in_review", _("In review")
    NEEDS_INFO = "needs_info", _("Information needed")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


# Decided requests change no more (a new request is made instead).
DECIDED_STATUSES = frozenset({RequestStatus.APPROVED, RequestStatus.REJECTED})


class RequestQuerySet(TenantQuerySet["Request"]):
    def visible_to(self, membership: Membership) -> RequestQuerySet:
        """The company's requests for those who see every line; a line user sees the ones they submitted.

        A line user may submit only theft or loss for their own lines, so
        their own submissions are all they need to follow.
        """
        from selfcare import permissions

        requests = self.filter(company_id=membership.company_id)
        if permissions.can_see_all_lines(membership):
            return requests
        return requests.filter(submitted_by_id=membership.user_id)

    def open(self) -> RequestQuerySet:
        return self.exclude(status__in=DECIDED_STATUSES)


class Request(models.Model):
    """One form submitted by a company's user, and its review by staff."""

    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="requests", verbose_name=_("company")
    )
    kind = models.CharField(_("kind"), max_length=32, choices=RequestKind.choices)
    # R-YYYY-NNNNNN, given at submission (procedures.services); unique for good.
    reference = models.CharField(_("reference"), max_length=20, unique=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("submitted by")
    )
    submitted_at = models.DateTimeField(_("submitted at"), auto_now_add=True)
    status = models.CharField(
        _("status"), max_length=12, choices=RequestStatus.choices, default=RequestStatus.SUBMITTED
    )
    lines = models.ManyToManyField(Line, blank=True, related_name="requests", verbose_name=_("lines"))
    # The form's cleaned data, JSON-safe (dates as ISO strings, amounts as strings), by the kind's field names.
    data = models.JSONField(_("data"), default=dict, blank=True)
    # A date staff must watch: the theft complaint's deadline, a withdrawal's effective day.
    due_on = models.DateField(_("deadline"), null=True, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_requests",
        verbose_name=_("assigned to"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = RequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("request")
        verbose_name_plural = _("requests")
        ordering = ["-submitted_at", "-id"]
        indexes = [
            models.Index(fields=["company", "-submitted_at"], name="request_company_submitted"),
            models.Index(fields=["kind", "status"], name="request_kind_status"),
            models.Index(fields=["due_on"], condition=Q(due_on__isnull=False), name="request_due_on"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_decided(self) -> bool:
        return self.status in DECIDED_STATUSES


class RequestEvent(models.Model):
    """One change of a request: its status, an assignment, a document, a note; who and when."""

    request = models.ForeignKey(
        Request, on_delete=models.CASCADE, related_name="events", verbose_name=_("request")
    )
    at = models.DateTimeField(_("at"), auto_now_add=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
        help_text=_("Empty for the portal's own steps (a reminder, an escalation)."),
    )
    # What happened, e.g. "submitted", "status", "assigned", "document", "message", "reminder".
    action = models.CharField(_("action"), max_length=32)
    status_from = models.CharField(_("from status"), max_length=12, choices=RequestStatus.choices, blank=True)
    status_to = models.CharField(_("to status"), max_length=12, choices=RequestStatus.choices, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("request event")
        verbose_name_plural = _("request history")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.request_id} {self.action} {self.at:%Y-%m-%d %H:%M}"


class RequestMessage(models.Model):
    """A message between the customer and staff about a request."""

    request = models.ForeignKey(
        Request, on_delete=models.CASCADE, related_name="messages", verbose_name=_("request")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    from_staff = models.BooleanField(_("from staff"), default=False)
    body = models.TextField(_("message"))
    sent_at = models.DateTimeField(_("sent at"), auto_now_add=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["sent_at", "id"]

    def __str__(self) -> str:
        return f"{self.request_id} {self.sent_at:%Y-%m-%d %H:%M}"


def request_document_path(document: RequestDocument, filename: str) -> str:
    """Private storage path: by company and request, under a name the portal chose (never the uploader's)."""
    return f"requests/{document.request.company_id}/{document.request_id}/{filename}"


class RequestDocumentQuerySet(TenantQuerySet["RequestDocument"]):
    def visible_to(self, membership: Membership) -> RequestDocumentQuerySet:
        """The documents of the requests the membership may see (Request.visible_to)."""
        return self.filter(request__in=Request.objects.visible_to(membership))


class RequestDocument(models.Model):
    """A document of a request: uploaded (checked by content) or generated by the portal (receipt, letter)."""

    request = models.ForeignKey(
        Request, on_delete=models.CASCADE, related_name="documents", verbose_name=_("request")
    )
    # What the document is for the kind (e.g. "identity", "police_complaint", "receipt", "letter").
    role = models.CharField(_("document"), max_length=32)
    file = models.FileField(_("file"), upload_to=request_document_path, max_length=300)
    # The name the uploader gave, for display only.
    original_name = models.CharField(_("file name"), max_length=200)
    # Read from the bytes (python-magic), never from the name.
    content_type = models.CharField(_("type"), max_length=40)
    size = models.PositiveIntegerField(_("size in bytes"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    generated = models.BooleanField(_("made by the portal"), default=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    objects = RequestDocumentQuerySet.as_manager()

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.original_name
