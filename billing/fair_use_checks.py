"""The SQL of the fair-use rules (DOMAIN.md, "Fair use"; docs/fair_use.md, "Rules").

Every figure is a sum over the daily totals (`billing_trafficdailytotal`, one
row per line, day and kind of traffic, kept by the import), never over the raw
records: the records are purged after six months and the totals kept, and no
figure of a period may change when its records go (DOMAIN.md, "Retention"),
so checking an old period again finds what it found then. The totals are also
a fraction of the records, and their unique index starts with (line, day),
which is a chunk's range of lines.

One chunk of a run (the lines with ids in a range) is checked with one
statement for the traffic rules (1-8) and, in a monthly run, one for the data
rules (D1, D2). The traffic statement reads the period's totals of the chunk's
lines once, summed per line and other operator (`per_operator`, which rule 4
needs), rolls that up per line (`per_line`, with the largest figure of any one
other operator for rule 4) and keeps only the lines over some limit in force
(`flagged`: one WHERE with every limit, OR-ed). Only for those it then says
which limits, one row per figure over its limit (and, for rule 4, per
operator): never a row per line that is fine, and no pass per limit.

Every comparison is between integers (or NUMERIC), never floats, so a line
exactly at its limit is fine on PostgreSQL and SQLite alike: a share P/B over
a limit L is `P * 10000 > L * 10000 * B` (limits have four decimals), call
minutes over L are seconds over floor(60 * L), and a minimum base of m
minutes is ceil(60 * m) seconds.

The data averages of D1 and D2 read every line of the offers with unlimited
data, not only the chunk's: `fair_use_data_averages` sums them once per run
(when the run opens, kept on it for its chunks) and the chunk's statement
takes them as a VALUES list. Both read a line's data volume with a probe of
its own totals (`_volume`), for the lines on such offers only.
"""

# ruff: noqa: S608 - the statements are built from this module's constants and generated
# placeholders only; every figure (limits, bases, days, line ids) goes as a parameter

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection

from billing.models import FairUseMetric, FairUseRuleCode, FairUseScope

_SCALE = 10_000  # limits have four decimal places (FairUseLimit.limit)

# Which lines a rule applies to, by the line's offer now (DOMAIN.md); `c` is a checked line.
_SCOPES = {
    FairUseScope.LIMITED_VOICE_SMS: "NOT c.unlimited_voice_sms",
    FairUseScope.ALL: "1 = 1",
    FairUseScope.UNLIMITED_VOICE_SMS: "c.unlimited_voice_sms",
    FairUseScope.UNLIMITED_DATA: "c.unlimited_data",
}

# The period's outgoing voice, SMS and MMS of each line towards each other operator,
# with what came in (rule 8) and the top-up traffic in both directions (rule 6),
# summed from the daily totals: `records` counts the calls and the SMS/MMS.
_PER_OPERATOR = """
per_operator AS (
    SELECT line_id, other_operator AS operator,
        CAST(COALESCE(sum(duration_s) FILTER (WHERE direction = 'out' AND service = 'voice'), 0) AS BIGINT) AS voice_s,
        CAST(COALESCE(sum(duration_s) FILTER (
            WHERE direction = 'out' AND service = 'voice' AND other_network = 'mobile'), 0) AS BIGINT) AS voice_mob_s,
        CAST(COALESCE(sum(records) FILTER (WHERE direction = 'out' AND service = 'voice'), 0) AS BIGINT) AS calls,
        CAST(COALESCE(sum(records) FILTER (WHERE direction = 'out' AND service <> 'voice'), 0) AS BIGINT) AS sms,
        CAST(COALESCE(sum(records) FILTER (
            WHERE direction = 'out' AND service <> 'voice' AND other_network = 'mobile'), 0) AS BIGINT) AS sms_mob,
        CAST(COALESCE(sum(records) FILTER (WHERE direction = 'in'), 0) AS BIGINT) AS received,
        CAST(COALESCE(sum(duration_s) FILTER (WHERE topup AND service = 'voice'), 0) AS BIGINT) AS topup_s,
        CAST(COALESCE(sum(records) FILTER (WHERE topup AND service <> 'voice'), 0) AS BIGINT) AS topup_items
    FROM billing_trafficdailytotal
    WHERE line_id >= %s AND line_id <= %s AND day >= %s AND day <= %s
        AND service IN ('voice', 'sms', 'mms')
    GROUP BY line_id, other_operator
)"""

