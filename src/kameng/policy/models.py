from django.db import models


class PolicySetting(models.Model):
    """An operator's override of one default in kameng.policy.defaults (key → JSON value)."""

    key = models.CharField(max_length=64, unique=True)
    value = models.JSONField()
    updated_at = models.DateTimeField()
    updated_by = models.CharField(max_length=150, blank=True, default="")


class Holiday(models.Model):
    """Operator-editable fallback calendar for years the calendar package does not cover.

    `is_workday` True marks a 调休 make-up working day on a weekend.
    """

    date = models.DateField(unique=True)
    name = models.CharField(max_length=64, blank=True, default="")
    is_workday = models.BooleanField(default=False)
