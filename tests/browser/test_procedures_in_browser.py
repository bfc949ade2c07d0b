"""The procedures in the browser (docs/procedures.md): each form sent by the role that may, followed to its end.

Customers use the portal's pages, staff the admin's work queue (logged in
with their second factor), in browsers of their own; only the preconditions
are put in the database, and the daily tasks and the billing run are called
as their schedule would.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone, translation
from django.utils.html import escape
from playwright.sync_api import Browser, Page, expect

from billing.models import Invoice
from billing.services import billing_run_month
from procedures.kinds.withdrawal import WITHDRAWAL_VALID_NOTICE
from procedures.models import ActivationOrder, ActivationStep, RequestDocument, RequestStatus
from procedures.receipt import request_receipt_html
from procedures.tasks_theft import theft_complaints_remind
from procedures.theft import PROCEDURES_STAFF_GROUP
from selfcare.models import Channel, Company, Line, LineStatus, Notification, User
from selfcare.staff import staff_groups_sync
from tests.billing.traffic_rows import recent_traffic
from tests.cast import Cast, make_cast
from tests.factories import DEFAULT_PASSWORD, UserFactory, give_totp, vat_number
from tests.procedures.activation_helpers import make_order
from tests.procedures.requests_helpers import private_storage

from .procedures_steps import a_pdf, a_png, in_english, log_in, staff_take_step, submitted_request

pytestmark = pytest.mark.django_db(transaction=True)

REQUEST_REFERENCE = re.compile(r"^R-\d{4}-\d{6}$")


__all__ = ["private_storage"]  # the procedures' fixture: documents and receipts in a folder of the test's own


@pytest.fixture
def browser_cast(transactional_db: None, private_storage: Path) -> Cast:
    return make_cast()


@pytest.fixture
def staff(browser_cast: Cast) -> User:
    """A member of the operator's "Procedures" staff group, with the second factor staff log in with."""
    staff_groups_sync()
    user = UserFactory.create(email="sofia@operatore.example.it", name="Sofia", is_staff=True)
    secret = give_totp(user)
    user.groups.add(Group.objects.get(name=PROCEDURES_STAFF_GROUP))
    fresh = User.objects.get(pk=user.pk)  # no permission cache from before the group
    fresh.totp_secret = secret  # type: ignore[attr-defined]  # for the login, as give_totp does
    return fresh


@pytest.fixture
def staff_page(
    browser: Browser, browser_context_args: dict[str, Any], live_server: Any, staff: User
) -> Iterator[Page]:
    """Staff's own browser, logged in to the admin."""
    context = browser.new_context(**browser_context_args)
    page = context.new_page()
    log_in(page, live_server, staff.email, totp_secret=staff.totp_secret)  # type: ignore[attr-defined]
    yield page
    context.close()