# Each other operator is one, "OTHER" included; traffic without one is not an operator.
_OTHER_OPERATOR = "operator NOT IN ('own', '')"

_PER_LINE = f"""
per_line AS (
    SELECT line_id,
        sum(voice_s) AS voice_s, sum(voice_mob_s) AS voice_mob_s,
        COALESCE(sum(voice_s) FILTER (WHERE operator <> 'own'), 0) AS voice_off_s,
        COALESCE(sum(voice_mob_s) FILTER (WHERE operator <> 'own'), 0) AS voice_off_mob_s,
        COALESCE(sum(voice_s) FILTER (WHERE operator = 'own'), 0) AS voice_own_s,
        sum(sms) AS sms, sum(sms_mob) AS sms_mob,
        COALESCE(sum(sms) FILTER (WHERE operator <> 'own'), 0) AS sms_off,
        COALESCE(sum(sms_mob) FILTER (WHERE operator <> 'own'), 0) AS sms_off_mob,
        COALESCE(sum(sms) FILTER (WHERE operator = 'own'), 0) AS sms_own,
        sum(calls) AS calls,
        COALESCE(sum(calls) FILTER (WHERE operator <> 'own'), 0) AS calls_off,
        COALESCE(sum(received) FILTER (WHERE operator <> 'own'), 0) AS received_off,
        sum(topup_s) AS topup_s, sum(topup_items) AS topup_items,
        COALESCE(max(voice_s) FILTER (WHERE {_OTHER_OPERATOR}), 0) AS voice_op_top_s,
        COALESCE(max(voice_mob_s) FILTER (WHERE {_OTHER_OPERATOR}), 0) AS voice_op_top_mob_s,
        COALESCE(max(sms) FILTER (WHERE {_OTHER_OPERATOR}), 0) AS sms_op_top,
        COALESCE(max(sms_mob) FILTER (WHERE {_OTHER_OPERATOR}), 0) AS sms_op_top_mob
    FROM per_operator
    GROUP BY line_id
),
checked AS (
    SELECT p.*, l.company_id, o.unlimited_voice_sms, o.unlimited_data
    FROM selfcare_line l
    JOIN selfcare_offer o ON o.id = l.offer_id
    JOIN per_line p ON p.line_id = l.id
    WHERE l.id >= %s AND l.id <= %s
)"""


@dataclass(frozen=True)
class _Measure:
    """How a metric is measured: `part` over `base` for a share, `part` alone for an amount.

    Rule 4's figures are per other operator (`p`, a row of per_operator): a
    line is over such a limit when its largest figure of any one operator
    (`top`, on the line) is, and then each operator over it is a figure.
    """

    part: str
    base: str | None = None
    seconds: bool = False  # voice: minutes are seconds / 60, bases are minutes
    top: str | None = None  # rule 4: the line's largest `part` of one other operator


_MEASURES: dict[str, _Measure] = {
    FairUseMetric.VOICE_MINUTES: _Measure("c.voice_s", seconds=True),
    FairUseMetric.SMS_COUNT: _Measure("c.sms"),
    FairUseMetric.VOICE_OFF_SHARE: _Measure("c.voice_off_s", "c.voice_s", seconds=True),
    FairUseMetric.VOICE_OFF_MOBILE_SHARE: _Measure("c.voice_off_mob_s", "c.voice_mob_s", seconds=True),
    FairUseMetric.SMS_OFF_SHARE: _Measure("c.sms_off", "c.sms"),
    FairUseMetric.SMS_OFF_MOBILE_SHARE: _Measure("c.sms_off_mob", "c.sms_mob"),
    FairUseMetric.VOICE_OPERATOR_SHARE: _Measure(
        "p.voice_s", "c.voice_s", seconds=True, top="c.voice_op_top_s"
    ),
    FairUseMetric.VOICE_OPERATOR_MOBILE_SHARE: _Measure(
        "p.voice_mob_s", "c.voice_mob_s", seconds=True, top="c.voice_op_top_mob_s"
    ),
    FairUseMetric.SMS_OPERATOR_SHARE: _Measure("p.sms", "c.sms", top="c.sms_op_top"),
    FairUseMetric.SMS_OPERATOR_MOBILE_SHARE: _Measure("p.sms_mob", "c.sms_mob", top="c.sms_op_top_mob"),
    FairUseMetric.VOICE_OWN_SHARE: _Measure("c.voice_own_s", "c.voice_s", seconds=True),
    FairUseMetric.SMS_OWN_SHARE: _Measure("c.sms_own", "c.sms"),
    FairUseMetric.TOPUP_VOICE_MINUTES: _Measure("c.topup_s", seconds=True),
    FairUseMetric.TOPUP_SMS_COUNT: _Measure("c.topup_items"),
    FairUseMetric.CALLS_OFF_SHARE: _Measure("c.calls_off", "c.calls"),
    # Rule 8: base is every outgoing call and SMS/MMS (for the minimum), the limit a
    # multiple of what came in from other operators: see _Check.over.
    FairUseMetric.OFF_NET_OUTGOING: _Measure("c.calls_off + c.sms_off", "c.calls + c.sms"),
}

