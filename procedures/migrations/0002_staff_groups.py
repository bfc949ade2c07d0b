from django.db import migrations


def sync(apps, schema_editor):
    from selfcare.staff import staff_groups_sync

    staff_groups_sync(apps)


class Migration(migrations.Migration):
    """The Procedures group works the requests' queue and the activation orders; Customer care reads them."""

    dependencies = [("procedures", "0001_initial")]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
