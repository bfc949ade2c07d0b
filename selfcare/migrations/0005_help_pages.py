from django.db import migrations


def load(apps, schema_editor):
    # The pages as they are in the code today, inserted only where missing:
    # once loaded a page belongs to staff, who edit it in the admin.
    from selfcare.help_content import HELP_PAGES

    help_page = apps.get_model("selfcare", "HelpPage")
    existing = set(help_page.objects.values_list("slug", flat=True))
    help_page.objects.bulk_create(
        [help_page(**page) for page in HELP_PAGES if page["slug"] not in existing], ignore_conflicts=True
    )


class Migration(migrations.Migration):
    """The help and contact pages of the operator's FAQ, for every installation."""

    dependencies = [("selfcare", "0004_staff_groups_lines")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
