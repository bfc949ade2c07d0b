"""Lines and SIMs → SIM secrets (PIN, PUK) and eSIM profiles: pages, services, API and admin."""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import translation
from drf_spectacular.generators import SchemaGenerator

from selfcare.demo_sim import seed_sim
from selfcare.models import EsimProfile, EsimStatus, Line, LineKind, Membership, SimKind
from selfcare.services.esim import esim_activate, esim_code_show, esim_reissue, esim_request
from selfcare.validators import validate_eid
from tests.cast import Cast
from tests.factories import DEFAULT_PASSWORD, LineFactory, UserFactory, give_totp

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]

LPA_CODE = re.compile(r"LPA:1\$smdp\.operatore\.example\.it\$[A-Z0-9]{5}(-[A-Z0-9]{5}){3}")


def with_check_digits(body: str) -> str:
    """30 digits and the two check digits that make the 32-digit number mod 97 equal 1."""
    return f"{body}{98 - int(body + '00') % 97:02d}"


def valid_eid(serial: int = 1) -> str:
    """An EID that passes the GSMA SGP.29 checks."""
    return with_check_digits(f"8904903200000{serial:017d}")


def reauthenticate(client: Client) -> None:
    """Confirm the password again, as the prompt before a secret asks."""
    response = client.post(reverse("account_reauthenticate"), {"password": DEFAULT_PASSWORD})
    assert response.status_code == 302


def events(name: str) -> Any:
    return LogEntry.objects.filter(additional_data__event=name)


def secrets_url(line: Line) -> str:
    return reverse("selfcare:line-sim-secrets", args=[line.pk])


def esim_url(line: Line) -> str:
    return reverse("selfcare:line-esim", args=[line.pk])


def code_url(profile: EsimProfile) -> str:
    return reverse("selfcare:line-esim-code", args=[profile.line_id, profile.pk])


@pytest.fixture
def sim_line(cast: Cast) -> Line:
    """The line assigned to Rossi's line user, with its PIN and PUK on file."""
    line = cast.rossi_assigned_line
    line.pin = "4821"
    line.puk = "73019264"
    line.save()
    return line


# ---------------------------------------------------------------------------
# PIN and PUK
# ---------------------------------------------------------------------------
def test_pin_and_puk_are_not_shown_before_the_password_is_confirmed_again(
    cast: Cast, client_as: Any, sim_line: Line
) -> None:
    client = client_as(cast.rossi_line_user)

    response = client.get(secrets_url(sim_line))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert not events("sim_secrets_shown").exists()


