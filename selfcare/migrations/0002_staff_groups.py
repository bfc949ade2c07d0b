from django.db import migrations


def sync(apps, schema_editor):
    from selfcare.staff import staff_groups_sync

    staff_groups_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("selfcare", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("auditlog", "0017_add_actor_email"),
    ]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
