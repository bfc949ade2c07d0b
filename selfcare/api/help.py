"""The API of the help pages: public, like the pages themselves (CONTRACTS.md, "HTTP")."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import mixins, serializers
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from selfcare.models import HelpPage


class HelpPageSerializer(serializers.ModelSerializer[HelpPage]):
    """A help page in both languages: plain text, blank lines between paragraphs."""

    class Meta:
        model = HelpPage
        fields = ["slug", "category", "position", "title_it", "title_en", "body_it", "body_en", "updated_at"]


class PublishedHelpPagesView(GenericAPIView[HelpPage]):
    # Public, like the pages: no login needed; the anonymous throttle still applies.
    permission_classes = [AllowAny]
    serializer_class = HelpPageSerializer

    def get_queryset(self) -> QuerySet[HelpPage]:
        # Unpublished pages do not exist for callers, as on the pages.
        return HelpPage.objects.filter(published=True)


class HelpPageListView(mixins.ListModelMixin, PublishedHelpPagesView):
    """The published help pages."""

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)


class HelpPageDetailView(mixins.RetrieveModelMixin, PublishedHelpPagesView):
    """One published help page, by its slug."""

    lookup_field = "slug"

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.retrieve(request, *args, **kwargs)
