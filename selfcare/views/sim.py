"""Lines and SIMs → a line's SIM: PIN and PUK, eSIM requests and activation codes.

Anyone who sees a line (a line user: the lines assigned to them) may see its
SIM secrets and ask for an eSIM. Secrets are shown after the password is
confirmed again, with `Cache-Control: no-store`, and each showing is audited
by the service. CompanyView comes first among the bases, so that a line the
user cannot see is a 404 before anything else, the password prompt included.
"""

from __future__ import annotations

import base64
import io
from typing import cast

import segno
from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from selfcare.auth import ReauthenticationRequiredMixin
from selfcare.forms import form_errors_from
from selfcare.models import EsimProfile, EsimStatus, Line, LineKind, LineStatus, User
from selfcare.services.esim import esim_code_show, esim_request, esim_views_left
from selfcare.services.sim import sim_secrets_show
from selfcare.views.base import CompanyView


class EsimRequestForm(forms.Form):
    eid = forms.CharField(
        label=gettext_lazy("EID of the device"),
        max_length=64,
        error_messages={
            "required": gettext_lazy("Enter the device's EID: 32 digits, shown by dialling *#06#.")
        },
        help_text=gettext_lazy(
            "32 digits. Dial *#06# on the device, or look in its settings: "
            "About (iPhone) or About phone → SIM status (Android)."
        ),
    )


def esim_qr_data_uri(code: str) -> str:
    """The activation code as a QR code: an SVG image in a data: URI, which the CSP allows (img-src data:)."""
    qr = segno.make(code, error="m")
    svg = io.BytesIO()
    qr.save(svg, kind="svg", scale=6, border=4, xmldecl=False, svgns=True, nl=False)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.getvalue()).decode("ascii")


def _profiles_of(line: Line) -> QuerySet[EsimProfile]:
    return line.esim_profiles.order_by("-created_at", "-id")


def _can_have_esim(line: Line) -> bool:
    return line.kind == LineKind.MOBILE and line.status != LineStatus.CEASED


class LineSimSecretsView(CompanyView, ReauthenticationRequiredMixin):
    tenant_model = Line

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        line: Line = self.object
        if line.kind != LineKind.MOBILE:
            raise Http404
        secrets = sim_secrets_show(line=line, actor=cast(User, request.user))
        return render(request, "selfcare/sim/secrets.html", {"line": line, "secrets": secrets})


class LineEsimView(CompanyView):
    tenant_model = Line

    def _render(self, request: HttpRequest, form: EsimRequestForm, *, status: int = 200) -> HttpResponse:
        line: Line = self.object
        profiles = list(_profiles_of(line))
        ready = next((p for p in profiles if p.status == EsimStatus.READY), None)
        return render(
            request,
            "selfcare/sim/esim.html",
            {
                "line": line,
                "form": form,
                "profiles": profiles,
                "ready": ready,
                "ready_views_left": esim_views_left(profile=ready) if ready else 0,
                "can_request": _can_have_esim(line) and ready is None,
                "can_have_esim": _can_have_esim(line),
            },
            status=status,
        )

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        if self.object.kind != LineKind.MOBILE:
            raise Http404
        return self._render(request, EsimRequestForm())

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        if self.object.kind != LineKind.MOBILE:
            raise Http404
        form = EsimRequestForm(request.POST)
        if form.is_valid():
            try:
                esim_request(line=self.object, eid=form.cleaned_data["eid"], actor=cast(User, request.user))
            except ValidationError as error:
                form_errors_from(error, form)
            else:
                messages.success(
                    request,
                    _(
                        "The eSIM profile is ready. Show its activation code when you have the "
                        "device at hand: it can be shown three times."
                    ),
                )
                return redirect("selfcare:line-esim", pk=self.object.pk)
        return self._render(request, form, status=400)


class EsimCodeView(CompanyView, ReauthenticationRequiredMixin):
    """GET asks to confirm, POST shows the code: a reload or a prefetch never spends a view."""

    tenant_model = Line

    def _profile(self, profile_pk: int) -> EsimProfile:
        profile: EsimProfile = self.get_visible(EsimProfile, pk=profile_pk, line_id=self.object.pk)
        return profile

    def get(self, request: HttpRequest, pk: int, profile_pk: int) -> HttpResponse:
        profile = self._profile(profile_pk)
        return render(
            request,
            "selfcare/sim/esim_code_confirm.html",
            {"line": self.object, "profile": profile, "views_left": esim_views_left(profile=profile)},
        )

    def post(self, request: HttpRequest, pk: int, profile_pk: int) -> HttpResponse:
        profile = self._profile(profile_pk)
        try:
            code = esim_code_show(profile=profile, actor=cast(User, request.user))
        except ValidationError as error:
            return render(
                request,
                "selfcare/sim/esim_code_refused.html",
                {"line": self.object, "profile": profile, "reason": " ".join(error.messages)},
                status=409,
            )
        return render(
            request,
            "selfcare/sim/esim_code.html",
            {
                "line": self.object,
                "profile": profile,
                "code": code,
                "qr_data_uri": esim_qr_data_uri(code),
                "views_left": esim_views_left(profile=profile),
            },
        )
