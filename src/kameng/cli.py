"""The `kameng` command: init, user create, serve, worker, celery-worker, beat, demo, ledger check,
reconcile, evidence verify, backup, restore. This module only reads the command line; each command is a
function in kameng.commands, which is imported once Django is set up."""

import argparse
import os
import sys

import django
from django.conf import settings
from django.utils import translation


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kameng.settings")
    django.setup()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kameng", description="卡盟 kameng marketplace")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("init", help="create or migrate the database").set_defaults(fn="cmd_init")

    user = sub.add_parser("user", help="manage users").add_subparsers(dest="user_command", required=True)
    create = user.add_parser("create", help="create a user (staff accounts come only from here)")
    create.add_argument("--username", required=True)
    create.add_argument("--password", required=True)
    create.add_argument("--role", required=True, choices=["buyer", "merchant", "arbitrator", "admin"])
    create.set_defaults(fn="cmd_user_create")
    otp = user.add_parser("otp", help="turn on TOTP for a staff user; prints its otpauth:// URI and recovery codes")
    otp.add_argument("--username", required=True)
    otp.set_defaults(fn="cmd_user_otp")

    serve = sub.add_parser("serve", help="serve pages and API with gunicorn (and timers, embedded)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=int(os.environ.get("KAMENG_WEB_WORKERS", "2")))
    serve.add_argument("--threads", type=int, default=4)
    serve.add_argument("--timer-interval", type=float, default=1.0)
    serve.add_argument("--no-timers", action="store_true", help="do not start the embedded timer worker")
    serve.add_argument("--access-log", action="store_true")
    serve.set_defaults(fn="cmd_serve")

    worker = sub.add_parser("worker", help="run due timers in a separate process")
    worker.add_argument("--interval", type=float, default=1.0)
    worker.add_argument("--once", action="store_true")
    worker.add_argument("--quiet", action="store_true")
    worker.add_argument("--celery", action="store_true", help="run a Celery worker instead (same as celery-worker)")
    worker.add_argument("--concurrency", type=int, default=0, help="with --celery: worker processes")
    worker.add_argument("--loglevel", default="INFO", help="with --celery: Celery log level")
    worker.set_defaults(fn="cmd_worker")

    celery_worker = sub.add_parser("celery-worker", help="run a Celery worker on KAMENG_BROKER_URL")
    celery_worker.add_argument("--concurrency", type=int, default=0, help="worker processes (default: CPU count)")
    celery_worker.add_argument("--loglevel", default="INFO")
    celery_worker.set_defaults(fn="cmd_celery_worker")

    beat = sub.add_parser("beat", help="run Celery beat (schedules the timer sweep); run exactly one")
    beat.add_argument("--schedule", default="", help="beat state file (default: $KAMENG_DATA_DIR/celerybeat-schedule)")
    beat.add_argument("--loglevel", default="INFO")
    beat.set_defaults(fn="cmd_beat")

    sub.add_parser("demo", help="load demo data (idempotent)").set_defaults(fn="cmd_demo")

    backup = sub.add_parser("backup", help="back up the database and stored files into a .tar.gz")
    backup.add_argument("--to", required=True, help="the .tar.gz to write")
    backup.set_defaults(fn="cmd_backup")
    restore = sub.add_parser("restore", help="restore a backup, then check the ledger and the evidence")
    restore.add_argument("--from", dest="source", required=True, help="the .tar.gz written by kameng backup")
    restore.add_argument("--force", action="store_true", help="overwrite a database that already holds data")
    restore.set_defaults(fn="cmd_restore")

    ledger = sub.add_parser("ledger", help="ledger tools").add_subparsers(dest="ledger_command", required=True)
    ledger.add_parser("check", help="verify the ledger; exit 1 if anything is off").set_defaults(fn="cmd_ledger_check")

    reconcile = sub.add_parser(
        "reconcile", help="check a gateway's daily statement against the books; exit 1 on any mismatch"
    )
    reconcile.add_argument("--gateway", required=True, choices=["alipay", "wechatpay", "epay"])
    reconcile.add_argument("--date", required=True, help="the statement's day (Beijing), YYYY-MM-DD")
    reconcile.add_argument("--statement", required=True, help="the CSV as the gateway exports it")
    reconcile.set_defaults(fn="cmd_reconcile")

    evidence = sub.add_parser("evidence", help="evidence tools").add_subparsers(dest="evidence_command", required=True)
    verify = evidence.add_parser(
        "verify", help="re-hash stored evidence and check each case's chain; exit 1 on any problem"
    )
    verify.add_argument("--case", type=int, help="only this case")
    verify.set_defaults(fn="cmd_evidence_verify")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    _setup_django()
    from kameng import commands  # after django.setup(): the commands import the apps' models

    # An operator's tool speaks the platform's language, whatever a caller in the same process activated.
    with translation.override(settings.LANGUAGE_CODE):
        return getattr(commands, args.fn)(args)


if __name__ == "__main__":
    sys.exit(main())
