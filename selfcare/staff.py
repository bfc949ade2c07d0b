"""The operator's staff groups and what each may do in the admin.

One definition, applied by data migrations (each app that adds models adds a
migration calling `staff_groups_sync`, so its permissions join the groups) and
by tests that flush the database. Superusers manage staff accounts and groups.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.contrib.contenttypes.management import create_contenttypes

# Group → "app_label.codename" permissions. A permission of a model that does
# not exist yet is skipped: the migration that adds the model syncs again.
STAFF_GROUPS: dict[str, tuple[str, ...]] = {
    "Customer care": (
        "selfcare.view_company",
        "selfcare.view_user",
        "selfcare.change_user",
        "selfcare.view_membership",
        "selfcare.add_membership",
        "selfcare.change_membership",
        "selfcare.view_offer",
        "selfcare.view_line",
        "selfcare.change_line",
        "selfcare.view_notification",
        "selfcare.view_apitoken",
        "selfcare.change_apitoken",
        "selfcare.view_lineservicechange",
        "selfcare.view_esimprofile",
        "selfcare.change_esimprofile",
        "selfcare.view_creditmovement",
        "selfcare.view_helppage",
        "selfcare.add_helppage",
        "selfcare.change_helppage",
        "billing.view_payment",
        # Customer care answer questions about requests for numbers in clear; Procedures decide them.
        "billing.view_clearnumbersrequest",
        # Customers ask about warnings and measures; the fair-use team decides them.
        "billing.view_fairusefinding",
        "billing.view_fairusemeasure",
        # Customers ask where their fixed-line activation stands; Procedures advance it.
        "procedures.view_activationorder",
        "procedures.view_activationstepevent",
        # Customers ask about their requests; Procedures decide them.
        "procedures.view_request",
        "procedures.view_requestdocument",
        "procedures.view_requestmessage",
        "procedures.view_requestevent",
        # Roaming: they read the price list and set a line's roaming and cap for a caller.
        "roaming.view_roamingzone",
        "roaming.view_roamingcountry",
        "roaming.view_roamingrate",
        "roaming.view_lineroaming",
        "roaming.change_lineroaming",
        "roaming.view_roamingspendmonth",
        # Customers ask why an alert told them (insight.admin): read-only.
        "insight.view_insightalert",
        "insight.view_insightalerthit",
        "auditlog.view_logentry",
    ),
    "Billing": (
        "selfcare.view_company",
        "selfcare.view_offer",
        "selfcare.view_line",
        "selfcare.view_notification",
        "selfcare.view_creditmovement",
        "billing.view_payment",
        "billing.view_paymentevent",
        "billing.view_invoice",
        "billing.view_invoiceline",
        "billing.view_extracharge",
        "billing.add_extracharge",
        "billing.view_billingrun",
        "billing.view_billingrunchunk",
        "billing.view_taxexemption",
        "billing.add_taxexemption",
        "billing.change_taxexemption",
        # Credit notes are invoices of their own kind; a run started from the admin is a BillingRun.
        "billing.add_invoice",
        "billing.change_invoice",
        "billing.add_billingrun",
        "billing.view_paymentmethod",
        "billing.view_invoicedocument",
        "billing.add_invoicedocument",
        # The roaming price list: zones, the countries in them, and rates with their validity.
        "roaming.view_roamingzone",
        "roaming.change_roamingzone",
        "roaming.view_roamingcountry",
        "roaming.change_roamingcountry",
        "roaming.view_roamingrate",
        "roaming.add_roamingrate",
        "roaming.change_roamingrate",
        "roaming.view_lineroaming",
        "roaming.view_roamingspendmonth",
        "auditlog.view_logentry",
    ),
    "Fraud and fair use": (
        "selfcare.view_company",
        "selfcare.view_offer",
        "selfcare.view_line",
        "selfcare.change_line",
        "selfcare.view_membership",
        "selfcare.view_notification",
        "selfcare.view_lineservicechange",
        "selfcare.view_esimprofile",
        # The policy's limits are theirs to keep; findings are decided through measures.
        "billing.view_fairuserule",
        "billing.change_fairuserule",
        "billing.view_fairuselimit",
        "billing.add_fairuselimit",
        "billing.change_fairuselimit",
        "billing.delete_fairuselimit",
        "billing.view_fairuserun",
        "billing.add_fairuserun",
        "billing.view_fairusechunk",
        "billing.view_fairusefinding",
        "billing.change_fairusefinding",
        "billing.view_fairusemeasure",
        "billing.add_fairusemeasure",
        "auditlog.view_logentry",
    ),
    "Procedures": (
        "selfcare.view_company",
        "selfcare.change_company",
        "selfcare.view_user",
        "selfcare.view_membership",
        "selfcare.change_membership",
        "selfcare.view_offer",
        "selfcare.view_line",
        "selfcare.change_line",
        "selfcare.view_notification",
        "selfcare.view_esimprofile",
        "selfcare.change_esimprofile",
        # Grants of numbers in clear (billing.admin_clear_numbers): read-only now, decided through the
        # procedures' requests (procedures.kinds.clear_numbers); "change" kept for the groups' history.
        "billing.view_clearnumbersrequest",
        "billing.change_clearnumbersrequest",
        # Activation orders (procedures.admin_activation): "change" is advancing their steps.
        "procedures.view_activationorder",
        "procedures.change_activationorder",
        "procedures.view_activationstepevent",
        # Requests, every form (procedures.admin_requests): "change" is taking their steps and deciding them.
        "procedures.view_request",
        "procedures.change_request",
        "procedures.view_requestdocument",
        "procedures.view_requestmessage",
        "procedures.view_requestevent",
        # Exemptions are created by approving their requests; staff read them.
        "billing.view_taxexemption",
        "roaming.view_lineroaming",
        "auditlog.view_logentry",
    ),
}


def staff_groups_sync(apps: Any = global_apps) -> None:
    """Create the staff groups and give each exactly its permissions."""
    for app_config in apps.get_app_configs():
        # Permissions are normally made after all migrations; a data migration
        # needs them now. Both helpers skip an app config with no models module,
        # which historical (migration-time) app configs do not have.
        had_module = getattr(app_config, "models_module", None)
        app_config.models_module = had_module or True
        create_contenttypes(app_config, apps=apps, verbosity=0)
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = had_module
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for name, wanted in STAFF_GROUPS.items():
        group, _created = group_model.objects.get_or_create(name=name)
        labels = {tuple(p.split(".", 1)) for p in wanted}
        permissions = [
            permission
            for permission in permission_model.objects.select_related("content_type")
            if (permission.content_type.app_label, permission.codename) in labels
        ]
        group.permissions.set(permissions)
