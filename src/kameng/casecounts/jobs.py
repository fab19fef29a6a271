from kameng.timers.jobs import job

from . import services


@job("compact_case_counts")
def compact_case_counts() -> int:
    return services.refresh()
