"""Demo traffic for `seed_demo`: 90 days of calls, SMS, MMS and data of the demo lines, through the feed.

The records are written as a traffic feed file (CONTRACTS.md) in a temporary
folder and imported by `traffic_import_files`, so they pass every rule real
records do and land in the same tables, partitions and daily totals.

Deterministic: each line's day is drawn from a `random.Random` seeded with
the line's number and the day, and its record ids are made of the same, so
a second `seed_demo` finds only duplicates, and one on a later day adds just
the days that ended since. The 90 days are the ones before today (Rome): a
day's feed arrives after the day is over, and a day still running would make
a second run the same day add records.

Most lines are light users: a few calls and SMS on working days, a data
session most days. Lines of Lombardi Trasporti's drivers are in EU countries
some weeks, one of its lines in Switzerland now and then, and Ferretti's
legal representative in the United States once in a while. Incoming calls and
SMS from other operators to prepaid lines are flagged `topup` (they feed the
line's automatic top-up). Three lines are heavy users, so that fair use has
breaches to find:

- +393474260757 (Ferretti, Giorgia Rinaldi, Business Start 20, without
  unlimited calls): a dozen or more long calls each working day, over
  160 minutes on many of them (rules 1 and 2);
- +393404526838 (Lombardi, Giuseppe Esposito, Business Unlimited Top, with
  unlimited data): several GB a day, many times the other lines of the offer
  (D1, D2), and calls mostly to other operators (rule 7);
- +393354405676 (Conti & Marino, Chiara De Luca, Ricaricabile Business 50,
  prepaid): long incoming calls from other operators that feed top-up, over
  120 minutes on some days (rule 6).

And one line roams too much for the EU's fair use (rule R, Implementing
Regulation (EU) 2016/2286 art. 4): +393404518919 (Lombardi, Valentina Costa),
a driver on long runs in Germany and Austria from Monday to Friday, home at
the weekend, using the line every day: more days and more calls and data in
the EU than in Italy over any four months. The heavy data line stays out of
the Swiss deliveries: at its gigabytes a day, a day in Switzerland (a rated
zone) would cost hundreds of euros, which no business line runs up.
"""

# ruff: noqa: S311 - demo data drawn to look real, the same on every run: no secret here

from __future__ import annotations

import math
import random
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from django.utils import timezone

from billing.traffic_feed import FEED_COLUMNS, ROME
from billing.traffic_import import TrafficImportBatch, traffic_import_files
from selfcare.demo import Writer, demo_document
from selfcare.models import Line, LineKind, LineStatus, Payment

DAYS = 90
HEAVY_CALLER = "+393474260757"
HEAVY_DATA = "+393404526838"
HEAVY_TOPUP = "+393354405676"
# Ferretti's legal representative, in the United States some weeks: with Lombardi's
# Swiss deliveries, the demo's days outside the EU.
TRAVELLER = "+393474276595"
# Lombardi's driver based abroad on weekdays: the demo's roaming fair-use finding (rule R).
EU_COMMUTER = "+393404518919"
EU_COMMUTER_COUNTRIES = ["DE", "AT"]
EU_COUNTRIES = ["FR", "DE", "AT", "ES", "BE", "NL", "SI"]

# Other operators and a plausible mobile prefix of each (the numbers are invented).
_MOBILE_OPERATORS = [
    ("TIM", ["330", "333", "338", "339"]),
    ("VODAFONE", ["340", "346", "348", "349"]),
    ("WINDTRE", ["320", "327", "328", "380", "388"]),
    ("ILIAD", ["351", "352"]),
    ("OTHER", ["370", "391"]),
]
_FIXED_OPERATORS = [("TIM", 5), ("FASTWEB", 2), ("VODAFONE", 2), ("WINDTRE", 1), ("OTHER", 1)]
_FIXED_AREAS = ["02", "06", "045", "011", "051", "055", "081", "0471"]
_INTERNATIONAL = ["+33", "+49", "+43", "+34", "+41", "+44", "+1"]
# Toll-free, customer care and shared-cost numbers: short codes as the network writes them.
_SPECIAL = ["800123456", "803164", "199100200", "4916", "190"]
_MB = 1_000_000


