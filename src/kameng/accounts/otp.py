"""The staff second factor: TOTP (RFC 6238: SHA-1, 6 digits, 30 s) with recovery codes, on
django-otp's devices.

Arbitrators and admins turn it on from the CLI (`kameng user otp --username U`) or on their
account security page (a QR code, confirmed with a first code). From then on every login of
that user (the API's POST /auth/token, the pages, the Django admin) needs a current code or one
unused recovery code. KAMENG_STAFF_OTP=required (settings.STAFF_OTP_REQUIRED) refuses staff
logins without TOTP altogether; the pages then lead a signed-in staff member to enrolment only.
"""

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from kameng.errors import DomainError, Error

from .models import User

TOTP_NAME = "kameng TOTP"
RECOVERY_NAME = "kameng recovery codes"
RECOVERY_CODES = 10


@dataclass(frozen=True)
class Enrolment:
    device: TOTPDevice
    uri: str  # otpauth://totp/…: what the authenticator app scans
    recovery_codes: list[str]  # shown once


def totp_device(user: User, *, confirmed: bool = True) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, name=TOTP_NAME, confirmed=confirmed).first()


def has_totp(user: User) -> bool:
    return totp_device(user) is not None


def staff_otp_required() -> bool:
    return settings.STAFF_OTP_REQUIRED


def start_enrolment(user: User) -> TOTPDevice:
    """A fresh, unconfirmed TOTP secret for the staff pages' QR code (replaces an earlier draft)."""
    if not user.is_staff_role:
        raise DomainError(Error.OTP_STAFF_ONLY)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, name=TOTP_NAME, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)


def confirm_enrolment(user: User, code: str) -> Enrolment:
    """The first code from the app proves it holds the secret: TOTP is on, recovery codes issued."""
    draft = totp_device(user, confirmed=False)
    if draft is None or not draft.verify_token(_digits(code)):
        raise DomainError(Error.OTP_INVALID, param="otp")
    return _activate(user, draft)


def enrol_now(user: User) -> Enrolment:
    """The CLI: TOTP on at once (a new secret replaces any earlier one)."""
    if not user.is_staff_role:
        raise DomainError(Error.OTP_STAFF_ONLY)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, name=TOTP_NAME, confirmed=False).delete()
        return _activate(user, TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False))


def _activate(user: User, draft: TOTPDevice) -> Enrolment:
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, name=TOTP_NAME, confirmed=True).exclude(pk=draft.pk).delete()
        draft.confirmed = True
        draft.save(update_fields=["confirmed"])
        codes = _new_recovery_codes(user)
    return Enrolment(draft, draft.config_url, codes)


def _new_recovery_codes(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user, name=RECOVERY_NAME).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    # django-otp stores a static token in 16 characters (PostgreSQL enforces it): 3 × 4 hex digits.
    codes = ["-".join(secrets.token_hex(2) for _ in range(3)) for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def check_second_factor(user: User, code: str | None):
    """At login: the device that accepted `code` (TOTP, or one recovery code, used up), or None
    for a user without TOTP. Raises otp_required / otp_invalid (401)."""
    device = totp_device(user)
    if device is None:
        if user.is_staff_role and staff_otp_required():
            raise DomainError(Error.OTP_NOT_ENROLLED)
        return None
    if not code:
        raise DomainError(Error.OTP_REQUIRED, param="otp")
    with transaction.atomic():
        if device.verify_token(_digits(code)):
            return device
        recovery = StaticDevice.objects.select_for_update().filter(user=user, name=RECOVERY_NAME).first()
        if recovery is not None and recovery.verify_token(code.strip().lower()):
            return recovery
    raise DomainError(Error.OTP_INVALID, param="otp")


def second_factor_satisfied(user: User, verified: bool) -> bool:
    """May this signed-in session act as staff? `verified`: the session passed a second factor."""
    if not getattr(user, "is_staff_role", False):
        return True
    if has_totp(user):
        return verified
    return not staff_otp_required()


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__name=RECOVERY_NAME).count()


def _digits(code: str | None) -> str:
    return "".join((code or "").split())[:16]
