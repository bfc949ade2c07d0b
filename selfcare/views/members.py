"""Services and settings → Users: the company's users, their roles and lines."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from selfcare import permissions
from selfcare.forms import MemberChangeForm, MemberInviteForm, form_errors_from
from selfcare.models import Membership
from selfcare.selectors.companies import members_of_company
from selfcare.services.members import member_assign_lines, member_change_role, member_invite, member_remove
from selfcare.views.base import CompanyView

MEMBERS_PER_PAGE = 25


class MemberListView(CompanyView):
    capability = permissions.can_manage_users

    def get(self, request: HttpRequest) -> HttpResponse:
        page = Paginator(members_of_company(membership=self.membership), MEMBERS_PER_PAGE).get_page(
            request.GET.get("page")
        )
        return render(
            request,
            "selfcare/members/list.html",
            {
                "page": page,
                "can_change": {m.pk: permissions.can_change_membership(self.membership, m) for m in page},
            },
        )


class MemberInviteView(CompanyView):
    capability = permissions.can_manage_users

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(
            request, "selfcare/members/invite.html", {"form": MemberInviteForm(actor=self.membership)}
        )

    def post(self, request: HttpRequest) -> HttpResponse:
        form = MemberInviteForm(request.POST, actor=self.membership)
        if form.is_valid():
            try:
                member = member_invite(
                    actor=self.membership,
                    email=form.cleaned_data["email"],
                    name=form.cleaned_data["name"],
                    role=form.cleaned_data["role"],
                    lines=form.cleaned_data["lines"],
                )
            except ValidationError as error:
                form_errors_from(error, form)
            else:
                messages.success(
                    request,
                    _("%(email)s can now use the portal: we have sent them an e-mail.")
                    % {"email": member.user.email},
                )
                return redirect("selfcare:member-list")
        return render(request, "selfcare/members/invite.html", {"form": form}, status=400)


class MemberEditView(CompanyView):
    capability = permissions.can_manage_users
    tenant_model = Membership
    object: Membership

    def _render(self, request: HttpRequest, form: MemberChangeForm, status: int = 200) -> HttpResponse:
        return render(
            request,
            "selfcare/members/edit.html",
            {
                "member": self.object,
                "form": form,
                "can_change": permissions.can_change_membership(self.membership, self.object),
            },
            status=status,
        )

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._render(request, MemberChangeForm(actor=self.membership, member=self.object))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        form = MemberChangeForm(request.POST, actor=self.membership, member=self.object)
        if not permissions.can_change_membership(self.membership, self.object):
            messages.error(request, _("You may not change this user's access."))
            return self._render(request, form, status=403)
        if form.is_valid():
            try:
                member_change_role(
                    actor=self.membership, membership=self.object, role=form.cleaned_data["role"]
                )
                member_assign_lines(
                    actor=self.membership, membership=self.object, lines=form.cleaned_data["lines"]
                )
            except ValidationError as error:
                form_errors_from(error, form)
            else:
                messages.success(
                    request, _("The access of %(name)s has been updated.") % {"name": self.object.user}
                )
                return redirect("selfcare:member-list")
        return self._render(request, form, status=400)


class MemberRemoveView(CompanyView):
    capability = permissions.can_manage_users
    tenant_model = Membership
    object: Membership

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return render(
            request,
            "selfcare/members/remove.html",
            {
                "member": self.object,
                "can_change": permissions.can_change_membership(self.membership, self.object),
            },
        )

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not permissions.can_change_membership(self.membership, self.object):
            messages.error(request, _("You may not change this user's access."))
            return redirect("selfcare:member-list")
        name = str(self.object.user)
        member_remove(actor=self.membership, membership=self.object)
        messages.success(request, _("%(name)s no longer has access to this company.") % {"name": name})
        return redirect("selfcare:member-list")
