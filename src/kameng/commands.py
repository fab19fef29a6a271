"""What each `kameng` command does. kameng.cli parses the command line and sets Django up once, then
imports this module (a composition root: it may import any app)."""

import gc
import getpass
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import close_old_connections

from kameng.accounts import otp
from kameng.accounts.models import User
from kameng.accounts.services import create_user
from kameng.casecounts import services as case_counts
from kameng.demo import load_demo
from kameng.errors import DomainError
from kameng.evidence import verify
from kameng.ledger.services import check as ledger_check
from kameng.ops import backup
from kameng.ops.supervisor import Supervised
from kameng.security.audit import record
from kameng.timers.services import sweep


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers)
        return str(os.getuid())


def cmd_init(args) -> int:
    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)  # the login/registration counters (kameng.security)
    print("database ready")
    return 0


def cmd_user_create(args) -> int:
    try:
        user = create_user(args.username, args.password, args.role, validate=False)
    except DomainError as exc:
        print(f"error: {exc.message()}", file=sys.stderr)
        return 1
    record(
        "user.create",
        actor_name=f"cli:{_os_user()}",
        target=f"user:{user.pk}",
        summary=f"created {user.role} {user.username} from the command line",
        data={"role": user.role},
    )
    print(f"created {user.role} {user.username} (id {user.pk})")
    return 0


def cmd_user_otp(args) -> int:
    """TOTP on for an arbitrator or admin (a new secret replaces any earlier one)."""
    user = User.objects.filter(username=args.username).first()
    if user is None:
        print(f"error: no user {args.username}", file=sys.stderr)
        return 1
    try:
        enrolment = otp.enrol_now(user)
    except DomainError as exc:
        print(f"error: {exc.message()}", file=sys.stderr)
        return 1
    record(
        "user.otp",
        actor_name=f"cli:{_os_user()}",
        target=f"user:{user.pk}",
        summary=f"turned on TOTP for {user.role} {user.username} from the command line",
    )
    print(enrolment.uri)
    print("recovery codes (each works once; keep them offline):")
    for code in enrolment.recovery_codes:
        print(f"  {code}")
    return 0


def cmd_demo(args) -> int:
    print(load_demo())
    return 0


def cmd_ledger_check(args) -> int:
    result = ledger_check()
    for problem in result.problems:
        print(f"PROBLEM: {problem}")
    print(f"ledger {'OK' if result.ok else 'BROKEN'}: {result.entries} entries, {result.accounts} accounts")
    return 0 if result.ok else 1


