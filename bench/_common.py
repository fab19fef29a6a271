"""Shared by the benchmarks: a fresh database, a real `kameng serve`, an HTTP load loop and
percentiles. Each benchmark is one command (`.venv/bin/python bench/<name>.py …`) that prints
its numbers; none of this is part of `make test`.

Everything talks to 127.0.0.1 only. PostgreSQL benchmarks use their own databases
(kameng_bench_*), created fresh and dropped at the end unless --keep is given.
"""

import contextlib
import gc
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# Settings a benchmark may be asked to run with (KAMENG_DB_PREPARE_THRESHOLD=5 …); every other KAMENG_ is dropped.
PASSED_THROUGH = {"KAMENG_DB_PREPARE_THRESHOLD"}
PG_ADMIN_URL = os.environ.get("KAMENG_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    load = os.getloadavg()[0]
    return f"{os.cpu_count()} cores, {mem / 1024 / 1024:.1f} GiB, {cpu}; load avg {load:.2f} at start"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BenchDatabase:
    """A fresh kameng database: SQLite in a temporary KAMENG_DATA_DIR, or a new PostgreSQL database."""

    def __init__(self, backend: str, name: str, keep: bool = False, reuse: bool = False):
        self.backend, self.keep = backend, keep
        self.data_dir = Path(tempfile.mkdtemp(prefix=f"{name}-"))
        self.env = {
            k: v
            for k, v in os.environ.items()
            if (not k.startswith("KAMENG_") or k in PASSED_THROUGH) and k != "PROMETHEUS_MULTIPROC_DIR"
        }
        # Rate limits off: one client sends far more than a person would (see kameng.security.ratelimit).
        self.env.update(KAMENG_DATA_DIR=str(self.data_dir), KAMENG_RATE_LIMITS="off", PYTHONUNBUFFERED="1")
        self.pg_name = None
        if backend == "postgres":
            self.pg_name = name
            if not reuse:
                self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                self.admin(f'CREATE DATABASE "{name}"')
            self.env["KAMENG_DATABASE_URL"] = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name

    @staticmethod
    def admin(sql: str) -> None:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(sql)

    def kameng(self, *args) -> None:
        subprocess.run([PYTHON, "-m", "kameng.cli", *args], env=self.env, check=True, stdout=subprocess.DEVNULL)

    def use_here(self) -> None:
        """Point this process's Django at the database (call before django.setup())."""
        for key in [k for k in os.environ if k.startswith("KAMENG_")]:
            del os.environ[key]
        os.environ.update({k: v for k, v in self.env.items() if k.startswith("KAMENG_")})
        os.environ["DJANGO_SETTINGS_MODULE"] = "kameng.settings"
        import django

        django.setup()
        from django.conf import settings

        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # setup speed only

    def drop(self) -> None:
        if self.keep:
            print(f"kept: {self.env.get('KAMENG_DATABASE_URL') or self.data_dir}")
            return
        if self._django_here():
            from kameng.timers import jobs

            # The background jobs this process queued (the shops' credit recounts after the sweep)
            # finish and close their connections first: none runs into a dropped database.
            try:
                jobs.drain(close=True)
            except TimeoutError as exc:
                print(f"dropping the database anyway: {exc}")
        if self.pg_name:
            from django.db import connections

            connections.close_all()
            self.admin(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
        shutil.rmtree(self.data_dir, ignore_errors=True)

    @staticmethod
    def _django_here() -> bool:
        """Whether this process set Django up (use_here): only then may it hold background jobs."""
        from django.apps import apps

        return apps.ready


class Server:
    """`kameng serve --workers N` on a free port, stopped on exit."""

    def __init__(self, db: BenchDatabase, workers: int = 2, threads: int = 4, extra_env: dict | None = None):
        self.port = free_port()
        env = dict(db.env, **(extra_env or {}))
        self.log = open(db.data_dir / "serve.log", "w")  # noqa: SIM115  (open while the server runs)
        self.proc = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "kameng.cli",
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--no-timers",
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while True:
            try:
                status, _ = request("GET", self.port, "/healthz")
                if status == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"server did not start: {(db.data_dir / 'serve.log').read_text()[-2000:]}")
            time.sleep(0.25)

    def worker_pids(self) -> list[int]:
        def children(pid):
            out = []
            for task in Path(f"/proc/{pid}/task").iterdir():
                out += [int(c) for c in (task / "children").read_text().split()]
            return out

        master = next(p for p in children(self.proc.pid) if b"gunicorn" in Path(f"/proc/{p}/cmdline").read_bytes())
        return children(master)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


def request(
    method: str,
    port: int,
    path: str,
    body=None,
    token: str | None = None,
    conn=None,
    raw: bytes | None = None,
    headers: dict | None = None,
):
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    hdrs = dict(headers or {})
    if token:
        hdrs["Authorization"] = f"Bearer {token}"
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=hdrs)
    response = conn.getresponse()
    payload = response.read()
    if own:
        conn.close()
    try:
        return response.status, json.loads(payload) if payload else None
    except ValueError:
        return response.status, payload