@dataclass(frozen=True)
class DemoLine:
    number: str
    mobile: bool
    prepaid: bool
    activated_on: date | None
    ceased_on: date | None


def demo_traffic_days(*, today: date) -> list[date]:
    """The DAYS Rome days before today, oldest first."""
    return [today - timedelta(days=offset) for offset in range(DAYS, 0, -1)]


def demo_lines(vat_numbers: Sequence[str] | None = None) -> list[DemoLine]:
    """The demo companies' lines, as they are now (a line's traffic goes to the company that had it).

    Other companies' lines (the load benchmark's), by their VAT numbers, likewise.
    """
    if vat_numbers is None:
        vat_numbers = [company["vat_number"] for company in demo_document()["companies"]]
    lines = (
        Line.objects.filter(company__vat_number__in=vat_numbers).select_related("offer").order_by("number")
    )
    return [
        DemoLine(
            number=line.number,
            mobile=line.kind == LineKind.MOBILE,
            prepaid=line.offer is not None and line.offer.payment == Payment.PREPAID,
            activated_on=line.activated_on,
            ceased_on=line.ceased_on if line.status == LineStatus.CEASED else None,
        )
        for line in lines
    ]


def _poisson(rng: random.Random, mean: float) -> int:
    """A count with the given mean (Knuth's method: the means here are small)."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


class _Day:
    """One line's records of one day, drawn from the line and day's own random stream."""

    def __init__(self, line: DemoLine, day: date, colleagues: list[str]) -> None:
        self.line = line
        self.day = day
        self.colleagues = [number for number in colleagues if number != line.number]
        # Seeded, so that every run draws the same demo records: no secret comes from it.
        self.rng = random.Random(f"demo-traffic:{line.number}:{day.isoformat()}")  # nosec B311
        self.rows: list[dict[str, str]] = []
        self.country = _country(line, day)

    def started_at(self, earliest: int = 7, latest: int = 21) -> str:
        # Hours never 2 or 3: the night the clocks go forward has no 02:00-03:00.
        moment = time(self.rng.randint(earliest, latest), self.rng.randrange(60), self.rng.randrange(60))
        return datetime.combine(self.day, moment, tzinfo=ROME).isoformat()

    def add(self, **fields: str) -> None:
        record = {
            "record_id": f"DEMO-{self.line.number[1:]}-{self.day:%Y%m%d}-{len(self.rows) + 1:03d}",
            "line": self.line.number,
            "other_party": "",
            "other_operator": "",
            "other_network": "",
            "duration_s": "0",
            "volume_bytes": "0",
            "country": self.country,
            "topup": "0",
            **fields,
        }
        self.rows.append(record)

    def other_party(self, *, fixed_allowed: bool = True) -> tuple[str, str, str]:
        """(number, operator, network) of someone to call or text."""
        draw = self.rng.random()
        if draw < 0.2 and self.colleagues:
            return self.rng.choice(self.colleagues), "own", "mobile"
        if draw < 0.7 or not fixed_allowed:
            operator, prefixes = self.rng.choice(_MOBILE_OPERATORS)
            return f"+39{self.rng.choice(prefixes)}{self.rng.randrange(10**7):07d}", operator, "mobile"
        if draw < 0.92:
            area = self.rng.choice(_FIXED_AREAS)
            operator = self.rng.choices([op for op, _ in _FIXED_OPERATORS], [w for _, w in _FIXED_OPERATORS])[
                0
            ]
            return (
                f"+39{area}{self.rng.randrange(10 ** (10 - len(area))):0{10 - len(area)}d}",
                operator,
                "fixed",
            )
        if draw < 0.97:
            return (
                f"{self.rng.choice(_INTERNATIONAL)}{self.rng.randrange(10**9):09d}",
                "OTHER",
                "international",
            )
        return self.rng.choice(_SPECIAL), "OTHER", "special"

    def call(self, *, direction: str, mean_s: float, off_net_only: bool = False) -> None:
        number, operator, network = self.other_party()
        while off_net_only and operator == "own":
            number, operator, network = self.other_party()
        if network == "special":
            if direction == "in":
                return
            seconds = self.rng.randint(20, 400)
        else:
            # Call lengths are skewed: many short calls, a few long ones.
            seconds = max(5, min(int(self.rng.expovariate(1 / mean_s)), 3 * 3600))
        withheld = direction == "in" and self.rng.random() < 0.03
        self.add(
            started_at=self.started_at(),
            direction=direction,
            service="voice",
            other_party="" if withheld else number,
            other_operator=operator,
            other_network=network,
            duration_s=str(seconds),
            topup=self.topup(direction, operator),
        )

    def message(self, *, direction: str, service: str = "sms") -> None:
        number, operator, _network = self.other_party(fixed_allowed=False)
        self.add(
            started_at=self.started_at(),
            direction=direction,
            service=service,
            other_party=number,
            other_operator=operator,
            other_network="mobile",
            topup=self.topup(direction, operator),
        )

    def data(self, *, mean_bytes: float) -> None:
        volume = max(10_000, int(self.rng.lognormvariate(math.log(mean_bytes), 0.8)))
        self.add(
            started_at=self.started_at(earliest=6, latest=23),
            direction="out",
            service="data",
            volume_bytes=str(min(volume, 20_000 * _MB)),
        )

    def topup(self, direction: str, operator: str) -> str:
        # Prepaid business offers credit the line for traffic received from other networks.
        return "1" if self.line.prepaid and direction == "in" and operator != "own" else "0"


# The trips' random.Random streams are seeded, like the records' (bandit B311): no secret.
def _country(line: DemoLine, day: date) -> str:
    """Where the line is that day: trips are by week, so that they span days in a row."""
    week = (day.toordinal() - 1) // 7  # weeks starting on Monday, counted the same on every run
    weekday = day.weekday()
    digits = int(line.number[-4:])
    if line.number == EU_COMMUTER:
        # Abroad Monday to Friday, every week; at home at the weekend.
        return (
            random.Random(f"demo-trip:{line.number}:{week}").choice(EU_COMMUTER_COUNTRIES)  # nosec B311
            if weekday < 5
            else "IT"
        )
    if line.number.startswith("+39340") and digits % 3 == 0 and (week + digits) % 4 == 0 and weekday < 4:
        # Lombardi Trasporti's drivers: runs to Germany, Austria, France…, Monday to Thursday.
        return random.Random(f"demo-trip:{line.number}:{week}").choice(EU_COUNTRIES)  # nosec B311
    if (
        line.number.startswith("+39340")
        and line.number != HEAVY_DATA
        and week % 5 == 0
        and weekday == 2
        and digits % 3 == 1
    ):
        return "CH"  # a delivery to Switzerland every fifth Wednesday
    if line.number == TRAVELLER and week % 9 == 4 and weekday in (1, 2, 3):
        return "US"  # Ferretti's legal representative at a trade fair
    if (week * 7 + digits) % 29 == 0 and weekday < 5 and line.mobile:
        return random.Random(f"demo-trip:{line.number}:{week}").choice(EU_COUNTRIES)  # nosec B311
    return "IT"


def _line_day(line: DemoLine, day: date, colleagues: list[str]) -> list[dict[str, str]]:
    drawn = _Day(line, day, colleagues)
    rng = drawn.rng
    working = day.weekday() < 5
    if not line.mobile:
        # A company's switchboard: calls on working days only.
        for _ in range(_poisson(rng, 1.0 if working else 0.1)):
            drawn.call(direction="out", mean_s=180)
        for _ in range(_poisson(rng, 0.8 if working else 0.1)):
            drawn.call(direction="in", mean_s=150)
        return drawn.rows
    if line.number == HEAVY_CALLER:
        for _ in range(_poisson(rng, 12 if working else 2)):
            drawn.call(direction="out", mean_s=840)
        for _ in range(_poisson(rng, 3 if working else 1)):
            drawn.call(direction="in", mean_s=240)
        drawn.data(mean_bytes=150 * _MB)
        return drawn.rows
    if line.number == HEAVY_DATA:
        for _ in range(1 + _poisson(rng, 2)):
            drawn.data(mean_bytes=1_000 * _MB)
        for _ in range(_poisson(rng, 10 if working else 3)):
            drawn.call(direction="out", mean_s=150, off_net_only=rng.random() < 0.85)
        for _ in range(_poisson(rng, 2)):
            drawn.call(direction="in", mean_s=120)
        return drawn.rows
    if line.number == EU_COMMUTER:
        # On the road: calls and data every day, more on the working days abroad than at home.
        for _ in range(1 + _poisson(rng, 4 if working else 1)):
            drawn.call(direction=rng.choice(["out", "in"]), mean_s=150)
        drawn.data(mean_bytes=(200 if working else 60) * _MB)
        return drawn.rows
    if line.number == HEAVY_TOPUP and working and rng.random() < 0.3:
        # Long calls from customers, which feed the line's top-up.
        for _ in range(4 + _poisson(rng, 2)):
            drawn.call(direction="in", mean_s=1800, off_net_only=True)
    for _ in range(_poisson(rng, 0.4 if working else 0.1)):
        drawn.call(direction="out", mean_s=140)
    for _ in range(_poisson(rng, 0.3 if working else 0.1)):
        drawn.call(direction="in", mean_s=120)
    for _ in range(_poisson(rng, 0.15)):
        drawn.message(direction=rng.choice(["out", "in"]))
    if rng.random() < 0.02:
        drawn.message(direction=rng.choice(["out", "in"]), service="mms")
    if rng.random() < (0.45 if working else 0.25):
        drawn.data(mean_bytes=120 * _MB if drawn.country == "IT" else 40 * _MB)
    return drawn.rows


def demo_traffic_rows(*, lines: list[DemoLine], today: date) -> Iterator[dict[str, str]]:
    """Every demo record of the DAYS before `today`, day by day, each day's in time order."""
    colleagues = [line.number for line in lines if line.mobile]
    for day in demo_traffic_days(today=today):
        rows = []
        for line in lines:
            if line.activated_on is not None and day < line.activated_on:
                continue
            if line.ceased_on is not None and day > line.ceased_on:
                continue
            rows.extend(_line_day(line, day, colleagues))
        yield from sorted(rows, key=lambda row: (row["started_at"], row["record_id"]))


