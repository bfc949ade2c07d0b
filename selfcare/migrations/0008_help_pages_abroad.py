from django.db import migrations

# The help pages about going abroad added with the roaming app (issue 8).
SLUGS = {"manual-network-selection", "data-abroad", "assistance-from-abroad"}


def load(apps, schema_editor):
    # Only these pages, only where missing: the others belong to staff since 0005.
    from selfcare.help_content import HELP_PAGES

    help_page = apps.get_model("selfcare", "HelpPage")
    existing = set(help_page.objects.filter(slug__in=SLUGS).values_list("slug", flat=True))
    help_page.objects.bulk_create(
        [help_page(**page) for page in HELP_PAGES if page["slug"] in SLUGS - existing], ignore_conflicts=True
    )


class Migration(migrations.Migration):
    """The new help pages about going abroad, for installations that loaded the first ones already."""

    dependencies = [("selfcare", "0007_line_service_roaming")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
