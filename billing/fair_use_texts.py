"""What a fair-use finding says to people: the rule in plain words with its limits, and the figures.

The rules' limits are rows staff change in the admin (FairUseLimit), so the
words are filled in from those rows, never written with the policy's
figures. Every text is translated when it is built: call these functions
inside the language it is for (a request's, or a notification's recipient's).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.urls import reverse
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from billing.models import FairUseLimit, FairUseMetric, FairUsePeriod, FairUseRule, FairUseRuleCode
from billing.models.fair_use import ROAMING_CHANGE_DAYS

# Fractions: 0.60 is shown as 60%.
SHARE_METRICS = frozenset(
    {
        FairUseMetric.VOICE_OFF_SHARE,
        FairUseMetric.VOICE_OFF_MOBILE_SHARE,
        FairUseMetric.SMS_OFF_SHARE,
        FairUseMetric.SMS_OFF_MOBILE_SHARE,
        FairUseMetric.VOICE_OPERATOR_SHARE,
        FairUseMetric.VOICE_OPERATOR_MOBILE_SHARE,
        FairUseMetric.SMS_OPERATOR_SHARE,
        FairUseMetric.SMS_OPERATOR_MOBILE_SHARE,
        FairUseMetric.VOICE_OWN_SHARE,
        FairUseMetric.SMS_OWN_SHARE,
        FairUseMetric.CALLS_OFF_SHARE,
    }
)
MINUTE_METRICS = frozenset(
    {FairUseMetric.VOICE_MINUTES, FairUseMetric.TOPUP_VOICE_MINUTES, FairUseMetric.ROAMING_VOICE_MINUTES}
)
COUNT_METRICS = frozenset(
    {
        FairUseMetric.SMS_COUNT,
        FairUseMetric.TOPUP_SMS_COUNT,
        FairUseMetric.MONTHS_ABOVE_AVERAGE,
        FairUseMetric.ROAMING_DAYS,
        FairUseMetric.ROAMING_SMS_COUNT,
        FairUseMetric.OBSERVATION_MONTHS,
    }
)
# Rule R's figures: each compared with the same figure in Italy, which is its limit.
ROAMING_FIGURES = frozenset(
    {
        FairUseMetric.ROAMING_DAYS,
        FairUseMetric.ROAMING_VOICE_MINUTES,
        FairUseMetric.ROAMING_SMS_COUNT,
        FairUseMetric.ROAMING_DATA_MB,
    }
)
# Rules whose limits include shares: their words say from which base a share counts.
SHARE_RULES = frozenset({"3", "4", "5", "7", "8"})


@dataclass(frozen=True)
class FairUseFigure:
    """One figure over its limit, as people read it: "Outgoing call minutes: 161.00 min (limit 160 min)"."""

    label: str
    measured: str
    limit: str
    # Rule 4's operator, or D2's month: which part of the traffic the figure is about.
    detail: str = ""

    def __str__(self) -> str:
        text = _("%(label)s: %(measured)s (limit %(limit)s)") % {
            "label": self.label,
            "measured": self.measured,
            "limit": self.limit,
        }
        return f"{text}, {self.detail}" if self.detail else text


def fair_use_value_format(*, metric: str, value: Any) -> str:
    """A measured figure or a limit in the metric's unit, in the active language's number format."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if metric in SHARE_METRICS:
        percent = (number * 100).normalize()
        places = 0 if percent == percent.to_integral_value() else 1
        return f"{number_format(percent, decimal_pos=places, use_l10n=True)}%"
    if metric in MINUTE_METRICS:
        places = 0 if number == number.to_integral_value() else 2
        return _("%(minutes)s min") % {"minutes": number_format(number, decimal_pos=places, use_l10n=True)}
    if metric in COUNT_METRICS:
        return number_format(number, decimal_pos=0, use_l10n=True)
    places = 0 if number == number.to_integral_value() else 2
    return number_format(number, decimal_pos=places, use_l10n=True)


