"""Login, logout, password reset and change, two-factor login, re-authentication, rate limits, idle sessions."""

from __future__ import annotations

import re
from typing import Any

import pytest
from allauth.account import app_settings as account_settings
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY
from django.conf import settings
from django.core import mail
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import path, reverse
from django.utils.http import urlencode
from django.views import View

from selfcare import crypto
from selfcare import urls as portal_urls
from selfcare.auth import SESSION_TWO_FACTOR_SETTLED_KEY, ReauthenticationRequiredMixin, sensitive_action
from selfcare.models import Membership, Role, User
from tests.cast import Cast
from tests.conftest import totp_code
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, UserFactory, give_totp

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]

LOGIN = "/accounts/login/"
NEW_PASSWORD = "Un-altra-password-9"


# ---------------------------------------------------------------------------
# A tiny sensitive page, for the re-authentication helper (selfcare.auth).
# ---------------------------------------------------------------------------
@sensitive_action
def show_puk(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"PUK 12345678 {request.POST.get('line', '')}")


class ShowEsimCode(ReauthenticationRequiredMixin, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("LPA:1$smdp.example.it$ABC-123")


urlpatterns = [
    path("test/puk/", show_puk, name="test-puk"),
    path("test/esim/", ShowEsimCode.as_view(), name="test-esim"),
    *portal_urls.urlpatterns,
]
with_sensitive_pages = pytest.mark.urls(__name__)


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
@pytest.fixture
def english(client: Client) -> Client:
    """The test client with English chosen: the tests read allauth's and the portal's English texts."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def submit_password(client: Client, email: str, password: str = DEFAULT_PASSWORD, **extra: str) -> Any:
    return client.post(reverse("account_login"), {"login": email, "password": password, **extra})


def submit_code(client: Client, code: str) -> Any:
    return client.post(reverse("mfa_authenticate"), {"code": code})


def reauthentication_url(next_url: str) -> str:
    return f"{reverse('account_reauthenticate')}?{urlencode({'next': next_url})}"


def is_logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def text_of(response: Any) -> str:
    """The page's text, with whitespace collapsed, for reading sentences that templates wrap."""
    return re.sub(r"\s+", " ", response.content.decode())


# ---------------------------------------------------------------------------
# Login and logout
# ---------------------------------------------------------------------------
def test_pages_need_a_login(client: Client) -> None:
    for url in (reverse("selfcare:dashboard"), reverse("selfcare:section", kwargs={"slug": "lines"})):
        response = client.get(url)

        assert response.status_code == 302
        assert response["Location"] == f"{LOGIN}?next={url}"


def test_login_password_reset_health_and_language_answer_without_a_login(client: Client) -> None:
    for url in (LOGIN, reverse("account_reset_password"), reverse("account_reset_password_done")):
        assert client.get(url).status_code == 200, url
    assert client.get(reverse("healthz")).status_code in (200, 503)
    response = client.post(reverse("set_language"), {"language": "en", "next": LOGIN})
    assert (response.status_code, response["Location"]) == (302, LOGIN)
    # Without a half-done login the second-factor page goes back to the login,
    # not through the login-required redirect (which would add ?next=).
    assert client.get(reverse("mfa_authenticate"))["Location"] == LOGIN


def test_nobody_signs_up_alone(english: Client) -> None:
    login_page = english.get(LOGIN).content.decode()
    response = english.get(reverse("account_signup"))

    assert reverse("account_signup") not in login_page
    assert "No sign-up" in response.content.decode()
    english.post(reverse("account_signup"), {"email": "nuovo@example.it", "password1": NEW_PASSWORD})
    assert not User.objects.filter(email="nuovo@example.it").exists()


def test_a_line_user_logs_in_with_email_and_password(client: Client, cast: Cast) -> None:
    response = submit_password(client, "Luca@Rossi.example")

    assert response.status_code == 302
    assert response["Location"] == reverse("selfcare:dashboard")
    assert client.get(reverse("selfcare:dashboard")).status_code == 200


def test_a_wrong_password_is_refused_with_a_clear_message(english: Client, cast: Cast) -> None:
    response = submit_password(english, "luca@rossi.example", "sbagliata-123")

    assert response.status_code == 200
    assert "The email address and/or password you specified are not correct." in text_of(response)
    assert 'role="alert"' in response.content.decode()
    assert not is_logged_in(english)


def test_a_field_error_is_linked_to_its_field(english: Client, db: None) -> None:
    response = submit_password(english, "not-an-address")

    page = response.content.decode()
    field = re.search(r"<input[^>]*name=\"login\"[^>]*>", page)
    assert field is not None
    assert 'aria-invalid="true"' in field.group(0)
    assert 'aria-describedby="id_login_error"' in field.group(0)
    assert 'id="id_login_error"' in page
    assert re.search(r'<label\s+for="id_login"', page)


def test_a_legal_rep_logs_in_with_password_and_totp_code(english: Client, cast: Cast) -> None:
    user: Any = cast.rossi_legal_rep.user

    response = submit_password(english, user.email)

    assert response["Location"] == reverse("mfa_authenticate")
    assert not is_logged_in(english), "the password alone logs nobody in"
    assert english.get(reverse("selfcare:dashboard")).status_code == 302

    response = submit_code(english, totp_code(user.totp_secret))

    assert response.status_code == 302
    assert response["Location"] == reverse("selfcare:dashboard")
    dashboard = english.get(reverse("selfcare:dashboard"))
    assert dashboard.status_code == 200
    assert "Anna Rossi" in dashboard.content.decode()


def test_a_wrong_totp_code_is_refused_with_a_clear_message_and_does_not_log_in(
    english: Client, cast: Cast
) -> None:
    user: Any = cast.rossi_legal_rep.user
    submit_password(english, user.email)
    wrong = f"{(int(totp_code(user.totp_secret)) + 1) % 1_000_000:06d}"

    response = submit_code(english, wrong)

    assert response.status_code == 200
    assert "The code is not correct." in text_of(response)
    assert 'aria-describedby="id_code_helptext id_code_error"' in response.content.decode()
    assert not is_logged_in(english)
    assert english.get(reverse("selfcare:dashboard")).status_code == 302


def test_a_recovery_code_replaces_the_app_once(english: Client, cast: Cast) -> None:
    user: Any = cast.rossi_admin.user
    recovery_code = RecoveryCodes.activate(user).generate_codes()[0]

    submit_password(english, user.email)
    assert submit_code(english, recovery_code)["Location"] == reverse("selfcare:dashboard")

    english.post(reverse("account_logout"))
    submit_password(english, user.email)
    response = submit_code(english, recovery_code)
    assert "The code is not correct." in text_of(response)
    assert not is_logged_in(english)


def test_the_totp_secret_is_encrypted_at_rest(cast: Cast) -> None:
    user: Any = cast.rossi_legal_rep.user
    stored = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP).data["secret"]

    assert user.totp_secret not in stored
    assert crypto.decrypt(stored) == user.totp_secret