TRAFFIC_METRICS = frozenset(_MEASURES)
DATA_RULES = (FairUseRuleCode.D1, FairUseRuleCode.D2)
_METRIC_ORDER = {metric: n for n, metric in enumerate(FairUseMetric.values)}
_TWO_PLACES = Decimal("0.01")
_FOUR_PLACES = Decimal("0.0001")
_GB = Decimal(10**9)


@dataclass(frozen=True)
class LimitInForce:
    """One limit of an enabled rule for the period being checked, with the rule's minimum base then."""

    rule: str
    scope: str
    metric: str
    limit: Decimal
    minimum_base: Decimal

    @property
    def order(self) -> tuple[int, int]:
        return (list(FairUseRuleCode.values).index(self.rule), _METRIC_ORDER.get(self.metric, 99))


@dataclass(frozen=True)
class Breach:
    """A line's figure over one limit: what goes into a finding's `metrics`."""

    line_id: int
    company_id: int
    rule: str
    figure: dict[str, str]
    order: tuple[int, ...]


def _minutes(seconds: int) -> str:
    return str((Decimal(seconds) / 60).quantize(_TWO_PLACES, ROUND_HALF_UP))


def _share(part: int, base: int) -> str:
    return str((Decimal(part) / Decimal(base)).quantize(_FOUR_PLACES, ROUND_HALF_UP))


def _figure(value: Decimal) -> str:
    """A limit as staff wrote it, without trailing zeros: "160", "2.5"."""
    return f"{value.normalize():f}"


def _gb(volume: Decimal) -> str:
    return str((volume / _GB).quantize(_TWO_PLACES, ROUND_HALF_UP))


# ---------------------------------------------------------------------------
# Rules 1-8: the period's calls and SMS/MMS
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Check:
    """One limit in force as SQL: when a figure is over it, and which figure that is."""

    number: int
    limit: LimitInForce

    @property
    def measure(self) -> _Measure:
        return _MEASURES[self.limit.metric]

    @property
    def per_operator(self) -> bool:
        return self.measure.top is not None

    def over(self, part: str) -> tuple[str, list[Any]]:
        """The condition (and its parameters) of `part` over the limit, for the line `c`.

        `part` is the measure's own part, or for rule 4 the line's top one
        (is any operator over?) or an operator's `p` (is this one?).
        """
        limit, measure = self.limit, self.measure
        scope = _SCOPES[FairUseScope(limit.scope)]
        scaled = int(limit.limit * _SCALE)
        if limit.metric == FairUseMetric.OFF_NET_OUTGOING:
            # Rule 8: outgoing to other operators over L times what came in from them. With
            # nothing received the limit is 0, so any is a breach; evaluated only once every
            # outgoing call and SMS/MMS together reach the minimum base.
            return (
                f"({scope} AND {measure.base} >= %s AND ({part}) * {_SCALE} > %s * c.received_off)",
                [math.ceil(limit.minimum_base), scaled],
            )
        if measure.base is None:
            # An amount: over the limit, the limit itself is fine. Minutes compare as seconds.
            threshold = math.floor(limit.limit * 60) if measure.seconds else math.floor(limit.limit)
            return f"({scope} AND {part} > %s)", [threshold]
        # A share: only once its base reaches the minimum (DOMAIN.md), then strictly over.
        minimum = math.ceil(limit.minimum_base * 60) if measure.seconds else math.ceil(limit.minimum_base)
        return (
            f"({scope} AND {measure.base} >= %s AND {measure.base} > 0 "
            f"AND ({part}) * {_SCALE} > %s * {measure.base})",
            [minimum, scaled],
        )

    def flag(self) -> tuple[str, list[Any]]:
        """Whether the line is over the limit (rule 4: for some operator)."""
        return self.over(self.measure.top or self.measure.part)

    @property
    def base(self) -> str:
        if self.limit.metric == FairUseMetric.OFF_NET_OUTGOING:
            return "c.received_off"
        return self.measure.base or "0"


