from django.conf import settings
from django.db import models


class Evidence(models.Model):
    """One evidence item. The stored bytes are never altered; `sha256` is of those bytes.

    `prev` and `chain` link the case's items in upload order:
    chain = sha256(prev + sha256 + metadata), so removing, reordering or changing any item
    (or its metadata) breaks every later link.
    """

    case = models.ForeignKey("aftersales.RefundCase", on_delete=models.PROTECT, related_name="evidence")
    seq = models.PositiveIntegerField()  # position in the case's chain, from 1
    category = models.CharField(max_length=16)  # listing | transaction | communication | problem
    source = models.CharField(max_length=16)  # buyer | merchant | system
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    filename = models.CharField(max_length=255)  # the name the uploader gave, for display only
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    file = models.FileField(upload_to="evidence/%Y/%m/", max_length=255)  # generated name
    note = models.TextField(blank=True, default="")
    prev = models.CharField(max_length=64)
    chain = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "seq"], name="evidence_case_seq")]
        indexes = [models.Index(fields=["case", "seq"], name="evidence_case")]
