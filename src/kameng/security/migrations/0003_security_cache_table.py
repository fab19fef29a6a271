"""The database cache table the login and registration counters live in (when Redis is not set).

`kameng init` also runs createcachetable; both are idempotent.
"""
from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("security", "0002_auditrecord_append_only")]
    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
