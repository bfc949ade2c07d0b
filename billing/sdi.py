"""The electronic invoice's journey through the national exchange (SdI): sending, and the exchange's receipts.

States (billing.models.SdiState) and the only moves between them:

    to_send --(transmitted)--> sent --(receipt)--> delivered      ("ricevuta di consegna", RC)
                                    \\-(receipt)--> not_delivered  ("mancata consegna", MC: the invoice
                                    |                               waits in the customer's tax area)
                                    \\-(receipt)--> rejected       ("notifica di scarto", NS)

A receipt the invoice already has (the same state, the same file) changes
nothing, so a receipt delivered twice is harmless; any other move is refused.
A rejected invoice needs a new file (a new name and ProgressivoInvio) to be
sent again: that is staff's correction, not an automatic retry.

The channel is an interface: the sandbox writes the file into SDI_OUTBOX
and answers with an identifier; a real channel (SDICoop web service, SFTP,
or an accredited intermediary) implements the same `transmit`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing.documents import invoice_xml_document
from billing.fatturapa import FatturaPAError, fatturapa_file_name
from billing.models import Invoice, SdiState
from selfcare.models import User
from selfcare.services.audit import audit_record

logger = logging.getLogger(__name__)

# The receipts that may follow each state.
SDI_TRANSITIONS: dict[str, frozenset[str]] = {
    SdiState.TO_SEND: frozenset({SdiState.SENT}),
    SdiState.SENT: frozenset({SdiState.DELIVERED, SdiState.NOT_DELIVERED, SdiState.REJECTED}),
    SdiState.DELIVERED: frozenset(),
    SdiState.NOT_DELIVERED: frozenset(),
    SdiState.REJECTED: frozenset(),
}
# Invoices sent per round of the task: each round is one selection query.
TRANSMIT_BATCH = 200


class SdiTransitionError(ValueError):
    """A state the invoice cannot move to from where it is."""


class SdiChannel(Protocol):
    """How files reach the exchange."""

    def transmit(self, *, file_name: str, content: bytes) -> str:
        """Hand the file to the exchange; return the identifier it is known by there. Idempotent per file name."""
        ...


class SandboxChannel:
    """Development and tests: the file goes into a folder, and the 'exchange' answers at once.

    The identifier is made from the file name, so sending the same file
    twice (a worker that died after writing it) gives the same answer.
    """

    def __init__(self, outbox: Path) -> None:
        self.outbox = Path(outbox)

    def transmit(self, *, file_name: str, content: bytes) -> str:
        self.outbox.mkdir(parents=True, exist_ok=True)
        target = self.outbox / file_name
        partial = target.with_suffix(".part")
        partial.write_bytes(content)
        partial.replace(target)  # whole or not at all: an exchange never sees half a file
        return f"SANDBOX-{Path(file_name).stem}"


def sdi_channel() -> SdiChannel:
    """The channel the portal sends through (only the sandbox today)."""
    return SandboxChannel(Path(settings.SDI_OUTBOX))


def sdi_state_record(*, invoice: Invoice, state: str, identifier: str = "", by: User | None = None) -> bool:
    """Record that the invoice's file moved to `state` (a transmission or a receipt); whether it changed.

    The same state again, for the same file, is a repeated receipt: nothing
    changes. A receipt naming another file than the one sent, or a move not
    in SDI_TRANSITIONS, raises SdiTransitionError.
    """
    state = SdiState(state)
    while True:
        current, current_identifier = (
            Invoice.objects.filter(pk=invoice.pk).values_list("sdi_state", "sdi_identifier").get()
        )
        if identifier and current_identifier and identifier != current_identifier:
            raise SdiTransitionError(
                f"{invoice.number}: the receipt is about file {identifier}, the invoice's is {current_identifier}"
            )
        if current == state:
            return False
        if state not in SDI_TRANSITIONS[current]:
            raise SdiTransitionError(f"{invoice.number}: {current} cannot become {state}")
        now = timezone.now()
        with transaction.atomic():
            # Claimed on the state read: of two receipts at once, one moves it and the other reads again.
            moved = Invoice.objects.filter(pk=invoice.pk, sdi_state=current).update(
                sdi_state=state, sdi_identifier=identifier or current_identifier, sdi_updated_at=now
            )
            if moved != 1:
                continue
            audit_record(
                actor=by,
                target=invoice,
                event="invoice_sdi_state",
                details={"number": invoice.number, "from": current, "to": state, "identifier": identifier},
            )
        invoice.sdi_state = state
        invoice.sdi_identifier = identifier or current_identifier
        invoice.sdi_updated_at = now
        return True


def sdi_transmit(*, invoice: Invoice, channel: SdiChannel | None = None) -> bool:
    """Make (or reuse) the invoice's XML, hand it to the channel and mark it sent; whether this call sent it."""
    if invoice.sdi_state != SdiState.TO_SEND:
        return False
    channel = channel or sdi_channel()
    document = invoice_xml_document(invoice=invoice)
    with document.file.open("rb") as stored:
        content = stored.read()
    identifier = channel.transmit(file_name=fatturapa_file_name(invoice), content=content)
    try:
        return sdi_state_record(invoice=invoice, state=SdiState.SENT, identifier=identifier)
    except SdiTransitionError:
        # Sent meanwhile by another worker (same file name, same answer): nothing more to do.
        return False


def sdi_transmit_pending(*, channel: SdiChannel | None = None) -> int:
    """Send every invoice still to send, oldest first, in rounds of one query each; how many were sent.

    An invoice whose XML cannot be made (FatturaPAError: its lines do not
    add up) is logged and left to send, for staff to look at; the others go.
    """
    channel = channel or sdi_channel()
    sent = 0
    after = 0
    while True:
        invoices = list(
            Invoice.objects.filter(sdi_state=SdiState.TO_SEND, pk__gt=after)
            .select_related("company", "corrects", "letter_of_intent")
            .order_by("pk")[:TRANSMIT_BATCH]
        )
        if not invoices:
            return sent
        for invoice in invoices:
            after = invoice.pk
            try:
                sent += sdi_transmit(invoice=invoice, channel=channel)
            except FatturaPAError:
                logger.exception("invoice %s not sent to the SdI", invoice.number)