def demo_traffic_write(*, path: Path, today: date, lines: list[DemoLine] | None = None) -> int:
    """Write the demo feed file (of the demo's lines unless given); returns how many records it holds."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as feed:
        feed.write(",".join(FEED_COLUMNS) + "\n")
        for row in demo_traffic_rows(lines=demo_lines() if lines is None else lines, today=today):
            feed.write(",".join(row[column] for column in FEED_COLUMNS) + "\n")
            count += 1
    return count


def seed_traffic(*, stdout: Writer) -> TrafficImportBatch:
    """Import the demo traffic of the last DAYS days; records already there count as duplicates."""
    with tempfile.TemporaryDirectory(prefix="demo-traffic-") as folder:
        path = Path(folder) / "demo-traffic.csv"
        demo_traffic_write(path=path, today=timezone.localdate())
        batch = traffic_import_files(paths=[path])
    result = batch.result
    if batch.refused or result.rejected:
        # The feed is ours: a refusal or rejection is a bug in this module.
        problems = [error for _name, error in batch.refused] + [
            f"row {rejection.row}: {rejection.error}" for rejection in result.rejected[:5]
        ]
        raise ValueError("The demo traffic was not accepted: " + "; ".join(problems))
    stdout.write(
        f"Demo traffic: {result.inserted} records added, {result.duplicates} already there "
        f"(the {DAYS} days before today).\n"
    )
    return batch
