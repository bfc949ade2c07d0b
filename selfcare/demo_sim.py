"""Demo SIM data for `seed_demo`: PIN and PUK of the demo mobile lines, and one eSIM profile ready to install.

Deterministic, like selfcare/demo.py: a line's demo PIN and PUK come from its
number, so a second run finds them there and changes nothing.
"""

from __future__ import annotations

import hashlib

from selfcare.demo import Writer, demo_document
from selfcare.models import EsimProfile, Line, LineKind, SimKind
from selfcare.services.esim import esim_request

# The first 30 digits of the demo device's EID, of no real device.
DEMO_EID_PREFIX = "890490320000010000000000000000"


def demo_eid(prefix: str = DEMO_EID_PREFIX) -> str:
    """A valid EID (GSMA SGP.29): the 30 digits and the two check digits that make it mod 97 equal 1."""
    check = 98 - int(prefix + "00") % 97
    return f"{prefix}{check:02d}"


def _digits(seed: str, count: int) -> str:
    digest = hashlib.sha256(f"demo-sim:{seed}".encode()).hexdigest()
    return "".join(str(int(digest[i : i + 2], 16) % 10) for i in range(0, count * 2, 2))


def demo_pin_puk(number: str) -> tuple[str, str]:
    """The demo PIN (4 digits) and PUK (8 digits) of a line: the same on every run."""
    return _digits(f"{number}:pin", 4), _digits(f"{number}:puk", 8)


def seed_sim(*, stdout: Writer) -> int:
    """PIN and PUK for the demo mobile lines that have none, and an eSIM profile on one eSIM line."""
    vat_numbers = [company["vat_number"] for company in demo_document()["companies"]]
    mobile_lines = Line.objects.filter(company__vat_number__in=vat_numbers, kind=LineKind.MOBILE).exclude(
        sim=""
    )
    changed = 0
    # "" is stored as "" (EncryptedTextField encrypts only a value), so this filters in SQL.
    for line in mobile_lines.filter(pin="").order_by("pk"):
        pin, puk = demo_pin_puk(line.number)
        changed += Line.objects.filter(pk=line.pk, pin="").update(pin=pin, puk=puk)
    esim_line = mobile_lines.filter(sim=SimKind.ESIM).order_by("number").first()
    if esim_line is not None and not EsimProfile.objects.filter(line=esim_line).exists():
        esim_request(line=esim_line, eid=demo_eid(), actor=None)
        changed += 1
    stdout.write(f"Demo SIMs: {changed} PIN/PUK and eSIM records added.\n")
    return changed
