"""Job entry point: build and store a case's complaint package for one channel off the request path
(queued by the buyer's complaint page), so the download that usually follows finds it ready."""

from kameng.timers.jobs import job

from . import services


@job("build_complaint")
def build_complaint(case_id: int, channel: str) -> str | None:
    """The stored package's fingerprint (None when there is no such case)."""
    package = services.prepare_package(case_id, channel)
    return package.fingerprint if package is not None else None
