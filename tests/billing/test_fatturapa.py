"""The electronic invoice (FatturaPA 1.2.2): parsed back, every amount is the invoice's.

Invoices come from the real billing run over companies with lines (as in
test_billing_run); credit notes are made here directly. `assert_xml_matches`
is the check a test over every demo invoice can reuse.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db.models import Sum
from lxml import etree

from billing.fatturapa import (
    FatturaPAError,
    fatturapa_file_name,
    fatturapa_xml,
    non_taxable_nature,
    split_address,
    transmission_progressive,
    xml_amounts,
)
from billing.models import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    PaymentMethodKind,
    TaxExemption,
    TaxExemptionKind,
)
from billing.services import billing_run_month, tax_exemption_approve
from selfcare.models import Company
from tests.billing.test_billing_run import MONTH, YEAR, add_lines, company_with_lines, the_invoice_of
from tests.billing.test_exemptions import exemption
from tests.factories import CompanyFactory, UserFactory

pytestmark = pytest.mark.django_db

D = Decimal


def parse(xml: bytes) -> etree._Element:
    return etree.fromstring(xml)


def text(root: etree._Element, path: str) -> str | None:
    return root.findtext(path)


BODY = "FatturaElettronicaBody"
DOCUMENT = f"{BODY}/DatiGenerali/DatiGeneraliDocumento"
TRANSMISSION = "FatturaElettronicaHeader/DatiTrasmissione"


def assert_xml_matches(invoice: Invoice, xml: bytes) -> dict[str, Decimal]:
    """Every amount of the XML is the invoice's: taxes, lines, summaries, what is due."""
    amounts = xml_amounts(xml)
    lines_total = InvoiceLine.objects.filter(invoice=invoice).aggregate(total=Sum("amount"))["total"] or D(0)
    assert amounts["taxable"] == invoice.taxable
    assert amounts["vat"] == invoice.vat
    assert amounts["untaxed"] == invoice.untaxed
    assert amounts["concession_fee"] == invoice.concession_fee
    assert amounts["stamp_duty"] == invoice.stamp_duty
    assert amounts["total"] == invoice.total
    # The lines (with the stamp duty charged as a line) add up to the total before VAT…
    assert amounts["lines"] == lines_total + invoice.stamp_duty == invoice.total - invoice.vat
    # … and the summaries to the total.
    assert amounts["summaries"] == invoice.total
    if invoice.kind == InvoiceKind.INVOICE:
        assert amounts["amount_due"] == invoice.amount_due
    root = parse(xml)
    for line in root.iterfind(f"{BODY}/DatiBeniServizi/DettaglioLinee"):
        # SdI check 00423: PrezzoTotale is PrezzoUnitario x Quantita, to the cent.
        quantity = D(line.findtext("Quantita") or "1")
        unit_price = D(line.findtext("PrezzoUnitario") or "0")
        assert abs(quantity * unit_price - D(line.findtext("PrezzoTotale") or "0")) < D("0.01")
        # A line without VAT says why (Natura); a line with VAT has none.
        assert (D(line.findtext("AliquotaIVA") or "0") == 0) == (line.find("Natura") is not None)
    return amounts


def billed(company: Company) -> Invoice:
    billing_run_month(year=YEAR, month=MONTH)
    return Invoice.objects.select_related("company").get(pk=the_invoice_of(company).pk)


def credit_note_of(invoice: Invoice, *, number: int = 1) -> Invoice:
    """A full credit note on `invoice`, made directly: its amounts positive, as FatturaPA TD04 carries them."""
    note = Invoice.objects.create(
        company=invoice.company,
        kind=InvoiceKind.CREDIT_NOTE,
        corrects=invoice,
        reason="Canoni addebitati per errore",
        year=invoice.year,
        sequence_number=number,
        number=f"NC{invoice.year}/{number:06d}",
        issued_on=invoice.issued_on,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        due_on=invoice.issued_on,
        status="paid",
        taxable=invoice.taxable,
        vat_rate=invoice.vat_rate,
        vat=invoice.vat,
        untaxed=invoice.untaxed,
        concession_fee=invoice.concession_fee,
        stamp_duty=invoice.stamp_duty,
        total=invoice.total,
        exemption_notes=invoice.exemption_notes,
        split_payment=invoice.split_payment,
    )
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=note,
            position=line.position,
            line_id=line.line_id,
            kind=line.kind,
            description=line.description,
            cost_centre=line.cost_centre,
            days=line.days,
            quantity=line.quantity,
            unit_amount=line.unit_amount,
            amount=line.amount,
            vat_applicable=line.vat_applicable,
        )
        for line in invoice.lines.order_by("position")
    )
    return note


