"""Revision numbers come from their own sequence: never reused, even if revision rows are deleted."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("lb", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "CREATE SEQUENCE IF NOT EXISTS lb_revision_number_seq START 1",
            "DROP SEQUENCE IF EXISTS lb_revision_number_seq",
        )
    ]
