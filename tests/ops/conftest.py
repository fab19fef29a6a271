"""Fixtures for tests that run kameng in real processes (gunicorn, `kameng worker`, Celery):
a database of their own (a fresh SQLite file, or a fresh PostgreSQL database when the suite
runs on PostgreSQL), a way to run Django code against it, and process clean-up."""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
PROBE_MAIN = str(HERE / "probe_main.py")
CHILD_SETTINGS = HERE.parent / "child_settings"
# What a child process must not inherit from the test run.
SCRUBBED = (
    "KAMENG_TEST_CLOCK",
    "KAMENG_BROKER_URL",
    "PROMETHEUS_MULTIPROC_DIR",
    "KAMENG_DATABASE_URL",
    "KAMENG_S3_BUCKET",
    "KAMENG_TEST_DATABASE_NAME",
    "DJANGO_SETTINGS_MODULE",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(predicate, timeout: float, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class IsolatedDatabase:
    """A migrated kameng database that child processes share with the test.

    Migrating takes seconds, so the first one is migrated once per session and kept as a
    template: later ones are a file copy (SQLite) or CREATE DATABASE … TEMPLATE (PostgreSQL).
    """

    def __init__(
        self,
        tmp_path: Path,
        template: "IsolatedDatabase | None" = None,
        *,
        sqlite_file: Path | None = None,
        pg_template: str | None = None,
    ):
        """A copy of `template`, or (without one) a database made here with `kameng init`, or a copy
        of `sqlite_file` (SQLite), or on PostgreSQL a clone of `pg_template`: these two already
        migrated as `kameng init` migrates (the run's migrated test database, tests/conftest.py),
        given only the probe table."""
        from django.conf import settings

        self.tmp = tmp_path
        self.probe_main = PROBE_MAIN
        self.env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
        self.env["KAMENG_DATA_DIR"] = str(tmp_path / "data")
        self.env["PYTHONUNBUFFERED"] = "1"
        # kameng's settings with a fast password hasher (tests/child_settings/kameng_test_settings.py).
        self.env["DJANGO_SETTINGS_MODULE"] = "kameng_test_settings"
        self.env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(CHILD_SETTINGS), os.environ.get("PYTHONPATH")]))
        db = settings.DATABASES["default"]
        self.vendor = "postgresql" if db["ENGINE"].endswith("postgresql") else "sqlite"
        self.pg_name = None
        if self.vendor == "postgresql":
            self.pg_name = f"km8_{uuid.uuid4().hex[:12]}"
            source = template.pg_name if template else pg_template
            self._admin(f'CREATE DATABASE "{self.pg_name}"' + (f' TEMPLATE "{source}"' if source else ""))
            auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
            self.env["KAMENG_DATABASE_URL"] = (
                f"postgresql://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{self.pg_name}"
            )
        elif template or sqlite_file:
            data = Path(self.env["KAMENG_DATA_DIR"])
            data.mkdir(parents=True)
            source = Path(template.env["KAMENG_DATA_DIR"]) / "kameng.sqlite3" if template else sqlite_file
            shutil.copyfile(source, data / "kameng.sqlite3")
        if template is None and (sqlite_file or pg_template):
            self.query(PROBE_TABLE_SQL)
        elif template is None:
            self.kameng("init")
            self.query(PROBE_TABLE_SQL)

    def _admin(self, sql: str) -> None:
        import psycopg
        from django.conf import settings

        db = settings.DATABASES["default"]
        with psycopg.connect(
            host=db.get("HOST") or "127.0.0.1",
            port=db.get("PORT") or 5432,
            user=db["USER"],
            password=db.get("PASSWORD") or None,
            dbname="postgres",
            autocommit=True,
        ) as conn:
            conn.execute(sql)

    def drop(self) -> None:
        if self.pg_name:
            self._admin(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')

    def kameng(self, *args: str, timeout: float = 120) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "kameng.cli", *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    def django(self, code: str, timeout: float = 120):
        """Run Python code with Django set up on this database; returns the JSON it assigns to `result`."""
        script = (
            "import django, json, os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'kameng.settings')\n"
            "django.setup()\nresult = None\n"
            + textwrap.dedent(code)
            + "\nprint('@@RESULT@@' + json.dumps(result, default=str))\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", script], env=self.env, capture_output=True, text=True, timeout=timeout
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.rsplit("@@RESULT@@", 1)[1])

    def create_probe_table(self) -> None:
        """Every isolated database has it (made in the template); kept for readable tests."""

    def schedule_probes(self, count: int, *, prefix: str = "p", seconds_ago: int = 5) -> None:
        """`count` probe timers due `seconds_ago` seconds ago (negative: that many from now), written
        straight into the database as Timer.objects.bulk_create writes them: no Django child process
        (its start-up is most of what such a process costs)."""
        from datetime import UTC, datetime, timedelta

        from kameng.timers.models import Timer, TimerStatus

        now = datetime.now(UTC)
        due = now - timedelta(seconds=seconds_ago)
        if self.vendor == "sqlite":  # what Django's SQLite backend stores: naive UTC, str()
            now, due = (str(moment.replace(tzinfo=None)) for moment in (now, due))
        fields = ["kind", "target", "due_at", "status", "attempts", "last_error", "created_at"]
        columns = ", ".join(Timer._meta.get_field(name).column for name in fields)
        rows = [("test.probe", f"{prefix}:{i}", due, str(TimerStatus.PENDING), 0, "", now) for i in range(count)]
        self.insert(f"INSERT INTO {Timer._meta.db_table} ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    def insert(self, sql: str, rows: list[tuple]) -> None:
        """Run one INSERT for each row, in one transaction."""
        if self.vendor == "postgresql":
            import psycopg

            with psycopg.connect(self.env["KAMENG_DATABASE_URL"]) as conn:
                conn.cursor().executemany(sql.replace("?", "%s"), rows)
            return
        import sqlite3

        conn = sqlite3.connect(Path(self.env["KAMENG_DATA_DIR"]) / "kameng.sqlite3", timeout=30)
        try:
            conn.executemany(sql, rows)
            conn.commit()
        finally:
            conn.close()

    def query(self, sql: str, params=()) -> list[tuple]:
        """Read the database directly (no Django subprocess: polling must be cheap)."""
        if self.vendor == "postgresql":
            import psycopg

            with psycopg.connect(self.env["KAMENG_DATABASE_URL"], autocommit=True) as conn:
                cursor = conn.execute(sql.replace("?", "%s"), params)
                return [tuple(r) for r in cursor.fetchall()] if cursor.description else []
        import sqlite3

        conn = sqlite3.connect(Path(self.env["KAMENG_DATA_DIR"]) / "kameng.sqlite3", timeout=30)
        try:
            rows = [tuple(r) for r in conn.execute(sql, params).fetchall()]
            conn.commit()
            return rows
        finally:
            conn.close()

    def probe_runs(self) -> list[tuple[str, int]]:
        return self.query("SELECT target, pid FROM ops_probe_run")

    def timer_counts(self) -> dict:
        from kameng.timers.models import Timer

        table = Timer._meta.db_table
        return dict(self.query(f"SELECT status, COUNT(*) FROM {table} WHERE kind = 'test.probe' GROUP BY status"))


@pytest.fixture
def free_port():
    return _free_port


@pytest.fixture
def wait_for():
    return _wait_for


PROBE_TABLE_SQL = "CREATE TABLE ops_probe_run (target VARCHAR(64) NOT NULL, pid INTEGER NOT NULL)"


@pytest.fixture
def isolated_db(tmp_path, db, _isolated_template):
    database = IsolatedDatabase(tmp_path, _isolated_template)
    yield database
    database.drop()


class Processes:
    """Child processes started by a test; all are stopped (SIGTERM, then SIGKILL) at its end."""

    def __init__(self, tmp_path: Path):
        self.tmp = tmp_path
        self.started: list[tuple[subprocess.Popen, Path]] = []

    def start(self, argv: list[str], env: dict, name: str) -> subprocess.Popen:
        log = self.tmp / f"{name}.log"
        handle = open(log, "w")  # noqa: SIM115  (open while the process runs)
        proc = subprocess.Popen(argv, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
        proc.log_path = log
        self.started.append((proc, log))
        return proc

    @staticmethod
    def output(proc) -> str:
        return proc.log_path.read_text(errors="replace")

    def says(self, proc, text: str) -> bool:
        """Whether the process has printed `text`; fails at once if it died instead."""
        out = self.output(proc)
        if text in out:
            return True
        if proc.poll() is not None:
            raise AssertionError(f"process exited with {proc.returncode} before saying {text!r}:\n{out[-3000:]}")
        return False

    def stop(self, proc, timeout: float = 20) -> None:
        """SIGTERM to the process itself (it stops its own children), then SIGKILL to its whole group."""
        if proc.poll() is None:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=timeout)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # anything it left behind
        if proc.poll() is None:
            proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc, _ in reversed(self.started):
            with contextlib.suppress(ProcessLookupError):
                self.stop(proc)


@contextlib.contextmanager
def shared_children(tmp_path_factory, name: str, template, django_db_blocker):
    """An isolated database and the child processes that a module's tests share (for module-scoped
    fixtures): at the end the children are stopped and the database is dropped."""
    tmp = tmp_path_factory.mktemp(name)
    with django_db_blocker.unblock():
        db = IsolatedDatabase(tmp / "db", template)
    processes = Processes(tmp)
    try:
        yield db, processes
    finally:
        processes.stop_all()
        with django_db_blocker.unblock():
            db.drop()


@pytest.fixture
def processes(tmp_path):
    procs = Processes(tmp_path)
    yield procs
    procs.stop_all()