class TestAnInvoiceOfTheBillingRun:
    def test_is_a_td01_of_format_fpr12_whose_amounts_are_the_invoices(self) -> None:
        company = company_with_lines(7)

        invoice = billed(company)
        xml = fatturapa_xml(invoice=invoice)

        amounts = assert_xml_matches(invoice, xml)
        assert (amounts["taxable"], amounts["vat"], amounts["concession_fee"], amounts["stamp_duty"]) == (
            D("70.00"),
            D("15.40"),
            D("90.37"),
            D("2.00"),
        )
        assert amounts["total"] == D("177.77")
        root = parse(xml)
        assert root.get("versione") == "FPR12"
        assert text(root, f"{TRANSMISSION}/FormatoTrasmissione") == "FPR12"
        assert text(root, f"{DOCUMENT}/TipoDocumento") == "TD01"
        assert text(root, f"{DOCUMENT}/Numero") == invoice.number
        assert text(root, f"{DOCUMENT}/Data") == invoice.issued_on.isoformat()
        assert text(root, f"{DOCUMENT}/DatiBollo/BolloVirtuale") == "SI"
        assert text(root, f"{DOCUMENT}/DatiBollo/ImportoBollo") == "2.00"

    def test_names_the_seller_and_the_customer(self, settings: object) -> None:
        company = company_with_lines(2, fee="25.00")
        Company.objects.filter(pk=company.pk).update(registered_office="Via Roma 1, 20121 Milano MI")

        root = parse(fatturapa_xml(invoice=billed(company)))

        header = "FatturaElettronicaHeader"
        assert text(root, f"{header}/CedentePrestatore/DatiAnagrafici/IdFiscaleIVA/IdCodice") == "04567890126"
        assert text(root, f"{header}/CedentePrestatore/DatiAnagrafici/RegimeFiscale") == "RF01"
        assert text(root, f"{header}/CedentePrestatore/IscrizioneREA/NumeroREA") == "1234567"
        customer = f"{header}/CessionarioCommittente"
        assert (
            "IT" + (text(root, f"{customer}/DatiAnagrafici/IdFiscaleIVA/IdCodice") or "")
            == company.vat_number
        )
        assert text(root, f"{customer}/DatiAnagrafici/CodiceFiscale") == company.tax_code
        assert text(root, f"{customer}/DatiAnagrafici/Anagrafica/Denominazione") == company.name[:80]
        assert [
            text(root, f"{customer}/Sede/{tag}") for tag in ("Indirizzo", "CAP", "Comune", "Provincia")
        ] == [
            "Via Roma 1",
            "20121",
            "Milano",
            "MI",
        ]

    def test_the_concession_fee_is_a_line_outside_the_vat_base_n1(self) -> None:
        invoice = billed(company_with_lines(7))

        root = parse(fatturapa_xml(invoice=invoice))

        lines = root.findall(f"{BODY}/DatiBeniServizi/DettaglioLinee")
        fees = [line for line in lines if line.findtext("CodiceArticolo/CodiceValore") == "TCG"]
        assert len(fees) == 7
        assert {
            (f.findtext("PrezzoTotale"), f.findtext("AliquotaIVA"), f.findtext("Natura")) for f in fees
        } == {("12.91", "0.00", "N1")}
        summaries = {
            (s.findtext("AliquotaIVA"), s.findtext("Natura")): s
            for s in root.iterfind(f"{BODY}/DatiBeniServizi/DatiRiepilogo")
        }
        assert set(summaries) == {("22.00", None), ("0.00", "N1")}
        # The concession fee and the stamp duty charged back: 90.37 + 2.00.
        assert summaries[("0.00", "N1")].findtext("ImponibileImporto") == "92.37"
        assert "art. 15" in (summaries[("0.00", "N1")].findtext("RiferimentoNormativo") or "")
        assert summaries[("22.00", None)].findtext("EsigibilitaIVA") == "I"

    def test_a_fee_for_part_of_the_month_is_days_times_the_daily_fee(self) -> None:
        company = CompanyFactory.create()
        add_lines(company, activated_on=date(2026, 10, 16), fee="1000.00")

        invoice = billed(company)
        xml = fatturapa_xml(invoice=invoice)

        assert_xml_matches(invoice, xml)
        fee = next(
            line
            for line in parse(xml).iterfind(f"{BODY}/DatiBeniServizi/DettaglioLinee")
            if line.findtext("CodiceArticolo/CodiceValore") == "CANONE"
        )
        assert (fee.findtext("Quantita"), fee.findtext("UnitaMisura")) == ("16.00", "giorni")
        # 1000.00 x 16 / 31 = 516.129… → 516.13
        assert fee.findtext("PrezzoTotale") == "516.13"

    def test_payment_by_bank_transfer_to_the_sellers_iban_for_the_amount_due_by_the_due_date(self) -> None:
        invoice = billed(company_with_lines(7))

        root = parse(fatturapa_xml(invoice=invoice))

        payment = f"{BODY}/DatiPagamento/DettaglioPagamento"
        assert text(root, f"{BODY}/DatiPagamento/CondizioniPagamento") == "TP02"
        assert text(root, f"{payment}/ModalitaPagamento") == "MP05"
        assert text(root, f"{payment}/IBAN") == "IT76W0306909606100000123456"
        assert text(root, f"{payment}/ImportoPagamento") == "177.77"
        assert text(root, f"{payment}/DataScadenzaPagamento") == invoice.due_on.isoformat()

    @pytest.mark.parametrize(
        ("method", "code"), [(PaymentMethodKind.SEPA_DIRECT_DEBIT, "MP19"), (PaymentMethodKind.CARD, "MP08")]
    )
    def test_other_payment_methods_have_their_code_and_no_iban_of_ours(self, method: str, code: str) -> None:
        invoice = billed(company_with_lines(1))
        Invoice.objects.filter(pk=invoice.pk).update(payment_method=method)
        invoice.refresh_from_db()

        root = parse(fatturapa_xml(invoice=invoice))

        assert text(root, f"{BODY}/DatiPagamento/DettaglioPagamento/ModalitaPagamento") == code
        assert root.find(f"{BODY}/DatiPagamento/DettaglioPagamento/IBAN") is None

    def test_goes_to_the_recipient_code(self) -> None:
        company = company_with_lines(1)
        Company.objects.filter(pk=company.pk).update(recipient_code="ABC1234")

        root = parse(fatturapa_xml(invoice=billed(company)))

        assert text(root, f"{TRANSMISSION}/CodiceDestinatario") == "ABC1234"
        assert root.find(f"{TRANSMISSION}/PECDestinatario") is None

    def test_a_company_with_only_a_pec_gets_seven_zeros_and_its_pec(self) -> None:
        company = company_with_lines(1)
        Company.objects.filter(pk=company.pk).update(recipient_code="", pec="fatture@pec.example.it")

        root = parse(fatturapa_xml(invoice=billed(company)))

        assert text(root, f"{TRANSMISSION}/CodiceDestinatario") == "0000000"
        assert text(root, f"{TRANSMISSION}/PECDestinatario") == "fatture@pec.example.it"

    def test_no_stamp_duty_no_datibollo(self) -> None:
        invoice = billed(company_with_lines(6))

        xml = fatturapa_xml(invoice=invoice)

        assert invoice.stamp_duty == 0
        assert parse(xml).find(f"{DOCUMENT}/DatiBollo") is None
        assert assert_xml_matches(invoice, xml)["stamp_duty"] == 0

    def test_each_invoice_has_its_own_progressive_and_file_name(self) -> None:
        first, second = company_with_lines(1), company_with_lines(1)
        billing_run_month(year=YEAR, month=MONTH)
        one, other = the_invoice_of(first), the_invoice_of(second)

        assert transmission_progressive(one) != transmission_progressive(other)
        assert parse(fatturapa_xml(invoice=one)).findtext(f"{TRANSMISSION}/ProgressivoInvio") == (
            transmission_progressive(one)
        )
        assert fatturapa_file_name(one) == f"IT04567890126_{transmission_progressive(one)}.xml"


