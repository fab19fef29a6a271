from django.db import models


class CaseCountBase(models.Model):
    """Cases per status as of the last compaction. Only compact() writes these rows."""

    status = models.CharField(max_length=32, primary_key=True)
    n = models.BigIntegerField()

    class Meta:
        db_table = "casecounts_base"


class CaseCountDelta(models.Model):
    """Appended by the database triggers on aftersales_refundcase, never by Python code: +n for cases
    entering `status`, -n for cases leaving it. compact() moves them into CaseCountBase."""

    status = models.CharField(max_length=32)
    delta = models.BigIntegerField()

    class Meta:
        db_table = "casecounts_delta"


class Gauge(models.Model):
    """A figure too costly to compute on every scrape (it grows with a backlog, not with transitions),
    measured by the worker every COMPACT_SECONDS: `arbitrations_overdue`."""

    name = models.CharField(max_length=64, primary_key=True)
    value = models.BigIntegerField()
    measured_at = models.DateTimeField()

    class Meta:
        db_table = "casecounts_gauge"