def test_logging_out_ends_the_session(client_as: Any, cast: Cast) -> None:
    client = client_as(cast.rossi_line_user)

    response = client.post(reverse("account_logout"))

    assert response["Location"] == LOGIN
    assert not is_logged_in(client)
    assert client.get(reverse("selfcare:dashboard")).status_code == 302


def test_the_user_menu_names_the_user_and_links_to_security_and_logout(english: Client, cast: Cast) -> None:
    english.force_login(cast.rossi_line_user.user)

    menu = english.get(reverse("selfcare:dashboard")).content.decode()

    assert "Luca Verdi" in menu
    assert f'href="{reverse("mfa_index")}"' in menu
    assert f'action="{reverse("account_logout")}"' in menu


def test_the_e_mail_address_is_not_managed_here(client_as: Any, cast: Cast) -> None:
    client = client_as(cast.rossi_line_user)

    response = client.post(reverse("account_email"), {"action_add": "", "email": "altro@example.it"})

    assert response["Location"] == reverse("mfa_index")
    assert not EmailAddress.objects.filter(email="altro@example.it").exists()


# ---------------------------------------------------------------------------
# Two-factor authentication is required for administrators, legal reps, staff
# ---------------------------------------------------------------------------
def test_a_legal_rep_without_totp_is_sent_to_enrol_at_first_login(english: Client, cast: Cast) -> None:
    newcomer = MembershipFactory.create(
        company=cast.rossi, role=Role.LEGAL_REP, two_factor=False, user__email="nuova@rossi.example"
    )
    assert submit_password(english, newcomer.user.email)["Location"] == reverse("selfcare:dashboard")

    for url in (reverse("selfcare:dashboard"), reverse("mfa_index"), reverse("account_change_password")):
        response = english.get(url)
        assert (response.status_code, response["Location"]) == (302, reverse("mfa_activate_totp")), url

    # Right after the password, enrolling does not ask for it again.
    enrolment = english.get(reverse("mfa_activate_totp"))
    assert enrolment.status_code == 200
    assert "Administrators, legal representatives and operator staff log in with two factors" in text_of(
        enrolment
    )
    secret = english.session[SECRET_SESSION_KEY]
    assert secret in enrolment.content.decode()

    response = english.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})

    assert response["Location"] == reverse("mfa_view_recovery_codes")
    codes_page = english.get(reverse("mfa_view_recovery_codes"))
    assert codes_page.status_code == 200
    assert len(re.findall(r'<li class="col">\d{8}</li>', codes_page.content.decode())) == 10
    assert english.get(reverse("selfcare:dashboard")).status_code == 200


