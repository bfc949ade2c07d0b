from django.db import migrations


def sync(apps, schema_editor):
    from selfcare.staff import staff_groups_sync

    staff_groups_sync(apps)


class Migration(migrations.Migration):
    """Customer care read the companies' insight alerts and their crossings (answering "why was I told?")."""

    dependencies = [("insight", "0001_initial")]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
