import hashlib

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    BUYER = "buyer", _("买家")  # buys, opens refund cases
    MERCHANT = "merchant", _("商家")  # owns one shop, answers cases
    ARBITRATOR = "arbitrator", _("仲裁员")  # decides disputes; CLI-created only
    ADMIN = "admin", _("平台运营")  # operator: policies, sanctions, audit; CLI-created only


SELF_REGISTER_ROLES = (Role.BUYER, Role.MERCHANT)


class User(AbstractUser):
    role = models.CharField(max_length=16, default=Role.BUYER)
    language = models.CharField(max_length=8, blank=True, default="")
    # The complainant's details for 12315 complaints; never invented, asked when missing.
    real_name = models.CharField(max_length=64, blank=True, default="")
    phone = models.CharField(max_length=32, blank=True, default="")
    address = models.CharField(max_length=255, blank=True, default="")

    @property
    def is_staff_role(self) -> bool:
        return self.role in (Role.ARBITRATOR, Role.ADMIN)


class ApiToken(models.Model):
    """A bearer token; only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()
