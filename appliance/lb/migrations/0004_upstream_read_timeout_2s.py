"""A hanging backend costs a client at most the upstream read timeout: default 2 s instead of 30 s."""

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("lb", "0003_revision_culprits")]

    operations = [
        migrations.AlterField(
            model_name="upstream",
            name="read_timeout_s",
            field=models.PositiveIntegerField(
                default=2,
                validators=[
                    django.core.validators.MinValueValidator(1),
                    django.core.validators.MaxValueValidator(3600),
                ],
            ),
        ),
    ]
