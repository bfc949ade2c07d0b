"""Demo line services: a little history on the demo lines, so the Services block is not empty.

In each demo company: premium services allowed on the first mobile line (its
user lifted the barring with the SMS code), VoLTE switched off on the second,
and on the third the barring lifted and then put back. Idempotent: a line
that already has a history of a service gets nothing more for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from selfcare.demo import Writer, demo_document
from selfcare.models import Line, LineService, LineServiceChange, LineStatus, Role, User


@dataclass(frozen=True)
class _Step:
    service: LineService
    before: bool
    after: bool
    days_ago: int


# Per mobile line of a company, in number order: what happened to it.
_STORIES: list[list[_Step]] = [
    [_Step(LineService.VAS_BARRING, before=True, after=False, days_ago=40)],
    [_Step(LineService.VOLTE, before=True, after=False, days_ago=12)],
    [
        _Step(LineService.VAS_BARRING, before=True, after=False, days_ago=75),
        _Step(LineService.VAS_BARRING, before=False, after=True, days_ago=74),
    ],
]


def _actor(line: Line, company: dict[str, Any]) -> User | None:
    """Whoever holds the line, or else the company's legal representative."""
    if line.assigned_to is not None:
        return line.assigned_to.user
    legal_rep = next((u["email"] for u in company["users"] if u["role"] == Role.LEGAL_REP), None)
    return User.objects.filter(email=legal_rep).first() if legal_rep else None


@transaction.atomic
def seed_services(*, stdout: Writer) -> int:
    """Add the demo history where it is missing; returns how many changes were added.

    Two queries when there is nothing to add, whatever the number of companies.
    """
    companies = {company["vat_number"]: company for company in demo_document()["companies"]}
    numbers = [
        line["number"]
        for company in companies.values()
        for line in company["lines"]
        if line["kind"] == "mobile"
    ]
    by_company: dict[str, list[Line]] = {}
    for line in (
        # Not only active lines: a demo line blocked since (the theft report of procedures.demo_kinds)
        # keeps its history, and a second run must not pick another line in its place.
        Line.objects.filter(company__vat_number__in=companies, number__in=numbers)
        .exclude(status=LineStatus.CEASED)
        .select_related("company", "assigned_to__user")
        .order_by("number")
    ):
        by_company.setdefault(line.company.vat_number, []).append(line)
    chosen = [
        (line, story, companies[vat])
        for vat, lines in by_company.items()
        for line, story in zip(lines, _STORIES, strict=False)
    ]
    done = set(
        LineServiceChange.objects.filter(line__in=[line for line, _story, _company in chosen]).values_list(
            "line_id", "service"
        )
    )
    added = 0
    now = timezone.now()
    for line, story, company in chosen:
        if any((line.pk, step.service) in done for step in story):
            continue
        actor = _actor(line, company)
        for step in story:
            change = LineServiceChange.objects.create(
                line=line,
                service=step.service,
                enabled_before=step.before,
                enabled_after=step.after,
                changed_by=actor,
            )
            # auto_now_add has set now: the story happened earlier.
            LineServiceChange.objects.filter(pk=change.pk).update(
                changed_at=now - timedelta(days=step.days_ago)
            )
            added += 1
        final = story[-1]
        field = "volte_enabled" if final.service == LineService.VOLTE else "vas_barred"
        Line.objects.filter(pk=line.pk).update(**{field: final.after})
    stdout.write(f"Demo line services: {added} changes added to the history.\n")
    return added
