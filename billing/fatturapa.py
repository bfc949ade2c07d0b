"""The electronic invoice: an issued invoice or credit note as a FatturaPA 1.2.2 document (FPR12), and back.

The XML is built from the invoice as issued (its rows and its `InvoiceLine`
rows), never recomputed: the amounts in it are the invoice's. What the
FatturaPA needs that the rows do not say outright is derived here:

- **Natura** of each amount carrying no VAT (Agenzia delle Entrate, FatturaPA
  specifications 1.7, codes valid since 1 January 2021):
  - N1, "escluse ex art. 15 DPR 633/1972", for the lines that are not VAT-able
    by nature (`vat_applicable` false): the government concession fee, a tax
    the operator collects for the State, and compensation credits, as
    billing.taxes classifies them (`VatTreatment.OUT_OF_SCOPE`); also the
    stamp duty charged back to the customer, which the specifications ask to
    show as a line with N1 next to `DatiBollo`.
  - N3.5, "non imponibili a seguito di dichiarazioni d'intento", for the
    amounts a letter of intent covers (the invoice's `letter_of_intent`), with
    the letter's protocol number in `AltriDatiGestionali` (TipoDato
    "INTENTO", provvedimento AdE 28 October 2021).
  - N4, "esenti", under an exempt regime (DPR 633/1972 art. 10).
  - N3.x under any other non-taxable regime, by the article its legal
    reference quotes (`non_taxable_nature`); N3.6 when it names none we know.
  The regime of an exempt or non-taxable invoice is the exemption in force
  for its month (billing.selectors.tax_profile_for, the rule the billing run
  applied), as billing.credit_notes also reads it.
- A letter of intent whose ceiling covers only part of an invoice leaves one
  VAT-able sum partly non-taxable (billing.taxes.letter_of_intent_share):
  the lines stay at the VAT rate and two adjustment lines move the covered
  part from the rate to N3.5, so each `DatiRiepilogo` is the sum of its lines.
- `EsigibilitaIVA` is given where VAT is charged: "S" under split payment
  (DPR 633/1972 art. 17-ter), "I" otherwise; a block with a Natura carries no
  VAT and so no chargeability.

The XML is checked against the invoice before it leaves: a document whose
lines do not add up to the invoice's amounts raises `FatturaPAError` rather
than reaching the exchange.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.conf import settings
from lxml import etree

from billing.models import Invoice, InvoiceKind, InvoiceLine, InvoiceLineKind, PaymentMethodKind
from billing.taxes import ZERO, Month, VatTreatment, to_cents

NAMESPACE = "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.2"
XMLDSIG = "http://www.w3.org/2000/09/xmldsig#"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = (
    f"{NAMESPACE} https://www.fatturapa.gov.it/export/documenti/fatturapa/v1.2.2/"
    "Schema_del_file_xml_FatturaPA_v1.2.2.xsd"
)
# Invoices between businesses and professionals ("privati"), version 1.2.
TRANSMISSION_FORMAT = "FPR12"
# The code of a recipient known only by PEC, or not at all (the invoice then
# waits in the customer's reserved area of the Agenzia's site).
NO_RECIPIENT_CODE = "0000000"

# How lines are told apart in `CodiceArticolo` (CodiceTipo / CodiceValore):
# what `xml_amounts` reads back to find the concession fee and the stamp duty.
ARTICLE_CODE_TYPE = "VOCE"
STAMP_DUTY_CODE = "BOLLO"
CONCESSION_FEE_CODE = "TCG"
LETTER_OF_INTENT_ADJUSTMENT_CODE = "PLAFOND"
_LINE_CODES = {
    InvoiceLineKind.FEE: "CANONE",
    InvoiceLineKind.CONCESSION_FEE: CONCESSION_FEE_CODE,
    InvoiceLineKind.CHARGE: "ADDEBITO",
    InvoiceLineKind.CREDIT: "ACCREDITO",
}

OUT_OF_SCOPE_NATURE = "N1"
OUT_OF_SCOPE_REFERENCE = "Escluse art. 15 DPR 633/1972"
LETTER_OF_INTENT_NATURE = "N3.5"
EXEMPT_NATURE = "N4"

_PAYMENT_MODES = {
    PaymentMethodKind.BANK_TRANSFER: "MP05",
    PaymentMethodKind.SEPA_DIRECT_DEBIT: "MP19",
    PaymentMethodKind.CARD: "MP08",
}

# The file name's progressive part: at most five alphanumerics (SdI specifications, "nomenclatura dei file").
_PROGRESSIVE_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_PROGRESSIVE_LENGTH = 5


class FatturaPAError(Exception):
    """The invoice cannot be written as a FatturaPA that adds up: it is not sent as it is."""


# ---------------------------------------------------------------------------
# What the document holds: lines and summaries, from the invoice as issued
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class XmlLine:
    code: str
    description: str
    total: Decimal
    rate: Decimal
    nature: str = ""
    quantity: Decimal | None = None
    unit: str = ""
    unit_price: Decimal | None = None
    period: tuple[date, date] | None = None
    letter_of_intent: tuple[str, date] | None = None


@dataclass
class XmlSummary:
    rate: Decimal
    nature: str
    base: Decimal = ZERO
    tax: Decimal = ZERO
    reference: str = ""
    chargeability: str = ""


@dataclass
class XmlPlan:
    lines: list[XmlLine] = field(default_factory=list)
    summaries: list[XmlSummary] = field(default_factory=list)


def non_taxable_nature(legal_reference: str) -> str:
    """The N3.x code of a non-taxable regime, by the article its legal reference quotes.

    DPR 633/1972 art. 8 c. 1 lett. c (a regular exporter's purchases) is
    N3.5; art. 8 lett. a/b (exports) N3.1; art. 41 DL 331/1993
    (intra-Community) N3.2; art. 71 (San Marino, Vatican) N3.3; art. 8-bis and
    9 (assimilated to exports, international services) N3.4; anything else
    N3.6, the code the specifications keep for "other non-taxable operations".
    """
    text = " ".join(legal_reference.lower().split())
    if re.search(r"\bart\.?\s*8\b[^-]*lett(?:era|\.)?\s*c\b", text) or "intent" in text:
        return "N3.5"
    if re.search(r"\bart\.?\s*8\b(?!-)", text):
        return "N3.1"
    if re.search(r"\bart\.?\s*41\b", text) and "331" in text:
        return "N3.2"
    if re.search(r"\bart\.?\s*71\b", text) or "san marino" in text:
        return "N3.3"
    if re.search(r"\bart\.?\s*(8-bis|8 bis|9)\b", text):
        return "N3.4"
    return "N3.6"


def _exempted_nature(invoice: Invoice) -> tuple[str, str, tuple[str, date] | None]:
    """The Natura, legal reference and letter (protocol, date) of the invoice's exempt or non-taxable amounts."""
    letter = invoice.letter_of_intent
    if letter is not None:
        reference = (
            f"{letter.legal_reference.strip()}, lettera d'intento prot. n. {letter.protocol_number.strip()}"
        )
        # The letter's date: its validity starts with the receipt the customer sent us.
        return LETTER_OF_INTENT_NATURE, reference, (letter.protocol_number.strip(), letter.valid_from)
    from billing.selectors import tax_profile_for

    exemption = tax_profile_for(
        company=invoice.company, month=Month.of(invoice.period_start.year, invoice.period_start.month)
    ).vat_exemption
    if exemption is None:
        raise FatturaPAError(
            f"{invoice.number}: amounts without VAT but no exemption in force for its month to say why"
        )
    if exemption.treatment is VatTreatment.EXEMPT:
        return EXEMPT_NATURE, exemption.legal_reference, None
    return non_taxable_nature(exemption.legal_reference), exemption.legal_reference, None


def _fee_line_quantity(row: InvoiceLine, invoice: Invoice) -> tuple[Decimal, str, Decimal] | None:
    """A fee for part of the month as days x the daily fee, when that product is the line's amount.

    The FatturaPA checks PrezzoTotale against PrezzoUnitario x Quantita; the
    run's quantity (a fraction with four decimals) times a large fee could
    miss the cent, days x a daily fee with eight decimals does not.
    """
    if row.kind != InvoiceLineKind.FEE or row.days is None:
        return None
    month_days = (invoice.period_end - invoice.period_start).days + 1
    if row.days >= month_days:
        return None
    daily = (row.unit_amount / month_days).quantize(Decimal("0.00000001"))
    if to_cents(daily * row.days) != row.amount:
        return None
    return Decimal(row.days), "giorni", daily


def fatturapa_plan(*, invoice: Invoice, rows: Iterable[InvoiceLine]) -> XmlPlan:
    """The document's lines and summaries, checked against the invoice's amounts."""
    rows = list(rows)
    vat_able = sum((row.amount for row in rows if row.vat_applicable), ZERO)
    exempted = vat_able - invoice.taxable
    exempted_nature = exempted_reference = ""
    letter: tuple[str, date] | None = None
    if exempted != 0:
        exempted_nature, exempted_reference, letter = _exempted_nature(invoice)
    wholly_exempted = exempted != 0 and invoice.taxable == 0
    rate = invoice.vat_rate if not wholly_exempted else ZERO
    if not wholly_exempted and rate <= 0 and vat_able != 0:
        raise FatturaPAError(f"{invoice.number}: VAT-able lines but no VAT rate")

    plan = XmlPlan()
    for row in rows:
        if row.vat_applicable:
            nature = exempted_nature if wholly_exempted else ""
            line_rate = ZERO if wholly_exempted else rate
        else:
            nature, line_rate = OUT_OF_SCOPE_NATURE, ZERO
        days = _fee_line_quantity(row, invoice)
        plan.lines.append(
            XmlLine(
                code=_LINE_CODES.get(InvoiceLineKind(row.kind), "ADDEBITO"),
                description=row.description,
                total=row.amount,
                rate=line_rate,
                nature=nature,
                quantity=days[0] if days else Decimal(1),
                unit=days[1] if days else "",
                unit_price=days[2] if days else row.amount,
                letter_of_intent=letter if nature == LETTER_OF_INTENT_NATURE else None,
            )
        )
    if exempted != 0 and not wholly_exempted:
        # Part of one VAT-able sum is covered by the letter: moved from the rate to N3.5.
        description = "Quota non imponibile entro il plafond della lettera d'intento"
        plan.lines.append(
            XmlLine(
                code=LETTER_OF_INTENT_ADJUSTMENT_CODE,
                description=f"{description} (storno dall'aliquota {rate:.2f}%)",
                total=-exempted,
                rate=rate,
                quantity=Decimal(1),
                unit_price=-exempted,
            )
        )
        plan.lines.append(
            XmlLine(
                code=LETTER_OF_INTENT_ADJUSTMENT_CODE,
                description=description,
                total=exempted,
                rate=ZERO,
                nature=exempted_nature,
                quantity=Decimal(1),
                unit_price=exempted,
                letter_of_intent=letter,
            )
        )
    if invoice.stamp_duty:
        # The stamp duty charged back to the customer: a line outside the VAT base.
        plan.lines.append(
            XmlLine(
                code=STAMP_DUTY_CODE,
                description="Imposta di bollo assolta in modo virtuale (DPR 642/1972)",
                total=invoice.stamp_duty,
                rate=ZERO,
                nature=OUT_OF_SCOPE_NATURE,
                quantity=Decimal(1),
                unit_price=invoice.stamp_duty,
            )
        )

    summaries: dict[tuple[Decimal, str], XmlSummary] = {}
    for line in plan.lines:
        key = (line.rate, line.nature)
        if key not in summaries:
            reference = ""
            if line.nature == OUT_OF_SCOPE_NATURE:
                reference = OUT_OF_SCOPE_REFERENCE
            elif line.nature:
                reference = exempted_reference
            summaries[key] = XmlSummary(
                rate=line.rate,
                nature=line.nature,
                reference=reference,
                chargeability=("S" if invoice.split_payment else "I") if not line.nature else "",
            )
        summaries[key].base += line.total
    for summary in summaries.values():
        if not summary.nature:
            # VAT as the invoice computed it: once on the rate's total (DPR 633/1972 art. 21).
            summary.tax = invoice.vat
    plan.summaries = sorted(summaries.values(), key=lambda s: (s.nature != "", -s.rate, s.nature))
    _check(invoice=invoice, plan=plan, rows=rows)
    return plan


def _check(*, invoice: Invoice, plan: XmlPlan, rows: list[InvoiceLine]) -> None:
    """The plan's amounts are the invoice's, or nothing is written."""
    taxed = [s for s in plan.summaries if not s.nature]
    problems = []
    if len(taxed) > 1:
        problems.append("more than one VAT rate")
    if sum((s.base for s in taxed), ZERO) != invoice.taxable:
        problems.append("taxable amount")
    if sum((s.tax for s in plan.summaries), ZERO) != invoice.vat:
        problems.append("VAT")
    # SdI check 00421 accepts a VAT off the rate by up to one euro: a credit
    # note that gives back the last of an invoice's VAT may be a cent off.
    if any(abs(s.tax - s.base * s.rate / 100) > 1 for s in taxed):
        problems.append("VAT at its rate")
    fee = sum((row.amount for row in rows if row.kind == InvoiceLineKind.CONCESSION_FEE), ZERO)
    if fee != invoice.concession_fee:
        problems.append("concession fee")
    untaxed = sum((s.base for s in plan.summaries if s.nature), ZERO) - fee - invoice.stamp_duty
    if untaxed != invoice.untaxed:
        problems.append("amounts without VAT")
    if sum((s.base + s.tax for s in plan.summaries), ZERO) != invoice.total:
        problems.append("total")
    if problems:
        raise FatturaPAError(
            f"{invoice.number}: the lines do not add up to the invoice's {', '.join(problems)}"
        )


# ---------------------------------------------------------------------------
# The XML
# ---------------------------------------------------------------------------

# Typographic characters the FatturaPA's Latin-1 would lose, by their plain equivalents.
_REPLACEMENTS = str.maketrans(
    {
        "\u20ac": "EUR",  # euro sign
        "\u2013": "-",  # en dash
        "\u2014": "-",  # em dash
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2026": "...",
    }
)


def _latin(text: str, limit: int) -> str:
    """Text the FatturaPA accepts: Basic Latin and Latin-1 only, on one line, at most `limit` characters."""
    text = " ".join(text.translate(_REPLACEMENTS).split())
    kept = []
    for char in text:
        if ord(char) < 0x100:
            kept.append(char)
        else:
            kept.append(unicodedata.normalize("NFKD", char).encode("latin-1", "ignore").decode("latin-1"))
    return "".join(kept)[:limit].strip() or "-"


def _ascii(text: str, limit: int) -> str:
    return _latin(text, limit * 2).encode("ascii", "ignore").decode()[:limit] or "-"


def _money(amount: Decimal) -> str:
    return f"{amount:.2f}"


def _price(amount: Decimal) -> str:
    """Amount8DecimalType and QuantitaType: two decimals when they are enough, up to eight when they are not."""
    digits = format(amount.normalize(), "f").partition(".")[2]
    return f"{amount:.{min(8, max(2, len(digits)))}f}"


def transmission_progressive(invoice: Invoice) -> str:
    """The invoice's ProgressivoInvio and file name part: its id in base 36, five characters.

    Unique per invoice (the id never changes, and each invoice is sent once
    with its one XML), within the SdI's five alphanumerics up to 60 466 175 documents.
    """
    number = invoice.pk
    if number is None or number >= len(_PROGRESSIVE_DIGITS) ** _PROGRESSIVE_LENGTH:
        raise FatturaPAError("the invoice's id does not fit the file name's five characters")
    digits = ""
    while number:
        number, rest = divmod(number, len(_PROGRESSIVE_DIGITS))
        digits = _PROGRESSIVE_DIGITS[rest] + digits
    return digits.rjust(_PROGRESSIVE_LENGTH, "0")


def fatturapa_file_name(invoice: Invoice) -> str:
    """The name the SdI requires: the transmitter's country and tax id, "_", the progressive, ".xml"."""
    return f"IT{_seller()['vat_number']}_{transmission_progressive(invoice)}.xml"


def _seller() -> dict[str, str]:
    seller: dict[str, str] = settings.INVOICE_SELLER
    return seller


def _vat_parts(vat_number: str) -> tuple[str, str]:
    vat_number = vat_number.replace(" ", "").upper()
    if len(vat_number) > 2 and vat_number[:2].isalpha():
        return vat_number[:2], vat_number[2:]
    return "IT", vat_number


_ADDRESS = re.compile(
    r"^(?P<street>.*?)[\s,]+(?P<postcode>\d{5})[\s,]+(?P<city>.+?)(?:\s+\(?(?P<province>[A-Z]{2})\)?)?\s*$"
)


def split_address(address: str) -> tuple[str, str, str, str]:
    """(street, postcode, city, province) of an Italian address written on one or two lines.

    The company's registered office is one free text ("Via Roma 1, 20121
    Milano MI"); what cannot be read keeps the whole text as the street, with
    the placeholder postcode 00000, the format's only way to say "unknown".
    """
    text = " ".join(address.split())
    match = _ADDRESS.match(text)
    if match is None:
        return text or "-", "00000", "-", ""
    return (
        match["street"].strip(" ,") or "-",
        match["postcode"],
        match["city"].strip(" ,") or "-",
        match["province"] or "",
    )


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, tag)
    if text is not None:
        element.text = text
    return element