def test_a_wrong_code_does_not_activate_totp(english: Client, cast: Cast) -> None:
    newcomer = MembershipFactory.create(company=cast.rossi, role=Role.ADMIN, two_factor=False)
    submit_password(english, newcomer.user.email)
    english.get(reverse("mfa_activate_totp"))
    secret = english.session[SECRET_SESSION_KEY]
    wrong = f"{(int(totp_code(secret)) + 1) % 1_000_000:06d}"

    response = english.post(reverse("mfa_activate_totp"), {"code": wrong})

    assert response.status_code == 200
    assert "The code is not correct." in text_of(response)
    assert not Authenticator.objects.filter(user=newcomer.user).exists()
    assert english.get(reverse("selfcare:dashboard"))["Location"] == reverse("mfa_activate_totp")


def test_a_user_who_must_enrol_can_still_log_out_and_change_language(client_as: Any, cast: Cast) -> None:
    newcomer = MembershipFactory.create(company=cast.rossi, role=Role.ADMIN, two_factor=False)
    client = client_as(newcomer)

    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert (response.status_code, response["Location"]) == (302, "/")
    response = client.post(reverse("account_logout"))
    assert response["Location"] == LOGIN
    assert not is_logged_in(client)


def test_an_api_call_of_a_user_who_must_enrol_is_refused_with_the_reason(client_as: Any, cast: Cast) -> None:
    newcomer = MembershipFactory.create(company=cast.rossi, role=Role.ADMIN, two_factor=False)

    response = client_as(newcomer).get(reverse("api:me"), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 403
    assert "two-factor" in response.json()["detail"]


def test_a_line_user_is_not_asked_to_enrol(client_as: Any, cast: Cast) -> None:
    assert client_as(cast.rossi_line_user).get(reverse("selfcare:dashboard")).status_code == 200


def test_the_enrolment_check_is_done_at_login_and_costs_pages_no_query(client_as: Any, cast: Cast) -> None:
    client = client_as(cast.rossi_legal_rep)
    assert client.session[SESSION_TWO_FACTOR_SETTLED_KEY]

    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("selfcare:dashboard")).status_code == 200

    assert not [q for q in queries.captured_queries if "mfa_authenticator" in q["sql"]]


def test_a_session_from_before_the_check_is_checked_once(client_as: Any, cast: Cast) -> None:
    client = client_as(cast.rossi_legal_rep)
    session = client.session
    del session[SESSION_TWO_FACTOR_SETTLED_KEY]
    session.save()

    assert client.get(reverse("selfcare:dashboard")).status_code == 200

    assert client.session[SESSION_TWO_FACTOR_SETTLED_KEY]


def test_an_admin_cannot_turn_two_factor_off(english: Client, cast: Cast) -> None:
    english.force_login(cast.rossi_admin.user)
    english.post(reverse("account_reauthenticate"), {"password": DEFAULT_PASSWORD})

    page = english.get(reverse("mfa_deactivate_totp"))
    english.post(reverse("mfa_deactivate_totp"))

    assert "Two-factor authentication is required for your role: it cannot be turned off." in text_of(page)
    assert Authenticator.objects.filter(user=cast.rossi_admin.user, type=Authenticator.Type.TOTP).exists()


