from django.db import models


class ComplaintPackage(models.Model):
    """A built complaint package (complaint.pdf, complaint.txt, the evidence files, manifest.json),
    kept so the buyer's download is ready: one per case and channel.

    It serves while its `fingerprint` is what the case's documents would say now (see
    complaints.services.fingerprint: the dossier without its date, and the code that lays it out).
    Any change to the case, its events or evidence, the order, the shop or the buyer's details gives
    another fingerprint; the next build (the job `build_complaint`, or a download) replaces the row
    and its file.
    """

    case = models.ForeignKey("aftersales.RefundCase", on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=16)  # 12315 | arbitration | police
    fingerprint = models.CharField(max_length=64)
    file = models.FileField(upload_to="complaints/%Y/%m/", max_length=255)  # generated name
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)  # of the ZIP, checked before it is served again
    built_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "channel"], name="complaint_package_case_channel")]
