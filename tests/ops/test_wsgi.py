"""The web worker's application (kameng.wsgi, what `kameng serve` runs): loaded whole at start, then
kept out of the cyclic garbage collector's sight, so its full collections (every thread of the worker
stopped, the GIL held) walk only what the requests left behind."""

import gc
import subprocess
import sys

PROBE = """
import gc, sys
before = len(gc.get_objects())
import kameng.wsgi
print(gc.get_freeze_count(), len(gc.get_objects()), before, 'kameng.api.refunds' in sys.modules)
"""


def test_the_worker_loads_every_view_at_start_and_freezes_what_it_loaded(isolated_db):
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=isolated_db.env, capture_output=True, text=True, timeout=120, check=True
    ).stdout.split()
    frozen, tracked, before, views_loaded = int(out[0]), int(out[1]), int(out[2]), out[3] == "True"
    assert views_loaded  # the URLconf's modules are imported with the application, not at the first request
    assert frozen > 10 * before  # Django, the apps and their views …
    assert tracked < frozen // 100  # … are frozen: what a full collection walks is nearly nothing


def test_each_celery_child_freezes_what_its_parent_loaded():
    from celery.signals import worker_process_init

    import kameng.celery  # noqa: F401  (connects the receiver)

    gc.unfreeze()  # pytest's own freeze after collection (tests/conftest.py)
    try:
        worker_process_init.send(sender=None)  # what Celery's prefork pool sends in each new child
        assert gc.get_freeze_count() > 0
    finally:
        gc.freeze()
