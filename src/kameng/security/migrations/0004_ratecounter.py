"""Request-rate counters in a table of their own: one atomic upsert per counted request, shared by
every worker without Redis (the database cache's increment is a read and a write, not atomic)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("security", "0003_security_cache_table")]

    operations = [
        migrations.CreateModel(
            name="RateCounter",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=120, unique=True)),
                ("count", models.PositiveIntegerField(default=0)),
                ("expires", models.FloatField(db_index=True)),
            ],
        ),
    ]
