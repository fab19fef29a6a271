"""The evidence vault on an S3-compatible store (moto's server on a local port, behind
django-storages): verify re-hashes objects through the storage API and names a changed one;
the assist reads pictures from the bucket and writes its previews there as separate objects."""

import hashlib
import socket

import pytest

from kameng.cli import main as kameng
from kameng.evidence.models import Evidence, EvidenceExtract
from kameng.ops.config import s3_storage

from .conftest import png_bytes, text_image

BUCKET = "kameng-evidence-vault-test"


@pytest.fixture(scope="module")
def s3_server():
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_server, settings):
    import boto3

    env = {
        "KAMENG_S3_BUCKET": BUCKET,
        "KAMENG_S3_ENDPOINT_URL": s3_server,
        "KAMENG_S3_ACCESS_KEY": "testing",
        "KAMENG_S3_SECRET_KEY": "testing-secret",
        "KAMENG_S3_REGION": "us-east-1",
    }
    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        aws_access_key_id="testing",
        aws_secret_access_key="testing-secret",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {**settings.STORAGES, "default": s3_storage(env)}
    yield client
    for obj in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=obj["Key"])
    client.delete_bucket(Bucket=BUCKET)


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
