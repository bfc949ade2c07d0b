"""A line's services: VoLTE, premium services (VAS) barring and their history.

The block lives on the line page (templates/selfcare/lines/detail_services.html);
the actions here post to it. Through htmx, VoLTE and restoring the barring
answer with the block itself; without it, every action redirects with a message.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from selfcare.models import Line
from selfcare.services.line_services import (
    CODE_DIGITS,
    CODE_VALIDITY,
    MAX_ATTEMPTS,
    line_volte_set,
    vas_barring_lift,
    vas_barring_restore,
    vas_code_pending,
    vas_unlock_code_send,
)
from selfcare.views.base import CompanyView


class VolteForm(forms.Form):
    enabled = forms.TypedChoiceField(
        label=gettext_lazy("VoLTE"),
        choices=[("on", gettext_lazy("On")), ("off", gettext_lazy("Off"))],
        coerce=lambda value: value == "on",
    )


class VasCodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code received by SMS"),
        max_length=20,
        help_text=gettext_lazy("The %(digits)d digits of the SMS sent to the line.")
        % {"digits": CODE_DIGITS},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


def line_page_url(line: Line) -> str:
    """The line page, where the Services block is; this part's own page until the line page exists."""
    try:
        return reverse("selfcare:line-detail", args=[line.pk]) + "#line-services"
    except NoReverseMatch:
        return reverse("selfcare:line-services", args=[line.pk])


def _message(error: ValidationError) -> str:
    return " ".join(error.messages)


class LineServicesMixin(CompanyView):
    tenant_model = Line
    object: Line

    def block(self, request: HttpRequest, *, message: str, level: str, status: int = 200) -> HttpResponse:
        """The Services block alone, for htmx, with the action's outcome in it."""
        self.object.refresh_from_db()
        return render(
            request,
            "selfcare/lines/detail_services.html",
            {"line": self.object, "services_message": message, "services_message_level": level},
            status=status,
        )

    def outcome(self, request: HttpRequest, *, message: str, ok: bool) -> HttpResponse:
        if getattr(request, "htmx", False):
            # htmx swaps only a 2xx answer in by default: a refusal is a 200 showing the error.
            return self.block(request, message=message, level="success" if ok else "danger")
        (messages.success if ok else messages.error)(request, message)
        return redirect(line_page_url(self.object))


class LineServicesView(LineServicesMixin):
    """The Services block on a page of its own, under the line."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return render(
            request,
            "selfcare/services/line_services.html",
            {"line": self.object, "line_url": line_page_url(self.object)},
        )


class LineVolteView(LineServicesMixin):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        form = VolteForm(request.POST)
        if not form.is_valid():
            return self.outcome(request, message=_("Choose whether VoLTE is on or off."), ok=False)
        enabled: bool = form.cleaned_data["enabled"]
        try:
            line_volte_set(line=self.object, enabled=enabled, actor=self.membership)
        except ValidationError as error:
            return self.outcome(request, message=_message(error), ok=False)
        message = (
            _("VoLTE is now on for %(number)s.") if enabled else _("VoLTE is now off for %(number)s.")
        ) % {"number": self.object.number}
        return self.outcome(request, message=message, ok=True)


class LineVasCodeSendView(LineServicesMixin):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            vas_unlock_code_send(line=self.object, actor=self.membership)
        except ValidationError as error:
            messages.error(request, _message(error))
            if vas_code_pending(line=self.object) is not None:
                # A code is on its way already: the form to enter it is where to be.
                return redirect("selfcare:line-services-vas", pk=self.object.pk)
            return redirect(line_page_url(self.object))
        messages.success(
            request,
            _(
                "We have sent a code by SMS to %(number)s. Enter it below within %(minutes)d minutes "
                "to allow premium services."
            )
            % {"number": self.object.number, "minutes": int(CODE_VALIDITY.total_seconds() // 60)},
        )
        return redirect("selfcare:line-services-vas", pk=self.object.pk)


class LineVasLiftView(LineServicesMixin):
    """The form to enter the code that lifts the barring."""

    def _render(self, request: HttpRequest, form: VasCodeForm, status: int = 200) -> HttpResponse:
        return render(
            request,
            "selfcare/services/vas_code.html",
            {
                "line": self.object,
                "form": form,
                "line_url": line_page_url(self.object),
                "code_pending": vas_code_pending(line=self.object),
                "minutes": int(CODE_VALIDITY.total_seconds() // 60),
                "max_attempts": MAX_ATTEMPTS,
            },
            status=status,
        )

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._render(request, VasCodeForm())

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        form = VasCodeForm(request.POST)
        if form.is_valid():
            try:
                vas_barring_lift(line=self.object, code=form.cleaned_data["code"], actor=self.membership)
            except ValidationError as error:
                form.add_error("code", error.messages)
            else:
                messages.success(
                    request,
                    _("Premium services are now allowed on %(number)s.") % {"number": self.object.number},
                )
                return redirect(line_page_url(self.object))
        return self._render(request, form, status=400)


class LineVasRestoreView(LineServicesMixin):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            vas_barring_restore(line=self.object, actor=self.membership)
        except ValidationError as error:
            return self.outcome(request, message=_message(error), ok=False)
        return self.outcome(
            request,
            message=_("Premium services are barred again on %(number)s.") % {"number": self.object.number},
            ok=True,
        )