def _address(parent: etree._Element, *, street: str, postcode: str, city: str, province: str) -> None:
    sede = _sub(parent, "Sede")
    _sub(sede, "Indirizzo", _latin(street, 60))
    _sub(sede, "CAP", postcode)
    _sub(sede, "Comune", _latin(city, 60))
    if province:
        _sub(sede, "Provincia", province)
    _sub(sede, "Nazione", "IT")


def _header(root: etree._Element, invoice: Invoice) -> None:
    seller = _seller()
    company = invoice.company
    header = _sub(root, "FatturaElettronicaHeader")

    transmission = _sub(header, "DatiTrasmissione")
    transmitter = _sub(transmission, "IdTrasmittente")
    _sub(transmitter, "IdPaese", "IT")
    _sub(transmitter, "IdCodice", seller["vat_number"])
    _sub(transmission, "ProgressivoInvio", transmission_progressive(invoice))
    _sub(transmission, "FormatoTrasmissione", TRANSMISSION_FORMAT)
    recipient_code = company.recipient_code.strip().upper()
    _sub(transmission, "CodiceDestinatario", recipient_code or NO_RECIPIENT_CODE)
    if not recipient_code and company.pec:
        _sub(transmission, "PECDestinatario", company.pec)

    supplier = _sub(header, "CedentePrestatore")
    data = _sub(supplier, "DatiAnagrafici")
    vat_id = _sub(data, "IdFiscaleIVA")
    _sub(vat_id, "IdPaese", seller.get("country", "IT"))
    _sub(vat_id, "IdCodice", seller["vat_number"])
    _sub(data, "CodiceFiscale", seller["tax_code"])
    _sub(_sub(data, "Anagrafica"), "Denominazione", _latin(seller["name"], 80))
    _sub(data, "RegimeFiscale", seller["tax_regime"])
    _address(
        supplier,
        street=seller["street"],
        postcode=seller["postcode"],
        city=seller["city"],
        province=seller["province"],
    )
    if seller.get("rea_number"):
        rea = _sub(supplier, "IscrizioneREA")
        _sub(rea, "Ufficio", seller["rea_office"])
        _sub(rea, "NumeroREA", seller["rea_number"])
        _sub(rea, "StatoLiquidazione", "LN")  # not in liquidation
    if seller.get("email"):
        _sub(_sub(supplier, "Contatti"), "Email", seller["email"])

    customer = _sub(header, "CessionarioCommittente")
    data = _sub(customer, "DatiAnagrafici")
    country, code = _vat_parts(company.vat_number)
    vat_id = _sub(data, "IdFiscaleIVA")
    _sub(vat_id, "IdPaese", country)
    _sub(vat_id, "IdCodice", code)
    if company.tax_code:
        _sub(data, "CodiceFiscale", company.tax_code.strip().upper())
    _sub(_sub(data, "Anagrafica"), "Denominazione", _latin(company.name, 80))
    street, postcode, city, province = split_address(company.registered_office)
    _address(customer, street=street, postcode=postcode, city=city, province=province)