def _which(checks: Sequence[_Check], source: str) -> tuple[str, list[Any]]:
    """For the flagged lines of `source`: one row per check whose figure is over its limit.

    The checks go as a list of their numbers (`k.n`), the figure and the
    condition of each picked by a CASE on it: one pass over the few flagged
    rows, on either database (no LATERAL in SQLite).
    """
    params: list[Any] = []
    hits = []
    for check in checks:
        condition, condition_params = check.over(check.measure.part)
        hits.append(f"WHEN {check.number} THEN {condition}")
        params.extend(condition_params)
    parts = " ".join(f"WHEN {check.number} THEN {check.measure.part}" for check in checks)
    bases = " ".join(f"WHEN {check.number} THEN {check.base}" for check in checks)
    operator = "p.operator" if checks[0].per_operator else "''"
    numbers = ", ".join(str(check.number) for check in checks)
    select = (
        f"SELECT c.line_id, c.company_id, k.n AS check_no, {operator} AS operator, "
        f"CASE k.n {parts} END AS part, CASE k.n {bases} END AS base "
        f"FROM {source} CROSS JOIN (SELECT n FROM checks WHERE n IN ({numbers})) k "
        f"WHERE CASE k.n {' '.join(hits)} ELSE 1 = 0 END"
    )
    return select, params


def _traffic_figure(limit: LimitInForce, operator: str, part: int, base: int) -> dict[str, str]:
    measure = _MEASURES[limit.metric]
    figure: dict[str, str] = {"metric": limit.metric}
    if operator:
        figure["operator"] = operator
    if limit.metric == FairUseMetric.OFF_NET_OUTGOING:
        figure.update(measured=str(part), limit=_figure(limit.limit * base) if base else "0")
    elif measure.base is None:
        figure.update(measured=_minutes(part) if measure.seconds else str(part), limit=_figure(limit.limit))
    else:
        figure.update(measured=_share(part, base), limit=str(limit.limit.quantize(_FOUR_PLACES)))
    return figure


def fair_use_traffic_statement(
    *, first_day: date, last_day: date, first_line_id: int, last_line_id: int, checks: Sequence[_Check]
) -> tuple[str, list[Any]]:
    """The one statement of rules 1-8 for a chunk: (line, company, check, operator, part, base) per figure over."""
    params: list[Any] = [first_line_id, last_line_id, first_day, last_day, first_line_id, last_line_id]
    flags = []
    for check in checks:
        condition, condition_params = check.flag()
        flags.append(condition)
        params.extend(condition_params)
    numbers = ", ".join(f"({check.number})" for check in checks)
    ctes = (
        f"WITH {_PER_OPERATOR}, {_PER_LINE},\n"
        f"flagged AS (SELECT * FROM checked c WHERE {' OR '.join(flags)}),\n"
        f"checks (n) AS (VALUES {numbers})\n"
    )
    selects = []
    on_line = [check for check in checks if not check.per_operator]
    if on_line:
        select, select_params = _which(on_line, "flagged c")
        selects.append(select)
        params.extend(select_params)
    per_operator = [check for check in checks if check.per_operator]
    if per_operator:
        select, select_params = _which(
            per_operator, f"flagged c JOIN per_operator p ON p.line_id = c.line_id AND p.{_OTHER_OPERATOR}"
        )
        selects.append(select)
        params.extend(select_params)
    return ctes + "\nUNION ALL\n".join(selects), params


def fair_use_traffic_breaches(
    *, first_day: date, last_day: date, first_line_id: int, last_line_id: int, limits: Sequence[LimitInForce]
) -> list[Breach]:
    """Every figure of rules 1-8 over its limit, for the lines in the id range, over the days given."""
    checks = [
        _Check(number, limit)
        for number, limit in enumerate(
            limit for limit in limits if limit.metric in TRAFFIC_METRICS and limit.rule not in DATA_RULES
        )
    ]
    if not checks:
        return []
    statement, params = fair_use_traffic_statement(
        first_day=first_day,
        last_day=last_day,
        first_line_id=first_line_id,
        last_line_id=last_line_id,
        checks=checks,
    )
    breaches = []
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        for line_id, company_id, check_no, operator, part, base in cursor.fetchall():
            limit = checks[check_no].limit
            breaches.append(
                Breach(
                    line_id=line_id,
                    company_id=company_id,
                    rule=limit.rule,
                    figure=_traffic_figure(limit, operator, int(part), int(base)),
                    order=(*limit.order, 0),
                )
            )
    # Rule 4's operators in a stable order: the first figure is what the summary repeats.
    return sorted(breaches, key=lambda b: (b.line_id, b.order, b.figure.get("operator", "")))


