"""Celery on Redis: a real worker process (and beat) running kameng's tasks against a database
it shares with the test. Timers stay database rows; the queue only triggers sweeps and runs the
registered jobs (here: the complaint package a buyer's page asks for)."""

import contextlib
import hashlib
import io
import json
import os
import sys
import uuid
import zipfile
from pathlib import Path

import pytest

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_DB = int(os.environ.get("KAMENG_TEST_REDIS_DB", "13"))  # keep clear of db 0 and of other tests


@contextlib.contextmanager
def _redis_queue():
    """A Redis database with a unique queue and key prefix; every key under the prefix is removed after."""
    import redis

    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:
        reason = f"needs Redis on {REDIS_HOST}:{REDIS_PORT} for a real Celery worker ({exc})"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI=true but {reason}", pytrace=False)
        pytest.skip(reason)
    tag = f"km8-test-{uuid.uuid4().hex[:10]}"
    env = {
        "KAMENG_BROKER_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}",
        "KAMENG_CELERY_QUEUE": tag,
        "KAMENG_CELERY_KEY_PREFIX": f"{tag}:",
    }
    yield env
    for key in client.scan_iter(match=f"{tag}*"):
        client.delete(key)
    client.close()


@pytest.fixture
def redis_broker():
    with _redis_queue() as env:
        yield env


def _sender(env: dict):
    """A Celery app in the test process talking to the same broker, queue and prefix as the worker."""
    from celery import Celery

    from kameng.celery import configure

    return configure(Celery("kameng-test-sender"), env["KAMENG_BROKER_URL"], env)


class ProbeWorker:
    """The module's database of its own and one Celery worker on it (two pool processes), with the
    probe timer kind: the sweep-task and beat tests share it (a worker's start is a Django and a
    Celery start-up, its stop a warm shutdown). Each test starts with no probe timers or runs
    (`fresh`), and reads the worker's log from where it began (`says`)."""

    def __init__(self, db, processes, broker):
        self.db, self.processes, self.broker = db, processes, broker
        db.env.update(broker)  # the Django processes a test starts on it send to this worker's queue
        self.env = db.env
        self.proc = processes.start(
            [sys.executable, db.probe_main, "celery-worker", "--concurrency", "2", "--loglevel", "INFO"],
            self.env,
            "celery-worker",
        )
        self.mark = 0

    def fresh(self) -> None:
        from kameng.timers.models import Timer

        self.db.query(f"DELETE FROM {Timer._meta.db_table} WHERE kind = 'test.probe'")
        self.db.query("DELETE FROM ops_probe_run")
        self.mark = len(self.processes.output(self.proc))

    def says(self, text: str) -> bool:
        """Whether the worker printed `text` since this test began; fails at once if it died."""
        if text in self.processes.output(self.proc)[self.mark :]:
            return True
        if self.proc.poll() is not None:
            raise AssertionError(f"the celery worker exited with {self.proc.returncode}")
        return False


@pytest.fixture(scope="module")
def _probe_worker(tmp_path_factory, _isolated_template, django_db_blocker):
    from .conftest import _wait_for, shared_children

    with (
        shared_children(tmp_path_factory, "celery", _isolated_template, django_db_blocker) as (db, processes),
        _redis_queue() as broker,
    ):
        worker = ProbeWorker(db, processes, broker)
        _wait_for(lambda: processes.says(worker.proc, "ready."), 60, what="celery worker ready")
        yield worker
        processes.stop_all()  # before the broker's queues go


@pytest.fixture
def probe_worker(_probe_worker):
    _probe_worker.fresh()
    return _probe_worker


def test_celery_worker_runs_due_timers_when_the_sweep_task_arrives(probe_worker, wait_for):
    db, worker = probe_worker.db, probe_worker
    db.schedule_probes(40)
    assert db.timer_counts() == {"pending": 40}  # nothing sweeps them but the task
    sender = _sender(worker.broker)
    sender.send_task("kameng.sweep_timers")
    wait_for(lambda: db.timer_counts() == {"done": 40}, 60, interval=0.3, what="the sweep task to run")
    wait_for(lambda: worker.says("kameng.sweep_timers"), 10, what="the worker's task log")

    # The same, queued by kameng's own dispatch (jobs.enqueue) in a process configured with the broker.
    db.schedule_probes(10, prefix="q")
    db.django("""
        from kameng.timers import jobs
        jobs.enqueue("sweep_timers")  # outside a transaction: sent at once
    """)
    wait_for(lambda: db.timer_counts() == {"done": 50}, 60, interval=0.3, what="the enqueued sweep")

    runs = db.probe_runs()
    assert len(runs) == 50 and len({t for t, _ in runs}) == 50
    assert {pid for _, pid in runs} - {worker.proc.pid}, "tasks run in the worker's pool processes"


