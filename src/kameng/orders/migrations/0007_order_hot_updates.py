"""A release's UPDATE of an order can be HOT on PostgreSQL (no new entry in any of the table's indexes):
it changes no indexed column (status, escrow_status and completed_at are in no index), so what it needs is
room for the new row version on the same page: fillfactor 60 leaves 40% of each page free at INSERT. A
sweep batch updates ~100 consecutive orders in one transaction, so neighbours on a page are updated
together (bench/sweep.py prints orders_order's HOT share). The buyer's and the shop's single-column
indexes go: order_buyer and order_shop lead with those columns (two index entries fewer per order row).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


FILLFACTOR = 60


def fillfactor(percent: int):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE orders_order SET (fillfactor = {percent})")

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0003_stock_and_warranty"),
        ("orders", "0006_guest_checkout"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(fillfactor(FILLFACTOR), fillfactor(100)),
        migrations.AlterField(
            model_name="order",
            name="buyer",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="orders",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="order",
            name="shop",
            field=models.ForeignKey(
                db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name="orders", to="catalog.shop"
            ),
        ),
    ]
