from django.db import migrations


def sync(apps, schema_editor):
    from selfcare.staff import staff_groups_sync

    staff_groups_sync(apps)


class Migration(migrations.Migration):
    """The Billing staff group gets credit notes, runs from the admin, payment methods and invoice documents."""

    dependencies = [("billing", "0005_payment_methods_documents")]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
