import hashlib

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.crypto import salted_hmac
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

    # Bumped by "sign out everywhere" and the admin's revoke: every page session signed with the
    # earlier value stops verifying (see get_session_auth_hash).
    session_epoch = models.PositiveIntegerField(default=0)

    @property
    def is_staff_role(self) -> bool:
        return self.role in (Role.ARBITRATOR, Role.ADMIN)

    def _get_session_auth_hash(self, secret=None) -> str:
        """Django's session check signs the password hash; the epoch joins it once bumped, so
        sessions can be ended without changing the password (epoch 0 keeps Django's own value)."""
        signed = self.password if not self.session_epoch else f"{self.password}:{self.session_epoch}"
        key_salt = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash"
        return salted_hmac(key_salt, signed, secret=secret, algorithm="sha256").hexdigest()


class ApiToken(models.Model):
    """A bearer token; only its SHA-256 is stored (the raw value is shown once, at issue).

    It answers until `expires_at` (settings.TOKEN_LIFETIME_DAYS after issue), until its holder
    logs out with it, or until the password changes or all tokens are revoked (the row is deleted).
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()
