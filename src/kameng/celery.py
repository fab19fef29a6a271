"""The Celery app, used only when KAMENG_BROKER_URL is set (Redis: redis://host:6379/0).

Run a worker with `kameng celery-worker` and the scheduler with `kameng beat`. Beat sends
`kameng.sweep_timers` every KAMENG_SWEEP_INTERVAL seconds (default 2); each message expires
after a few intervals, so a backlog never piles up: timers are database rows and the next
sweep picks up whatever a lost message would have run.
"""

import gc
import os
from collections.abc import Mapping

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kameng.settings")


def celery_options(env: Mapping[str, str]) -> dict:
    """Queue name, Redis key prefix and beat interval for the Celery app."""
    return {
        "queue": env.get("KAMENG_CELERY_QUEUE", "kameng"),
        "key_prefix": env.get("KAMENG_CELERY_KEY_PREFIX", ""),
        "sweep_interval": float(env.get("KAMENG_SWEEP_INTERVAL", "2")),
    }


def configure(app: Celery, broker_url: str, env=os.environ) -> Celery:
    from django.conf import settings

    opts = celery_options(env)
    interval = opts["sweep_interval"]
    app.conf.update(
        broker_url=broker_url or "memory://",
        broker_connection_retry_on_startup=True,
        broker_transport_options={"global_keyprefix": opts["key_prefix"]} if opts["key_prefix"] else {},
        task_default_queue=opts["queue"],
        task_ignore_result=True,
        task_acks_late=True,  # a worker that dies mid-task leaves the message for another
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        timezone=settings.TIME_ZONE,
        enable_utc=True,
        beat_schedule={
            "sweep-timers": {
                "task": "kameng.sweep_timers",
                "schedule": interval,
                "options": {"expires": max(10.0, interval * 5)},
            },
            "compact-case-counts": {  # kameng.casecounts.services.COMPACT_SECONDS (this layer cannot import it)
                "task": "kameng.compact_case_counts",
                "schedule": 10.0,
                "options": {"expires": 30.0},
            },
        },
    )
    return app


def _broker_url() -> str:
    from django.conf import settings

    return settings.BROKER_URL


app = configure(Celery("kameng", include=["kameng.ops.tasks"]), _broker_url())


@worker_process_init.connect
def freeze_what_the_parent_loaded(**_kwargs) -> None:
    """Each prefork child starts with what its parent loaded (Django, the apps, the tasks), which lives as
    long as it does: out of the cyclic collector's sight, as in the web worker (kameng.wsgi)."""
    gc.freeze()
