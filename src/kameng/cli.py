"""The `kameng` command: init, user create, serve, worker, celery-worker, beat, demo, ledger check,
evidence verify, backup, restore."""

import argparse
import os
import signal
import subprocess
import sys
import time


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kameng.settings")
    import django

    django.setup()


def _os_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers)
        return str(os.getuid())


def cmd_init(args) -> int:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)  # the login/registration counters (kameng.security)
    print("database ready")
    return 0


def cmd_user_create(args) -> int:
    from kameng.accounts.services import create_user
    from kameng.errors import DomainError
    from kameng.security.audit import record

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


def cmd_demo(args) -> int:
    from kameng.demo import load_demo

    print(load_demo())
    return 0


def cmd_ledger_check(args) -> int:
    from kameng.ledger.services import check

    result = check()
    for problem in result.problems:
        print(f"PROBLEM: {problem}")
    print(f"ledger {'OK' if result.ok else 'BROKEN'}: {result.entries} entries, {result.accounts} accounts")
    return 0 if result.ok else 1


def cmd_evidence_verify(args) -> int:
    from kameng.evidence.verify import run

    return run(args)


def cmd_backup(args) -> int:
    """The database (SQLite online backup, or pg_dump) and KAMENG_DATA_DIR/files in one .tar.gz."""
    from kameng.security.backup import BackupError, create_backup

    try:
        manifest = create_backup(args.to)
    except BackupError as exc:
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
    from kameng.security.backup import BackupError, restore_backup

    try:
        report = restore_backup(args.source, force=args.force)
    except BackupError as exc:
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
    """Sweep due timers until stopped. Several workers may run; each timer still runs once."""
    if args.celery:
        return cmd_celery_worker(args)
    from django.db import close_old_connections

    from kameng.timers.services import sweep

    stop = {"now": False}

    def _stop(signum, frame):
        stop["now"] = True

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    if not args.quiet:
        print(f"kameng worker: sweeping timers every {args.interval}s", flush=True)
    try:
        while not stop["now"]:
            try:
                ran = sweep()
                if ran and not args.quiet:
                    print(f"ran {ran} timer(s)", flush=True)
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
    from django.conf import settings

    if not settings.BROKER_URL:
        print("error: set KAMENG_BROKER_URL (e.g. redis://127.0.0.1:6379/0) to use Celery", file=sys.stderr)
        return None
    from kameng.celery import app

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
    from django.conf import settings

    app = _celery_app()
    if app is None:
        return 2
    schedule = args.schedule or str(settings.DATA_DIR / "celerybeat-schedule")
    return app.start(["beat", "--loglevel", args.loglevel, "--schedule", schedule]) or 0


def _fresh_metrics_dir(env: dict) -> None:
    """Several gunicorn workers share latency metrics through files in PROMETHEUS_MULTIPROC_DIR."""
    import shutil

    from django.conf import settings

    if env.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    path = settings.DATA_DIR / "prometheus"
    shutil.rmtree(path, ignore_errors=True)  # counts from a previous run would be added in
    path.mkdir(parents=True)
    env["PROMETHEUS_MULTIPROC_DIR"] = str(path)