def test_a_line_user_sees_pin_and_puk_after_reauthentication_audited_and_never_cached(
    cast: Cast, client_as: Any, sim_line: Line
) -> None:
    client = client_as(cast.rossi_line_user)
    reauthenticate(client)

    response = client.get(secrets_url(sim_line), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    page = response.content.decode()
    assert "4821" in page
    assert "73019264" in page
    assert "no-store" in response["Cache-Control"]
    record = events("sim_secrets_shown").get()
    assert record.actor == cast.rossi_line_user.user
    assert record.object_pk == str(sim_line.pk)
    # The audit trail says that they were shown, never what they are.
    assert "73019264" not in str(record.additional_data) + str(record.changes)


def test_a_line_with_no_pin_or_puk_on_file_says_so(cast: Cast, client_as: Any) -> None:
    client = client_as(cast.rossi_admin)
    reauthenticate(client)

    response = client.get(secrets_url(cast.rossi_other_line), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert "We have no PIN or PUK on file for this SIM" in response.content.decode()


def test_the_line_page_shows_the_iccid_the_sim_kind_and_the_way_to_pin_and_puk(
    cast: Cast, client_as: Any, sim_line: Line
) -> None:
    response = client_as(cast.rossi_line_user).get(
        reverse("selfcare:line-detail", args=[sim_line.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )

    page = response.content.decode()
    assert sim_line.iccid in page
    assert "Physical SIM" in page
    assert secrets_url(sim_line) in page
    assert "4821" not in page
    assert "73019264" not in page


@pytest.mark.parametrize("which", ["rossi_other_line", "bianchi_line"])
def test_a_line_user_gets_404_for_an_unassigned_or_foreign_line_before_any_password_prompt(
    cast: Cast, client_as: Any, which: str
) -> None:
    line = getattr(cast, which)
    profile = esim_request(line=line, eid=valid_eid(), actor=None)
    client = client_as(cast.rossi_line_user)

    answers = {
        url: [client.get(url).status_code, client.post(url).status_code]
        for url in (secrets_url(line), esim_url(line), code_url(profile))
    }

    assert answers == {key: [404, 404] for key in answers}
    assert EsimProfile.objects.get(pk=profile.pk).views == 0
    assert not events("sim_secrets_shown").exists()


def test_pin_puk_and_activation_codes_are_encrypted_at_rest(sim_line: Line) -> None:
    profile = esim_request(line=sim_line, eid=valid_eid(), actor=None)

    with connection.cursor() as cursor:
        cursor.execute("SELECT pin, puk FROM selfcare_line WHERE id = %s", [sim_line.pk])
        pin, puk = cursor.fetchone()
        cursor.execute("SELECT activation_code FROM selfcare_esimprofile WHERE id = %s", [profile.pk])
        (code,) = cursor.fetchone()

    assert "4821" not in pin
    assert "73019264" not in puk
    assert "LPA:" not in code
    assert profile.activation_code.split("$")[-1] not in code
    assert Line.objects.get(pk=sim_line.pk).puk == "73019264"


def test_changing_a_puk_leaves_no_trace_of_it_in_the_change_log(sim_line: Line) -> None:
    sim_line.puk = "11112222"
    sim_line.save()

    logged = " ".join(str(entry.changes) for entry in LogEntry.objects.all())
    assert "1111" not in logged
    assert "7301" not in logged


# ---------------------------------------------------------------------------
# The EID
# ---------------------------------------------------------------------------
def test_a_valid_eid_passes_with_or_without_spaces(sim_line: Line) -> None:
    eid = valid_eid()
    validate_eid(eid)

    profile = esim_request(line=sim_line, eid=" ".join(re.findall(".{4}", eid)), actor=None)

    assert profile.eid == eid


@pytest.mark.parametrize(
    ("eid", "message"),
    [
        (valid_eid()[:31], "exactly 32 digits"),
        (valid_eid() + "0", "exactly 32 digits"),
        ("89049032000001000000000000ABCDEF", "exactly 32 digits"),
        (valid_eid()[:30] + f"{(int(valid_eid()[30:]) + 1) % 100:02d}", "This EID is not valid"),
        # Right length and check number, but not a GSMA EID (they start with 89).
        (with_check_digits("12" + valid_eid()[2:30]), "This EID is not valid"),
        ("", "32 digits"),
    ],
)
def test_an_invalid_eid_is_refused_with_a_clear_message_and_nothing_stored(
    cast: Cast, client_as: Any, sim_line: Line, eid: str, message: str
) -> None:
    with pytest.raises(ValidationError):
        validate_eid(eid)

    response = client_as(cast.rossi_line_user).post(
        esim_url(sim_line), {"eid": eid}, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not EsimProfile.objects.exists()


def test_a_mistyped_digit_fails_the_check_number() -> None:
    eid = valid_eid(42)
    mistyped = eid[:10] + str((int(eid[10]) + 1) % 10) + eid[11:]

    with pytest.raises(ValidationError) as error:
        validate_eid(mistyped)

    assert error.value.code == "invalid_eid_check"


# ---------------------------------------------------------------------------
# Requesting an eSIM
# ---------------------------------------------------------------------------
def test_a_line_user_requests_an_esim_for_an_assigned_line_with_a_physical_sim_as_a_swap(
    cast: Cast, client_as: Any, sim_line: Line
) -> None:
    response = client_as(cast.rossi_line_user).post(esim_url(sim_line), {"eid": valid_eid()})

    assert response.status_code == 302
    profile = EsimProfile.objects.get(line=sim_line)
    assert profile.status == EsimStatus.READY
    assert profile.is_swap
    assert profile.views == 0
    assert profile.requested_by == cast.rossi_line_user.user
    assert LPA_CODE.fullmatch(profile.activation_code)
    # Until the eSIM is installed, the physical SIM keeps working.
    sim_line.refresh_from_db()
    assert sim_line.sim == SimKind.PHYSICAL
    assert sim_line.iccid


def test_an_esim_line_gets_a_new_profile_not_a_swap(cast: Cast) -> None:
    line = LineFactory.create(company=cast.rossi, sim=SimKind.ESIM)

    assert not esim_request(line=line, eid=valid_eid(), actor=None).is_swap


def test_each_profile_gets_its_own_matching_id(cast: Cast) -> None:
    first = esim_request(line=cast.rossi_assigned_line, eid=valid_eid(), actor=None)
    second = esim_request(line=cast.rossi_other_line, eid=valid_eid(), actor=None)

    assert first.activation_code != second.activation_code


def test_requesting_again_while_a_profile_is_ready_is_refused(
    cast: Cast, client_as: Any, sim_line: Line
) -> None:
    esim_request(line=sim_line, eid=valid_eid(1), actor=None)

    response = client_as(cast.rossi_line_user).post(
        esim_url(sim_line), {"eid": valid_eid(2)}, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 400
    assert "already has an eSIM profile ready to install" in response.content.decode()
    assert EsimProfile.objects.filter(line=sim_line).count() == 1


def test_a_fixed_line_cannot_have_an_esim(cast: Cast) -> None:
    fixed = LineFactory.create(
        company=cast.rossi, kind=LineKind.FIXED, sim="", iccid="", number="+390212345678"
    )

    with pytest.raises(ValidationError, match="Only an active mobile line"):
        esim_request(line=fixed, eid=valid_eid(), actor=None)

    assert not EsimProfile.objects.exists()


def test_the_esim_page_explains_where_to_find_the_eid(cast: Cast, client_as: Any, sim_line: Line) -> None:
    response = client_as(cast.rossi_line_user).get(esim_url(sim_line), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert "*#06#" in response.content.decode()


# ---------------------------------------------------------------------------
# Showing the activation code
# ---------------------------------------------------------------------------
def test_the_activation_code_needs_the_password_again_and_spends_no_view_before(
    cast: Cast, client_as: Any, sim_line: Line
) -> None:
    profile = esim_request(line=sim_line, eid=valid_eid(), actor=None)

    response = client_as(cast.rossi_line_user).post(code_url(profile))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert EsimProfile.objects.get(pk=profile.pk).views == 0


def test_the_code_is_shown_three_times_as_qr_and_text_each_audited_then_refused(
    cast: Cast, client_as: Any, sim_line: Line
) -> None:
    profile = esim_request(line=sim_line, eid=valid_eid(), actor=None)
    client = client_as(cast.rossi_line_user)
    reauthenticate(client)

    shown = [client.post(code_url(profile), HTTP_ACCEPT_LANGUAGE="en") for _ in range(3)]
    fourth = client.post(code_url(profile), HTTP_ACCEPT_LANGUAGE="en")

    for response in shown:
        page = response.content.decode()
        assert response.status_code == 200
        assert profile.activation_code in page.replace("&#x27;", "'")
        assert re.search(r'<img [^>]*src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+"', page)
        assert "no-store" in response["Cache-Control"]
    assert "can be shown 2 more times" in shown[0].content.decode()
    assert fourth.status_code == 409
    assert "shown three times already: ask customer care to reissue it" in fourth.content.decode()
    assert profile.activation_code not in fourth.content.decode()
    assert EsimProfile.objects.get(pk=profile.pk).views == 3
    records = events("esim_code_shown").filter(actor=cast.rossi_line_user.user)
    assert sorted(record.additional_data["view"] for record in records) == [1, 2, 3]


def test_looking_at_the_code_page_spends_no_view(cast: Cast, client_as: Any, sim_line: Line) -> None:
    profile = esim_request(line=sim_line, eid=valid_eid(), actor=None)
    client = client_as(cast.rossi_line_user)
    reauthenticate(client)

    response = client.get(code_url(profile))

    assert response.status_code == 200
    assert profile.activation_code not in response.content.decode()
    assert EsimProfile.objects.get(pk=profile.pk).views == 0


def test_a_profile_of_another_line_is_404_through_this_lines_url(
    cast: Cast, client_as: Any, sim_line: Line
) -> None:
    other = esim_request(line=cast.rossi_other_line, eid=valid_eid(), actor=None)
    client = client_as(cast.rossi_admin)
    reauthenticate(client)

    response = client.post(reverse("selfcare:line-esim-code", args=[sim_line.pk, other.pk]))

    assert response.status_code == 404
    assert EsimProfile.objects.get(pk=other.pk).views == 0


def test_a_profile_of_another_company_is_404_even_through_an_own_lines_url(
    cast: Cast, client_as: Any, sim_line: Line
) -> None:
    foreign = esim_request(line=cast.bianchi_line, eid=valid_eid(), actor=None)
    client = client_as(cast.rossi_line_user)
    reauthenticate(client)

    response = client.post(reverse("selfcare:line-esim-code", args=[sim_line.pk, foreign.pk]))

    assert response.status_code == 404
    assert EsimProfile.objects.get(pk=foreign.pk).views == 0


def test_an_activated_profiles_code_is_not_shown(sim_line: Line) -> None:
    profile = esim_request(line=sim_line, eid=valid_eid(), actor=None)
    esim_activate(profile=profile)

    with (
        translation.override("en"),
        pytest.raises(ValidationError, match="no longer waiting to be installed"),
    ):
        esim_code_show(profile=profile, actor=None)


# ---------------------------------------------------------------------------
# Activation and reissue
# ---------------------------------------------------------------------------
def test_activating_a_swap_disables_the_physical_sim(sim_line: Line) -> None:
    profile = esim_request(line=sim_line, eid=valid_eid(), actor=None)
    old_iccid = sim_line.iccid

    esim_activate(profile=profile)

    profile.refresh_from_db()
    sim_line.refresh_from_db()
    assert profile.status == EsimStatus.ACTIVATED
    assert profile.activated_at is not None
    assert sim_line.sim == SimKind.ESIM
    assert sim_line.iccid == ""
    record = events("physical_sim_disabled").get()
    assert record.object_pk == str(sim_line.pk)
    assert record.additional_data["iccid"] == old_iccid
    with pytest.raises(ValidationError):
        esim_activate(profile=profile)


def test_after_activation_a_new_esim_can_be_requested_for_another_device(sim_line: Line) -> None:
    esim_activate(profile=esim_request(line=sim_line, eid=valid_eid(1), actor=None))

    again = esim_request(line=sim_line, eid=valid_eid(2), actor=None)

    assert again.status == EsimStatus.READY
    assert not again.is_swap


def test_a_reissue_supersedes_the_old_profile_and_resets_the_views(cast: Cast, sim_line: Line) -> None:
    profile = esim_request(line=sim_line, eid=valid_eid(), actor=None)
    for _ in range(3):
        esim_code_show(profile=profile, actor=None)

    reissued = esim_reissue(profile=profile, actor=None)

    profile.refresh_from_db()
    assert profile.status == EsimStatus.SUPERSEDED
    assert reissued.status == EsimStatus.READY
    assert reissued.views == 0
    assert reissued.reissued_from == profile
    assert reissued.eid == profile.eid
    assert reissued.is_swap == profile.is_swap
    assert reissued.activation_code != profile.activation_code
    assert esim_code_show(profile=reissued, actor=None) == reissued.activation_code
    with pytest.raises(ValidationError):
        esim_reissue(profile=profile, actor=None)


# ---------------------------------------------------------------------------
# The admin
# ---------------------------------------------------------------------------
@pytest.fixture
def customer_care(client: Client, staff_groups: None) -> Client:
    staff = UserFactory.create(email="assistenza@operatore.example.it", is_staff=True)
    give_totp(staff)
    staff.groups.add(Group.objects.get(name="Customer care"))
    client.force_login(staff)
    return client


def test_staff_list_esim_profiles_by_status_and_line_without_seeing_the_code(
    customer_care: Client, sim_line: Line
) -> None:
    profile = esim_request(line=sim_line, eid=valid_eid(), actor=None)
    changelist = reverse("admin:selfcare_esimprofile_changelist")

    listed = customer_care.get(changelist, {"status__exact": "ready", "q": sim_line.number})
    change = customer_care.get(reverse("admin:selfcare_esimprofile_change", args=[profile.pk]))

    assert listed.status_code == 200
    assert change.status_code == 200
    assert profile.eid in listed.content.decode()
    matching_id = profile.activation_code.split("$")[-1]
    assert matching_id not in listed.content.decode() + change.content.decode()


def test_staff_reissue_and_activate_through_the_admin_actions(customer_care: Client, sim_line: Line) -> None:
    profile = esim_request(line=sim_line, eid=valid_eid(), actor=None)
    changelist = reverse("admin:selfcare_esimprofile_changelist")

    customer_care.post(changelist, {"action": "reissue", "_selected_action": [profile.pk]})
    reissued = EsimProfile.objects.get(reissued_from=profile)
    customer_care.post(changelist, {"action": "mark_activated", "_selected_action": [reissued.pk]})

    reissued.refresh_from_db()
    sim_line.refresh_from_db()
    assert EsimProfile.objects.get(pk=profile.pk).status == EsimStatus.SUPERSEDED
    assert reissued.status == EsimStatus.ACTIVATED
    assert sim_line.sim == SimKind.ESIM


# ---------------------------------------------------------------------------
# The API
# ---------------------------------------------------------------------------
def test_the_api_lists_a_lines_profiles_without_the_code(
    cast: Cast, api_client_for: Any, sim_line: Line
) -> None:
    profile = esim_request(line=sim_line, eid=valid_eid(), actor=None)

    response = api_client_for(cast.rossi_line_user).get(f"/api/v1/lines/{sim_line.pk}/esim/")

    assert response.status_code == 200
    assert [row["id"] for row in response.json()] == [profile.pk]
    assert response.json()[0]["views_left"] == 3
    assert "activation_code" not in response.json()[0]
    assert profile.activation_code.split("$")[-1] not in response.content.decode()


def test_the_api_requests_an_esim_and_refuses_an_invalid_eid(
    cast: Cast, api_client_for: Any, sim_line: Line
) -> None:
    client = api_client_for(cast.rossi_admin)
    url = f"/api/v1/lines/{sim_line.pk}/esim/"

    refused = client.post(url, {"eid": valid_eid()[:31]}, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 400
    assert "exactly 32 digits" in refused.json()["eid"][0]
    assert not EsimProfile.objects.exists()

    created = client.post(url, {"eid": valid_eid()})
    assert created.status_code == 201
    assert created.json()["is_swap"] is True
    again = client.post(url, {"eid": valid_eid(2)}, HTTP_ACCEPT_LANGUAGE="en")
    assert again.status_code == 400
    assert EsimProfile.objects.count() == 1


@pytest.mark.parametrize("which", ["rossi_other_line", "bianchi_line"])
def test_the_api_answers_404_for_a_line_the_line_user_may_not_see(
    cast: Cast, api_client_for: Any, which: str
) -> None:
    client = api_client_for(cast.rossi_line_user)
    url = f"/api/v1/lines/{getattr(cast, which).pk}/esim/"

    assert [client.get(url).status_code, client.post(url, {"eid": valid_eid()}).status_code] == [404, 404]
    assert not EsimProfile.objects.exists()


def test_the_schema_says_the_code_is_shown_only_on_the_page(db: None) -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)

    description = schema["paths"]["/api/v1/lines/{id}/esim/"]["get"]["description"]
    assert "never returned by the API" in description
    assert not any("code" in path for path in schema["paths"] if "esim" in path)


def test_only_staff_report_an_esim_activation_through_the_api(
    cast: Cast, api_client_for: Any, customer_care: Client, sim_line: Line
) -> None:
    profile = esim_request(line=sim_line, eid=valid_eid(), actor=None)
    body = {"profile": profile.pk, "eid": profile.eid}

    customer = api_client_for(cast.rossi_legal_rep).post("/api/v1/esim-activations/", body)
    wrong_device = customer_care.post(
        "/api/v1/esim-activations/", {**body, "eid": valid_eid(9)}, content_type="application/json"
    )
    assert EsimProfile.objects.get(pk=profile.pk).status == EsimStatus.READY
    reported = customer_care.post("/api/v1/esim-activations/", body, content_type="application/json")

    assert customer.status_code == 403
    assert wrong_device.status_code == 400
    assert reported.status_code == 200
    assert reported.json()["status"] == "activated"
    sim_line.refresh_from_db()
    assert sim_line.sim == SimKind.ESIM


# ---------------------------------------------------------------------------
# Demo data
# ---------------------------------------------------------------------------
def test_the_demo_sims_get_pin_puk_and_one_ready_esim_and_a_second_run_adds_nothing(db: None) -> None:
    from django.core.management import call_command

    call_command("seed_demo", stdout=StringIO())
    demo_mobile = Line.objects.filter(kind=LineKind.MOBILE)
    pins = {line.pk: (line.pin, line.puk) for line in demo_mobile}

    assert seed_sim(stdout=StringIO()) == 0
    assert all(re.fullmatch(r"\d{4}", pin) and re.fullmatch(r"\d{8}", puk) for pin, puk in pins.values())
    assert {line.pk: (line.pin, line.puk) for line in demo_mobile} == pins
    ready = EsimProfile.objects.get(status=EsimStatus.READY)
    assert ready.line.sim == SimKind.ESIM
    assert Membership.objects.filter(company=ready.line.company).exists()
