"""Help and contacts: the pages staff maintain, public, in two languages, searchable."""

from __future__ import annotations

import importlib
from io import StringIO
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from selfcare.help_content import HELP_PAGES
from selfcare.models import HelpCategory, HelpPage
from selfcare.navigation import SECTIONS_BY_SLUG
from selfcare.selectors.help import help_pages_search, help_pages_search_simple
from selfcare.services.help import HelpPageData, help_pages_load
from tests.cast import Cast
from tests.factories import UserFactory, give_totp

pytestmark = pytest.mark.django_db


@pytest.fixture
def help_pages(db: None) -> None:
    help_pages_load(pages=HELP_PAGES)


def page_data(**fields: Any) -> HelpPageData:
    data: HelpPageData = {
        "slug": "test-page",
        "category": HelpCategory.CODES,
        "position": 1,
        "title_it": "Pagina di prova",
        "title_en": "Test page",
        "body_it": "Testo di prova.",
        "body_en": "Test text.",
    }
    return {**data, **fields}  # type: ignore[typeddict-item]


# The content and its loader


def test_the_starting_content_has_every_page_the_faq_points_to_in_both_languages() -> None:
    slugs = {page["slug"] for page in HELP_PAGES}

    assert len(HELP_PAGES) >= 8
    assert len(slugs) == len(HELP_PAGES)
    assert {"contacts", "ussd-codes", "apn-internet", "modem-router-settings", "voicemail-abroad"} <= slugs
    assert {"register-of-objections", "business-app"} <= slugs
    for page in HELP_PAGES:
        assert all(page[field].strip() for field in ("title_it", "title_en", "body_it", "body_en")), page[
            "slug"
        ]
        assert page["category"] in HelpCategory.values
    contacts = next(page for page in HELP_PAGES if page["slug"] == "contacts")
    for body in (contacts["body_it"], contacts["body_en"]):
        for fact in ("1928", "8:00", "20:00", "24", "+39 320 5000199", "+39 327 2122942"):
            assert fact in body
    register = next(page for page in HELP_PAGES if page["slug"] == "register-of-objections")
    assert "https://www.registrodelleopposizioni.it/" in register["body_it"]
    assert "https://www.registrodelleopposizioni.it/" in register["body_en"]


def test_the_data_migration_gives_every_installation_the_help_pages(db: None) -> None:
    migration = importlib.import_module("selfcare.migrations.0005_help_pages")
    HelpPage.objects.all().delete()

    migration.load(django_apps, None)
    migration.load(django_apps, None)

    assert sorted(HelpPage.objects.values_list("slug", flat=True)) == sorted(
        page["slug"] for page in HELP_PAGES
    )


def test_loading_the_help_pages_twice_adds_them_once(db: None) -> None:
    HelpPage.objects.all().delete()

    assert help_pages_load(pages=HELP_PAGES) == len(HELP_PAGES)

    assert help_pages_load(pages=HELP_PAGES) == 0
    assert HelpPage.objects.count() == len(HELP_PAGES)


def test_loading_again_keeps_what_staff_changed_and_restores_what_they_deleted(help_pages: None) -> None:
    HelpPage.objects.filter(slug="contacts").update(
        title_en="Call us", body_en="Edited by staff.", published=False
    )
    HelpPage.objects.filter(slug="business-app").delete()

    added = help_pages_load(pages=HELP_PAGES)

    assert added == 1
    contacts = HelpPage.objects.get(slug="contacts")
    assert (contacts.title_en, contacts.body_en, contacts.published) == ("Call us", "Edited by staff.", False)
    assert HelpPage.objects.filter(slug="business-app").exists()


def test_the_load_help_pages_command_is_idempotent(db: None) -> None:
    out = StringIO()
    call_command("load_help_pages", stdout=out)
    call_command("load_help_pages", stdout=out)

    assert HelpPage.objects.count() == len(HELP_PAGES)
    assert f"Help pages: 0 added, {len(HELP_PAGES)} already there." in out.getvalue()


# The pages


