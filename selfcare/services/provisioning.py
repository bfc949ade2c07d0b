"""The provisioning feed (CONTRACTS.md): offers, companies, their users and their lines.

The operator's systems own companies' registry data, offers, lines (number,
SIM, offer, cost centre, activation and cessation) and the creation of users;
the portal owns what happens to them afterwards (DOMAIN.md, "Who uses it").
So that a re-import, even of an old file, never undoes what was done in the
portal, the feed:
- sets a membership's role only when it creates the membership;
- sets a user's name and (unusable) password only when it creates the user;
- sets a line's status only when it creates the line, and afterwards only
  ceases it: a line blocked or suspended in the portal stays so, and a line
  ceased in the portal is not brought back;
- assigns a line to a user only when it creates the line;
- never deletes anything.

Each bad item is rejected with its JSON path and reason and the rest still go
in. Offers go in first, in one transaction; then each company with its users
and lines, in a transaction of its own, so that a crash never half-writes a
company. Every step is a handful of set-based queries per company, whatever
its number of lines.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from selfcare.models import Company, Line, LineStatus, Membership, Offer, User
from selfcare.services.provisioning_feed import (
    CompanyRow,
    FeedRefusedError,
    ImportSummary,
    LineRow,
    OfferRow,
    Problems,
    Rejection,
    UserRow,
    customers_feed_parse,
    customers_feed_read,
    document_sections,
    read_company,
    read_line,
    read_offer,
    read_user,
)

__all__ = [
    "FeedRefusedError",
    "ImportSummary",
    "Rejection",
    "customers_feed_parse",
    "customers_feed_read",
    "customers_import",
]

_OFFER_FIELDS = ["name", "payment", "monthly_fee", "unlimited_voice_sms", "unlimited_data", "data_gb"]

_Row = TypeVar("_Row")


# ---------------------------------------------------------------------------
# Offers
# ---------------------------------------------------------------------------


def _offers_import(items: list[object]) -> ImportSummary:
    summary = ImportSummary()
    rows: dict[str, OfferRow] = {}
    seen: dict[str, object] = {}
    for index, item in enumerate(items):
        path = f"offers[{index}]"
        problems = Problems()
        if not isinstance(item, Mapping):
            summary.reject(path, "not_an_object", _("An offer must be a JSON object."))
            continue
        row = read_offer(item, problems)
        if problems:
            problems.reject_into(summary, path)
        elif _seen_before(seen, row.code, item, summary, path, _("offer %(key)s") % {"key": row.code}):
            continue
        else:
            rows[row.code] = row
    if not rows:
        return summary
    with transaction.atomic():
        existing = Offer.objects.in_bulk(list(rows), field_name="code")
        new: list[Offer] = []
        changed: list[Offer] = []
        for code, row in rows.items():
            offer = existing.get(code)
            if offer is None:
                new.append(Offer(code=code, **row.values()))
            elif _assign(offer, row.values()):
                changed.append(offer)
        Offer.objects.bulk_create(new)
        if changed:
            Offer.objects.bulk_update(changed, fields=_OFFER_FIELDS)
    summary.inserted += len(new)
    summary.updated += len(changed)
    summary.duplicates += len(rows) - len(new) - len(changed)
    return summary


def _seen_before(
    seen: dict[str, object], key: str, item: object, summary: ImportSummary, path: str, what: str
) -> bool:
    """Whether `key` came earlier in the same file: the same content again is a duplicate, other content a conflict."""
    if key not in seen:
        seen[key] = item
        return False
    if seen[key] == item:
        summary.duplicates += 1
    else:
        summary.reject(
            path,
            "conflict",
            _("%(what)s appears twice in the file with different content; the first one was kept.")
            % {"what": what},
        )
    return True


# ---------------------------------------------------------------------------
# Companies, their users and their lines
# ---------------------------------------------------------------------------


def _company_import(
    *,
    index: int,
    item: object,
    offers: Mapping[str, Offer],
    seen: dict[str, object],
    today: date,
) -> ImportSummary:
    summary = ImportSummary()
    path = f"companies[{index}]"
    if not isinstance(item, Mapping):
        summary.reject(path, "not_an_object", _("A company must be a JSON object."))
        return summary
    problems = Problems()
    company_row = read_company(item, problems)
    user_items = item.get("users", [])
    line_items = item.get("lines", [])
    if not isinstance(user_items, list):
        problems.add("not_a_list", _("users must be an array."))
    if not isinstance(line_items, list):
        problems.add("not_a_list", _("lines must be an array."))
    if problems or not isinstance(user_items, list) or not isinstance(line_items, list):
        problems.reject_into(summary, path)
        return summary
    if _seen_before(seen, company_row.vat_number, item, summary, path, company_row.vat_number):
        return summary

    user_rows = _rows_of(
        user_items, f"{path}.users", _("A user must be a JSON object."), read_user, summary, key=_user_key
    )
    line_rows = _rows_of(
        line_items,
        f"{path}.lines",
        _("A line must be a JSON object."),
        lambda i, line_item, problems: read_line(i, line_item, problems, today),
        summary,
        key=_line_key,
    )
    try:
        with transaction.atomic():
            written = _company_write(company_row, user_rows, line_rows, offers, path, today)
    except IntegrityError as error:
        # A concurrent write (another import, the portal) took a number or an
        # e-mail address between our reads and our writes; the company's
        # transaction rolled back whole, so a rerun simply does it again.
        summary.reject(
            path,
            "write_failed",
            _("Could not be written (%(reason)s); nothing of this company was written. Run the import again.")
            % {"reason": str(error).splitlines()[0]},
        )
        return summary
    summary.merge(written)
    return summary


def _user_key(row: UserRow) -> tuple[str, str]:
    return row.email, _("user %(email)s") % {"email": row.email}


def _line_key(row: LineRow) -> tuple[str, str]:
    return row.number, _("line %(number)s") % {"number": row.number}


def _rows_of(
    items: list[object],
    path: str,
    not_an_object: str,
    read: Callable[[int, Mapping[str, object], Problems], _Row],
    summary: ImportSummary,
    *,
    key: Callable[[_Row], tuple[str, str]],
) -> list[_Row]:
    """The valid rows of a company's users or lines; the others rejected with their path."""
    rows: list[_Row] = []
    seen: dict[str, object] = {}
    for index, item in enumerate(items):
        item_path = f"{path}[{index}]"
        if not isinstance(item, Mapping):
            summary.reject(item_path, "not_an_object", not_an_object)
            continue
        problems = Problems()
        row = read(index, item, problems)
        if problems:
            problems.reject_into(summary, item_path)
            continue
        # One entry per user and per number in a company: the feed tells the
        # current state of each line, and the portal keeps the history.
        row_key, what = key(row)
        if not _seen_before(seen, row_key, item, summary, item_path, what):
            rows.append(row)
    return rows


