"""The forms of the requests' pages: the list's filters, the documents of a new request, answers and messages.

A kind's own fields are its form (procedures.kinds); the rules of the
documents (type read from the bytes, size) are procedures.documents', run
by the services: these forms only read what was sent.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from procedures.kinds import DocumentRequirement, RequestKindHandler, registered_handlers
from procedures.models import RequestKind, RequestStatus
from procedures.selectors import RequestFilters
from procedures.services import ADDITIONAL_DOCUMENT, DOCUMENT_FIELD_PREFIX, submission_documents

# What the file inputs offer to choose (the server reads the bytes anyway).
ACCEPTED_FILES = "application/pdf,image/jpeg,image/png,.pdf,.jpg,.jpeg,.png"
_UPLOAD_HELP = _("PDF, JPEG or PNG, at most 10 MB.")


class RequestFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Request"), required=False)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *RequestStatus.choices]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kinds = {str(handler.kind) for handler in registered_handlers()}
        self.fields["kind"].choices = [  # type: ignore[attr-defined]
            ("", _("Any request")),
            *((value, label) for value, label in RequestKind.choices if value in kinds),
        ]

    def filters(self) -> RequestFilters:
        """The valid filters; a field with an error is ignored (and shown with its error)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return RequestFilters(kind=data.get("kind") or "", status=data.get("status") or "")

    def query(self) -> str:
        filters = self.filters()
        return urlencode(
            [(name, value) for name, value in (("kind", filters.kind), ("status", filters.status)) if value]
        )


def _file_input() -> forms.ClearableFileInput:
    return forms.ClearableFileInput(attrs={"accept": ACCEPTED_FILES})


def document_field(requirement: DocumentRequirement) -> forms.FileField:
    help_text = f"{requirement.help_text} {_UPLOAD_HELP}" if requirement.help_text else _UPLOAD_HELP
    return forms.FileField(
        label=str(requirement.label), required=False, help_text=help_text, widget=_file_input()
    )


class SubmissionDocumentsForm(forms.Form):
    """One file input per document the kind asks for with the form (`document_<role>`).

    Not required here: the service says which are missing, with the same
    message the API gives, and checks each file's content.
    """

    def __init__(self, *args: Any, handler: RequestKindHandler, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.requirements = submission_documents(handler)
        for requirement in self.requirements:
            field = document_field(requirement)
            if requirement.required:
                field.widget.attrs["aria-required"] = "true"
            self.fields[f"{DOCUMENT_FIELD_PREFIX}{requirement.role}"] = field


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files under one name (Django's documented pattern); each is checked by the service."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPTED_FILES}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile[bytes]]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class AnswerForm(forms.Form):
    """The customer's answer to a request for information."""

    message = forms.CharField(
        label=_("Your answer"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 4})
    )
    documents = MultipleFileField(
        label=_("Documents"),
        required=False,
        help_text=_("One or more files. PDF, JPEG or PNG, at most 10 MB each."),
    )


class DocumentAddForm(forms.Form):
    """A document after submission: one the kind asks for later, or another one."""

    role = forms.ChoiceField(label=_("Document"))
    file = forms.FileField(label=_("File"), help_text=_UPLOAD_HELP, widget=_file_input())

    def __init__(self, *args: Any, handler: RequestKindHandler, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        later = [(r.role, r.label) for r in handler.documents if not r.at_submission]
        self.fields["role"].choices = [*later, (ADDITIONAL_DOCUMENT, _("Other document"))]  # type: ignore[attr-defined]


class MessageForm(forms.Form):
    message = forms.CharField(label=_("Message"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))