def rome(day: date, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


# ---------------------------------------------------------------------------
# Theft: the line blocked at once, the complaint's reminder, the complaint uploaded late
# ---------------------------------------------------------------------------
def test_a_line_user_reports_a_theft_the_line_is_blocked_at_once_and_the_complaint_follows_the_reminder(
    page: Page,
    live_server: Any,
    browser_cast: Cast,
    serious_accessibility_violations: Any,
    time_machine: Any,
    tmp_path: Path,
) -> None:
    line = browser_cast.rossi_assigned_line
    user = browser_cast.rossi_line_user.user
    # Luca reads the portal in English: the pages (the language cookie) and his messages (his profile).
    User.objects.filter(pk=user.pk).update(language="en")
    in_english(page.context, live_server)
    log_in(page, live_server, user.email)

    page.goto(f"{live_server.url}/requests/new/")
    page.locator("#kind-theft_loss a").click()
    expect(page.locator("#request-form")).to_be_visible()
    assert serious_accessibility_violations(page) == []
    page.locator(f"input[name=lines][value='{line.pk}']").check()
    page.locator("input[name=circumstance][value=theft]").check()
    page.locator("#id_happened_on").fill(timezone.localdate().isoformat())
    page.locator("#id_blocking_understood").check()
    page.locator("#request-form button[type=submit]").click()

    request = submitted_request(page)
    assert REQUEST_REFERENCE.match(request.reference)
    expect(page.locator("h1")).to_contain_text(request.reference)
    expect(page.locator("#request-facts")).to_contain_text(request.reference)
    history = page.locator("#request-history")
    expect(history).to_contain_text("Request received")
    expect(history).to_contain_text(f"Line {line.number} blocked at once")
    # Blocked by the submission itself, before anyone at the operator looked at it.
    assert request.status == RequestStatus.SUBMITTED
    assert Line.objects.get(pk=line.pk).status == LineStatus.BLOCKED
    expect(page.locator("#request-later-police_complaint")).to_be_visible()
    expect(page.locator("#request-receipt")).to_be_visible()
    assert serious_accessibility_violations(page) == []

    page.goto(f"{live_server.url}/lines/{line.pk}/")
    expect(page.locator(".badge.status-blocked").first).to_be_visible()

    # Six days later, the day before the deadline: the daily task runs (and runs again).
    assert request.due_on is not None
    time_machine.move_to(rome(request.due_on - timedelta(days=1), 9))
    theft_complaints_remind()
    theft_complaints_remind()
    log_in(page, live_server, user.email)  # the session of six days ago is over

    page.goto(f"{live_server.url}/inbox/")
    reminders = page.locator("#inbox-content li:has-text('Upload the police complaint')")
    expect(reminders).to_have_count(1)
    expect(reminders).to_contain_text(request.reference)
    expect(reminders).to_contain_text("1 day left")
    reminders.get_by_role("link").first.click()
    page.wait_for_url(re.compile(rf"/requests/{request.pk}/$"))
    expect(page.locator("#request-history")).to_contain_text("Reminder sent")

    # The complaint is still missing: the upload form is open already, the complaint chosen first.
    expect(page.locator("details:has(#request-document-form)")).to_have_attribute("open", "")
    expect(page.locator("#id_role")).to_have_value("police_complaint")
    page.locator("#id_role").select_option("police_complaint")
    page.locator("#id_file").set_input_files(a_pdf(tmp_path, "denuncia.pdf"))
    page.locator("#request-document-form button[type=submit]").click()

    expect(page.locator(".messages .alert-success")).to_be_visible()
    expect(page.locator("#request-history")).to_contain_text("Document added: Copy of the police complaint")
    expect(page.locator("#request-documents")).to_contain_text("denuncia.pdf")
    expect(page.locator("#request-later-police_complaint")).to_have_count(0)
    assert serious_accessibility_violations(page) == []
    # With the complaint in, the task chases nobody any more.
    time_machine.move_to(rome(request.due_on + timedelta(days=1), 9))
    theft_complaints_remind()
    assert Notification.objects.filter(event="theft_complaint_reminder", channel=Channel.INBOX).count() == 1
    assert not request.events.filter(action="escalated").exists()


# ---------------------------------------------------------------------------
# Withdrawal: the receipt says it is a valid notice, and the letter comes with it
# ---------------------------------------------------------------------------
def test_the_legal_rep_withdraws_a_line_and_downloads_the_receipt_and_the_letter(
    page: Page,
    live_server: Any,
    browser_cast: Cast,
    log_in_through_the_form: Any,
    serious_accessibility_violations: Any,
    tmp_path: Path,
) -> None:
    legal_rep = browser_cast.rossi_legal_rep.user
    line = browser_cast.rossi_other_line
    log_in_through_the_form(legal_rep.email, totp_secret=legal_rep.totp_secret)  # type: ignore[attr-defined]

    page.goto(f"{live_server.url}/requests/new/withdrawal/")
    assert serious_accessibility_violations(page) == []
    page.locator("input[name=scope][value=lines]").check()
    page.locator(f"input[name=lines][value='{line.pk}']").check()
    page.locator("#id_reason").fill("Cantiere chiuso")
    page.locator("#id_effective_understood").check()
    page.locator("#request-form button[type=submit]").click()

    request = submitted_request(page)
    expect(page.locator("#request-facts")).to_contain_text(request.reference)
    expect(page.locator("#request-lines")).to_contain_text(line.number)
    expect(page.locator("#request-history li")).to_have_count(1)
    assert request.due_on == timezone.localdate() + timedelta(days=30)
    # Nothing happens to the line before the effective day.
    assert Line.objects.get(pk=line.pk).status == LineStatus.ACTIVE
    assert serious_accessibility_violations(page) == []

    with page.expect_download() as receipt_download:
        page.locator("#request-receipt").click()
    receipt = tmp_path / "receipt.pdf"
    receipt_download.value.save_as(receipt)
    letter_link = page.locator("#request-documents li:has-text('recesso-') a")
    with page.expect_download() as letter_download:
        letter_link.click()
    letter = tmp_path / "letter.pdf"
    letter_download.value.save_as(letter)

    stored_receipt = RequestDocument.objects.get(request=request, role="receipt", generated=True)
    stored_letter = RequestDocument.objects.get(request=request, role="letter", generated=True)
    assert receipt.read_bytes().startswith(b"%PDF")
    assert receipt.read_bytes() == stored_receipt.file.read()
    assert letter.read_bytes().startswith(b"%PDF")
    assert letter.read_bytes() == stored_letter.file.read()
    assert receipt.read_bytes() != letter.read_bytes()
    # The receipt says, in the submitter's language, that this submission is a valid notice.
    with translation.override(legal_rep.language or "it"):
        notice = str(WITHDRAWAL_VALID_NOTICE)
    assert escape(notice) in request_receipt_html(request=request)


# ---------------------------------------------------------------------------
# Tax exemption: asked for, completed at staff's request, approved, applied on the next invoice
# ---------------------------------------------------------------------------
def test_a_concession_fee_exemption_is_approved_after_an_answer_and_the_next_invoice_applies_it(
    page: Page,
    live_server: Any,
    browser_cast: Cast,
    staff_page: Page,
    log_in_through_the_form: Any,
    serious_accessibility_violations: Any,
    tmp_path: Path,
) -> None:
    rossi = browser_cast.rossi
    today = timezone.localdate()
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    billing_run_month(year=last_month.year, month=last_month.month)
    before = Invoice.objects.get(company=rossi, period_start=last_month)
    assert before.concession_fee > 0
    legal_rep = browser_cast.rossi_legal_rep.user
    log_in_through_the_form(legal_rep.email, totp_secret=legal_rep.totp_secret)  # type: ignore[attr-defined]

    page.goto(f"{live_server.url}/requests/new/concession_fee_exemption/")
    page.locator("#id_legal_reference").fill("Esente tassa di concessione governativa")
    page.locator("#id_valid_from").fill(today.replace(day=1).isoformat())
    page.locator("#request-form button[type=submit]").click()
    # The document was forgotten: told so, and nothing typed is lost.
    expect(page.locator("#id_document_exemption_ground-error")).to_be_visible()
    expect(page.locator("#id_legal_reference")).to_have_value("Esente tassa di concessione governativa")
    assert serious_accessibility_violations(page) == []
    page.locator("#id_document_exemption_ground").set_input_files(a_pdf(tmp_path, "dichiarazione.pdf"))
    page.locator("#request-form button[type=submit]").click()

    request = submitted_request(page)
    expect(page.locator("#request-facts")).to_contain_text(request.reference)
    expect(page.locator("#request-documents")).to_contain_text("dichiarazione.pdf")

    question = "Inviateci anche la visura camerale aggiornata."
    staff_take_step(staff_page, live_server, request, "ask-info", message=question)

    page.reload()
    expect(page.locator(".request-status-needs_info")).to_be_visible()
    expect(page.locator("#request-needs-info")).to_be_visible()
    expect(page.locator("#request-messages")).to_contain_text(question)
    assert serious_accessibility_violations(page) == []
    page.locator("#request-answer-form [name=message]").fill("Eccola in allegato.")
    page.locator("#request-answer-form [name=documents]").set_input_files(a_pdf(tmp_path, "visura.pdf"))
    page.locator("#request-answer-form button[type=submit]").click()
    expect(page.locator(".request-status-in_review")).to_be_visible()
    expect(page.locator("#request-messages li")).to_have_count(2)
    expect(page.locator("#request-messages li").nth(1)).to_contain_text("Eccola in allegato.")
    expect(page.locator("#request-documents")).to_contain_text("visura.pdf")

    staff_take_step(staff_page, live_server, request, "approve")

    page.reload()
    expect(page.locator(".request-status-approved")).to_be_visible()
    # Received, information asked for, answered, approved.
    expect(page.locator("#request-history li")).to_have_count(4)
    assert rossi.tax_exemptions.filter(approved_at__isnull=False).count() == 1

    billing_run_month(year=today.year, month=today.month)
    invoice = Invoice.objects.get(company=rossi, period_start=today.replace(day=1))
    page.goto(f"{live_server.url}/invoices/{invoice.pk}/")
    totals = page.locator("#invoice-totals dd")
    expect(totals.nth(2)).to_have_text("€ 0,00")  # taxable, VAT, then the concession fee
    expect(page.get_by_text("Esente tassa di concessione governativa")).to_be_visible()
    assert invoice.concession_fee == 0


# ---------------------------------------------------------------------------
# Activation order: kept updated, each step on the timeline and told once
# ---------------------------------------------------------------------------
STEPS_AFTER_RECEIVED = (
    ActivationStep.DOCUMENTS_CHECKED,
    ActivationStep.TECHNICAL_CHECK,
    ActivationStep.APPOINTMENT,
    ActivationStep.INSTALLED,
    ActivationStep.ACTIVE,
)


def advance_form_with(page: Page, live_server: Any, order: ActivationOrder, step: str) -> None:
    page.goto(f"{live_server.url}/admin/procedures/activationorder/{order.pk}/change/")
    page.locator("#activation-advance-link").click()
    page.locator(f"#activation-advance-form input[name=step][value={step}]").check()


def send_advance_form(page: Page, order: ActivationOrder) -> None:
    page.locator("#activation-advance-form input[type=submit]").click()
    page.wait_for_url(re.compile(rf"/admin/procedures/activationorder/{order.pk}/change/$"))


def test_an_activation_order_followed_step_by_step_tells_the_customer_once_per_step_on_each_channel(
    page: Page,
    live_server: Any,
    browser_cast: Cast,
    staff_page: Page,
    log_in_through_the_form: Any,
    serious_accessibility_violations: Any,
) -> None:
    today = timezone.localdate()
    order = make_order(browser_cast.rossi, ordered_on=today, promised_on=today + timedelta(days=20))
    admin = browser_cast.rossi_admin.user
    log_in_through_the_form(admin.email, totp_secret=admin.totp_secret)  # type: ignore[attr-defined]

    page.goto(f"{live_server.url}/activations/{order.pk}/")
    expect(page.locator("#step-received")).to_have_attribute("aria-current", "step")
    page.locator("#id_keep_me_updated").check()
    page.locator("#id_sms_to").fill("333 123 4567")
    page.locator("#activation-updates-submit").click()
    expect(page.locator(".messages .alert-success")).to_contain_text("+393331234567")
    expect(page.locator("#id_keep_me_updated")).to_be_checked()
    assert serious_accessibility_violations(page) == []

    for step in STEPS_AFTER_RECEIVED:
        advance_form_with(staff_page, live_server, order, step)
        if step == ActivationStep.APPOINTMENT:
            staff_page.locator("#id_appointment_at").fill(f"{today + timedelta(days=5)}T09:30")
        if step == ActivationStep.TECHNICAL_CHECK:
            # The same form open in a second tab, sent again after the first: a double save.
            again = staff_page.context.new_page()
            advance_form_with(again, live_server, order, step)
            send_advance_form(staff_page, order)
            expect(staff_page.locator("ul.messagelist li.success")).to_be_visible()
            send_advance_form(again, order)
            expect(again.locator("ul.messagelist li.info")).to_be_visible()
            again.close()
        else:
            send_advance_form(staff_page, order)
            expect(staff_page.locator("ul.messagelist li.success")).to_be_visible()

        page.reload()
        expect(page.locator(f"#step-{step}")).to_have_attribute("aria-current", "step")
        expect(page.locator("#order-timeline .activation-step-done")).to_have_count(
            STEPS_AFTER_RECEIVED.index(step) + 1
        )

    expect(page.locator("#step-active")).to_have_class(re.compile(r"\bactivation-step-current\b"))
    assert serious_accessibility_violations(page) == []
    sent = Notification.objects.filter(event="activation_step", company=browser_cast.rossi)
    steps = len(STEPS_AFTER_RECEIVED)
    assert sent.filter(channel=Channel.INBOX, user=admin).count() == steps
    assert sent.filter(channel=Channel.EMAIL, user=admin).count() == steps
    assert sent.filter(channel=Channel.SMS, address="+393331234567").count() == steps
    assert sent.count() == 3 * steps
    page.goto(f"{live_server.url}/inbox/")
    expect(page.locator(f"#inbox-content li:has-text('{order.reference}')")).to_have_count(steps)


# ---------------------------------------------------------------------------
# Takeover: the incoming company gets the line, not its past
# ---------------------------------------------------------------------------
def test_after_a_takeover_the_incoming_company_has_the_line_and_none_of_its_old_traffic(
    page: Page,
    live_server: Any,
    browser_cast: Cast,
    staff_page: Page,
    browser: Browser,
    browser_context_args: dict[str, Any],
    log_in_through_the_form: Any,
    serious_accessibility_violations: Any,
    tmp_path: Path,
) -> None:
    line = browser_cast.rossi_other_line
    recent_traffic(line, record_id="before-takeover-1")
    recent_traffic(line, record_id="before-takeover-2")
    takeover_date = timezone.localdate() + timedelta(days=1)
    incoming_email = "elena@verdi.example"
    legal_rep = browser_cast.rossi_legal_rep.user
    log_in_through_the_form(legal_rep.email, totp_secret=legal_rep.totp_secret)  # type: ignore[attr-defined]

    page.goto(f"{live_server.url}/requests/new/takeover/")
    assert serious_accessibility_violations(page) == []
    page.locator("#id_incoming_name").fill("Verdi Costruzioni S.r.l.")
    page.locator("#id_incoming_vat_number").fill(vat_number(7654321001))
    page.locator("#id_incoming_tax_code").fill(vat_number(7654321001).removeprefix("IT"))
    page.locator("#id_incoming_registered_office").fill("Via Po 3, 10100 Torino TO")
    page.locator("#id_incoming_pec").fill("verdi@pec.example.it")
    page.locator("#id_incoming_legal_rep_name").fill("Elena Verdi")
    page.locator("#id_incoming_legal_rep_email").fill(incoming_email)
    page.locator("#id_takeover_date").fill(takeover_date.isoformat())
    page.locator(f"input[name=lines][value='{line.pk}']").check()
    page.locator("#id_outgoing_consent").check()
    page.locator("#id_document_identity_outgoing").set_input_files(a_pdf(tmp_path, "carta-anna.pdf"))
    page.locator("#id_document_identity_incoming").set_input_files(a_png(tmp_path, "carta-elena.png"))
    page.locator("#request-form button[type=submit]").click()

    request = submitted_request(page)
    expect(page.locator("#request-facts")).to_contain_text(request.reference)
    expect(page.locator("#takeover-summary")).to_contain_text("Verdi Costruzioni S.r.l.")
    expect(page.locator("#request-documents li")).to_have_count(3)  # both identities and the receipt
    assert serious_accessibility_violations(page) == []

    staff_take_step(staff_page, live_server, request, "approve")

    page.reload()
    expect(page.locator(".request-status-approved")).to_be_visible()
    expect(page.locator("#request-history")).to_contain_text("Verdi Costruzioni S.r.l.")
    incoming = Company.objects.get(vat_number=vat_number(7654321001))
    new_line = Line.objects.get(company=incoming, number=line.number)
    assert new_line.activated_on == takeover_date

    # The invitation made Elena the incoming company's legal representative; she sets her password and second factor.
    elena = User.objects.get(email=incoming_email)
    assert elena.memberships.get().company == incoming
    elena.set_password(DEFAULT_PASSWORD)
    elena.save()
    secret = give_totp(elena)
    incoming_context = browser.new_context(**browser_context_args)
    elena_page = incoming_context.new_page()
    log_in(elena_page, live_server, incoming_email, totp_secret=secret)

    elena_page.goto(f"{live_server.url}/lines/")
    expect(elena_page.locator("main")).to_contain_text(line.number)
    elena_page.goto(f"{live_server.url}/lines/{new_line.pk}/")
    expect(elena_page.locator("h1")).to_contain_text(line.number)
    elena_page.goto(f"{live_server.url}/traffic/")
    expect(elena_page.locator("#traffic-empty")).to_be_visible()
    expect(elena_page.locator("#traffic-records")).to_have_count(0)
    old_record = elena_page.goto(f"{live_server.url}/lines/{line.pk}/")
    assert old_record is not None
    assert old_record.status == 404  # the outgoing company's record of the number is not hers
    incoming_context.close()

    # The outgoing company keeps the traffic of before the takeover.
    page.goto(f"{live_server.url}/traffic/")
    expect(page.locator("#traffic-records tbody tr")).to_have_count(2)
    expect(page.locator("#traffic-records")).to_contain_text(line.number)
