"""`kameng backup` and `kameng restore`, round trip through real processes on a database of
their own (a SQLite file, or on the PostgreSQL pass a PostgreSQL database and pg_dump/pg_restore):
after the restore the ledger check and the evidence verification are green, every row and
every evidence file is back, and a damaged or unsafe backup is refused before anything changes."""

import io
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

# Builds a small marketplace through the API, in the child process (Django's test client there).
SEED = r"""
import json, io
from django.conf import settings
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
from kameng.timers import jobs
jobs.JOBS["analyse_case"] = lambda *args: None  # the OCR assist is not what is being backed up
from django.test import Client
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

c = Client()
def call(method, path, body=None, token=None, **kw):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if body is not None:
        kw.update(data=json.dumps(body), content_type="application/json")
    r = getattr(c, method)("/api/v1" + path, headers=headers, **kw)
    assert r.status_code < 400, (path, r.status_code, r.content[:300])
    return r.json()

def user(name, role):
    return call("post", "/auth/register", {"username": name, "password": "a-long-passphrase-9", "role": role})["token"]

buyer, merchant = user("bk-buyer", "buyer"), user("bk-merchant", "merchant")
call("post", "/shops", {"name": "备份测试店", "description": ""}, merchant)
listing = call("post", "/listings", {"title": "Win11 激活码", "category": "software_license", "kind": "card_key",
               "price": 9900, "description": "正版", "promises": ["稳定激活"], "after_sale_days": 7,
               "verification_minutes": 60, "no_reason_refund": False}, merchant)
call("post", f"/listings/{listing['id']}/stock", {"items": [f"BK-{i}" for i in range(6)]}, merchant)
topup = call("post", "/wallet/topups", {"amount": 100000}, buyer)
assert c.post(f"/sandbox/pay/{topup['id']}", headers={"Accept": "application/json", "Authorization": f"Bearer {buyer}"}).status_code == 200
orders = [call("post", "/orders", {"listing": listing["id"]}, buyer) for _ in range(4)]
call("post", f"/orders/{orders[0]['id']}/confirm", None, buyer)
cases = []
for order in orders[1:3]:
    case = call("post", "/refunds", {"order": order["id"], "reason": "defective", "description": "无法激活",
                                     "amount": 9900}, buyer)
    img = io.BytesIO(); Image.new("RGB", (64, 48), (20, 120, 220)).save(img, "PNG")
    for name, content in (("shot.png", img.getvalue()), ("note.txt", "客服说已补发".encode())):
        r = c.post(f"/api/v1/refunds/{case['id']}/evidence", {"file": SimpleUploadedFile(name, content),
                   "category": "problem"}, headers={"Authorization": f"Bearer {buyer}"})
        assert r.status_code == 201, r.content
    cases.append(case)
call("post", f"/refunds/{cases[0]['id']}/accept", None, merchant)
result = {"buyer": buyer, "merchant": merchant, "cases": [c["id"] for c in cases]}
"""


def state(db) -> dict:
    """What a restore must give back, read straight from the database (no Django process: fast)."""
    counts = {
        table: db.query(f"SELECT COUNT(*) FROM {table}")[0][0]
        for table in (
            "ledger_journalentry",
            "ledger_posting",
            "ledger_account",
            "orders_order",
            "aftersales_refundcase",
            "evidence_evidence",
            "accounts_user",
        )
    }
    return {
        "counts": counts,
        "balances": dict(db.query("SELECT code, balance FROM ledger_account")),
        "evidence": sorted(r[0] for r in db.query("SELECT sha256 FROM evidence_evidence")),
    }


def kameng(db, *args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "kameng.cli", *args], env=db.env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def seeded(tmp_path_factory, _isolated_template, django_db_blocker):
    """One seeded installation and its backup, shared by the tests of this module (seeding is slow)."""
    from .conftest import OPS

    tmp = tmp_path_factory.mktemp("km-backup")
    with django_db_blocker.unblock():
        source = OPS.IsolatedDatabase(tmp / "source", _isolated_template)
    try:
        if source.vendor == "postgresql" and shutil.which("pg_dump") is None:
            pytest.skip("pg_dump is not installed (postgresql-client)")
        source.django(SEED, timeout=300)
        archive = tmp / "backups" / "kameng.tar.gz"
        done = kameng(source, "backup", "--to", str(archive))
        assert done.returncode == 0, done.stderr[-3000:]
        yield source, archive
    finally:
        with django_db_blocker.unblock():
            source.drop()


