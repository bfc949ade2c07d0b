"""The customer's request pages: list with filters, the kinds a role may submit, a kind's form, a request's page."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from procedures.models import Request, RequestStatus
from procedures.services import request_ask_info
from selfcare.models import User
from tests.cast import Cast
from tests.conftest import log_in
from tests.procedures.requests_helpers import (
    directory_listing_data,
    pdf_upload,
    submit_listing,
    upload,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_storage")]


@pytest.fixture(autouse=True)
def _english(client: Client) -> None:
    # The texts are checked in English; the Italian ones come with the lead's translations.
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def test_the_section_links_the_requests(cast: Cast, client: Client) -> None:
    response = log_in(client, cast.rossi_admin).get(reverse("selfcare:dashboard"))
    assert reverse("procedures:request-list") in response.content.decode()


def test_empty_list_says_so_and_offers_a_request(cast: Cast, client: Client) -> None:
    response = log_in(client, cast.rossi_admin).get(reverse("procedures:request-list"))

    assert 'id="request-empty"' in response.content.decode()


def test_list_filters_by_kind_and_status(cast: Cast, client: Client) -> None:
    listing = submit_listing(cast.rossi_admin)
    other = submit_listing(cast.rossi_admin)
    Request.objects.filter(pk=other.pk).update(status=RequestStatus.REJECTED)
    log_in(client, cast.rossi_admin)

    page = client.get(reverse("procedures:request-list"), {"status": "submitted"}).content.decode()
    assert listing.reference in page
    assert other.reference not in page
    page = client.get(reverse("procedures:request-list"), {"kind": "dispute"}).content.decode()
    assert 'id="request-empty"' in page
    assert "No request matches these filters" in page


def test_a_line_user_sees_only_their_own_requests(cast: Cast, client: Client) -> None:
    listing = submit_listing(cast.rossi_admin)

    page = log_in(client, cast.rossi_line_user).get(reverse("procedures:request-list")).content.decode()

    assert listing.reference not in page
    assert client.get(reverse("procedures:request-detail", args=[listing.pk])).status_code == 404


def test_the_new_request_page_says_who_may_submit_what(cast: Cast, client: Client) -> None:
    page = log_in(client, cast.rossi_admin).get(reverse("procedures:request-new")).content.decode()

    allowed = page[page.index('id="kinds-allowed"') : page.index('id="kinds-not-allowed"')]
    not_allowed = page[page.index('id="kinds-not-allowed"') :]
    assert reverse("procedures:request-create", args=["directory_listing"]) in allowed
    assert 'id="kind-company_data"' in not_allowed
    assert "Only a legal representative" in not_allowed
    assert reverse("procedures:request-create", args=["company_data"]) not in page


def test_a_role_that_may_not_submit_is_told_instead_of_shown_the_form(cast: Cast, client: Client) -> None:
    log_in(client, cast.rossi_admin)
    url = reverse("procedures:request-create", args=["company_data"])

    response = client.get(url)
    assert response.status_code == 403
    page = response.content.decode()
    assert 'id="kind-not-allowed"' in page
    assert 'id="request-form"' not in page
    assert client.post(url, {"name": "X"}).status_code == 403
    assert not Request.objects.exists()


def test_an_unknown_kind_is_404(cast: Cast, client: Client) -> None:
    assert (
        log_in(client, cast.rossi_admin)
        .get(reverse("procedures:request-create", args=["nothing"]))
        .status_code
        == 404
    )


def test_bad_input_keeps_the_data_and_shows_the_errors(cast: Cast, client: Client) -> None:
    log_in(client, cast.rossi_legal_rep)
    data: dict[str, Any] = {
        "name": "Rossi Impianti Nuova",
        "vat_number": "IT01234560018",
        "tax_code": "01234560017",
        "street": "Via Torino 5",
        "postcode": "2012",
        "city": "Milano",
        "province": "MI",
        "pec": "nuova@pec.example.it",
    }

    response = client.post(reverse("procedures:request-create", args=["company_data"]), data)

    assert response.status_code == 400
    page = response.content.decode()
    assert 'value="Rossi Impianti Nuova"' in page
    assert 'value="Via Torino 5"' in page
    assert "is not a valid Italian VAT number" in page
    assert "A postcode (CAP) has five digits" in page
    assert "Attach this document" in page
    assert not Request.objects.exists()


def test_submitting_a_kind_leads_to_its_page_with_the_receipt(cast: Cast, client: Client) -> None:
    log_in(client, cast.rossi_admin)

    response = client.post(
        reverse("procedures:request-create", args=["directory_listing"]),
        directory_listing_data(cast.rossi_admin),
        follow=True,
    )

    request = Request.objects.get()
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("procedures:request-detail", args=[request.pk])
    assert request.reference in page
    assert 'id="request-receipt"' in page
    assert "Rossi Impianti" in page[page.index('id="request-data"') :]
    assert 'id="request-history"' in page


def test_the_customer_answers_a_request_for_information(cast: Cast, client: Client, staff: User) -> None:
    request = submit_listing(cast.rossi_admin)
    request_ask_info(request=request, by=staff, message="Which address?")
    log_in(client, cast.rossi_legal_rep)
    page = client.get(reverse("procedures:request-detail", args=[request.pk])).content.decode()
    assert 'id="request-answer-form"' in page
    assert "Which address?" in page

    empty = client.post(reverse("procedures:request-answer", args=[request.pk]), {"message": ""})
    assert empty.status_code == 400
    assert "Write an answer or attach a document" in empty.content.decode()
    response = client.post(
        reverse("procedures:request-answer", args=[request.pk]),
        {"message": "Via Roma 1", "documents": [pdf_upload("a.pdf"), pdf_upload("b.pdf")]},
        follow=True,
    )

    assert "back in review" in response.content.decode()
    request.refresh_from_db()
    assert request.status == RequestStatus.IN_REVIEW
    assert request.documents.filter(role="additional").count() == 2


def test_a_refused_upload_is_explained(cast: Cast, client: Client) -> None:
    request = submit_listing(cast.rossi_admin)
    log_in(client, cast.rossi_admin)

    response = client.post(
        reverse("procedures:request-document-add", args=[request.pk]),
        {"role": "additional", "file": upload("evil.pdf", b"<html><script>x</script></html>")},
    )

    assert response.status_code == 400
    assert "not a PDF, a JPEG or a PNG" in response.content.decode()
    assert request.documents.filter(role="additional").count() == 0


def test_a_message_to_staff(cast: Cast, client: Client) -> None:
    request = submit_listing(cast.rossi_admin)
    log_in(client, cast.rossi_admin)

    response = client.post(
        reverse("procedures:request-message", args=[request.pk]), {"message": "Any news?"}, follow=True
    )

    assert "Message sent" in response.content.decode()
    assert request.messages.get().body == "Any news?"


def test_the_pages_speak_italian(cast: Cast, client: Client) -> None:
    log_in(client, cast.rossi_admin)
    response = client.get(reverse("procedures:request-list"), HTTP_ACCEPT_LANGUAGE="it")
    assert response.status_code == 200
    assert '<html lang="it"' in response.content.decode()
    english = client.get(reverse("procedures:request-list"))
    assert '<html lang="en"' in english.content.decode()
    assert "No request yet." in english.content.decode()


# What every portal page costs (session, user, membership, the header's badges) plus the count and one
# page of requests with their submitters: the same for 1 or 4 rows.
LIST_QUERIES = 10


def test_the_list_query_count_does_not_grow_with_the_rows(
    cast: Cast, client: Client, pinned_queries: Any
) -> None:
    log_in(client, cast.rossi_admin)
    submit_listing(cast.rossi_admin)
    first = pinned_queries(reverse("procedures:request-list"), queries=LIST_QUERIES)
    for _ in range(3):
        submit_listing(cast.rossi_legal_rep)

    more = pinned_queries(reverse("procedures:request-list"), queries=LIST_QUERIES)

    assert first.content.decode().count('id="request-') < more.content.decode().count('id="request-')
