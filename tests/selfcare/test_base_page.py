"""The base page: sections, languages and the security headers every page carries."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from selfcare.navigation import SECTIONS
from tests.cast import Cast

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _logged_in(client_as: Any, cast: Cast) -> None:
    """Every page of the portal needs a login: these tests see it as Rossi's legal representative."""
    client_as(cast.rossi_legal_rep)


def test_the_base_page_names_every_section_of_the_operator(client: Client) -> None:
    response = client.get(reverse("selfcare:dashboard"), HTTP_ACCEPT_LANGUAGE="en")

    content = response.content.decode()
    for title in (
        "Invoices and usage",
        "Lines and SIMs",
        "Abroad",
        "Reports",
        "Services and settings",
        "Procedures and documents",
        "Help and contacts",
    ):
        assert title in content
    assert len(SECTIONS) == 7


def test_the_base_page_speaks_italian_by_default(client: Client) -> None:
    response = client.get(reverse("selfcare:dashboard"))

    assert '<html lang="it">' in response.content.decode()
    assert "Fatture e consumi" in response.content.decode()


def test_choosing_english_is_remembered(client: Client) -> None:
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302

    response = client.get(reverse("selfcare:dashboard"))

    assert '<html lang="en">' in response.content.decode()
    assert "Invoices and usage" in response.content.decode()


def test_every_page_carries_a_csp_with_no_third_party_origin(client: Client) -> None:
    response = client.get(reverse("selfcare:dashboard"))

    policy = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["frame-ancestors"] == "'none'"
    assert directives["default-src"] == "'self'"
    assert "'unsafe-inline'" not in policy
    for sources in directives.values():
        for source in sources.split():
            assert source.startswith("'") or source in {"data:"}, source
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_page_has_no_inline_script_or_style(client: Client) -> None:
    content = client.get(reverse("selfcare:dashboard")).content.decode()
    response = client.get(reverse("selfcare:dashboard"))
    nonce = response.wsgi_request.csp_nonce  # type: ignore[attr-defined]

    for chunk in content.split("<script")[1:]:
        tag = chunk.split(">", 1)[0]
        assert "src=" in tag or f'nonce="{nonce}"' in tag
    assert "<style" not in content
    assert " style=" not in content


def test_an_unknown_section_is_not_found(client: Client) -> None:
    response = client.get(reverse("selfcare:section", kwargs={"slug": "nowhere"}))

    assert response.status_code == 404