def _body(root: etree._Element, invoice: Invoice, plan: XmlPlan) -> None:
    body = _sub(root, "FatturaElettronicaBody")
    general = _sub(body, "DatiGenerali")
    document = _sub(general, "DatiGeneraliDocumento")
    _sub(document, "TipoDocumento", "TD04" if invoice.kind == InvoiceKind.CREDIT_NOTE else "TD01")
    _sub(document, "Divisa", "EUR")
    _sub(document, "Data", invoice.issued_on.isoformat())
    _sub(document, "Numero", _ascii(invoice.number, 20))
    if invoice.stamp_duty > 0:
        # DPR 642/1972 and DM 17 June 2014 art. 6: stamp duty on electronic invoices is paid virtually.
        stamp = _sub(document, "DatiBollo")
        _sub(stamp, "BolloVirtuale", "SI")
        _sub(stamp, "ImportoBollo", _money(invoice.stamp_duty))
    _sub(document, "ImportoTotaleDocumento", _money(invoice.total))
    reasons = []
    if invoice.kind == InvoiceKind.CREDIT_NOTE and invoice.corrects is not None:
        corrected = invoice.corrects
        reasons.append(
            f"Nota di credito a storno della fattura n. {corrected.number} del {corrected.issued_on:%d/%m/%Y}"
        )
        if invoice.reason:
            reasons.append(invoice.reason)
    reasons.append(
        f"Servizi di telecomunicazione dal {invoice.period_start:%d/%m/%Y} al {invoice.period_end:%d/%m/%Y}"
    )
    reasons.extend(line for line in invoice.exemption_notes.splitlines() if line.strip())
    for reason in reasons:
        _sub(document, "Causale", _latin(reason, 200))
    if invoice.kind == InvoiceKind.CREDIT_NOTE and invoice.corrects is not None:
        linked = _sub(general, "DatiFattureCollegate")
        _sub(linked, "IdDocumento", _ascii(invoice.corrects.number, 20))
        _sub(linked, "Data", invoice.corrects.issued_on.isoformat())

    goods = _sub(body, "DatiBeniServizi")
    for number, line in enumerate(plan.lines, start=1):
        detail = _sub(goods, "DettaglioLinee")
        _sub(detail, "NumeroLinea", str(number))
        article = _sub(detail, "CodiceArticolo")
        _sub(article, "CodiceTipo", ARTICLE_CODE_TYPE)
        _sub(article, "CodiceValore", line.code)
        _sub(detail, "Descrizione", _latin(line.description, 1000))
        if line.quantity is not None:
            _sub(detail, "Quantita", _price(line.quantity))
        if line.unit:
            _sub(detail, "UnitaMisura", line.unit)
        _sub(detail, "PrezzoUnitario", _price(line.unit_price if line.unit_price is not None else line.total))
        _sub(detail, "PrezzoTotale", _money(line.total))
        _sub(detail, "AliquotaIVA", _money(line.rate))
        if line.nature:
            _sub(detail, "Natura", line.nature)
        if line.letter_of_intent is not None:
            protocol, received_on = line.letter_of_intent
            other = _sub(detail, "AltriDatiGestionali")
            _sub(other, "TipoDato", "INTENTO")
            _sub(other, "RiferimentoTesto", _latin(protocol, 60))
            _sub(other, "RiferimentoData", received_on.isoformat())
    for summary in plan.summaries:
        block = _sub(goods, "DatiRiepilogo")
        _sub(block, "AliquotaIVA", _money(summary.rate))
        if summary.nature:
            _sub(block, "Natura", summary.nature)
        _sub(block, "ImponibileImporto", _money(summary.base))
        _sub(block, "Imposta", _money(summary.tax))
        if summary.chargeability:
            _sub(block, "EsigibilitaIVA", summary.chargeability)
        if summary.reference:
            _sub(block, "RiferimentoNormativo", _latin(summary.reference, 100))

    # A credit note asks for no payment (billing.credit_notes): it has no payment terms.
    if invoice.kind == InvoiceKind.INVOICE:
        payment = _sub(body, "DatiPagamento")
        _sub(payment, "CondizioniPagamento", "TP02")  # in one payment
        detail = _sub(payment, "DettaglioPagamento")
        if invoice.payment_method == PaymentMethodKind.BANK_TRANSFER:
            _sub(detail, "Beneficiario", _latin(_seller()["name"], 200))
        _sub(
            detail, "ModalitaPagamento", _PAYMENT_MODES.get(PaymentMethodKind(invoice.payment_method), "MP05")
        )
        _sub(detail, "DataScadenzaPagamento", invoice.due_on.isoformat())
        # Under split payment the customer pays us the total less VAT (art. 17-ter).
        _sub(detail, "ImportoPagamento", _money(invoice.amount_due))
        if invoice.payment_method == PaymentMethodKind.BANK_TRANSFER and _seller().get("bank_iban"):
            _sub(detail, "IBAN", _seller()["bank_iban"].replace(" ", "").upper())


