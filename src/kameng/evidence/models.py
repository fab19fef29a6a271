import io

from django.conf import settings
from django.db import models
from django.db.models.fields.files import FieldFile


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
    file = models.FileField(upload_to="evidence/%Y/%m/", max_length=255, blank=True)  # generated name
    # A system item's bytes (the UTF-8 of the texts the platform writes: listing snapshot, transaction
    # record, chat logs), held in its row and written in the same transaction; `file` is empty then.
    # Everything a party uploads is a stored file and this is NULL.
    text = models.TextField(null=True, blank=True)
    note = models.TextField(blank=True, default="")
    prev = models.CharField(max_length=64)
    chain = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "seq"], name="evidence_case_seq")]
        indexes = [models.Index(fields=["case", "seq"], name="evidence_case")]

    def stored(self) -> FieldFile | bytes:
        """Where the bytes are: the stored file, or a system text's bytes (held in the row)."""
        return self.file if self.text is None else self.text.encode("utf-8")

    def open(self) -> io.BytesIO | FieldFile:
        """The bytes as a binary file, to read in chunks: from storage, or from the row."""
        stored = self.stored()
        return io.BytesIO(stored) if isinstance(stored, bytes) else stored.open("rb")


class ChainAnchor(models.Model):
    """The chain head after each item, written with the item, outside its row: deleting the newest
    items (rows and files) or rewriting one and recomputing the chain after it no longer verifies.

    Append-only: the database refuses UPDATE (and on PostgreSQL DELETE) of a row (migration 0004),
    and `mac` is an HMAC-SHA256 of (case, seq, head) with a server key (settings.EVIDENCE_CHAIN_KEY)
    that the database does not hold, so a forged anchor does not verify either.
    """

    case = models.ForeignKey("aftersales.RefundCase", on_delete=models.PROTECT, related_name="+")
    seq = models.PositiveIntegerField()
    head = models.CharField(max_length=64)
    mac = models.CharField(max_length=64)
    at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "seq"], name="chainanchor_case_seq")]


class EvidenceExtract(models.Model):
    """What the assist read from one evidence item, computed once: text (OCR of an image or of
    video frames, or the text itself) and perceptual hashes. The item's bytes are never touched."""

    evidence = models.OneToOneField(Evidence, on_delete=models.CASCADE, related_name="extract")
    status = models.CharField(max_length=12)  # done | failed | skipped
    text_source = models.CharField(max_length=12, blank=True, default="")  # ocr | video_ocr | text
    text = models.TextField(blank=True, default="")
    frames = models.PositiveSmallIntegerField(default=0)  # video frames read
    error = models.CharField(max_length=200, blank=True, default="")
    engine = models.CharField(max_length=60, blank=True, default="")
    # A small JPEG drawn from an image or a video frame: a separate derived file, never the original.
    preview = models.FileField(upload_to="evidence-previews/%Y/%m/", max_length=255, blank=True, default="")
    analysed_at = models.DateTimeField()


class ImageHash(models.Model):
    """A perceptual hash of an image or a video frame, for finding the same picture in other cases.

    `dhash` (64-bit difference hash) is split into six bands with an index each: two hashes at
    Hamming distance <= 5 share at least one band (pigeonhole), so candidates come from an
    indexed query; `fine` (a 256-bit difference hash) then confirms the match.
    """

    evidence = models.ForeignKey(Evidence, on_delete=models.CASCADE, related_name="image_hashes")
    case = models.ForeignKey("aftersales.RefundCase", on_delete=models.CASCADE, related_name="+")
    frame = models.PositiveSmallIntegerField(default=0)  # 0 for an image; video frames 0..n
    dhash = models.CharField(max_length=16)
    fine = models.CharField(max_length=64)
    band0 = models.PositiveIntegerField(db_index=True)
    band1 = models.PositiveIntegerField(db_index=True)
    band2 = models.PositiveIntegerField(db_index=True)
    band3 = models.PositiveIntegerField(db_index=True)
    band4 = models.PositiveIntegerField(db_index=True)
    band5 = models.PositiveIntegerField(db_index=True)


class CaseAnalysis(models.Model):
    """The latest assist analysis of a case, covering its evidence chain up to `head`."""

    case = models.OneToOneField("aftersales.RefundCase", on_delete=models.CASCADE, related_name="analysis")
    head = models.CharField(max_length=64)
    rules_version = models.PositiveIntegerField(default=1)
    result = models.JSONField()
    analysed_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