def test_a_visitor_who_is_not_logged_in_reads_the_help_index_with_the_contacts(
    client: Client, help_pages: None
) -> None:
    response = client.get(reverse("selfcare:help"), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    content = response.content.decode()
    assert "Help and contacts</h1>" in content
    assert 'href="tel:1928"' in content
    assert "+39 320 5000199" in content
    assert "+39 327 2122942" in content
    assert "APN internet.it: setting up internet on a smartphone" in content
    assert "Contacts and opening hours" in content  # a category heading
    # The header works for visitors: a Help link, the search box, a login link.
    assert 'id="header-help-q"' in content
    assert reverse("account_login") in content


def test_a_visitor_reads_a_help_page_in_italian_and_in_english(client: Client, help_pages: None) -> None:
    url = reverse("selfcare:help-page", kwargs={"slug": "apn-internet"})

    italian = client.get(url, HTTP_ACCEPT_LANGUAGE="it").content.decode()
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "APN internet.it: configurare internet sullo smartphone" in italian
    assert "Nome utente e password: lasciali vuoti" in italian
    assert "APN internet.it: setting up internet on a smartphone" in english
    assert "User name and password: leave them empty" in english
    # Blank lines in the text are paragraphs.
    assert english.count("<p>") >= 5


def test_the_register_of_objections_page_links_to_the_official_register(
    client: Client, help_pages: None
) -> None:
    url = reverse("selfcare:help-page", kwargs={"slug": "register-of-objections"})

    content = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert '<a href="https://www.registrodelleopposizioni.it/"' in content
    assert "This portal registers nobody" in content


def test_an_unpublished_or_unknown_help_page_is_not_found(client: Client, help_pages: None) -> None:
    HelpPage.objects.filter(slug="voicemail-abroad").update(published=False)

    assert client.get(reverse("selfcare:help-page", kwargs={"slug": "voicemail-abroad"})).status_code == 404
    assert client.get(reverse("selfcare:help-page", kwargs={"slug": "no-such-page"})).status_code == 404
    index = client.get(reverse("selfcare:help"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Voicemail from abroad" not in index


def test_html_in_a_help_page_is_shown_as_text_not_run(client: Client) -> None:
    help_pages_load(
        pages=[
            page_data(
                slug="hostile",
                title_en="<b>Bold</b> title",
                body_en='Hello <script>alert("x")</script>\n\n<img src=x onerror=alert(1)> see https://example.org/?a=<b>',
            )
        ]
    )

    content = client.get(
        reverse("selfcare:help-page", kwargs={"slug": "hostile"}), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()

    assert "<script>alert" not in content
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in content
    assert "<img src=x" not in content
    assert "<b>Bold</b>" not in content
    assert "&lt;b&gt;Bold&lt;/b&gt; title" in content


def test_a_logged_in_user_finds_help_in_the_sections_menu(
    client_as: Any, cast: Cast, help_pages: None
) -> None:
    client = client_as(cast.rossi_line_user)

    content = client.get(reverse("selfcare:help"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert SECTIONS_BY_SLUG["help"].url == reverse("selfcare:help")
    assert f'<a class="nav-link active" href="{reverse("selfcare:help")}"' in content


# The search


def titles(pages: list[HelpPage]) -> list[str]:
    return [page.slug for page in pages]


def test_searching_apn_finds_the_apn_page_first(help_pages: None) -> None:
    for language in ("it", "en"):
        found = help_pages_search(query="APN", language=language)

        assert found, language
        assert found[0].slug == "apn-internet", language
        assert "modem-router-settings" in titles(found)
        assert "contacts" not in titles(found)


def test_italian_search_finds_other_forms_of_a_word(help_pages: None) -> None:
    """The Italian dictionary stems words: the plural finds the singular."""
    found = help_pages_search(query="segreterie", language="it")

    assert titles(found)[0] == "voicemail-abroad"
    assert help_pages_search(query="segreterie", language="en") == []


def test_english_search_ranks_a_title_match_above_a_text_match(help_pages: None) -> None:
    found = help_pages_search(query="voicemail", language="en")

    assert titles(found)[0] == "voicemail-abroad"
    assert help_pages_search(query="routers", language="en")[0].slug == "modem-router-settings"


def test_search_leaves_out_unpublished_pages(help_pages: None) -> None:
    HelpPage.objects.filter(slug="apn-internet").update(published=False)

    assert "apn-internet" not in titles(help_pages_search(query="APN", language="it"))
    assert "apn-internet" not in titles(help_pages_search_simple(query="APN", language="it"))


def test_search_takes_any_input_without_failing(help_pages: None) -> None:
    for query in ("", "   ", "&|!:*()'\"", "-", "a" * 5000, "OR AND NOT"):
        assert isinstance(help_pages_search(query=query, language="it"), list)


def test_the_simple_search_without_full_text_finds_every_word_title_matches_first(help_pages: None) -> None:
    found = help_pages_search_simple(query="apn", language="it")

    assert found[0].slug == "apn-internet"
    assert "modem-router-settings" in titles(found)
    assert titles(help_pages_search_simple(query="apn modem", language="en")) == ["modem-router-settings"]
    assert help_pages_search_simple(query="segreterie", language="it") == []  # no stemming there
    assert help_pages_search_simple(query="  ", language="it") == []


def test_the_search_page_is_public_and_shows_the_results(client: Client, help_pages: None) -> None:
    response = client.get(reverse("selfcare:help-search"), {"q": "APN"}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    content = response.content.decode()
    assert "pages found for “APN”" in content
    assert reverse("selfcare:help-page", kwargs={"slug": "apn-internet"}) in content
    assert 'value="APN"' in content


def test_an_empty_search_leads_to_the_help_index(client: Client, help_pages: None) -> None:
    response = client.get(reverse("selfcare:help-search"), {"q": "  "})

    assert response.status_code == 302
    assert response["Location"] == reverse("selfcare:help")


def test_a_search_with_no_result_says_so_and_gives_the_contacts(client: Client, help_pages: None) -> None:
    response = client.get(
        reverse("selfcare:help-search"), {"q": "<i>zanzibar</i>"}, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 200
    content = response.content.decode()
    assert "Nothing found for “&lt;i&gt;zanzibar&lt;/i&gt;”." in content
    assert "<i>zanzibar" not in content
    assert 'href="tel:1928"' in content


# The API


def test_the_help_api_is_public_and_shows_only_published_pages(help_pages: None) -> None:
    client = APIClient()
    HelpPage.objects.filter(slug="business-app").update(published=False)

    listing = client.get("/api/v1/help/")
    page = client.get("/api/v1/help/apn-internet/")

    assert listing.status_code == 200
    slugs = {row["slug"] for row in listing.json()["results"]}
    assert "apn-internet" in slugs
    assert "business-app" not in slugs
    assert page.status_code == 200
    assert page.json()["title_it"] == "APN internet.it: configurare internet sullo smartphone"
    assert "internet.it" in page.json()["body_en"]
    assert client.get("/api/v1/help/business-app/").status_code == 404
    assert client.post("/api/v1/help/", {}).status_code == 405


# The admin


@pytest.mark.usefixtures("staff_groups")
def test_customer_care_edits_a_help_page_in_the_admin_and_a_later_load_keeps_it(
    client: Client, help_pages: None
) -> None:
    staff = UserFactory.create(email="assistenza@operatore.example.it", is_staff=True)
    give_totp(staff)
    staff.groups.add(Group.objects.get(name="Customer care"))
    client.force_login(staff)
    page = HelpPage.objects.get(slug="contacts")
    url = reverse("admin:selfcare_helppage_change", args=[page.pk])

    form = client.get(url)
    response = client.post(
        url,
        {
            "slug": "contacts",
            "category": HelpCategory.CONTACTS,
            "position": 5,
            "published": "on",
            "title_it": "Contatti",
            "title_en": "Contacts",
            "body_it": "Chiama il 1928.",
            "body_en": "Call 1928.",
        },
    )
    help_pages_load(pages=HELP_PAGES)

    assert form.status_code == 200
    assert 'name="title_it"' in form.content.decode()
    assert 'name="body_en"' in form.content.decode()
    assert response.status_code == 302
    page.refresh_from_db()
    assert (page.title_en, page.body_en, page.position) == ("Contacts", "Call 1928.", 5)
    english = client.get(
        reverse("selfcare:help-page", kwargs={"slug": "contacts"}), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "Call 1928." in english.content.decode()