def fatturapa_xml(*, invoice: Invoice) -> bytes:
    """The invoice or credit note as a FatturaPA FPR12 document, UTF-8; raises FatturaPAError if it would not add up."""
    rows = InvoiceLine.objects.filter(invoice=invoice).order_by("position")
    plan = fatturapa_plan(invoice=invoice, rows=rows)
    root = etree.Element(
        f"{{{NAMESPACE}}}FatturaElettronica", nsmap={"p": NAMESPACE, "ds": XMLDSIG, "xsi": XSI}
    )
    root.set("versione", TRANSMISSION_FORMAT)
    root.set(f"{{{XSI}}}schemaLocation", SCHEMA_LOCATION)
    _header(root, invoice)
    _body(root, invoice, plan)
    xml: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return xml


# ---------------------------------------------------------------------------
# Reading it back: what tests (and a curious operator) compare with the invoice
# ---------------------------------------------------------------------------


def xml_amounts(xml: bytes) -> dict[str, Decimal]:
    """The amounts a FatturaPA document states, named as the invoice's fields.

    - `taxable`, `vat`: the summaries with a VAT rate (ImponibileImporto, Imposta);
    - `concession_fee`, `stamp_duty`: the lines coded TCG and BOLLO; `stamp_duty`
      is also checked against DatiBollo and is 0 without it;
    - `untaxed`: the summaries with a Natura, less the concession fee and stamp duty;
    - `total`: ImportoTotaleDocumento; `amount_due`: the ImportoPagamento sum
      (0 without DatiPagamento);
    - `lines`: the sum of every PrezzoTotale; `summaries`: the sum of every
      summary's ImponibileImporto and Imposta (a sound document has it equal
      to `total`).
    """
    root = etree.fromstring(xml)

    def money(element: etree._Element, tag: str) -> Decimal:
        text = element.findtext(tag)
        return Decimal(text) if text is not None else ZERO

    body = root.find("FatturaElettronicaBody")
    if body is None:
        raise FatturaPAError("no FatturaElettronicaBody")
    lines = body.findall("DatiBeniServizi/DettaglioLinee")
    summaries = body.findall("DatiBeniServizi/DatiRiepilogo")

    def coded(code: str) -> Decimal:
        return sum(
            (
                money(line, "PrezzoTotale")
                for line in lines
                if line.findtext("CodiceArticolo/CodiceValore") == code
            ),
            ZERO,
        )

    stamp_line = coded(STAMP_DUTY_CODE)
    stamp_declared = money(body, "DatiGenerali/DatiGeneraliDocumento/DatiBollo/ImportoBollo")
    if stamp_line != stamp_declared:
        raise FatturaPAError(f"stamp duty charged {stamp_line}, declared {stamp_declared}")
    fee = coded(CONCESSION_FEE_CODE)
    with_nature = sum(
        (money(s, "ImponibileImporto") for s in summaries if s.find("Natura") is not None), ZERO
    )
    return {
        "taxable": sum((money(s, "ImponibileImporto") for s in summaries if s.find("Natura") is None), ZERO),
        "vat": sum((money(s, "Imposta") for s in summaries), ZERO),
        "untaxed": with_nature - fee - stamp_line,
        "concession_fee": fee,
        "stamp_duty": stamp_declared,
        "total": money(body, "DatiGenerali/DatiGeneraliDocumento/ImportoTotaleDocumento"),
        "amount_due": sum(
            (
                money(detail, "ImportoPagamento")
                for detail in body.findall("DatiPagamento/DettaglioPagamento")
            ),
            ZERO,
        ),
        "lines": sum((money(line, "PrezzoTotale") for line in lines), ZERO),
        "summaries": sum((money(s, "ImponibileImporto") + money(s, "Imposta") for s in summaries), ZERO),
    }