def _figure_format(*, metric: str, value: Any) -> str:
    """A finding's figure: limits there are absolute (the engine works out 3 times what was received,
    5 times the offer's average), so they read in the metric's unit, as the measured figure does."""
    text = fair_use_value_format(metric=metric, value=value)
    if metric == FairUseMetric.DATA_VOLUME_GB:
        return _("%(gb)s GB") % {"gb": text}
    if metric == FairUseMetric.ROAMING_DATA_MB:
        return _("%(mb)s MB") % {"mb": text}
    return text


def fair_use_figures(*, metrics: Iterable[Mapping[str, Any]]) -> list[FairUseFigure]:
    """The finding's figures (its `metrics` JSON) as people read them."""
    labels = dict(FairUseMetric.choices)
    figures = []
    for figure in metrics:
        metric = str(figure.get("metric", ""))
        details = []
        if figure.get("operator"):
            details.append(_("operator %(operator)s") % {"operator": figure["operator"]})
        if figure.get("month"):
            details.append(_("month %(month)s") % {"month": figure["month"]})
        if metric in ROAMING_FIGURES:
            details.append(_("the limit being the same figure in Italy"))
        figures.append(
            FairUseFigure(
                label=str(labels.get(metric, metric)),
                measured=_figure_format(metric=metric, value=figure.get("measured", "")),
                limit=_figure_format(metric=metric, value=figure.get("limit", "")),
                detail=", ".join(details),
            )
        )
    return figures


def fair_use_rule_description(*, rule: FairUseRule, period: str, limits: Iterable[FairUseLimit]) -> str:
    """The rule in plain words, with its current limits for `period` filled in.

    `limits` are the rule's FairUseLimit rows (prefetch them: this runs no query).
    A limit missing from the rows (staff deleted it) reads as "—".
    """
    of_period = {limit.metric: limit.limit for limit in limits if limit.period == period}

    def at(metric: FairUseMetric) -> str:
        if metric not in of_period:
            return "—"
        return fair_use_value_format(metric=metric, value=of_period[metric])

    in_period = _("In one day") if period == FairUsePeriod.DAY else _("In one month")
    text = _describe(rule.code, in_period=in_period, at=at)
    if rule.code in SHARE_RULES:
        base = rule.minimum_base(period)
        text = "{} {}".format(
            text,
            _("A share counts only when its total reaches %(base)s minutes or messages.")
            % {"base": number_format(base.normalize(), use_l10n=True)},
        )
    return text