# ---------------------------------------------------------------------------
# D1 and D2: the month's data volume against the offer's average
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Month:
    first_day: date
    last_day: date

    @classmethod
    def of(cls, first_day: date) -> Month:
        following = (first_day.replace(day=28) + timedelta(days=4)).replace(day=1)
        return cls(first_day=first_day, last_day=following - timedelta(days=1))

    def previous(self) -> Month:
        return Month.of((self.first_day - timedelta(days=1)).replace(day=1))

    @property
    def label(self) -> str:
        return f"{self.first_day:%Y-%m}"


def months_back(month: Month, count: int) -> list[Month]:
    """`month` and the `count - 1` before it, newest first."""
    months = [month]
    while len(months) < count:
        months.append(months[-1].previous())
    return months


@dataclass(frozen=True)
class OfferAverage:
    """For one offer and one month: the lines on it now that were active that whole month, and their volume."""

    offer_id: int
    lines: int
    volume: int


def _whole_month(month_no: int) -> str:
    """Whether line `l` was active the whole month `month_no` (its first and last days are parameters).

    A line without an activation day is taken as active since before the
    month: the feed sets the day when it is missing (CONTRACTS.md), so only
    lines older than that field lack one.
    """
    return (
        f"((l.activated_on IS NULL OR l.activated_on <= %s) "
        f"AND (l.ceased_on IS NULL OR l.ceased_on >= %s)) AS whole{month_no}"
    )


def _volume() -> str:
    """Line `e`'s data volume in a month (its first and last days are parameters).

    A probe of the line's own totals through their unique index, which starts
    with (line, day) and has the service among its columns: a handful of rows
    per line and month, never a read of every line's totals of the months
    (measured at 200,000 lines: a third of the time of one aggregate over them).
    """
    return (
        "(SELECT sum(t.volume_bytes) FROM billing_trafficdailytotal t "
        "WHERE t.line_id = e.id AND t.day >= %s AND t.day <= %s AND t.service = 'data')"
    )


def _eligible(months: Sequence[Month], *, line_range: bool = False) -> tuple[str, list[Any]]:
    """The lines on an offer with unlimited data (those in a chunk's id range, with `line_range`)."""
    columns, params = [], []
    for n, month in enumerate(months):
        columns.append(_whole_month(n))
        params.extend([month.first_day, month.last_day])
    where = "o.unlimited_data"
    if line_range:
        where += " AND l.id >= %s AND l.id <= %s"
    sql = (
        f"eligible AS (SELECT l.id, l.offer_id, l.company_id, {', '.join(columns)} FROM selfcare_line l "
        f"JOIN selfcare_offer o ON o.id = l.offer_id WHERE {where})"
    )
    return sql, params


def fair_use_data_averages(*, month: Month, months: int) -> dict[int, list[OfferAverage]]:
    """Per offer with unlimited data: its whole-month lines and their volume in `month` and the months before.

    Every line of the offer counts, in every company, a line without
    traffic as zero; the line checked is taken out later, by the chunk. A
    line's volume of a month is summed only when it was active that whole
    month (the others count for nothing).
    """
    span = months_back(month, months)
    eligible, params = _eligible(span)
    volumes = []
    for n, each in enumerate(span):
        volumes.append(f"CASE WHEN e.whole{n} THEN {_volume()} END AS v{n}")
        params.extend([each.first_day, each.last_day])
    columns = ", ".join(f"count(*) FILTER (WHERE whole{n}), COALESCE(sum(v{n}), 0)" for n in range(len(span)))
    statement = (
        f"WITH {eligible}, volumes AS (SELECT e.offer_id, "
        + ", ".join(f"e.whole{n}" for n in range(len(span)))
        + f", {', '.join(volumes)} FROM eligible e) "
        f"SELECT offer_id, {columns} FROM volumes GROUP BY offer_id"
    )
    averages: dict[int, list[OfferAverage]] = {}
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        for offer_id, *figures in cursor.fetchall():
            averages[offer_id] = [
                OfferAverage(
                    offer_id=offer_id, lines=int(figures[2 * n]), volume=int(figures[2 * n + 1] or 0)
                )
                for n in range(len(span))
            ]
    return averages


