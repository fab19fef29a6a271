"""Idempotency answers are dated by the shared clock (and indexed for the hourly purge)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("api", "0001_initial")]

    operations = [
        migrations.AlterField(
            model_name="idempotencyrecord",
            name="created_at",
            field=models.DateTimeField(db_index=True),
        ),
    ]
