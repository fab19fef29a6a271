"""The case's phase: every real state of the lifecycle (kameng.aftersales.lifecycle), filled from
what the status hid — an offer or a rejection, a failed compromise, a pending compromise."""

from django.db import migrations, models


def fill_phases(apps, schema_editor):
    RefundCase = apps.get_model("aftersales", "RefundCase")
    same = ["awaiting_merchant", "in_appeal", "closed"]
    RefundCase.objects.filter(status__in=same).update(phase=models.F("status"))
    buyer = RefundCase.objects.filter(status="awaiting_buyer")
    buyer.filter(offer_amount__isnull=False).update(phase="awaiting_buyer_offer")
    buyer.filter(offer_amount__isnull=True).update(phase="awaiting_buyer_rejected")
    arbitration = RefundCase.objects.filter(status="in_arbitration")
    arbitration.filter(binding_required=True).update(phase="in_arbitration_binding")
    arbitration.filter(binding_required=False).update(phase="in_arbitration")
    for case in RefundCase.objects.filter(status="decided").only("pk", "decision"):
        pending = (case.decision or {}).get("outcome") == "compromise" and not (case.decision or {}).get("final")
        case.phase = "compromise_proposed" if pending else "appeal_window"
        case.save(update_fields=["phase"])


def fill_binding_required(apps, schema_editor):
    RefundCase = apps.get_model("aftersales", "RefundCase")
    RefundCase.objects.filter(phase="in_arbitration_binding").update(binding_required=True)


class Migration(migrations.Migration):
    dependencies = [
        ("aftersales", "0002_hot_query_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="refundcase",
            name="phase",
            field=models.CharField(default="awaiting_merchant", max_length=32),
        ),
        migrations.RunPython(fill_phases, fill_binding_required),
        migrations.RemoveField(
            model_name="refundcase",
            name="binding_required",
        ),
    ]