def _company_write(
    row: CompanyRow,
    user_rows: list[UserRow],
    line_rows: list[LineRow],
    offers: Mapping[str, Offer],
    path: str,
    today: date,
) -> ImportSummary:
    summary = ImportSummary()
    company = Company.objects.filter(vat_number=row.vat_number).first()
    if company is None:
        company = Company.objects.create(vat_number=row.vat_number, **row.values())
        summary.inserted += 1
    elif changed := _assign(company, row.values()):
        company.save(update_fields=[*changed, "updated_at"])
        summary.updated += 1
    else:
        summary.duplicates += 1
    members = _members_write(company, user_rows, line_rows, summary)
    _lines_write(company, line_rows, members, offers, path, today, summary)
    return summary


def _members_write(
    company: Company, user_rows: list[UserRow], line_rows: list[LineRow], summary: ImportSummary
) -> dict[str, Membership]:
    """Create the users and memberships the company lacks; return its memberships by e-mail."""
    wanted = {user.email for user in user_rows}
    emails = wanted | {line.assigned_to for line in line_rows if line.assigned_to}
    members = _memberships_by_email(company, emails)
    missing = [user for user in user_rows if user.email not in members]
    summary.duplicates += len(user_rows) - len(missing)
    if not missing:
        return members
    users: dict[str, User] = {
        user.email.lower(): user
        for user in User.objects.annotate(email_lower=Lower("email")).filter(
            email_lower__in=[user.email for user in missing]
        )
    }
    new_users: list[User] = []
    for user_row in missing:
        if user_row.email not in users:
            # As User.objects.create_user(email, None) does, in one INSERT for
            # all: no usable password, the user sets one through the
            # password-reset link (CONTRACTS.md).
            user = User(email=user_row.email, name=user_row.name)
            user.set_unusable_password()
            new_users.append(user)
            users[user_row.email] = user
    User.objects.bulk_create(new_users)
    # The role is the feed's only here, when the membership is made: a role
    # changed in the portal afterwards stays changed.
    Membership.objects.bulk_create(
        Membership(user=users[user_row.email], company=company, role=user_row.role) for user_row in missing
    )
    summary.inserted += len(missing)
    # Read back rather than trust bulk_create's primary keys, which not every backend returns.
    return _memberships_by_email(company, emails)