class TestCreditNotes:
    def test_a_credit_note_is_a_td04_linked_to_the_invoice_it_corrects(self) -> None:
        invoice = billed(company_with_lines(7))
        note = credit_note_of(invoice)

        xml = fatturapa_xml(invoice=note)

        assert_xml_matches(note, xml)
        root = parse(xml)
        assert text(root, f"{DOCUMENT}/TipoDocumento") == "TD04"
        assert text(root, f"{DOCUMENT}/Numero") == note.number
        linked = f"{BODY}/DatiGenerali/DatiFattureCollegate"
        assert text(root, f"{linked}/IdDocumento") == invoice.number
        assert text(root, f"{linked}/Data") == invoice.issued_on.isoformat()
        causes = [c.text for c in root.iterfind(f"{DOCUMENT}/Causale")]
        assert any(invoice.number in (c or "") for c in causes)
        assert "Canoni addebitati per errore" in causes
        # Nothing is paid on a credit note.
        assert root.find(f"{BODY}/DatiPagamento") is None


class TestExemptions:
    def test_split_payment_declares_chargeability_s_and_asks_for_the_total_less_vat(self) -> None:
        company = company_with_lines(7)
        exemption(company, TaxExemptionKind.SPLIT_PAYMENT)

        invoice = billed(company)
        xml = fatturapa_xml(invoice=invoice)

        amounts = assert_xml_matches(invoice, xml)
        assert amounts["amount_due"] == D("162.37") == invoice.total - invoice.vat
        root = parse(xml)
        taxed = next(
            s for s in root.iterfind(f"{BODY}/DatiBeniServizi/DatiRiepilogo") if s.find("Natura") is None
        )
        assert taxed.findtext("EsigibilitaIVA") == "S"

    def test_an_exempt_company_has_its_fees_as_n4_with_the_law(self) -> None:
        company = company_with_lines(7)
        exemption(company, TaxExemptionKind.VAT_EXEMPT)

        invoice = billed(company)
        xml = fatturapa_xml(invoice=invoice)

        amounts = assert_xml_matches(invoice, xml)
        assert (amounts["taxable"], amounts["vat"], amounts["untaxed"]) == (D("0"), D("0"), D("70.00"))
        summaries = {
            s.findtext("Natura"): s for s in parse(xml).iterfind(f"{BODY}/DatiBeniServizi/DatiRiepilogo")
        }
        assert set(summaries) == {"N4", "N1"}
        assert summaries["N4"].findtext("ImponibileImporto") == "70.00"
        assert summaries["N4"].findtext("RiferimentoNormativo") == "Esente art. 10 DPR 633/1972"
        assert summaries["N4"].find("EsigibilitaIVA") is None

    def test_a_letter_of_intent_is_n35_with_its_protocol_on_each_line(self) -> None:
        company = company_with_lines(7)
        letter = exemption(company, TaxExemptionKind.LETTER_OF_INTENT)

        invoice = billed(company)
        xml = fatturapa_xml(invoice=invoice)

        assert_xml_matches(invoice, xml)
        root = parse(xml)
        covered = [
            line
            for line in root.iterfind(f"{BODY}/DatiBeniServizi/DettaglioLinee")
            if line.findtext("Natura") == "N3.5"
        ]
        assert len(covered) == 7
        assert {
            (
                line.findtext("AltriDatiGestionali/TipoDato"),
                line.findtext("AltriDatiGestionali/RiferimentoTesto"),
            )
            for line in covered
        } == {("INTENTO", letter.protocol_number)}

    def test_a_letter_whose_ceiling_covers_part_of_the_invoice_moves_that_part_to_n35(self) -> None:
        company = company_with_lines(7)
        letter = TaxExemption.objects.create(
            company=company,
            kind=TaxExemptionKind.LETTER_OF_INTENT,
            legal_reference="Non imponibile art. 8 c.1 lett. c DPR 633/1972",
            protocol_number="24010312345678-000002",
            ceiling=D("30.00"),
            valid_from=date(2026, 1, 1),
        )
        tax_exemption_approve(exemption=letter, by=UserFactory.create(is_staff=True))

        invoice = billed(company)
        xml = fatturapa_xml(invoice=invoice)

        assert (invoice.taxable, invoice.untaxed) == (D("40.00"), D("30.00"))
        assert_xml_matches(invoice, xml)
        summaries = {
            (s.findtext("AliquotaIVA"), s.findtext("Natura")): s.findtext("ImponibileImporto")
            for s in parse(xml).iterfind(f"{BODY}/DatiBeniServizi/DatiRiepilogo")
        }
        assert summaries[("22.00", None)] == "40.00"
        assert summaries[("0.00", "N3.5")] == "30.00"

    def test_an_exempt_credit_note_follows_its_invoice(self) -> None:
        company = company_with_lines(7)
        exemption(company, TaxExemptionKind.VAT_EXEMPT)
        invoice = billed(company)

        note = credit_note_of(invoice)

        assert_xml_matches(note, fatturapa_xml(invoice=note))


