"""Publish the decisions that became final before precedents existed (issue 18.5): one Precedent per
closed case whose standing decision is final, written as kameng.aftersales.precedents.publish would."""

from django.db import migrations

from kameng.aftersales.precedents import names_in, precedent_fields, standing_if_final


def publish_final_decisions(apps, schema_editor):
    RefundCase = apps.get_model("aftersales", "RefundCase")
    Precedent = apps.get_model("aftersales", "Precedent")
    User = apps.get_model("accounts", "User")
    cases = (
        RefundCase.objects.filter(status="closed", decision__isnull=False, precedent__isnull=True)
        .select_related("order", "shop", "shop__owner", "buyer")
        .order_by("pk")
    )
    batch = []
    for case in cases.iterator(chunk_size=500):
        standing = standing_if_final(case)
        if standing is None:
            continue
        names = names_in(case, User.objects)
        batch.append(
            Precedent(
                **precedent_fields(
                    case, standing, refunded=case.refunded_amount, published_at=case.closed_at or case.created_at, names=names
                )
            )
        )
        if len(batch) >= 500:
            Precedent.objects.bulk_create(batch)
            batch = []
    Precedent.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [("aftersales", "0006_precedent"), ("accounts", "0001_initial")]

    operations = [migrations.RunPython(publish_final_decisions, migrations.RunPython.noop)]