def test_backup_then_restore_into_an_empty_installation_gives_everything_back(seeded, fresh_db):
    source, archive = seeded
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest["engine"] == source.vendor and manifest["ledger_ok"] is True
    assert manifest["counts"]["evidence"] >= 10 and manifest["counts"]["journal_entries"] >= 6
    assert any(n.startswith("files/evidence/") for n in names)
    assert set(names) == {"manifest.json", *manifest["members"]}

    target = fresh_db("target")
    done = kameng(target, "restore", "--from", str(archive))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "ledger OK, evidence OK, rows as backed up" in done.stdout  # restore runs both checks itself
    before, after = state(source), state(target)
    assert after == before
    evidence_dir = Path(target.env["KAMENG_DATA_DIR"]) / "files" / "evidence"
    # Uploads are files, the system texts are in their rows (and back with them: evidence OK above).
    ((stored,),) = target.query("SELECT COUNT(*) FROM evidence_evidence WHERE file <> ''")
    assert stored == 4 and sum(1 for p in evidence_dir.rglob("*") if p.is_file()) == stored
    assert target.query("SELECT COUNT(*) FROM evidence_evidence WHERE text IS NOT NULL") == [(6,)]
    assert target.query("SELECT COUNT(*) FROM accounts_user WHERE username = 'bk-buyer'") == [(1,)]

    # The target holds data now: a second restore is refused unless forced.
    refused = kameng(target, "restore", "--from", str(archive))
    assert refused.returncode == 1 and "already holds data" in refused.stderr
    forced = kameng(target, "restore", "--from", str(archive), "--force")
    assert forced.returncode == 0, forced.stdout[-2000:] + forced.stderr[-2000:]
    assert "ledger OK, evidence OK" in forced.stdout and state(target) == before


def _rewrite(archive: Path, out: Path, change) -> None:
    """Copy a backup member by member, letting `change(name, data)` alter or add members."""
    with tarfile.open(archive) as src, tarfile.open(out, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            new = change(member.name, data)
            if new is None:
                continue
            info = tarfile.TarInfo(member.name)
            info.size = len(new)
            dst.addfile(info, io.BytesIO(new))
        extra = change(None, b"")
        if extra:
            info = tarfile.TarInfo("../outside.txt")
            info.size = len(extra)
            dst.addfile(info, io.BytesIO(extra))


def test_damaged_or_unsafe_backups_are_refused_before_anything_changes(seeded, fresh_db, tmp_path):
    source, archive = seeded
    if source.vendor == "postgresql":
        pytest.skip("the checks before a restore do not depend on the database: the SQLite pass runs them")
    damaged = tmp_path / "damaged.tar.gz"

    def flip_evidence_byte(name, data):
        if name and name.startswith("files/evidence/") and name.endswith(".txt"):
            return data[:-1] + bytes([data[-1] ^ 1])
        return data if name else None

    _rewrite(archive, damaged, flip_evidence_byte)
    target = fresh_db("target")
    done = kameng(target, "restore", "--from", str(damaged))
    assert done.returncode == 1 and "does not match its SHA-256" in done.stderr
    assert target.query("SELECT COUNT(*) FROM accounts_user") == [(0,)]

    evil = tmp_path / "evil.tar.gz"  # a member that would land outside the data directory
    _rewrite(archive, evil, lambda name, data: data if name else b"owned")
    done = kameng(target, "restore", "--from", str(evil))
    assert done.returncode == 1 and "unsafe member" in done.stderr
    assert not (Path(target.env["KAMENG_DATA_DIR"]).parent / "outside.txt").exists()
    assert target.query("SELECT COUNT(*) FROM accounts_user") == [(0,)]
