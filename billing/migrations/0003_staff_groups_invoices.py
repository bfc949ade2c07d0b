from django.db import migrations


def sync(apps, schema_editor):
    from selfcare.staff import staff_groups_sync

    staff_groups_sync(apps)


class Migration(migrations.Migration):
    """The Billing staff group gets the permissions of invoices, charges and billing runs."""

    dependencies = [("billing", "0002_invoices_billing_run")]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