def cmd_reconcile(args) -> int:
    """对账: the gateway's daily statement against the books; each mismatch, then a summary; exit 1 on any."""
    from datetime import date

    from kameng.money import plain_yuan
    from kameng.wallet import reconcile

    try:
        day = date.fromisoformat(args.date)
        raw = Path(args.statement).read_bytes()
        problems, compared = reconcile.reconcile(args.gateway, day, raw)
    except (ValueError, OSError, reconcile.StatementError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for m in problems:
        stated = "-" if m.statement_amount is None else plain_yuan(m.statement_amount)
        booked = "-" if m.ledger_amount is None else plain_yuan(m.ledger_amount)
        references = (
            f"\tstatement_ref={m.statement_reference}\tledger_ref={m.ledger_reference}" if m.ledger_reference else ""
        )
        print(f"{m.problem}\t{m.kind}\t{m.key}\tstatement={stated}\tledger={booked}{references}")
    verdict = f"{len(problems)} mismatches" if problems else "all match"
    print(f"reconcile {args.gateway} {day}: {compared} lines, {verdict}")
    return 1 if problems else 0


def cmd_evidence_verify(args) -> int:
    """Re-hash stored evidence and recompute each case's chain: each problem, then a summary line."""
    if args.case is not None and not verify.case_exists(args.case):
        print(f"error: no case {args.case}", file=sys.stderr)
        return 1
    report = verify.verify(args.case)
    for problem in report.problems:
        print(f"PROBLEM: {problem}")
    state = "OK" if report.ok else f"BROKEN ({len(report.problems)} problem(s))"
    print(f"evidence {state}: {report.items} item(s) in {report.cases} case(s) checked")
    return 0 if report.ok else 1


def cmd_backup(args) -> int:
    """The database (SQLite online backup, or pg_dump) and KAMENG_DATA_DIR/files in one .tar.gz."""
    try:
        manifest = backup.create_backup(args.to)
    except backup.BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    counts = ", ".join(f"{k} {v}" for k, v in manifest["counts"].items())
    print(
        f"backup written to {args.to}: {manifest['engine']} database, {len(manifest['members']) - 1} file(s); {counts}"
    )
    if not manifest["ledger_ok"]:
        print("warning: the ledger check failed when the backup was taken", file=sys.stderr)
    return 0


def cmd_restore(args) -> int:
    """Restore a backup, then prove it: ledger check and evidence verification (exit 1 if either fails)."""
    try:
        report = backup.restore_backup(args.source, force=args.force)
    except backup.BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for problem in report.ledger_problems:
        print(f"LEDGER PROBLEM: {problem}")
    for problem in report.evidence_problems:
        print(f"EVIDENCE PROBLEM: {problem}")
    print(
        f"restored the backup of {report.manifest['created_at']}: ledger {'OK' if report.ledger_ok else 'BROKEN'}, "
        f"evidence {'OK' if report.evidence_ok else 'BROKEN'}, "
        f"rows {'as backed up' if report.counts_match else f'{report.counts} (backup said {report.manifest["counts"]})'}"
    )
    return 0 if report.ok else 1


def cmd_worker(args) -> int:
    """Sweep due timers until stopped. Several workers may run; each timer still runs once. Every
    case_counts.COMPACT_SECONDS it also folds the case count deltas (one compactor at a time) and
    measures the overdue arbitrations for /metrics."""
    if args.celery:
        return cmd_celery_worker(args)
    stop = {"now": False}

    def _stop(signum, frame):
        stop["now"] = True

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    if not args.quiet:
        print(f"kameng worker: sweeping timers every {args.interval}s", flush=True)
    gc.freeze()  # what the worker loaded lives as long as it does: full collections skip it (see kameng.wsgi)
    compacted_at = float("-inf")
    try:
        while not stop["now"]:
            try:
                ran = sweep()
                if ran and not args.quiet:
                    print(f"ran {ran} timer(s)", flush=True)
                if time.monotonic() - compacted_at >= case_counts.COMPACT_SECONDS:
                    compacted_at = time.monotonic()
                    case_counts.refresh()
            except Exception as exc:  # keep sweeping; the database may come back
                print(f"sweep failed: {exc!r}", file=sys.stderr, flush=True)
            finally:
                close_old_connections()
            if args.once:
                break
            deadline = time.monotonic() + args.interval
            while not stop["now"] and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:  # when called in-process (tests, `--once`), give the caller its handlers back
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _celery_app():
    if not settings.BROKER_URL:
        print("error: set KAMENG_BROKER_URL (e.g. redis://127.0.0.1:6379/0) to use Celery", file=sys.stderr)
        return None
    from kameng.celery import app  # Celery loads only for the commands that run it (~0.3 s at start-up)

    return app


def cmd_celery_worker(args) -> int:
    """A Celery worker on KAMENG_BROKER_URL: runs the timer sweep beat triggers, OCR, PDFs, emails."""
    app = _celery_app()
    if app is None:
        return 2
    argv = [
        "worker",
        "--loglevel",
        args.loglevel,
        "--queues",
        app.conf.task_default_queue,
        "--without-gossip",
        "--without-mingle",
    ]
    if args.concurrency:
        argv += ["--concurrency", str(args.concurrency)]
    app.worker_main(argv)
    return 0


def cmd_beat(args) -> int:
    """Celery beat: sends `kameng.sweep_timers` every KAMENG_SWEEP_INTERVAL seconds. Run exactly one."""
    app = _celery_app()
    if app is None:
        return 2
    schedule = args.schedule or str(settings.DATA_DIR / "celerybeat-schedule")
    return app.start(["beat", "--loglevel", args.loglevel, "--schedule", schedule]) or 0


def _fresh_metrics_dir(env: dict) -> None:
    """Several gunicorn workers share latency metrics through files in PROMETHEUS_MULTIPROC_DIR."""
    if env.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    path = settings.DATA_DIR / "prometheus"
    shutil.rmtree(path, ignore_errors=True)  # counts from a previous run would be added in
    path.mkdir(parents=True)
    env["PROMETHEUS_MULTIPROC_DIR"] = str(path)


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


# gunicorn's default line plus the answer's Request-Id (also in every error body as request_id).
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" request_id=%({request-id}o)s'


def cmd_serve(args) -> int:
    """gunicorn for the pages and the API; in the embedded setup also a timer worker process."""
    if not settings.SECRET_KEY_CONFIGURED and not _loopback(args.host):
        # Sessions, tokens and the sandbox's notifications would be signed with a key that is not secret.
        print(
            f"kameng serve: refusing to listen on {args.host} without KAMENG_SECRET_KEY "
            "(set it, or serve on 127.0.0.1)",
            file=sys.stderr,
        )
        return 2
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "kameng.settings")
    env["KAMENG_SERVE_HOST"] = args.host  # /metrics and /healthz details: open only on loopback
    # Two malloc arenas per process, not eight per core: image decodes and OCR on several threads
    # otherwise leave hundreds of MiB in per-thread arenas that glibc never hands back.
    env.setdefault("MALLOC_ARENA_MAX", "2")
    _fresh_metrics_dir(env)
    timers: Supervised | None = None
    if not args.no_timers and not settings.BROKER_URL:
        timers = Supervised(
            "timer worker",
            [sys.executable, "-m", "kameng.cli", "worker", "--quiet", "--interval", str(args.timer_interval)],
            env,
        ).start()
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "kameng.wsgi:application",
            "--bind",
            f"{args.host}:{args.port}",
            "--workers",
            str(args.workers),
            "--threads",
            str(args.threads),
            "--timeout",
            "120",
            # gunicorn's own refusals (414, 431, 400) in the API's error shape, not its HTML page
            "--worker-class",
            "kameng.api.server.JsonErrorWorker",
            "--access-logfile",
            "-" if args.access_log else "/dev/null",
            "--access-logformat",
            ACCESS_LOG_FORMAT,
            "--graceful-timeout",
            "10",
            # gunicorn 27's control socket defaults to one path per user ($HOME/.gunicorn/gunicorn.ctl):
            # a second kameng on the same machine would take over the first one's. We do not use gunicornc.
            "--no-control-socket",
        ],
        env=env,
    )
    print(f"kameng serving on http://{args.host}:{args.port}/", flush=True)

    def _forward(signum, frame):
        if timers is not None:
            timers.signal_stop()
        if web.poll() is None:
            web.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, _forward)
    signal.signal(signal.SIGINT, _forward)
    code = web.wait()
    _forward(None, None)
    if timers is not None:
        timers.stop()
    try:
        web.wait(timeout=15)
    except subprocess.TimeoutExpired:
        web.kill()
    return code
