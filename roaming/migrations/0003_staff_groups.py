from django.db import migrations


def sync(apps, schema_editor):
    from selfcare.staff import staff_groups_sync

    staff_groups_sync(apps)


class Migration(migrations.Migration):
    """Billing keeps the roaming price list; Customer care reads it and sets a line's roaming."""

    dependencies = [("roaming", "0002_zones_and_rates")]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