def purchase_job(port: int, listing: str, token: str):
    """A `load` job: one wallet purchase of `listing` (POST /api/v1/orders), True when it was made."""

    def job(conn):
        status, _ = request("POST", port, "/api/v1/orders", {"listing": listing}, token, conn=conn)
        return status == 201

    return job


def load(port: int, jobs: list, concurrency: int) -> dict:
    """Run `jobs` (callables taking an HTTP connection, returning True on success) on `concurrency`
    threads with keep-alive connections; returns throughput and latency figures."""
    lock = threading.Lock()
    queue = list(reversed(jobs))
    latencies, failures = [], []

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                if not queue:
                    break
                job = queue.pop()
            start = time.perf_counter()
            try:
                ok = job(conn)
            except Exception as exc:  # count it, reconnect, go on
                ok = False
                failures.append(repr(exc))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                if not ok:
                    failures.append("not ok")
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    # What the benchmark built before the load (its market, the orders to buy) out of the collector's
    # sight: each full collection walked it all (200-350 ms seen, with the GIL held), and every client
    # thread's clock ran on meanwhile, counted as the server's latency.
    gc.freeze()
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    gc.unfreeze()
    return {
        "count": len(latencies),
        "failures": len(failures),
        "seconds": wall,
        "per_second": len(latencies) / wall,
        **percentiles(latencies),
        "failure_sample": failures[:3],
        "latencies": latencies,
    }


def backend_cpu(connection) -> float | None:
    """The CPU seconds this connection's PostgreSQL backend process has used (a local server whose
    /proc this process may read), else None."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def merged(results: list[dict]) -> dict:
    """`load`'s figures over several runs of it: the rate over their summed time, the latencies of all."""
    seconds = sum(r["seconds"] for r in results)
    count = sum(r["count"] for r in results)
    return {
        "count": count,
        "failures": sum(r["failures"] for r in results),
        "seconds": seconds,
        "per_second": count / seconds,
        **percentiles([s for r in results for s in r["latencies"]]),
        "failure_sample": [f for r in results for f in r["failure_sample"]][:3],
    }


def percentiles(samples: list[float]) -> dict:
    if not samples:
        return {}
    ordered = sorted(samples)

    def pick(q):
        return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000

    return {
        "p50_ms": pick(0.50),
        "p95_ms": pick(0.95),
        "p99_ms": pick(0.99),
        "max_ms": ordered[-1] * 1000,
        "mean_ms": statistics.fmean(ordered) * 1000,
    }


def fmt(result: dict) -> str:
    keys = ("count", "failures", "seconds", "per_second", "p50_ms", "p95_ms", "p99_ms", "max_ms")
    return "  ".join(
        f"{k}={result[k]:.1f}" if isinstance(result[k], float) else f"{k}={result[k]}" for k in keys if k in result
    )


def make_market(buyers: int, stock: int, price: int = 1000, funds: int = 10**9, **listing):
    """A merchant with one card-key listing holding `stock` keys, and `buyers` funded buyers (tokens)."""
    from django.db import transaction

    from kameng.accounts.services import create_user, issue_token
    from kameng.catalog.models import StockItem
    from kameng.catalog.services import create_listing, create_shop
    from kameng.clock.services import now
    from kameng.ledger import services as ledger
    from kameng.ledger.models import EntryKind

    merchant = create_user("bench-merchant", "bench-password-1", "merchant", validate=False)
    create_shop(acting_user=merchant, name="压测小店", description="benchmark")
    fields = {
        "title": "Windows 11 专业版激活码",
        "category": "software_license",
        "kind": "card_key",
        "price": price,
        "description": "正版授权",
        "promises": ["24小时内激活"],
        "after_sale_days": 7,
        "verification_minutes": 1440,
        "no_reason_refund": False,
    }
    fields.update(listing)
    item = create_listing(acting_user=merchant, **fields)
    at = now()
    import hashlib

    StockItem.objects.bulk_create(
        [
            StockItem(
                listing=item,
                secret=f"KEY-{i:08d}",
                secret_hash=hashlib.sha256(f"KEY-{i:08d}".encode()).hexdigest(),
                created_at=at,
            )
            for i in range(stock)
        ],
        batch_size=5000,
    )
    tokens = []
    for i in range(buyers):
        buyer = create_user(f"bench-buyer-{i}", "bench-password-1", "buyer", validate=False)
        with transaction.atomic():
            ledger.transfer(
                f"bench-topup:{buyer.pk}", EntryKind.TOPUP, ledger.GATEWAY_SANDBOX, ledger.wallet_code(buyer.pk), funds
            )
        tokens.append(issue_token(buyer))
    return {"merchant": merchant, "merchant_token": issue_token(merchant), "listing": item, "buyer_tokens": tokens}
