"""The staff actions that have no event table of their own. Everything else in the audit log is
read from the tables that already record it (see kameng.ops.audit)."""

from django.conf import settings
from django.db import models


class AuditRecord(models.Model):
    """Append-only: a policy edit, an account made from the CLI, a backup or a restore.

    Nothing in kameng updates or deletes a row; on both databases a trigger refuses UPDATE
    (migration 0002), and the Django admin shows the table read-only.
    """

    type = models.CharField(max_length=64)  # policy.set, user.create, backup.create, backup.restore
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True, default="")  # "cli" when no user acted
    target = models.CharField(max_length=128, blank=True, default="")  # policy:<key>, user:<id>, file path …
    summary = models.CharField(max_length=500, blank=True, default="")
    data = models.JSONField(default=dict)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["at", "id"], name="auditrecord_at")]


class RateCounter(models.Model):
    """One request-rate window of one key (kameng.security.ratelimit), counted with a single atomic
    upsert that every worker shares when no Redis is configured. Rows of ended windows are purged
    as new ones are written."""

    key = models.CharField(max_length=120, unique=True)  # name:window:digest
    count = models.PositiveIntegerField(default=0)
    expires = models.FloatField(db_index=True)  # epoch seconds: the window's end