def _memberships_by_email(company: Company, emails: set[str]) -> dict[str, Membership]:
    if not emails:
        return {}
    memberships = (
        Membership.objects.filter(company=company)
        .annotate(email_lower=Lower("user__email"))
        .filter(email_lower__in=emails)
        .select_related("user")
    )
    return {membership.user.email.lower(): membership for membership in memberships}


def _lines_write(
    company: Company,
    rows: list[LineRow],
    members: Mapping[str, Membership],
    offers: Mapping[str, Offer],
    path: str,
    today: date,
    summary: ImportSummary,
) -> None:
    if not rows:
        return
    numbers = {row.number for row in rows}
    # One query, two index scans: the number's line that is not ceased,
    # wherever it is (the partial unique index), and this company's ceased
    # records of it (the company-and-number index). A plain OR of the two
    # would scan the whole table.
    live_lines = Line.objects.filter(number__in=numbers).exclude(status=LineStatus.CEASED).order_by()
    ceased_lines = Line.objects.filter(
        company=company, number__in=numbers, status=LineStatus.CEASED
    ).order_by()
    records: dict[str, list[Line]] = {}
    for line in sorted(live_lines.union(ceased_lines, all=True), key=lambda line: line.pk):
        records.setdefault(line.number, []).append(line)
    # Which other live line of the company holds each ICCID of the file; the
    # lines of the file take the ICCIDs the file gives them, checked as they go.
    holders: dict[str, str] = dict(
        Line.objects.filter(company=company, iccid__in={row.iccid for row in rows if row.iccid})
        .exclude(status=LineStatus.CEASED)
        .exclude(number__in=numbers)
        .values_list("iccid", "number")
    )

    new: list[Line] = []
    changed: list[Line] = []
    changed_fields: set[str] = set()
    for row in rows:
        problems = Problems()
        offer = offers.get(row.offer)
        if offer is None:
            problems.add("unknown_offer", _("Unknown offer %(code)s.") % {"code": row.offer})
        assignee = members.get(row.assigned_to) if row.assigned_to else None
        if row.assigned_to and assignee is None:
            problems.add(
                "unknown_assigned_user",
                _("Unknown assigned user %(email)s: not a user of this company.")
                % {"email": row.assigned_to},
            )
        live = next((line for line in records.get(row.number, []) if line.status != LineStatus.CEASED), None)
        if live is not None and live.company_id != company.pk and not row.ceases:
            problems.add(
                "number_in_another_company",
                _("The number %(number)s is active in another company; it must be ceased there first.")
                % {"number": row.number},
            )
        if row.iccid and not row.ceases:
            holder = holders.get(row.iccid)
            if holder is not None and holder != row.number:
                problems.add(
                    "iccid_in_use",
                    _("The ICCID %(iccid)s is already used by line %(number)s.")
                    % {"iccid": row.iccid, "number": holder},
                )
        if problems or offer is None:
            problems.reject_into(summary, f"{path}.lines[{row.index}]")
            continue
        if row.iccid and not row.ceases:
            holders[row.iccid] = row.number
        record = _matching_record(row, records.get(row.number, []), company)
        if record is None:
            new.append(_new_line(row, company, offer, assignee, today))
        elif fields := _assign(record, _line_changes(record, row, offer, today)):
            changed.append(record)
            changed_fields.update(fields)
        else:
            summary.duplicates += 1
    if changed:
        # bulk_update does not run auto_now: set it ourselves. The updates go
        # before the inserts, so that a line ceased here frees its number for
        # a new contract of the same number in this very file.
        now = timezone.now()
        for line in changed:
            line.updated_at = now
        Line.objects.bulk_update(changed, fields=sorted(changed_fields | {"updated_at"}))
    Line.objects.bulk_create(new)
    summary.inserted += len(new)
    summary.updated += len(changed)


