"""Personal data never reaches the logs."""

from __future__ import annotations

import logging

import pytest

from selfcare.logging import RedactPersonalData, redact


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("line +393331234567 blocked", "+393331234567"),
        ("IBAN IT60X0542811101000000123456 saved", "IT60X0542811101000000123456"),
        ("holder RSSMRA80A01H501U", "RSSMRA80A01H501U"),
        ("code LPA:1$smdp.example.com$ABC-123 shown", "ABC-123"),
        ("sim 8939880000000000006 swapped", "8939880000000000006"),
        ("company 01234560017 imported", "01234560017"),
    ],
)
def test_personal_data_is_redacted(text: str, secret: str) -> None:
    assert secret not in redact(text)


def test_ordinary_text_is_left_alone() -> None:
    assert redact("billing run for 2026-11 made 12 invoices") == "billing run for 2026-11 made 12 invoices"


def test_the_filter_redacts_arguments_of_a_log_record() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "line %s blocked", ("+393331234567",), None)

    RedactPersonalData().filter(record)

    assert "+393331234567" not in record.getMessage()
