"""What the customer sees of fair use: the page, a finding's page, the line page's section, the API; who sees what."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from billing.models import FairUseFinding, FairUseMeasure, FairUseRule
from tests.billing.fair_use_rows import RULE_4_FIGURES, make_finding
from tests.cast import Cast
from tests.factories import LineFactory

pytestmark = pytest.mark.django_db

ROME = ZoneInfo("Europe/Rome")
TODAY = datetime(2026, 12, 2, 10, 0, tzinfo=ROME)
DAY = TODAY.date()
PAGE = reverse("billing:fair-use")
API = "/api/v1/fair-use/findings/"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture(autouse=True)
def today(time_machine: Any) -> None:
    time_machine.move_to(TODAY, tick=False)


def measure(finding: FairUseFinding, kind: str, **dates: Any) -> FairUseMeasure:
    """A measure as the services leave it (their own tests are in test_fair_use_measures.py)."""
    status = "warned" if kind == "warning" else "measure"
    FairUseFinding.objects.filter(pk=finding.pk).update(status=status)
    return FairUseMeasure.objects.create(
        finding=finding, company_id=finding.company_id, line_id=finding.line_id, kind=kind, **dates
    )


@pytest.fixture
def findings(cast: Cast) -> dict[str, FairUseFinding]:
    """Rossi: a speed-limited finding on the assigned line, an open rule-4 finding on the other; Bianchi: one of its own."""
    limited = make_finding(cast.rossi_assigned_line)
    measure(limited, "speed_limit", starts_on=DAY - timedelta(days=1), ends_on=date(2026, 12, 9))
    open_one = make_finding(
        cast.rossi_other_line,
        rule="4",
        period="month",
        period_start=date(2026, 11, 1),
        metrics=RULE_4_FIGURES,
    )
    bianchi = make_finding(cast.bianchi_line)
    return {"limited": limited, "open": open_one, "bianchi": bianchi}


def english(client: Client) -> Client:
    client.defaults.update(EN)
    return client


# ---------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------
def test_an_admin_sees_every_finding_with_the_rule_in_words_figures_and_measures(
    client_as: Any, cast: Cast, findings: dict[str, FairUseFinding]
) -> None:
    page = client_as(cast.rossi_admin).get(PAGE, **EN)
    text = page.content.decode()

    assert page.status_code == 200
    assert "2 findings" in text
    assert cast.rossi_assigned_line.number in text
    assert cast.rossi_other_line.number in text
    assert cast.bianchi_line.number not in text
    # Rule 1 in words, with the limits of the rows; its figures against them.
    assert "In one day, more than 160 min of outgoing calls, or more than 200 outgoing SMS and MMS." in text
    assert "Outgoing call minutes: <strong>161 min</strong>" in text
    # Rule 4 (a month): shares as percentages, the operator, and the base a share counts from.
    assert "In one month, more than 40% of the outgoing call minutes" in text
    assert "A share counts only when its total reaches 60 minutes or messages." in text
    assert "<strong>62.5%</strong>" in text
    assert "operator TIM" in text
    # The measure, and the customer's right to withdraw with the link to how.
    assert "Data speed limited from 12/01/2026 to 12/09/2026, both included." in text
    assert "You may withdraw at once, without penalties." in text
    assert 'href="/requests/new/withdrawal/"' in text


def test_the_page_is_in_italian_by_default_with_italian_numbers(
    client_as: Any, cast: Cast, findings: dict[str, FairUseFinding]
) -> None:
    text = client_as(cast.rossi_admin).get(PAGE).content.decode()

    assert '<html lang="it">' in text
    assert "Linee e SIM" in text  # the breadcrumb's parent section, translated already
    assert "<strong>62,5%</strong>" in text


def test_the_rule_filter_names_the_rules_in_the_pages_language(client_as: Any, cast: Cast) -> None:
    client = client_as(cast.rossi_admin)

    italian = client.get(PAGE).content.decode()
    english = client.get(PAGE, **EN).content.decode()

    assert "1: Traffico giornaliero in uscita" in italian
    assert "1: Daily outgoing traffic" in english


def test_a_line_user_sees_only_the_findings_of_assigned_lines(
    client_as: Any, cast: Cast, findings: dict[str, FairUseFinding]
) -> None:
    client = english(client_as(cast.rossi_line_user))

    text = client.get(PAGE).content.decode()

    assert "1 finding" in text
    assert cast.rossi_assigned_line.number in text
    assert cast.rossi_other_line.number not in text
    assert client.get(reverse("billing:fair-use-finding", args=[findings["limited"].pk])).status_code == 200
    assert client.get(reverse("billing:fair-use-finding", args=[findings["open"].pk])).status_code == 404


@pytest.mark.parametrize("role", ["rossi_legal_rep", "rossi_admin", "rossi_line_user"])
def test_another_companys_finding_is_not_found(
    client_as: Any, cast: Cast, findings: dict[str, FairUseFinding], role: str
) -> None:
    client = client_as(getattr(cast, role))

    assert client.get(reverse("billing:fair-use-finding", args=[findings["bianchi"].pk])).status_code == 404
    assert client.get(f"{API}{findings['bianchi'].pk}/").status_code == 404


def test_the_filters_narrow_and_stay_in_the_pages_links(
    client_as: Any, cast: Cast, findings: dict[str, FairUseFinding]
) -> None:
    for day in range(1, 26):
        make_finding(cast.rossi_other_line, rule="1", period_start=date(2026, 10, day))
    client = english(client_as(cast.rossi_legal_rep))

    by_rule = client.get(PAGE, {"rule": "4"})
    by_line = client.get(PAGE, {"line": str(cast.rossi_other_line.pk), "status": "open", "rule": "1"})
    by_status = client.get(PAGE, {"status": "measure"})
    foreign_line = client.get(PAGE, {"line": cast.bianchi_line.pk})

    assert list(by_rule.context["page"]) == [findings["open"]]
    assert by_line.context["page"].paginator.count == 25
    assert (
        f"?line={cast.rossi_other_line.pk}&amp;status=open&amp;rule=1&amp;page=2" in by_line.content.decode()
    )
    assert list(by_status.context["page"]) == [findings["limited"]]
    # Another company's line is no choice: the filter is refused and every finding shown.
    assert foreign_line.context["form"].errors["line"]
    assert foreign_line.context["page"].paginator.count == 27


def test_the_empty_states(client_as: Any, cast: Cast) -> None:
    client = english(client_as(cast.rossi_admin))

    nothing = client.get(PAGE).content.decode()
    make_finding(cast.rossi_other_line)
    filtered = client.get(PAGE, {"status": "dismissed"}).content.decode()

    assert "No line has gone beyond the limits of our fair use policy." in nothing
    assert "No finding matches these filters." in filtered


def test_a_findings_page_says_the_rule_the_figures_the_measures_and_how_to_withdraw(
    client_as: Any, cast: Cast, findings: dict[str, FairUseFinding]
) -> None:
    suspended = make_finding(
        cast.rossi_assigned_line,
        rule="2",
        period="month",
        period_start=date(2026, 11, 1),
        metrics=[{"metric": "voice_minutes", "measured": "1300.50", "limit": "1250"}],
    )
    measure(suspended, "suspension", notice_on=DAY, effective_on=date(2026, 12, 20), note="Call 1928.")
    client = english(client_as(cast.rossi_admin))

    text = client.get(reverse("billing:fair-use-finding", args=[suspended.pk])).content.decode()
    open_text = client.get(reverse("billing:fair-use-finding", args=[findings["open"].pk])).content.decode()

    assert "In one month, more than 1250 min of outgoing calls" in text
    assert "1300.50 min" in text
    assert "Notice given on" in text
    assert "the line will be suspended on" in text
    assert "Call 1928." in text
    assert "you may withdraw from the contract at once, without any penalty." in text
    # The form starts from this finding: the request says it follows the measure.
    assert f'href="/requests/new/withdrawal/?finding={suspended.pk}"' in text
    assert "How to withdraw" not in open_text
    assert "No measure for now." in open_text


# ---------------------------------------------------------------------------
# Queries: fixed whatever the number of findings and measures
# ---------------------------------------------------------------------------
LIST_QUERIES = 14
DETAIL_QUERIES = 13
LINE_PAGE_QUERIES = 16
API_LIST_QUERIES = 6


def more_findings(cast: Cast, count: int) -> None:
    for day in range(count):
        finding = make_finding(
            cast.rossi_assigned_line,
            rule="6",
            period_start=date(2026, 10, 1) + timedelta(days=day),
            metrics=[{"metric": "topup_sms_count", "measured": "60", "limit": "50"}],
        )
        measure(finding, "speed_limit", starts_on=DAY, ends_on=DAY + timedelta(days=day))


@pytest.mark.parametrize("extra", [0, 30])
def test_the_list_pages_queries_are_pinned(
    client_as: Any, cast: Cast, findings: dict[str, FairUseFinding], pinned_queries: Any, extra: int
) -> None:
    more_findings(cast, extra)
    client_as(cast.rossi_admin)

    pinned_queries(f"{PAGE}?rule=&status=", queries=LIST_QUERIES)
    pinned_queries(reverse("billing:fair-use-finding", args=[findings["limited"].pk]), queries=DETAIL_QUERIES)


@pytest.mark.parametrize("extra", [0, 12])
def test_the_line_pages_queries_stay_the_same_with_its_findings(
    client_as: Any, cast: Cast, findings: dict[str, FairUseFinding], pinned_queries: Any, extra: int
) -> None:
    more_findings(cast, extra)
    client_as(cast.rossi_admin)

    pinned_queries(
        reverse("selfcare:line-detail", args=[cast.rossi_assigned_line.pk]), queries=LINE_PAGE_QUERIES
    )


@pytest.mark.parametrize("extra", [0, 30])
def test_the_api_lists_queries_are_pinned(
    api_client_for: Any,
    cast: Cast,
    findings: dict[str, FairUseFinding],
    django_assert_num_queries: Any,
    extra: int,
) -> None:
    more_findings(cast, extra)
    api = api_client_for(cast.rossi_admin)

    with django_assert_num_queries(API_LIST_QUERIES):
        response = api.get(API)

    assert response.status_code == 200


# ---------------------------------------------------------------------------
# The line page and the navigation
# ---------------------------------------------------------------------------
def test_the_line_page_shows_open_findings_and_measures_in_force(
    client_as: Any, cast: Cast, findings: dict[str, FairUseFinding]
) -> None:
    suspended = make_finding(cast.rossi_other_line, rule="2", period="month", period_start=date(2026, 10, 1))
    measure(suspended, "suspension", notice_on=DAY, effective_on=date(2026, 12, 20))
    ended = make_finding(cast.rossi_assigned_line, rule="6", period_start=date(2026, 9, 1))
    measure(ended, "speed_limit", starts_on=date(2026, 9, 5), ends_on=date(2026, 9, 10))
    client = english(client_as(cast.rossi_admin))

    assigned = client.get(
        reverse("selfcare:line-detail", args=[cast.rossi_assigned_line.pk])
    ).content.decode()
    other = client.get(reverse("selfcare:line-detail", args=[cast.rossi_other_line.pk])).content.decode()

    assert "The data speed of this line is limited today." in assigned
    assert "Data speed limited from 12/01/2026 until 12/09/2026." in assigned
    assert "09/10/2026" not in assigned
    assert f'href="{PAGE}?line={cast.rossi_assigned_line.pk}"' in assigned
    assert "Suspension on" in other
    assert "Rule 4 (Outgoing traffic to a single other operator), 2026-11" in other
    assert "limited today" not in other


def test_a_line_without_findings_has_no_fair_use_section(client_as: Any, cast: Cast) -> None:
    text = (
        client_as(cast.rossi_admin)
        .get(reverse("selfcare:line-detail", args=[cast.rossi_other_line.pk]))
        .content
    )
    assert b'id="line-fair-use"' not in text


def test_the_page_belongs_to_lines_and_sims_and_is_linked_from_the_lines(client_as: Any, cast: Cast) -> None:
    client = english(client_as(cast.rossi_line_user))

    page = client.get(PAGE)
    lines = client.get(reverse("selfcare:line-list")).content.decode()

    assert page.context["current_section"] == "lines"
    assert f'href="{PAGE}"' in lines


# ---------------------------------------------------------------------------
# The API
# ---------------------------------------------------------------------------
def test_the_api_lists_findings_with_figures_words_and_measures(
    api_client_for: Any, cast: Cast, findings: dict[str, FairUseFinding]
) -> None:
    api = api_client_for(cast.rossi_admin)

    body = api.get(API, **EN).json()

    by_id = {row["id"]: row for row in body["results"]}
    assert set(by_id) == {findings["limited"].pk, findings["open"].pk}
    limited = by_id[findings["limited"].pk]
    assert limited["line"] == {"id": cast.rossi_assigned_line.pk, "number": cast.rossi_assigned_line.number}
    assert (limited["rule"], limited["period"], limited["period_kind"], limited["status"]) == (
        "1",
        "2026-11-20",
        "day",
        "measure",
    )
    assert limited["figures"][0] == {
        "metric": "voice_minutes",
        "measured": "161.00",
        "limit": "160",
        "text": "Outgoing call minutes: 161 min (limit 160 min)",
    }
    assert limited["rule_description"].startswith("In one day, more than 160 min")
    assert limited["measures"][0]["kind"] == "speed_limit"
    assert limited["measures"][0]["ends_on"] == "2026-12-09"
    assert limited["measures"][0]["withdrawal_without_penalties"] is True
    assert limited["withdrawal_url"].endswith(f"/requests/new/withdrawal/?finding={limited['id']}")
    assert by_id[findings["open"].pk]["figures"][0]["operator"] == "TIM"


def test_the_api_filters(api_client_for: Any, cast: Cast, findings: dict[str, FairUseFinding]) -> None:
    api = api_client_for(cast.rossi_admin)

    def ids(**query: Any) -> set[int]:
        response = api.get(API, query)
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert ids(line=cast.rossi_other_line.pk) == {findings["open"].pk}
    assert ids(rule="1") == {findings["limited"].pk}
    assert ids(status="open") == {findings["open"].pk}
    assert ids(period="2026-11") == {findings["open"].pk}
    assert ids(period="2026-11-20") == {findings["limited"].pk}
    assert ids(period="yesterday") == set()
    assert ids(line=cast.bianchi_line.pk) == set()
    assert api.get(API, {"status": "nonsense"}).status_code == 400


def test_the_api_shows_a_line_user_only_assigned_lines(
    api_client_for: Any, cast: Cast, findings: dict[str, FairUseFinding]
) -> None:
    api = api_client_for(cast.rossi_line_user)

    rows = api.get(API).json()["results"]

    assert [row["id"] for row in rows] == [findings["limited"].pk]
    assert api.get(f"{API}{findings['open'].pk}/").status_code == 404
    detail = api.get(f"{API}{findings['limited'].pk}/")
    assert detail.status_code == 200
    assert detail.json()["measures"][0]["kind"] == "speed_limit"


def test_the_api_is_read_only(api_client_for: Any, cast: Cast, findings: dict[str, FairUseFinding]) -> None:
    api = api_client_for(cast.rossi_legal_rep)

    assert api.post(API, {}).status_code == 405
    assert api.delete(f"{API}{findings['open'].pk}/").status_code == 405


def test_more_rows_still_answer(cast: Cast) -> None:
    # A company with many lines: the filter's choices are only the lines with findings.
    lines = LineFactory.create_batch(5, company=cast.rossi)
    make_finding(lines[0])
    from billing.selectors_fair_use import fair_use_filter_lines

    assert fair_use_filter_lines(membership=cast.rossi_admin) == [(lines[0].pk, lines[0].number)]
    assert FairUseRule.objects.count() == 11
