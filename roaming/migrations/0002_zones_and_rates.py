from datetime import date
from decimal import Decimal

from django.db import migrations

# The price list every installation starts with (docs/roaming.md); staff
# maintain it in the admin from then on. Frozen here, as a migration must be.
HOME = ["IT"]
# Regulation (EU) 2022/612: the 27 member states (Italy is home) and the
# EEA's Iceland, Liechtenstein and Norway, plus the parts of member states
# that have codes of their own in ISO 3166-1 and are EU territory: Åland
# (Finland) and the French outermost regions (TFEU art. 349, 355(1)).
EU_EEA = [
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
    "IS", "LI", "NO",
    "AX", "GF", "GP", "MQ", "RE", "YT", "MF",
]  # fmt: skip
# Europe outside the EU/EEA: no roam-like-at-home (Switzerland, the UK since
# 2021, San Marino and the Vatican are not in the EU).
ZONE_1 = [
    "CH", "GB", "SM", "VA", "MC", "AD", "GI", "JE", "GG", "IM", "FO",
    "AL", "BA", "ME", "MK", "RS", "MD", "UA", "TR",
]  # fmt: skip
ZONE_2 = [
    "US", "CA", "PR", "VI", "MX", "BR", "AR", "CL", "CN", "HK", "JP", "KR", "SG",
    "AU", "NZ", "IL", "AE", "MA", "TN", "EG", "IN", "TH", "ZA",
]  # fmt: skip

ZONES = [
    # code, kind, name_it, name_en, position
    ("italy", "home", "Italia", "Italy", 0),
    ("eu-eea", "rlah", "UE/SEE — roaming come a casa", "EU/EEA — roam like at home", 10),
    ("zone-1", "rated", "Zona 1 — Europa extra UE", "Zone 1 — Europe outside the EU", 20),
    ("zone-2", "rated", "Zona 2 — USA, Canada e principali destinazioni", "Zone 2 — USA, Canada and main destinations", 30),
    ("zone-3", "rated", "Zona 3 — Resto del mondo", "Zone 3 — Rest of the world", 40),
]  # fmt: skip
FIRST_PRICE_LIST = date(2025, 1, 1)
RATES = {
    # calls made /min, calls received /min, SMS, data /MB: euro, VAT excluded
    "zone-1": ("0.7900", "0.3900", "0.2900", "0.5000"),
    "zone-2": ("1.4900", "0.7900", "0.4900", "2.0000"),
    "zone-3": ("2.4900", "1.4900", "0.5900", "5.0000"),
}


def seed(apps, schema_editor):
    from django_countries import countries

    zone_model = apps.get_model("roaming", "RoamingZone")
    country_model = apps.get_model("roaming", "RoamingCountry")
    rate_model = apps.get_model("roaming", "RoamingRate")
    zones = {}
    for code, kind, name_it, name_en, position in ZONES:
        zones[code], _created = zone_model.objects.get_or_create(
            code=code, defaults={"kind": kind, "name_it": name_it, "name_en": name_en, "position": position}
        )
    for code, (made, received, sms, data) in RATES.items():
        rate_model.objects.get_or_create(
            zone=zones[code],
            valid_from=FIRST_PRICE_LIST,
            defaults={
                "call_made_per_minute": Decimal(made),
                "call_received_per_minute": Decimal(received),
                "sms": Decimal(sms),
                "data_per_mb": Decimal(data),
            },
        )
    zone_of = {
        **dict.fromkeys(HOME, "italy"),
        **dict.fromkeys(EU_EEA, "eu-eea"),
        **dict.fromkeys(ZONE_1, "zone-1"),
        **dict.fromkeys(ZONE_2, "zone-2"),
    }
    # Every country django-countries knows: those not named above are the rest of the world.
    existing = set(country_model.objects.values_list("country", flat=True))
    country_model.objects.bulk_create(
        [
            country_model(country=code, zone=zones[zone_of.get(code, "zone-3")])
            for code, _name in countries
            if code not in existing
        ]
    )


class Migration(migrations.Migration):
    """Roaming zones, each country's zone and the first price list, for every installation."""

    dependencies = [("roaming", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
