"""`kameng backup` and `kameng restore`: the database and the stored files in one .tar.gz.

Layout of a backup:
  manifest.json            format, time, engine, the SHA-256 and size of every other member,
                           and counts (journal entries, evidence items …) to compare after a restore
  db/kameng.sqlite3        SQLite: a consistent online copy made with sqlite3's backup API
  db/kameng.pgdump         PostgreSQL: `pg_dump --format=custom` (pg_dump must be on PATH)
  files/…                  everything under MEDIA_ROOT (KAMENG_DATA_DIR/files): evidence, previews

The database is copied first, the files second. Files are written before the rows that name
them commit and are never changed afterwards, so every file a copied row names is in the
backup (later uploads only add files no row names yet). Evidence kept on S3
(KAMENG_S3_BUCKET) is not in the backup: version the bucket instead.

A restore checks every member against the manifest before it touches anything, refuses to
overwrite a database that already holds data unless forced, migrates the restored schema
forward, and finishes with the ledger check and the evidence verification.
"""

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django.utils import timezone

from kameng.accounts.models import User
from kameng.aftersales.models import RefundCase
from kameng.evidence.models import Evidence
from kameng.evidence.verify import verify
from kameng.ledger.models import Account, JournalEntry, Posting
from kameng.ledger.services import check
from kameng.orders.models import Order
from kameng.security.audit import record

FORMAT = 1
MANIFEST = "manifest.json"
CHUNK = 1024 * 1024


class BackupError(Exception):
    pass


@dataclass
class RestoreReport:
    manifest: dict
    ledger_ok: bool = False
    ledger_problems: list[str] = field(default_factory=list)
    evidence_ok: bool = False
    evidence_problems: list[str] = field(default_factory=list)
    counts: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.ledger_ok and self.evidence_ok

    @property
    def counts_match(self) -> bool:
        """Rows as counted when the backup started (equal unless someone wrote during the backup)."""
        return self.counts == self.manifest.get("counts")


def engine() -> str:
    return "postgresql" if connections["default"].vendor == "postgresql" else "sqlite"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def counts() -> dict:
    """What a restore must give back, row for row."""
    return {
        "journal_entries": JournalEntry.objects.count(),
        "postings": Posting.objects.count(),
        "accounts": Account.objects.count(),
        "orders": Order.objects.count(),
        "cases": RefundCase.objects.count(),
        "evidence": Evidence.objects.count(),
    }


def _pg_env() -> dict:
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    env.update(
        {
            "PGHOST": str(db.get("HOST") or "127.0.0.1"),
            "PGPORT": str(db.get("PORT") or 5432),
            "PGUSER": str(db.get("USER") or ""),
            "PGDATABASE": str(db["NAME"]),
        }
    )
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return path


def _copy_sqlite(target: Path) -> None:
    """An online, consistent copy of the live database (readers and writers may go on)."""
    source = sqlite3.connect(settings.DATABASES["default"]["NAME"], timeout=30)
    dest = sqlite3.connect(target)
    try:
        with dest:
            source.backup(dest)
    finally:
        dest.close()
        source.close()