def test_a_line_user_may_turn_their_own_two_factor_off(client: Client, cast: Cast) -> None:
    user: Any = cast.rossi_line_user.user
    give_totp(user)
    client.force_login(user)
    client.post(reverse("account_reauthenticate"), {"password": DEFAULT_PASSWORD})

    client.post(reverse("mfa_deactivate_totp"))

    assert not Authenticator.objects.filter(user=user).exists()


# ---------------------------------------------------------------------------
# The Django admin logs in through the portal's login and its second factor
# ---------------------------------------------------------------------------
def test_the_admin_login_goes_through_the_portal_login(client: Client) -> None:
    for url in ("/admin/", "/admin/login/"):
        response = client.get(url, follow=True)

        assert response.redirect_chain[-1][0] == f"{LOGIN}?{urlencode({'next': url})}"
        assert response.templates[0].name == "account/login.html"


def test_staff_log_into_the_admin_with_the_second_factor(client: Client, db: None) -> None:
    staff: Any = UserFactory.create(email="operatore@operatore.example.it", is_staff=True, is_superuser=True)
    give_totp(staff)

    response = submit_password(client, staff.email, next="/admin/")
    assert response["Location"] == f"{reverse('mfa_authenticate')}"
    assert client.get("/admin/").status_code == 302

    response = submit_code(client, totp_code(staff.totp_secret))

    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_staff_without_totp_must_enrol_before_the_admin(client: Client, db: None) -> None:
    staff: Any = UserFactory.create(email="nuovo@operatore.example.it", is_staff=True, is_superuser=True)

    response = submit_password(client, staff.email, next="/admin/")
    assert response["Location"] == "/admin/"

    response = client.get("/admin/")
    assert (response.status_code, response["Location"]) == (302, reverse("mfa_activate_totp"))


def test_a_customer_cannot_use_the_admin(client_as: Any, cast: Cast) -> None:
    client = client_as(cast.rossi_legal_rep)

    assert client.get("/admin/login/").status_code == 403
    assert client.get("/admin/")["Location"].startswith("/admin/login/")


# ---------------------------------------------------------------------------
# Password reset and change
# ---------------------------------------------------------------------------
def reset_link() -> str:
    match = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", str(mail.outbox[-1].body))
    assert match is not None, mail.outbox[-1].body
    return match.group(1)


def test_a_password_reset_tells_nothing_about_which_addresses_exist(english: Client, cast: Cast) -> None:
    known = english.post(reverse("account_reset_password"), {"email": "luca@rossi.example"})
    unknown = english.post(reverse("account_reset_password"), {"email": "nessuno@rossi.example"})

    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert known["Location"] == reverse("account_reset_password_done")
    done = text_of(english.get(known["Location"]))
    assert "If the address you entered belongs to an account, we have sent it a link" in done
    assert "rossi.example" not in done
    # Each address gets an e-mail: the account's a link, the other one a note.
    assert [m.to for m in mail.outbox] == [["luca@rossi.example"], ["nessuno@rossi.example"]]
    assert "/accounts/password/reset/key/" in mail.outbox[0].body
    assert "/accounts/password/reset/key/" not in mail.outbox[1].body
    assert "There is no account with this address" in mail.outbox[1].body


