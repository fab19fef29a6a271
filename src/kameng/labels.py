"""Display labels of the enums' codes: every status, kind and role enum is a TextChoices whose
members carry their label; this turns a stored code into that label in the active language."""

from django.db import models


def label(choices: type[models.TextChoices], code) -> str:
    """The display name of `code` in `choices`, or the code itself when it is not one of them."""
    try:
        return str(choices(code).label)
    except ValueError:
        return str(code or "")