def _limit_of(limits: Sequence[LimitInForce], rule: str, metric: str) -> LimitInForce | None:
    return next((limit for limit in limits if limit.rule == rule and limit.metric == metric), None)


def fair_use_data_breaches(
    *,
    month: Month,
    first_line_id: int,
    last_line_id: int,
    limits: Sequence[LimitInForce],
    averages: dict[int, list[OfferAverage]],
) -> list[Breach]:
    """D1 and D2 for the lines in the id range: the lines whose volume breaks them, with their figures.

    The average a line is compared with is of the OTHER whole-month lines of
    its offer: the offer's sum and count less the line itself when it is
    one of them. No other such line: no average, nothing to compare.
    """
    d1 = _limit_of(limits, FairUseRuleCode.D1, FairUseMetric.DATA_VOLUME_GB)
    d2 = _limit_of(limits, FairUseRuleCode.D2, FairUseMetric.DATA_VOLUME_GB)
    d2_span = _limit_of(limits, FairUseRuleCode.D2, FairUseMetric.MONTHS_ABOVE_AVERAGE)
    d2_months = int(d2_span.limit) if d2_span is not None else 3
    if (d1 is None and d2 is None) or not averages:
        return []
    count = max(1, d2_months if d2 is not None else 1)
    span = months_back(month, count)
    eligible, eligible_params = _eligible(span, line_range=True)
    eligible_params.extend([first_line_id, last_line_id])
    volume_columns, volume_params = [], []
    for n, each in enumerate(span):
        volume_columns.append(f"COALESCE({_volume()}, 0) AS v{n}")
        volume_params.extend([each.first_day, each.last_day])
    # The chunk's lines on an offer with unlimited data, each with its volumes (0 without traffic,
    # which breaks neither rule: D1 needs a volume above 0, D2 one above an average of 0 or more).
    # MATERIALIZED (PostgreSQL 12+, SQLite 3.35+): each probe once per line, where inlined they
    # would run again for each condition and column naming the volume.
    volumes = f"volumes AS MATERIALIZED (SELECT e.id AS line_id, {', '.join(volume_columns)} FROM eligible e)"
    stats_columns = ", ".join(f"n{n}, s{n}" for n in range(count))
    rows, stats_params = [], []
    for offer_id, offer_months in averages.items():
        figures = [offer_id]
        for n in range(count):
            average = offer_months[n] if n < len(offer_months) else OfferAverage(offer_id, 0, 0)
            figures.extend([average.lines, average.volume])
        rows.append("(" + ", ".join(["CAST(%s AS BIGINT)"] * len(figures)) + ")")
        stats_params.extend(figures)
    # The others of the line's offer: less the line itself when it counts in the average.
    others = ", ".join(
        f"st.n{n} - CASE WHEN e.whole{n} THEN 1 ELSE 0 END AS on{n}, "
        f"st.s{n} - CASE WHEN e.whole{n} THEN v.v{n} ELSE 0 END AS os{n}"
        for n in range(count)
    )
    conditions, condition_params = [], []
    if d1 is not None:
        # D1 breaches AT 5 times the average: "at least 5 times" in the policy, ">= 5x" in
        # DOMAIN.md: the one limit of the policy that is not inclusive. Volume must be above 0.
        conditions.append(
            "(c.v0 > 0 AND c.on0 > 0 AND CAST(c.v0 AS NUMERIC) * c.on0 >= CAST(%s AS NUMERIC) * c.os0)"
        )
        condition_params.append(d1.limit)
    if d2 is not None:
        above = " AND ".join(
            f"(c.on{n} > 0 AND CAST(c.v{n} AS NUMERIC) * c.on{n} > CAST(%s AS NUMERIC) * c.os{n})"
            for n in range(count)
        )
        conditions.append(f"({above})")
        condition_params.extend([d2.limit] * count)
    figures_out = ", ".join(f"c.v{n}, c.on{n}, c.os{n}" for n in range(count))
    statement = (
        f"WITH {eligible}, {volumes}, stats (offer_id, {stats_columns}) AS (VALUES {', '.join(rows)}), "
        f"checked AS (SELECT v.*, e.company_id, {others} FROM volumes v "
        "JOIN eligible e ON e.id = v.line_id JOIN stats st ON st.offer_id = e.offer_id) "
        f"SELECT c.line_id, c.company_id, {figures_out} FROM checked c WHERE {' OR '.join(conditions)}"
    )
    breaches: list[Breach] = []
    with connection.cursor() as cursor:
        cursor.execute(statement, [*eligible_params, *volume_params, *stats_params, *condition_params])
        for line_id, company_id, *figures in cursor.fetchall():
            volume = [Decimal(int(figures[3 * n])) for n in range(count)]
            lines = [int(figures[3 * n + 1]) for n in range(count)]
            total = [Decimal(int(figures[3 * n + 2])) for n in range(count)]
            # The same comparisons as the SQL, exactly (no division), to tell D1 from D2.
            if (
                d1 is not None
                and volume[0] > 0
                and lines[0] > 0
                and volume[0] * lines[0] >= d1.limit * total[0]
            ):
                breaches.append(
                    Breach(
                        line_id=line_id,
                        company_id=company_id,
                        rule=FairUseRuleCode.D1,
                        figure={
                            "metric": FairUseMetric.DATA_VOLUME_GB,
                            "measured": _gb(volume[0]),
                            "limit": _gb(d1.limit * total[0] / lines[0]),
                        },
                        order=(*d1.order, 0),
                    )
                )
            if d2 is not None and all(
                lines[n] > 0 and volume[n] * lines[n] > d2.limit * total[n] for n in range(count)
            ):
                breaches.extend(
                    Breach(
                        line_id=line_id,
                        company_id=company_id,
                        rule=FairUseRuleCode.D2,
                        figure={
                            "metric": FairUseMetric.DATA_VOLUME_GB,
                            "month": span[n].label,
                            "measured": _gb(volume[n]),
                            "limit": _gb(d2.limit * total[n] / lines[n]),
                        },
                        order=(*d2.order, n),
                    )
                    for n in range(count)
                )
    return sorted(breaches, key=lambda b: (b.line_id, b.order))


