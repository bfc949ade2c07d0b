from django.db import migrations


def sync(apps, schema_editor):
    from selfcare.staff import staff_groups_sync

    staff_groups_sync(apps)


class Migration(migrations.Migration):
    """The staff groups get the permissions of the models of lines, eSIMs, credit and help."""

    dependencies = [
        ("selfcare", "0003_lines_sim_esim_services_credit_help"),
        ("billing", "0001_initial"),
    ]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
