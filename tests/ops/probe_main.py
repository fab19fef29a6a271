"""The real `kameng` command line plus one timer kind for tests, `test.probe`.

Its handler appends (target, pid) to the table ops_probe_run inside the sweeper's transaction,
so a test can count how many times each timer ran and which process ran it. Run as
`python tests/ops/probe_main.py worker …` (or `celery-worker …`): everything else is kameng's.
"""

import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kameng.settings")
django.setup()

from kameng.timers.services import handler  # noqa: E402  (needs the apps loaded)


@handler("test.probe")
def record_run(target: str, now) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO ops_probe_run (target, pid) VALUES (%s, %s)", [target, os.getpid()])
    delay = float(os.environ.get("PROBE_DELAY", "0"))
    if delay:
        time.sleep(delay)  # widen the window in which two sweepers compete


if __name__ == "__main__":
    from kameng.cli import main

    sys.exit(main(sys.argv[1:]))
