"""timer_target (target, kind) becomes timer_pending_target, partial on status = 'pending' like
timer_pending_due. On PostgreSQL the new index is built, and the old one dropped, CONCURRENTLY: a large
timers table takes no write lock while it builds."""

from django.db import migrations, models

NEW = models.Index(fields=["target", "kind"], name="timer_pending_target", condition=models.Q(status="pending"))
OLD = models.Index(fields=["target", "kind"], name="timer_target")


def _swap(apps, schema_editor, add: models.Index, drop: models.Index) -> None:
    timer = apps.get_model("timers", "Timer")
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.add_index(timer, add)
        schema_editor.remove_index(timer, drop)
        return
    schema_editor.add_index(timer, add, concurrently=True)
    schema_editor.remove_index(timer, drop, concurrently=True)


def forwards(apps, schema_editor):
    _swap(apps, schema_editor, NEW, OLD)


def backwards(apps, schema_editor):
    _swap(apps, schema_editor, OLD, NEW)


class Migration(migrations.Migration):
    atomic = False  # CREATE / DROP INDEX CONCURRENTLY run outside a transaction

    dependencies = [("timers", "0002_hot_query_indexes")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="timer", name="timer_target"),
                migrations.AddIndex(model_name="timer", index=NEW),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        )
    ]
