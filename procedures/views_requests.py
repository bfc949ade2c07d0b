"""The customer's requests: the list, the kinds a role may submit, each kind's form, and a request's page.

Every member sees the requests Request.visible_to gives them (the company's
for administrators and legal representatives, their own for a line user).
A kind a role may not submit is listed with who may, instead of a form
that would fail. The rules are procedures.services', the same the API and
the admin call; the pages only read the forms and report the outcome.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from procedures.documents import document_response
from procedures.forms import (
    AnswerForm,
    DocumentAddForm,
    MessageForm,
    RequestFilterForm,
    SubmissionDocumentsForm,
)
from procedures.kinds import RequestKindHandler, handler_for
from procedures.models import Request, RequestDocument, RequestStatus
from procedures.selectors import kinds_offered, request_page, requests_visible
from procedures.services import (
    RequestInvalidError,
    document_label,
    request_answer,
    request_document_add,
    request_message_send,
    request_submit,
)
from selfcare.forms import form_errors_from
from selfcare.views.base import CompanyView

REQUESTS_PER_PAGE = 20


def bootstrap_form(form: forms.Form) -> forms.Form:
    """Give the kind's widgets the portal's classes, whatever kind of field they are."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.RadioSelect | forms.CheckboxSelectMultiple | forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(widget, forms.Select):
            css = "form-select"
        else:
            css = "form-control"
        widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()
    return form


class RequestListView(CompanyView):
    """The requests the member may follow, newest first; kind and status filters kept in the query string."""

    def get(self, request: HttpRequest) -> HttpResponse:
        form = RequestFilterForm(request.GET or None)
        filters = form.filters()
        rows = requests_visible(membership=self.membership, filters=filters)
        page = Paginator(rows, REQUESTS_PER_PAGE).get_page(request.GET.get("page"))
        return render(
            request,
            "procedures/requests/list.html",
            {"form": form, "filters": filters, "page": page, "query": form.query()},
        )


class RequestNewView(CompanyView):
    """The kinds of request: those the role may submit, and for the others who may."""

    def get(self, request: HttpRequest) -> HttpResponse:
        offers = kinds_offered(membership=self.membership)
        return render(
            request,
            "procedures/requests/new.html",
            {
                "allowed": [offer for offer in offers if offer.allowed],
                "not_allowed": [offer for offer in offers if not offer.allowed],
            },
        )


class RequestCreateView(CompanyView):
    """The kind's form with its documents. A role that may not submit the kind is told so, with a 403."""

    handler: RequestKindHandler

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            self.handler = handler_for(kwargs["kind"])
        except KeyError as error:
            raise Http404 from error
        return super().dispatch(request, *args, **kwargs)

    def _page(
        self,
        request: HttpRequest,
        *,
        form: forms.Form | None,
        documents_form: forms.Form | None,
        status: int = 200,
    ) -> HttpResponse:
        allowed = self.handler.may_submit(self.membership)
        return render(
            request,
            "procedures/requests/create.html",
            {
                "handler": self.handler,
                "kind_label": self.handler.kind.label,
                "allowed": allowed,
                "form": bootstrap_form(form) if form is not None else None,
                "documents_form": bootstrap_form(documents_form) if documents_form is not None else None,
            },
            status=status,
        )

    def get(self, request: HttpRequest, kind: str) -> HttpResponse:
        if not self.handler.may_submit(self.membership):
            return self._page(request, form=None, documents_form=None, status=403)
        form_class = self.handler.form_class
        # A link may start the form from something (the fair-use finding a withdrawal follows):
        # only the form's own fields are taken, and checked on submission like anything typed.
        initial = {
            name: values if len(values) > 1 else values[0]
            for name, values in request.GET.lists()
            if name in form_class.base_fields
        }
        form = form_class(membership=self.membership, initial=initial)  # type: ignore[call-arg]
        return self._page(request, form=form, documents_form=SubmissionDocumentsForm(handler=self.handler))

    def post(self, request: HttpRequest, kind: str) -> HttpResponse:
        documents_form = SubmissionDocumentsForm(request.POST, request.FILES, handler=self.handler)
        try:
            created = request_submit(
                membership=self.membership, kind=kind, data=request.POST, files=request.FILES
            )
        except PermissionDenied:
            return self._page(request, form=None, documents_form=None, status=403)
        except RequestInvalidError as error:
            for role, problems in error.document_errors.items():
                for problem in problems:
                    documents_form.add_error(f"document_{role}", problem)
            return self._page(request, form=error.form, documents_form=documents_form, status=400)
        messages.success(
            request,
            _("Request %(reference)s received. Its receipt is below; we will tell you at every step.")
            % {"reference": created.reference},
        )
        return redirect("procedures:request-detail", pk=created.pk)


