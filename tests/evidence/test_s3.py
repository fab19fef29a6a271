"""The evidence vault on an S3-compatible store (moto's server on a local port, behind
django-storages): verify re-hashes objects through the storage API and names a changed one;
the assist reads pictures from the bucket and writes its previews there as separate objects."""

import hashlib

import pytest

from kameng.cli import main as kameng
from kameng.evidence.models import Evidence, EvidenceExtract

from ..conftest import S3_BUCKET as BUCKET
from .conftest import png_bytes, text_image


@pytest.fixture
def bucket(on_s3):
    return on_s3["client"]


def test_verify_and_assist_work_on_s3_and_a_changed_object_is_named(
    api, bucket, buyer, arbitrator, case, upload, capsys
):
    shot = png_bytes(text_image(["激活码无效"], size=(480, 80)))
    item_id = upload(case["id"], buyer, shot, name="s3.png").data["id"]
    item = Evidence.objects.get(pk=item_id)
    stored = bucket.get_object(Bucket=BUCKET, Key=item.file.name)["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == item.sha256

    assert kameng(["evidence", "verify", "--case", case["id"]]) == 0
    assert "evidence OK: 4 item(s)" in capsys.readouterr().out

    data = api.get(f"/refunds/{case['id']}/assist", token=arbitrator.token).data
    assert any(f["source"] == item_id and f["text"] == "激活码无效" for f in data["findings"])
    preview = EvidenceExtract.objects.get(evidence_id=item_id).preview.name
    keys = {o["Key"] for o in bucket.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert preview in keys and item.file.name in keys  # a separate object; the original stays as it was
    assert bucket.get_object(Bucket=BUCKET, Key=item.file.name)["Body"].read() == stored

    bucket.put_object(Bucket=BUCKET, Key=item.file.name, Body=stored[:-1] + b"\x00")
    assert kameng(["evidence", "verify"]) == 1
    assert f"item {item.pk} (#{item.seq} s3.png): file changed" in capsys.readouterr().out