def test_celery_worker_builds_the_complaint_package_the_buyers_page_queued(
    isolated_db, processes, redis_broker, wait_for
):
    from kameng.aftersales.models import RefundCase
    from kameng.complaints.models import ComplaintPackage

    isolated_db.kameng("demo")  # refund cases told through the services, like any others
    ((case_id,),) = isolated_db.query(f"SELECT MIN(id) FROM {RefundCase._meta.db_table}")  # the first case
    env = dict(isolated_db.env, **redis_broker)
    worker = processes.start(
        [sys.executable, "-m", "kameng.cli", "celery-worker", "--concurrency", "1"], env, "celery-worker"
    )
    wait_for(lambda: processes.says(worker, "ready."), 60, what="celery worker ready")

    # The buyer opens the complaint page in a web process configured with the broker: the page
    # answers, and the build goes to the queue.
    isolated_db.env.update(redis_broker)
    page = isolated_db.django(f"""
        from django.test import Client
        from kameng.aftersales.models import RefundCase
        from kameng.complaints.models import ComplaintPackage
        client = Client()
        client.force_login(RefundCase.objects.get(pk={case_id}).buyer)
        response = client.get("/refunds/{case_id}/complaint/?channel=12315")
        result = [response.status_code, ComplaintPackage.objects.count()]
    """)
    assert page == [200, 0]  # not built in the page's process

    table = ComplaintPackage._meta.db_table
    rows = wait_for(
        lambda: isolated_db.query(
            f"SELECT file, sha256, size FROM {table} WHERE case_id = ? AND channel = ?", (case_id, "12315")
        ),
        120,
        interval=0.5,
        what="the package the worker builds",
    )
    wait_for(lambda: processes.says(worker, "kameng.build_complaint"), 10, what="the worker's task log")
    wait_for(lambda: processes.says(worker, "succeeded"), 10, what="the worker to report the task done")
    name, sha256, size = rows[0]
    data = (Path(isolated_db.env["KAMENG_DATA_DIR"]) / "files" / name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == sha256 and len(data) == size
    package = zipfile.ZipFile(io.BytesIO(data))
    assert package.testzip() is None
    assert {"complaint.pdf", "complaint.txt", "manifest.json"} <= set(package.namelist())
    assert package.read("complaint.pdf").startswith(b"%PDF-")
    manifest = json.loads(package.read("manifest.json"))
    assert (manifest["case"], manifest["channel"], manifest["chain_valid"]) == (str(case_id), "12315", True)
    for entry in manifest["files"]:
        assert hashlib.sha256(package.read(entry["path"])).hexdigest() == entry["sha256"]
    processes.stop(worker)


def test_every_registered_job_has_its_celery_task():
    import kameng.ops.tasks  # noqa: F401  (a worker imports it through the Celery app's include)
    from kameng.celery import app
    from kameng.timers import jobs

    assert {"sweep_timers", "analyse_case", "send_notification_email", "build_complaint"} <= set(jobs.JOBS)
    assert {jobs.task_name(name) for name in jobs.JOBS} <= set(app.tasks)


def test_beat_triggers_the_sweep_every_few_seconds(probe_worker, processes, wait_for, tmp_path):
    db = probe_worker.db
    env = dict(probe_worker.env, KAMENG_SWEEP_INTERVAL="0.5")
    beat = processes.start(
        [sys.executable, "-m", "kameng.cli", "beat", "--schedule", str(tmp_path / "beat.db")], env, "beat"
    )
    wait_for(lambda: processes.says(beat, "beat: Starting"), 60, what="beat start")

    db.schedule_probes(25)
    wait_for(lambda: db.timer_counts() == {"done": 25}, 60, interval=0.3, what="beat-driven sweep")
    # A timer that falls due later runs on a later beat, with nobody sending anything by hand.
    db.schedule_probes(5, prefix="later", seconds_ago=-2)
    wait_for(lambda: db.timer_counts() == {"done": 30}, 60, interval=0.3, what="the later timers")
    assert len(db.probe_runs()) == 30
    assert probe_worker.says("kameng.sweep_timers")  # the worker ran what beat sent
    processes.stop(beat)


def test_jobs_run_in_process_after_commit_without_a_broker(db, settings, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    from kameng.timers import jobs
    from kameng.timers import services as timers
    from kameng.timers.models import TimerStatus

    settings.BROKER_URL = ""
    ran = []
    timers.HANDLERS["test.in_process"] = lambda target, now: ran.append(target)
    try:
        timer = timers.schedule("test.in_process", "thing:1", timezone.now() - timedelta(minutes=1))
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            jobs.enqueue("sweep_timers")
        assert ran == []  # nothing runs before the commit
        for callback in callbacks:
            callback()
        assert ran == ["thing:1"]
        timer.refresh_from_db()
        assert timer.status == TimerStatus.DONE
    finally:
        del timers.HANDLERS["test.in_process"]


def test_enqueue_refuses_an_unknown_job():
    from kameng.timers import jobs

    with pytest.raises(KeyError):
        jobs.enqueue("mine_bitcoin")