def test_a_reset_link_sets_a_new_password(client: Client, cast: Cast) -> None:
    client.post(reverse("account_reset_password"), {"email": "luca@rossi.example"})

    form_url = client.get(reset_link())["Location"]
    response = client.post(form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    assert response["Location"] == reverse("account_reset_password_from_key_done")
    assert User.objects.get(email="luca@rossi.example").check_password(NEW_PASSWORD)
    assert not is_logged_in(client), "a reset does not log in: the second factor still has to be passed"


def test_a_user_created_without_a_password_sets_one_through_the_reset_link(client: Client, db: None) -> None:
    user = User.objects.create_user("dal.feed@rossi.example")
    assert not user.has_usable_password()
    client.post(reverse("account_reset_password"), {"email": user.email})

    client.post(client.get(reset_link())["Location"], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    assert User.objects.get(pk=user.pk).check_password(NEW_PASSWORD)


def test_an_expired_reset_link_says_so_and_changes_nothing(
    english: Client, cast: Cast, time_machine: Any
) -> None:
    time_machine.move_to("2026-03-02 09:00 +01:00")
    english.post(reverse("account_reset_password"), {"email": "luca@rossi.example"})
    link = reset_link()
    time_machine.shift(settings.PASSWORD_RESET_TIMEOUT + 60)

    page = english.get(link)
    english.post(link, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    assert page.status_code == 200
    assert "This link no longer works" in text_of(page)
    assert "Your password has not been changed." in text_of(page)
    assert User.objects.get(email="luca@rossi.example").check_password(DEFAULT_PASSWORD)


def test_a_tampered_reset_link_says_so_and_changes_nothing(english: Client, cast: Cast) -> None:
    english.post(reverse("account_reset_password"), {"email": "luca@rossi.example"})
    link = reset_link()
    tampered = link[:-3] + ("a" if link[-3] != "a" else "b") + link[-2:]

    page = english.get(tampered)
    english.post(tampered, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    assert "This link no longer works" in text_of(page)
    assert User.objects.get(email="luca@rossi.example").check_password(DEFAULT_PASSWORD)


def test_a_user_changes_their_password(client_as: Any, cast: Cast) -> None:
    client = client_as(cast.rossi_line_user)

    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": DEFAULT_PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert User.objects.get(pk=cast.rossi_line_user.user.pk).check_password(NEW_PASSWORD)
    assert is_logged_in(client), "changing the password keeps this session"


def test_a_wrong_current_password_changes_nothing(english: Client, cast: Cast) -> None:
    english.force_login(cast.rossi_line_user.user)

    response = english.post(
        reverse("account_change_password"),
        {"oldpassword": "non-la-so-1", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert response.status_code == 200
    assert "Please type your current password." in text_of(response)
    assert User.objects.get(pk=cast.rossi_line_user.user.pk).check_password(DEFAULT_PASSWORD)


# ---------------------------------------------------------------------------
# Re-authentication before sensitive actions
# ---------------------------------------------------------------------------
@with_sensitive_pages
def test_a_sensitive_page_asks_for_the_password_again(english: Client, cast: Cast) -> None:
    english.force_login(cast.rossi_legal_rep.user)

    response = english.get("/test/puk/")
    assert response["Location"] == reauthentication_url("/test/puk/")
    assert "Confirm it is you" in text_of(english.get(response["Location"]))

    wrong = english.post(response["Location"], {"password": "non-la-so-1"})
    assert "Incorrect password." in text_of(wrong)

    confirmed = english.post(response["Location"], {"password": DEFAULT_PASSWORD})
    assert confirmed["Location"] == "/test/puk/"
    page = english.get("/test/puk/")
    assert page.content.decode().startswith("PUK 12345678")
    assert "no-store" in page["Cache-Control"]


@with_sensitive_pages
def test_a_recent_confirmation_is_not_asked_again_until_it_expires(
    client: Client, cast: Cast, time_machine: Any
) -> None:
    time_machine.move_to("2026-03-02 09:00 +01:00")
    client.force_login(cast.rossi_legal_rep.user)
    client.post(reauthentication_url("/test/esim/"), {"password": DEFAULT_PASSWORD})

    assert client.get("/test/esim/").status_code == 200
    time_machine.shift(account_settings.REAUTHENTICATION_TIMEOUT + 1)
    assert client.get("/test/esim/")["Location"] == reauthentication_url("/test/esim/")


@with_sensitive_pages
def test_a_sensitive_post_is_carried_out_after_the_confirmation(client: Client, cast: Cast) -> None:
    client.force_login(cast.rossi_legal_rep.user)

    response = client.post("/test/puk/", {"line": "+393331234567"})
    response = client.post(response["Location"], {"password": DEFAULT_PASSWORD})

    assert response.status_code == 200
    assert response.content.decode() == "PUK 12345678 +393331234567"


# ---------------------------------------------------------------------------
# Rate limits and idle sessions
# ---------------------------------------------------------------------------
def test_repeated_wrong_passwords_block_the_address_with_a_clear_message(english: Client, cast: Cast) -> None:
    for _attempt in range(5):
        submit_password(english, "luca@rossi.example", "sbagliata-123")

    response = submit_password(english, "luca@rossi.example")

    assert "Too many failed attempts. For your security, logging in is blocked for a few minutes" in text_of(
        response
    )
    assert not is_logged_in(english)
    # Another address from the same office is not blocked.
    assert submit_password(english, "anna@rossi.example")["Location"] == reverse("mfa_authenticate")


def test_repeated_wrong_codes_block_the_second_factor(english: Client, cast: Cast) -> None:
    user: Any = cast.rossi_legal_rep.user
    submit_password(english, user.email)
    wrong = f"{(int(totp_code(user.totp_secret)) + 1) % 1_000_000:06d}"
    for _attempt in range(5):
        submit_code(english, wrong)

    response = submit_code(english, totp_code(user.totp_secret))

    assert "Too many failed attempts." in text_of(response)
    assert not is_logged_in(english)


def test_too_many_reset_requests_get_a_clear_page(english: Client, cast: Cast) -> None:
    for _attempt in range(5):
        english.post(reverse("account_reset_password"), {"email": "luca@rossi.example"})

    response = english.post(reverse("account_reset_password"), {"email": "luca@rossi.example"})

    assert response.status_code == 429
    assert "this request has been made too many times in a short while" in text_of(response)


def test_an_idle_session_expires(client_as: Any, cast: Cast, time_machine: Any) -> None:
    time_machine.move_to("2026-03-02 09:00 +01:00")
    client = client_as(cast.rossi_line_user)
    assert client.get(reverse("selfcare:dashboard")).status_code == 200

    time_machine.shift(settings.SESSION_COOKIE_AGE + 1)

    response = client.get(reverse("selfcare:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_a_session_in_use_stays_open(client_as: Any, cast: Cast, time_machine: Any) -> None:
    time_machine.move_to("2026-03-02 09:00 +01:00")
    client = client_as(cast.rossi_line_user)

    for _step in range(3):
        time_machine.shift(settings.SESSION_COOKIE_AGE * 2 // 3)
        assert client.get(reverse("selfcare:dashboard")).status_code == 200


# ---------------------------------------------------------------------------
# The pages under the Content-Security-Policy
# ---------------------------------------------------------------------------
def assert_no_inline_script_or_style(response: Any) -> None:
    content = response.content.decode()
    nonce = response.wsgi_request.csp_nonce
    for chunk in content.split("<script")[1:]:
        tag = chunk.split(">", 1)[0]
        assert "src=" in tag or f'nonce="{nonce}"' in tag
    assert "<style" not in content
    assert " style=" not in content


def test_the_login_and_password_pages_have_no_inline_script_or_style(client: Client, cast: Cast) -> None:
    for url in (LOGIN, reverse("account_reset_password"), reverse("account_reset_password_done")):
        assert_no_inline_script_or_style(client.get(url))
    submit_password(client, cast.rossi_legal_rep.user.email)
    assert_no_inline_script_or_style(client.get(reverse("mfa_authenticate")))


def test_the_totp_qr_code_is_an_image_the_csp_allows(client_as: Any, cast: Cast) -> None:
    newcomer = MembershipFactory.create(company=cast.rossi, role=Role.LEGAL_REP, two_factor=False)
    client = client_as(newcomer)
    client.post(reverse("account_reauthenticate"), {"password": DEFAULT_PASSWORD})

    response = client.get(reverse("mfa_activate_totp"))

    assert response.status_code == 200
    assert re.search(r'<img [^>]*src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+"', response.content.decode())
    assert "data:" in response["Content-Security-Policy"].split("img-src", 1)[1].split(";", 1)[0]
    assert_no_inline_script_or_style(response)


def test_the_security_pages_have_no_inline_script_or_style(client_as: Any, cast: Cast) -> None:
    client = client_as(cast.rossi_admin)
    RecoveryCodes.activate(cast.rossi_admin.user)
    client.post(reverse("account_reauthenticate"), {"password": DEFAULT_PASSWORD})

    for name in ("mfa_index", "account_change_password", "mfa_view_recovery_codes", "mfa_deactivate_totp"):
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        assert_no_inline_script_or_style(response)


def test_a_line_user_raised_to_admin_during_the_session_must_set_up_two_factor(
    client_as: Any, cast: Cast
) -> None:
    client = client_as(cast.rossi_line_user)
    assert client.get(reverse("selfcare:dashboard")).status_code == 200

    Membership.objects.filter(pk=cast.rossi_line_user.pk).update(role=Role.ADMIN)
    response = client.get(reverse("selfcare:dashboard"))

    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")