class RequestDetailView(CompanyView):
    """One request: its status and history, data, lines, documents, messages, and what the customer may do."""

    tenant_model = Request

    def render_page(
        self,
        request: HttpRequest,
        *,
        answer_form: forms.Form | None = None,
        document_form: forms.Form | None = None,
        message_form: forms.Form | None = None,
        status: int = 200,
    ) -> HttpResponse:
        page = request_page(request=self.object)
        open_request = not page.request.is_decided
        needs_info = page.request.status == RequestStatus.NEEDS_INFO
        return render(
            request,
            "procedures/requests/detail.html",
            {
                "page": page,
                "request_obj": page.request,
                # The kind's summary template reads `request` and `request_data_items` (procedures.kinds.base).
                "summary_context": {"request": page.request, "request_data_items": page.data_items},
                "request_data_items": page.data_items,
                "documents": [(d, document_label(page.handler, d.role)) for d in page.documents],
                "answer_form": bootstrap_form(answer_form or AnswerForm()) if needs_info else None,
                # Also while information is asked for: a document the kind expects later (the
                # theft complaint) must keep its role, which the answer's attachments do not carry.
                "document_form": (
                    bootstrap_form(document_form or DocumentAddForm(handler=page.handler))
                    if open_request
                    else None
                ),
                "message_form": bootstrap_form(message_form or MessageForm()) if open_request else None,
            },
            status=status,
        )

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self.render_page(request)


class RequestAnswerView(RequestDetailView):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return redirect("procedures:request-detail", pk=pk)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        form = AnswerForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                request_answer(
                    request=self.object,
                    membership=self.membership,
                    message=form.cleaned_data["message"],
                    files=form.cleaned_data["documents"],
                )
            except ValidationError as error:
                form_errors_from(error, form)
            else:
                messages.success(request, _("Answer sent: the request is back in review."))
                return redirect("procedures:request-detail", pk=pk)
        return self.render_page(request, answer_form=form, status=400)


class RequestDocumentAddView(RequestDetailView):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return redirect("procedures:request-detail", pk=pk)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        form = DocumentAddForm(request.POST, request.FILES, handler=handler_for(self.object.kind))
        if form.is_valid():
            try:
                request_document_add(
                    request=self.object,
                    membership=self.membership,
                    role=form.cleaned_data["role"],
                    upload=form.cleaned_data["file"],
                )
            except ValidationError as error:
                form_errors_from(error, form)
            else:
                messages.success(request, _("Document added to the request."))
                return redirect("procedures:request-detail", pk=pk)
        return self.render_page(request, document_form=form, status=400)


class RequestMessageView(RequestDetailView):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return redirect("procedures:request-detail", pk=pk)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        form = MessageForm(request.POST)
        if form.is_valid():
            try:
                request_message_send(
                    request=self.object, membership=self.membership, body=form.cleaned_data["message"]
                )
            except ValidationError as error:
                form_errors_from(error, form)
            else:
                messages.success(request, _("Message sent to our staff."))
                return redirect("procedures:request-detail", pk=pk)
        return self.render_page(request, message_form=form, status=400)


class RequestDocumentView(CompanyView):
    """A document (or the receipt) of a request the member may see, as an attachment."""

    tenant_model = Request

    def get(self, request: HttpRequest, pk: int, document_pk: int) -> FileResponse:
        try:
            document = RequestDocument.objects.select_related("request").get(
                pk=document_pk, request=self.object
            )
        except RequestDocument.DoesNotExist as error:
            raise Http404 from error
        return document_response(document)
