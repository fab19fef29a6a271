from django.db import models


class ClockOffset(models.Model):
    """A single row: how far the test clock is ahead of the system clock."""

    seconds = models.BigIntegerField(default=0)