def _describe(code: str, *, in_period: str, at: Any) -> str:
    M = FairUseMetric  # noqa: N806 - a short alias keeps the sentences below readable
    if code == FairUseRuleCode.R1 or code == FairUseRuleCode.R2:
        return _(
            "%(period)s, more than %(minutes)s of outgoing calls, or more than %(sms)s outgoing SMS and MMS."
        ) % {"period": in_period, "minutes": at(M.VOICE_MINUTES), "sms": at(M.SMS_COUNT)}
    if code == FairUseRuleCode.R3:
        return _(
            "%(period)s, more than %(voice)s of the outgoing call minutes (or %(sms)s of the SMS and MMS) "
            "went to other operators, or more than %(voice_mobile)s of those to mobile numbers "
            "(%(sms_mobile)s for SMS and MMS) went to other operators' mobiles."
        ) % {
            "period": in_period,
            "voice": at(M.VOICE_OFF_SHARE),
            "sms": at(M.SMS_OFF_SHARE),
            "voice_mobile": at(M.VOICE_OFF_MOBILE_SHARE),
            "sms_mobile": at(M.SMS_OFF_MOBILE_SHARE),
        }
    if code == FairUseRuleCode.R4:
        return _(
            "%(period)s, more than %(voice)s of the outgoing call minutes (or %(sms)s of the SMS and MMS) "
            "went to one single other operator, or more than %(voice_mobile)s of those to mobile numbers "
            "(%(sms_mobile)s for SMS and MMS) went to that operator's mobiles."
        ) % {
            "period": in_period,
            "voice": at(M.VOICE_OPERATOR_SHARE),
            "sms": at(M.SMS_OPERATOR_SHARE),
            "voice_mobile": at(M.VOICE_OPERATOR_MOBILE_SHARE),
            "sms_mobile": at(M.SMS_OPERATOR_MOBILE_SHARE),
        }
    if code == FairUseRuleCode.R5:
        return _(
            "%(period)s, more than %(voice)s of the outgoing call minutes, or more than %(sms)s of the "
            "outgoing SMS and MMS, stayed within our network."
        ) % {"period": in_period, "voice": at(M.VOICE_OWN_SHARE), "sms": at(M.SMS_OWN_SHARE)}
    if code == FairUseRuleCode.R6:
        return _(
            "%(period)s, more than %(minutes)s of calls, or more than %(sms)s SMS and MMS, incoming and "
            "outgoing together, used to top up credit automatically."
        ) % {"period": in_period, "minutes": at(M.TOPUP_VOICE_MINUTES), "sms": at(M.TOPUP_SMS_COUNT)}
    if code == FairUseRuleCode.R7:
        return _(
            "%(period)s, more than %(calls)s of the outgoing calls, or more than %(sms)s of the outgoing "
            "SMS and MMS, went to other operators."
        ) % {"period": in_period, "calls": at(M.CALLS_OFF_SHARE), "sms": at(M.SMS_OFF_SHARE)}
    if code == FairUseRuleCode.R8:
        return _(
            "%(period)s, calls and SMS to other operators were more than %(times)s times the calls and SMS "
            "received from other operators (with none received, any is over the limit)."
        ) % {"period": in_period, "times": at(M.OFF_NET_OUTGOING)}
    if code == FairUseRuleCode.D1:
        return _(
            "%(period)s, a data volume of at least %(times)s times the average of the other lines with "
            "the same offer."
        ) % {"period": in_period, "times": at(M.DATA_VOLUME_GB)}
    if code == FairUseRuleCode.D2:
        return _(
            "A data volume above the average of the other lines with the same offer in each of the last "
            "%(months)s months."
        ) % {"months": at(M.MONTHS_ABOVE_AVERAGE)}
    if code == FairUseRuleCode.ROAMING:
        # Implementing Regulation (EU) 2016/2286 art. 4(2)-(3); the 14 days are the regulation's minimum.
        return _(
            "Over the last %(months)s months, the line was on more days in the EU/EEA outside Italy than "
            "in Italy (a day with traffic in Italy counts as a day in Italy), and used more calls, SMS or "
            "data there than in Italy. After a warning you have %(days)s days to change this pattern; "
            "after that a surcharge may apply to roaming in the EU/EEA."
        ) % {"months": at(M.OBSERVATION_MONTHS), "days": ROAMING_CHANGE_DAYS}
    return str(dict(FairUseRuleCode.choices).get(code, code))


def fair_use_rule_descriptions() -> dict[tuple[str, str], str]:
    """Every rule's words for each of its periods, keyed (code, period): two queries, whatever the page shows."""
    descriptions = {}
    for rule in FairUseRule.objects.prefetch_related("limits"):
        limits = list(rule.limits.all())
        for period in {limit.period for limit in limits} or {FairUsePeriod.DAY}:
            descriptions[(rule.code, period)] = fair_use_rule_description(
                rule=rule, period=period, limits=limits
            )
    return descriptions


def fair_use_withdrawal_url(*, finding_id: int | None = None) -> str:
    """Where a customer hit by a measure goes to withdraw at once without penalties (the policy says so).

    The withdrawal form of the procedures; with `finding_id`, the form
    starts from that finding, and the request says it is penalty-free and why
    (procedures.kinds.withdrawal).
    """
    path = reverse("procedures:request-create", kwargs={"kind": "withdrawal"})
    return f"{path}?finding={finding_id}" if finding_id is not None else path