# ---------------------------------------------------------------------------
# R: roaming in the EU/EEA over four months (Implementing Regulation (EU) 2016/2286 art. 4)
# ---------------------------------------------------------------------------

# The figures rule R compares, abroad against home, in the order of a finding's `metrics`.
ROAMING_METRICS = (
    FairUseMetric.ROAMING_DAYS,
    FairUseMetric.ROAMING_VOICE_MINUTES,
    FairUseMetric.ROAMING_SMS_COUNT,
    FairUseMetric.ROAMING_DATA_MB,
)
_MB = Decimal(10**6)


def roaming_window(*, month: Month, limits: Sequence[LimitInForce]) -> list[Month]:
    """The months rule R observes: `month` and the ones before it, newest first; four unless staff say more.

    Art. 4(2) asks for "a period of at least four months": fewer never.
    """
    span = _limit_of(limits, FairUseRuleCode.ROAMING, FairUseMetric.OBSERVATION_MONTHS)
    return months_back(month, max(4, int(span.limit)) if span is not None else 4)


def fair_use_roaming_breaches(
    *, month: Month, first_line_id: int, last_line_id: int, limits: Sequence[LimitInForce]
) -> list[Breach]:
    """Rule R for the lines in the id range, over the window of whole months ending with `month`.

    Implementing Regulation (EU) 2016/2286 art. 4(2): over at least four
    months, a line breaches when BOTH
    - its presence in the EU/EEA outside Italy is greater than its presence
      in Italy: days abroad > days at home. A day counts where the line has
      any traffic total (in or out, any service). A day with traffic at home
      is a day at home even with traffic abroad too (art. 4(2): a day logged
      on to the domestic network counts as a day of domestic presence); a
      day abroad has traffic in the roam-like-at-home zone and none at home.
      Days elsewhere (Switzerland, the USA: rated zones) count for neither;
    - and its roaming consumption there is greater than its domestic
      consumption, for at least one regulated service taken on its own:
      call seconds (made and received), SMS and MMS sent, data bytes. The
      services have no common unit, and a pattern predominantly abroad in
      one of them is roaming consumption above domestic for that service.
    Both strictly: equal is fine. Which countries are home and which roam
    like at home is the roaming app's zones (RoamingCountry), as staff keep
    them. Only lines active since the window's first day at the latest
    (observed the whole period) and not ceased before its last day.
    """
    window = roaming_window(month=month, limits=limits)
    if _limit_of(limits, FairUseRuleCode.ROAMING, FairUseMetric.OBSERVATION_MONTHS) is None:
        return []  # the rule is disabled
    # Imported here: the roaming app builds on billing (its models import billing's), not the reverse.
    from roaming.models import RoamingCountry, RoamingZone, ZoneKind

    home, abroad = ZoneKind.HOME.value, ZoneKind.ROAM_LIKE_AT_HOME.value
    first_day, last_day = window[-1].first_day, window[0].last_day
    consumption = {
        "voice": "CASE WHEN t.service = 'voice' THEN t.duration_s ELSE 0 END",
        "sms": "CASE WHEN t.service IN ('sms', 'mms') AND t.direction = 'out' THEN t.records ELSE 0 END",
        "data": "CASE WHEN t.service = 'data' THEN t.volume_bytes ELSE 0 END",
    }
    per_day_columns = ", ".join(
        f"CAST(COALESCE(sum({expression}) FILTER (WHERE z.kind = '{zone}'), 0) AS BIGINT) AS {name}_{side}"
        for name, expression in consumption.items()
        for zone, side in ((home, "home"), (abroad, "abroad"))
    )
    per_line_columns = ", ".join(
        f"sum({name}_{side}) AS {name}_{side}" for name in consumption for side in ("home", "abroad")
    )
    over = " OR ".join(f"c.{name}_abroad > c.{name}_home" for name in consumption)
    statement = f"""
WITH per_day AS (
    SELECT t.line_id, t.day,
        max(CASE WHEN z.kind = '{home}' THEN 1 ELSE 0 END) AS at_home,
        max(CASE WHEN z.kind = '{abroad}' THEN 1 ELSE 0 END) AS in_eu,
        {per_day_columns}
    FROM billing_trafficdailytotal t
    JOIN {RoamingCountry._meta.db_table} rc ON rc.country = t.country
    JOIN {RoamingZone._meta.db_table} z ON z.id = rc.zone_id AND z.kind IN ('{home}', '{abroad}')
    WHERE t.line_id >= %s AND t.line_id <= %s AND t.day >= %s AND t.day <= %s
    GROUP BY t.line_id, t.day
),
per_line AS (
    SELECT line_id, sum(at_home) AS days_home,
        sum(CASE WHEN at_home = 0 AND in_eu = 1 THEN 1 ELSE 0 END) AS days_abroad,
        {per_line_columns}
    FROM per_day
    GROUP BY line_id
)
SELECT c.*, l.company_id
FROM per_line c
JOIN selfcare_line l ON l.id = c.line_id
WHERE c.days_abroad > c.days_home AND ({over})
    AND (l.activated_on IS NULL OR l.activated_on <= %s)
    AND (l.ceased_on IS NULL OR l.ceased_on >= %s)
ORDER BY c.line_id"""
    rule = next(limit for limit in limits if limit.rule == FairUseRuleCode.ROAMING)
    breaches: list[Breach] = []
    with connection.cursor() as cursor:
        cursor.execute(statement, [first_line_id, last_line_id, first_day, last_day, first_day, last_day])
        columns = [column[0] for column in cursor.description]
        for row in cursor.fetchall():
            line = dict(zip(columns, row, strict=True))
            figures = [
                (FairUseMetric.ROAMING_DAYS, str(int(line["days_abroad"])), str(int(line["days_home"]))),
            ]
            voice = (int(line["voice_abroad"]), int(line["voice_home"]))
            if voice[0] > voice[1]:
                figures.append((FairUseMetric.ROAMING_VOICE_MINUTES, _minutes(voice[0]), _minutes(voice[1])))
            sms = (int(line["sms_abroad"]), int(line["sms_home"]))
            if sms[0] > sms[1]:
                figures.append((FairUseMetric.ROAMING_SMS_COUNT, str(sms[0]), str(sms[1])))
            data = (int(line["data_abroad"]), int(line["data_home"]))
            if data[0] > data[1]:
                figures.append((FairUseMetric.ROAMING_DATA_MB, _mb(data[0]), _mb(data[1])))
            breaches.extend(
                Breach(
                    line_id=int(line["line_id"]),
                    company_id=int(line["company_id"]),
                    rule=FairUseRuleCode.ROAMING,
                    figure={"metric": metric, "measured": measured, "limit": at_home},
                    order=(*rule.order, ROAMING_METRICS.index(metric)),
                )
                for metric, measured, at_home in figures
            )
    return breaches


def _mb(volume: int) -> str:
    return str((Decimal(volume) / _MB).quantize(_TWO_PLACES, ROUND_HALF_UP))
