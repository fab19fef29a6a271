"""Chain anchors (issue 16, point 6): the head after each item, HMAC-signed, append-only. Items
stored before this migration are anchored now, with the server key of this run."""

import hashlib
import hmac

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

POSTGRES_UP = """
CREATE OR REPLACE FUNCTION evidence_anchor_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'evidence_chainanchor is append-only: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER evidence_chainanchor_append_only BEFORE UPDATE OR DELETE ON evidence_chainanchor
    FOR EACH ROW EXECUTE FUNCTION evidence_anchor_refuse_change();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS evidence_chainanchor_append_only ON evidence_chainanchor;
DROP FUNCTION IF EXISTS evidence_anchor_refuse_change();
"""
# SQLite: Django's test teardown empties tables with DELETE, so only UPDATE is refused there.
SQLITE_UP = (
    "CREATE TRIGGER evidence_chainanchor_no_update BEFORE UPDATE ON evidence_chainanchor "
    "BEGIN SELECT RAISE(ABORT, 'evidence_chainanchor is append-only: UPDATE refused'); END;"
)
SQLITE_DOWN = "DROP TRIGGER IF EXISTS evidence_chainanchor_no_update;"


def guards(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    schema_editor.execute(POSTGRES_UP if postgres else SQLITE_UP, params=None)


def drop_guards(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    schema_editor.execute(POSTGRES_DOWN if postgres else SQLITE_DOWN, params=None)


def anchor_existing(apps, schema_editor):
    Evidence = apps.get_model("evidence", "Evidence")
    ChainAnchor = apps.get_model("evidence", "ChainAnchor")
    key = (getattr(settings, "EVIDENCE_CHAIN_KEY", "") or settings.SECRET_KEY).encode()
    for item in Evidence.objects.order_by("case_id", "seq").iterator():
        message = f"kameng.evidence.anchor:{item.case_id}:{item.seq}:{item.chain}".encode()
        ChainAnchor.objects.create(
            case_id=item.case_id,
            seq=item.seq,
            head=item.chain,
            mac=hmac.new(key, message, hashlib.sha256).hexdigest(),
            at=item.uploaded_at,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("aftersales", "0003_case_phase"),
        ("evidence", "0003_extract_preview"),
    ]

    operations = [
        migrations.CreateModel(
            name="ChainAnchor",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("seq", models.PositiveIntegerField()),
                ("head", models.CharField(max_length=64)),
                ("mac", models.CharField(max_length=64)),
                ("at", models.DateTimeField()),
                (
                    "case",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="aftersales.refundcase"
                    ),
                ),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("case", "seq"), name="chainanchor_case_seq")],
            },
        ),
        migrations.RunPython(anchor_existing, migrations.RunPython.noop),
        migrations.RunPython(guards, drop_guards),
    ]