def cmd_serve(args) -> int:
    """gunicorn for the pages and the API; in the embedded setup also a timer worker process."""
    from django.conf import settings

    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "kameng.settings")
    _fresh_metrics_dir(env)
    children: list[subprocess.Popen] = []
    if not args.no_timers and not settings.BROKER_URL:
        children.append(
            subprocess.Popen(
                [sys.executable, "-m", "kameng.cli", "worker", "--quiet", "--interval", str(args.timer_interval)],
                env=env,
            )
        )
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
            "--access-logfile",
            "-" if args.access_log else "/dev/null",
            "--graceful-timeout",
            "10",
            # gunicorn 27's control socket defaults to one path per user ($HOME/.gunicorn/gunicorn.ctl):
            # a second kameng on the same machine would take over the first one's. We do not use gunicornc.
            "--no-control-socket",
        ],
        env=env,
    )
    children.append(web)
    print(f"kameng serving on http://{args.host}:{args.port}/", flush=True)

    def _forward(signum, frame):
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, _forward)
    signal.signal(signal.SIGINT, _forward)
    code = web.wait()
    _forward(None, None)
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kameng", description="卡盟 kameng marketplace")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("init", help="create or migrate the database").set_defaults(fn=cmd_init)

    user = sub.add_parser("user", help="manage users").add_subparsers(dest="user_command", required=True)
    create = user.add_parser("create", help="create a user (staff accounts come only from here)")
    create.add_argument("--username", required=True)
    create.add_argument("--password", required=True)
    create.add_argument("--role", required=True, choices=["buyer", "merchant", "arbitrator", "admin"])
    create.set_defaults(fn=cmd_user_create)

    serve = sub.add_parser("serve", help="serve pages and API with gunicorn (and timers, embedded)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=int(os.environ.get("KAMENG_WEB_WORKERS", "2")))
    serve.add_argument("--threads", type=int, default=4)
    serve.add_argument("--timer-interval", type=float, default=1.0)
    serve.add_argument("--no-timers", action="store_true", help="do not start the embedded timer worker")
    serve.add_argument("--access-log", action="store_true")
    serve.set_defaults(fn=cmd_serve)

    worker = sub.add_parser("worker", help="run due timers in a separate process")
    worker.add_argument("--interval", type=float, default=1.0)
    worker.add_argument("--once", action="store_true")
    worker.add_argument("--quiet", action="store_true")
    worker.add_argument("--celery", action="store_true", help="run a Celery worker instead (same as celery-worker)")
    worker.add_argument("--concurrency", type=int, default=0, help="with --celery: worker processes")
    worker.add_argument("--loglevel", default="INFO", help="with --celery: Celery log level")
    worker.set_defaults(fn=cmd_worker)

    celery_worker = sub.add_parser("celery-worker", help="run a Celery worker on KAMENG_BROKER_URL")
    celery_worker.add_argument("--concurrency", type=int, default=0, help="worker processes (default: CPU count)")
    celery_worker.add_argument("--loglevel", default="INFO")
    celery_worker.set_defaults(fn=cmd_celery_worker)

    beat = sub.add_parser("beat", help="run Celery beat (schedules the timer sweep); run exactly one")
    beat.add_argument("--schedule", default="", help="beat state file (default: $KAMENG_DATA_DIR/celerybeat-schedule)")
    beat.add_argument("--loglevel", default="INFO")
    beat.set_defaults(fn=cmd_beat)

    sub.add_parser("demo", help="load demo data (idempotent)").set_defaults(fn=cmd_demo)

    backup = sub.add_parser("backup", help="back up the database and stored files into a .tar.gz")
    backup.add_argument("--to", required=True, help="the .tar.gz to write")
    backup.set_defaults(fn=cmd_backup)
    restore = sub.add_parser("restore", help="restore a backup, then check the ledger and the evidence")
    restore.add_argument("--from", dest="source", required=True, help="the .tar.gz written by kameng backup")
    restore.add_argument("--force", action="store_true", help="overwrite a database that already holds data")
    restore.set_defaults(fn=cmd_restore)

    ledger = sub.add_parser("ledger", help="ledger tools").add_subparsers(dest="ledger_command", required=True)
    ledger.add_parser("check", help="verify the ledger; exit 1 if anything is off").set_defaults(fn=cmd_ledger_check)

    evidence = sub.add_parser("evidence", help="evidence tools").add_subparsers(dest="evidence_command", required=True)
    verify = evidence.add_parser(
        "verify", help="re-hash stored evidence and check each case's chain; exit 1 on any problem"
    )
    verify.add_argument("--case", type=int, help="only this case")
    verify.set_defaults(fn=cmd_evidence_verify)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    _setup_django()
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
