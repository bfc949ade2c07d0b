"""An administrator asks for a copy of an invoice, a real Celery worker prepares it, and they open it from the inbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Dialog, Page, expect

from billing.models import Invoice, InvoiceDocument, InvoiceDocumentKind, InvoiceDocumentStatus
from billing.services import billing_run_month
from tests.billing.test_billing_run import MONTH, YEAR, the_invoice_of
from tests.cast import Cast, make_cast
from tests.worker import WorkerProcess

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def browser_cast(transactional_db: None) -> Cast:
    return make_cast()


@pytest.fixture
def private_storage(settings: Any, tmp_path: Path) -> Path:
    """A private storage folder of the test's own, shared by the live server and the worker."""
    folder = tmp_path / "private"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(folder), "base_url": None},
        },
    }
    return folder


@pytest.fixture
def worker(private_storage: Path) -> Iterator[WorkerProcess]:
    with WorkerProcess(extra_env={"PRIVATE_STORAGE_ROOT": str(private_storage)}) as running:
        yield running


@pytest.fixture
def invoice(browser_cast: Cast) -> Invoice:
    billing_run_month(year=YEAR, month=MONTH)
    return the_invoice_of(browser_cast.rossi)


def test_an_admin_asks_for_a_copy_and_opens_it_from_the_notification(
    page: Page,
    live_server: Any,
    browser_cast: Cast,
    invoice: Invoice,
    worker: WorkerProcess,
    log_in_through_the_form: Any,
    serious_accessibility_violations: Any,
    tmp_path: Path,
) -> None:
    admin = browser_cast.rossi_admin.user
    log_in_through_the_form(admin.email, totp_secret=admin.totp_secret)  # type: ignore[attr-defined]
    page.goto(f"{live_server.url}/invoices/{invoice.pk}/")
    expect(page.locator("#sdi-state")).to_be_visible()
    assert serious_accessibility_violations(page) == []

    confirmations: list[str] = []

    def accept(dialog: Dialog) -> None:
        confirmations.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    page.locator("#copy-request").click()

    # The block answers at once, then polls until the worker has made the copy.
    expect(page.locator("#copy-message")).to_be_visible()
    assert confirmations  # asked before sending
    ready_link = page.locator("#invoice-copies .copy-download")
    expect(ready_link).to_have_count(1, timeout=60_000)
    expect(page.locator("#copy-pending")).to_have_count(0)
    copy = InvoiceDocument.objects.get(invoice=invoice, kind=InvoiceDocumentKind.DUPLICATE)
    assert copy.status == InvoiceDocumentStatus.READY
    assert serious_accessibility_violations(page) == []

    page.goto(f"{live_server.url}/inbox/")
    message = page.locator(f"#inbox-content li:has-text('{invoice.number}')").first
    expect(message).to_be_visible()
    with page.expect_download() as download_info:
        message.get_by_role("link", name="Apri").or_(message.get_by_role("link", name="Open")).first.click()
    download = download_info.value
    assert download.suggested_filename.endswith("_duplicato.pdf")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")