class TestWhatIsRefused:
    def test_an_invoice_whose_lines_do_not_add_up_is_never_written(self) -> None:
        invoice = billed(company_with_lines(7))
        Invoice.objects.filter(pk=invoice.pk).update(concession_fee=D("90.38"), total=D("177.78"))
        invoice.refresh_from_db()

        with pytest.raises(FatturaPAError, match="do not add up"):
            fatturapa_xml(invoice=invoice)

    def test_text_outside_latin_1_is_replaced(self) -> None:
        invoice = billed(company_with_lines(1))
        InvoiceLine.objects.filter(invoice=invoice, kind="fee").update(
            description="Canone \u2013 10 \u20ac \u2713 \u53f7"
        )

        root = parse(fatturapa_xml(invoice=invoice))

        description = root.findtext(f"{BODY}/DatiBeniServizi/DettaglioLinee/Descrizione") or ""
        assert description.startswith("Canone - 10 EUR")
        assert all(ord(char) < 0x100 for char in description)


@pytest.mark.parametrize(
    ("reference", "nature"),
    [
        ("Non imponibile art. 8 c.1 lett. c DPR 633/1972", "N3.5"),
        ("Non imponibile art. 8 c. 1 lett. a DPR 633/1972", "N3.1"),
        ("Non imponibile art. 41 DL 331/1993", "N3.2"),
        ("Non imponibile art. 71 DPR 633/1972", "N3.3"),
        ("Non imponibile art. 9 DPR 633/1972", "N3.4"),
        ("Non imponibile, regime speciale", "N3.6"),
    ],
)
def test_a_non_taxable_regime_takes_the_n3_code_of_its_article(reference: str, nature: str) -> None:
    assert non_taxable_nature(reference) == nature


@pytest.mark.parametrize(
    ("address", "parts"),
    [
        ("Via Melchiorre Gioia 72, 20125 Milano MI", ("Via Melchiorre Gioia 72", "20125", "Milano", "MI")),
        ("Piazza Raffaello, 0\n16020, Fascia (GE)", ("Piazza Raffaello, 0", "16020", "Fascia", "GE")),
        ("Via dei Test 1, Milano", ("Via dei Test 1, Milano", "00000", "-", "")),
    ],
)
def test_a_registered_office_is_split_into_the_fatturapa_address(
    address: str, parts: tuple[str, str, str, str]
) -> None:
    assert split_address(address) == parts
