"""Log hygiene: personal data never reaches a log line.

Phone numbers, IBANs, tax codes, VAT numbers, ICCIDs and eSIM activation
codes are replaced before a record is formatted, whatever logger wrote it.
"""

from __future__ import annotations

import logging
import re

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # eSIM activation codes: LPA:1$<SM-DP+ address>$<matching id>
    (re.compile(r"LPA:1\$[^\s$]+\$[^\s\"']+"), "LPA:[redacted]"),
    # IBANs (two letters, two check digits, up to 30 alphanumerics)
    (re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,3})?\b"), "[iban]"),
    # Italian personal tax codes
    (re.compile(r"\b[A-Z]{6}\d{2}[A-Z]\d{2}[A-Z]\d{3}[A-Z]\b", re.IGNORECASE), "[tax-code]"),
    # ICCIDs (19-20 digits, starting 89)
    (re.compile(r"\b89\d{17,18}\b"), "[iccid]"),
    # Phone numbers in E.164 or national form, VAT numbers and company tax codes
    (re.compile(r"(?<![\w.])\+?\d[\d ]{7,14}\d\b"), "[number]"),
)


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactPersonalData(logging.Filter):
    """A logging filter that rewrites the message and its arguments in place."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True
