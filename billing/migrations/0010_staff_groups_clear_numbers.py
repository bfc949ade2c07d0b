from django.db import migrations


def sync(apps, schema_editor):
    from selfcare.staff import staff_groups_sync

    staff_groups_sync(apps)


class Migration(migrations.Migration):
    """The Procedures staff group decides requests for numbers in clear; Customer care reads them."""

    dependencies = [("billing", "0009_traffic_clear_numbers_and_exports")]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