def create_backup(destination: str | os.PathLike) -> dict:
    """Write a backup to `destination` (a .tar.gz); returns its manifest."""
    destination = Path(destination).resolve()
    destination.parent.mkdir(parents=True, exist_ok=True)
    kind = engine()
    with tempfile.TemporaryDirectory(prefix="kameng-backup-", dir=destination.parent) as tmp:
        staging = Path(tmp)
        (staging / "db").mkdir()
        before = counts()
        if kind == "sqlite":
            db_member = "db/kameng.sqlite3"
            _copy_sqlite(staging / db_member)
        else:
            db_member = "db/kameng.pgdump"
            done = subprocess.run(
                [
                    _tool("pg_dump"),
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    "--file",
                    str(staging / db_member),
                ],
                env=_pg_env(),
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                raise BackupError(f"pg_dump failed: {done.stderr.strip()[-2000:]}")
        members = {db_member: {"sha256": _sha256(staging / db_member), "size": (staging / db_member).stat().st_size}}
        media = Path(settings.MEDIA_ROOT)
        files = []
        if media.is_dir():
            for path in sorted(p for p in media.rglob("*") if p.is_file()):
                relative = path.relative_to(media).as_posix()
                files.append((f"files/{relative}", path))
                members[f"files/{relative}"] = {"sha256": _sha256(path), "size": path.stat().st_size}
        manifest = {
            "format": FORMAT,
            "created_at": timezone.now().isoformat(),
            "engine": kind,
            "database": db_member,
            "files_root": "files/",
            "members": members,
            "counts": before,
            "ledger_ok": check().ok,
            "s3_evidence_not_included": bool(os.environ.get("KAMENG_S3_BUCKET")),
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
        partial = destination.with_name(destination.name + ".partial")
        with tarfile.open(partial, "w:gz") as tar:
            tar.add(staging / MANIFEST, arcname=MANIFEST)
            tar.add(staging / db_member, arcname=db_member)
            for arcname, path in files:
                tar.add(path, arcname=arcname)
        os.replace(partial, destination)  # a backup file either is complete or is not there
    record(
        "backup.create",
        actor_name="cli",
        target=str(destination),
        summary=f"backup of {kind} database and {len(files)} file(s)",
        data={"counts": before},
    )
    return manifest


def _has_data() -> bool:
    try:
        return User.objects.exists() or JournalEntry.objects.exists()
    except Exception:  # no tables yet: an empty database
        connections["default"].close()
        return False


def _safe_members(tar: tarfile.TarFile, manifest: dict) -> list[tarfile.TarInfo]:
    """Regular files named in the manifest only: no links, no absolute paths, no '..'."""
    members = []
    for member in tar.getmembers():
        if member.name == MANIFEST:
            continue
        name = Path(member.name)
        if not member.isfile() or name.is_absolute() or ".." in name.parts:
            raise BackupError(f"unsafe member in backup: {member.name}")
        if member.name not in manifest["members"]:
            raise BackupError(f"member not in the manifest: {member.name}")
        members.append(member)
    missing = set(manifest["members"]) - {m.name for m in members}
    if missing:
        raise BackupError(f"backup lacks {len(missing)} member(s) its manifest lists, e.g. {sorted(missing)[0]}")
    return members


def read_manifest(source: str | os.PathLike) -> dict:
    with tarfile.open(source, "r:gz") as tar:
        try:
            member = tar.extractfile(MANIFEST)
            if member is None:
                raise KeyError(MANIFEST)
            manifest = json.load(member)
        except KeyError:
            raise BackupError("not a kameng backup: no manifest.json") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    return manifest


def restore_backup(source: str | os.PathLike, *, force: bool = False) -> RestoreReport:
    """Restore `source` into the configured database and KAMENG_DATA_DIR/files."""
    source = Path(source)
    manifest = read_manifest(source)
    kind = engine()
    if manifest["engine"] != kind:
        raise BackupError(f"this backup is of a {manifest['engine']} database; the configured one is {kind}")
    if not force and _has_data():
        raise BackupError("the configured database already holds data; restore into an empty one, or pass --force")
    media = Path(settings.MEDIA_ROOT)
    with tempfile.TemporaryDirectory(prefix="kameng-restore-", dir=media.parent) as tmp:
        staging = Path(tmp)
        with tarfile.open(source, "r:gz") as tar:
            members = _safe_members(tar, manifest)
            tar.extractall(staging, members=members, filter="data")
        for name, expected in manifest["members"].items():  # every byte checked before anything changes
            if _sha256(staging / name) != expected["sha256"]:
                raise BackupError(f"{name} does not match its SHA-256 in the manifest: the backup is damaged")
        connections.close_all()
        if kind == "sqlite":
            restored = sqlite3.connect(staging / manifest["database"])
            live = sqlite3.connect(settings.DATABASES["default"]["NAME"], timeout=30)
            try:
                with live:
                    restored.backup(live)  # page by page into the live file (WAL included)
            finally:
                live.close()
                restored.close()
        else:
            done = subprocess.run(
                [
                    _tool("pg_restore"),
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--no-privileges",
                    "--single-transaction",
                    "--exit-on-error",
                    "--dbname",
                    _pg_env()["PGDATABASE"],
                    str(staging / manifest["database"]),
                ],
                env=_pg_env(),
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                raise BackupError(f"pg_restore failed: {done.stderr.strip()[-2000:]}")
        files_root = staging / "files"
        if files_root.is_dir():
            for path in files_root.rglob("*"):
                if path.is_file():
                    target = media / path.relative_to(files_root)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, target)
    call_command("migrate", interactive=False, verbosity=0)  # a backup from an older kameng
    call_command("createcachetable", verbosity=0)
    ledger = check()
    evidence = verify()
    report = RestoreReport(
        manifest=manifest,
        ledger_ok=ledger.ok,
        ledger_problems=ledger.problems,
        evidence_ok=evidence.ok,
        evidence_problems=evidence.problems,
        counts=counts(),
    )
    record(
        "backup.restore",
        actor_name="cli",
        target=str(source.resolve()),
        summary=f"restored the backup of {manifest['created_at']}",
        data={"ledger_ok": report.ledger_ok, "evidence_ok": report.evidence_ok, "counts": report.counts},
    )
    return report
