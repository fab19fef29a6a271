"""Top-ups become gateway-neutral payments (purpose, ref, out_trade_no, expiry, refunds by the original route);
withdrawals get a payout state (pending → paid | failed)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def fill_out_trade_no(apps, schema_editor):
    Payment = apps.get_model("wallet", "Payment")
    for payment in Payment.objects.filter(out_trade_no="").iterator():
        payment.out_trade_no = f"KM{payment.pk:012d}"
        payment.save(update_fields=["out_trade_no"])


def withdrawals_paid(apps, schema_editor):
    """Withdrawals so far left through the sandbox payout at once: paid."""
    Withdrawal = apps.get_model("wallet", "Withdrawal")
    for withdrawal in Withdrawal.objects.iterator():
        withdrawal.status = "paid" if withdrawal.status == "succeeded" else withdrawal.status
        withdrawal.out_biz_no = f"WD{withdrawal.pk:012d}"
        withdrawal.done_at = withdrawal.created_at
        withdrawal.save(update_fields=["status", "out_biz_no", "done_at"])


class Migration(migrations.Migration):
    dependencies = [
        ("wallet", "0002_withdrawal"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameModel("Topup", "Payment"),
        migrations.AlterField(
            model_name="payment",
            name="user",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="payments", to=settings.AUTH_USER_MODEL
            ),
        ),
        migrations.AddField("payment", "purpose", models.CharField(default="topup", max_length=32)),
        migrations.AddField("payment", "ref", models.CharField(blank=True, default="", max_length=64)),
        migrations.AddField("payment", "subject", models.CharField(blank=True, default="", max_length=128)),
        migrations.AddField("payment", "out_trade_no", models.CharField(default="", max_length=32)),
        migrations.AddField("payment", "pay_url", models.CharField(blank=True, default="", max_length=2048)),
        migrations.AddField("payment", "code_url", models.CharField(blank=True, default="", max_length=512)),
        migrations.AddField("payment", "refunded_amount", models.PositiveBigIntegerField(default=0)),
        migrations.AddField("payment", "expires_at", models.DateTimeField(blank=True, null=True)),
        migrations.RunPython(fill_out_trade_no, migrations.RunPython.noop),
        migrations.AlterField("payment", "out_trade_no", models.CharField(max_length=32, unique=True)),
        migrations.AddIndex("payment", models.Index(fields=["purpose", "ref"], name="payment_purpose_ref")),
        migrations.CreateModel(
            name="PaymentRefund",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=128, unique=True)),
                ("out_refund_no", models.CharField(max_length=32, unique=True)),
                ("amount", models.PositiveBigIntegerField()),
                ("reason", models.CharField(blank=True, default="", max_length=128)),
                ("status", models.CharField(default="pending", max_length=16)),
                ("gateway_reference", models.CharField(blank=True, default="", max_length=128)),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("last_error", models.CharField(blank=True, default="", max_length=500)),
                ("created_at", models.DateTimeField()),
                ("done_at", models.DateTimeField(blank=True, null=True)),
                (
                    "payment",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="refunds", to="wallet.payment"
                    ),
                ),
            ],
        ),
        migrations.AlterField("withdrawal", "status", models.CharField(default="pending", max_length=16)),
        migrations.AddField("withdrawal", "account", models.CharField(blank=True, default="", max_length=128)),
        migrations.AddField("withdrawal", "account_name", models.CharField(blank=True, default="", max_length=64)),
        migrations.AddField("withdrawal", "out_biz_no", models.CharField(default="", max_length=32)),
        migrations.AddField("withdrawal", "gateway_reference", models.CharField(blank=True, default="", max_length=128)),
        migrations.AddField("withdrawal", "failure_reason", models.CharField(blank=True, default="", max_length=200)),
        migrations.AddField("withdrawal", "attempts", models.PositiveIntegerField(default=0)),
        migrations.AddField("withdrawal", "last_error", models.CharField(blank=True, default="", max_length=500)),
        migrations.AddField("withdrawal", "done_at", models.DateTimeField(blank=True, null=True)),
        migrations.RunPython(withdrawals_paid, migrations.RunPython.noop),
        migrations.AlterField("withdrawal", "out_biz_no", models.CharField(max_length=32, unique=True)),
    ]