def _matching_record(row: LineRow, records: list[Line], company: Company) -> Line | None:
    """The company's record this row speaks of, or None for a new line.

    A number may have several records over time: a takeover gives the incoming
    company a new record while the outgoing one keeps its ceased record and its
    history. The row is the company's line that is not ceased, if any; else one
    of its ceased records, unless the row starts a new contract (an activation
    day that none of them has).
    """
    mine = [line for line in records if line.company_id == company.pk]
    live = next((line for line in mine if line.status != LineStatus.CEASED), None)
    if live is not None:
        return live
    ceased = sorted(mine, key=lambda line: (line.ceased_on or date.min, line.pk), reverse=True)
    if not ceased:
        return None
    if row.activated_on is None:
        return ceased[0]
    return next((line for line in ceased if line.activated_on == row.activated_on), None)


def _new_line(row: LineRow, company: Company, offer: Offer, assignee: Membership | None, today: date) -> Line:
    ceased_on = (row.ceased_on or today) if row.ceases else row.ceased_on
    return Line(
        company=company,
        number=row.number,
        kind=row.kind,
        sim=row.sim,
        iccid=row.iccid,
        offer=offer,
        cost_centre=row.cost_centre or "",
        status=LineStatus.CEASED if row.ceases else (row.status or LineStatus.ACTIVE),
        # CONTRACTS.md: without activated_on, billing starts the day the line was first imported.
        activated_on=row.activated_on or today,
        ceased_on=ceased_on,
        assigned_to=assignee,
    )


def _line_changes(line: Line, row: LineRow, offer: Offer, today: date) -> dict[str, object]:
    """What the feed may change on an existing line; status and assignment are the portal's."""
    values: dict[str, object] = {"kind": row.kind, "sim": row.sim, "iccid": row.iccid, "offer_id": offer.pk}
    if row.cost_centre is not None:
        values["cost_centre"] = row.cost_centre
    if row.activated_on is not None:
        values["activated_on"] = row.activated_on
    if line.status == LineStatus.CEASED:
        # A ceased line is never brought back (it may have been ceased in the
        # portal, by a withdrawal); only its day of cessation may be corrected.
        if row.ceased_on is not None:
            values["ceased_on"] = row.ceased_on
    elif row.ceases:
        # The feed may cease any line, blocked and suspended ones included.
        values["status"] = LineStatus.CEASED
        values["ceased_on"] = row.ceased_on or line.ceased_on or today
    elif row.ceased_on_given:
        # A cessation planned for a later day, or withdrawn.
        values["ceased_on"] = row.ceased_on
    return values


def _assign(instance: Company | Offer | Line, values: Mapping[str, object]) -> list[str]:
    """Set the values that differ; return the names of the fields changed."""
    changed = []
    for name, value in values.items():
        if getattr(instance, name) != value:
            setattr(instance, name, value)
            changed.append(name.removesuffix("_id"))
    return changed


# ---------------------------------------------------------------------------
# The import
# ---------------------------------------------------------------------------


def customers_import(*, document: Mapping[str, Any], today: date | None = None) -> ImportSummary:
    """Import a provisioning document (CONTRACTS.md, "The provisioning feed").

    Bad items are rejected one by one with their path and reason; the good ones
    still go in. A document of the wrong shape raises FeedRefusedError before
    anything is written. `today` (Rome time by default) is the activation day
    of lines that have none and the day a line ceased without one is ceased.
    """
    today = today or timezone.localdate()
    offer_items, company_items = document_sections(document)
    summary = _offers_import(offer_items)
    # One read for every offer the lines name, after the file's own offers went in.
    codes = {
        line["offer"]
        for company in company_items
        if isinstance(company, Mapping) and isinstance(company.get("lines"), list)
        for line in company["lines"]
        if isinstance(line, Mapping) and isinstance(line.get("offer"), str)
    }
    offers = Offer.objects.in_bulk([code.strip() for code in codes], field_name="code") if codes else {}
    seen: dict[str, object] = {}
    for index, item in enumerate(company_items):
        summary.merge(_company_import(index=index, item=item, offers=offers, seen=seen, today=today))
    return summary
