"""Evidence on an S3-compatible store: a real S3 API (moto's server mode, on a free local port)
behind django-storages, private objects and presigned downloads."""

import hashlib
import io
import random
import urllib.error
import urllib.parse
import urllib.request

import pytest

from kameng.ops.config import s3_storage

from ..conftest import S3_BUCKET as BUCKET


def _png(seed: int = 8) -> bytes:
    from PIL import Image

    rng = random.Random(seed)
    image = Image.new("RGB", (256, 256))
    image.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(256 * 256)])
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _fetch(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers, response.read()  # headers: case-insensitive


@pytest.fixture
def case_with_upload(api, buyer, merchant, make_listing, fund, buy, on_s3):
    from django.core.files.uploadedfile import SimpleUploadedFile

    listing = make_listing(merchant)
    fund(buyer, 50000)
    order = buy(buyer, listing)
    case = api.post(
        "/refunds",
        {"order": order["id"], "reason": "defective", "description": "激活码无效", "amount": order["amount"]},
        token=buyer.token,
    )
    assert case.status_code == 201, case.data
    data = _png()
    res = api.client.post(
        f"/api/v1/refunds/{case.data['id']}/evidence",
        {
            "file": SimpleUploadedFile("截图 error.png", data, content_type="image/png"),
            "category": "problem",
            "note": "激活失败截图",
        },
        headers={"Authorization": f"Bearer {buyer.token}"},
    )
    assert res.status_code == 201, res.content
    return case.data["id"], res.json(), data


def test_evidence_uploaded_through_the_api_lands_in_the_bucket_unchanged_and_private(case_with_upload, on_s3):
    from kameng.evidence.models import Evidence

    case_id, item, data = case_with_upload
    assert item["sha256"] == hashlib.sha256(data).hexdigest()
    key = Evidence.objects.get(pk=item["id"]).file.name
    client = on_s3["client"]
    stored = client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == item["sha256"]
    grants = client.get_object_acl(Bucket=BUCKET, Key=key)["Grants"]
    assert all(g["Grantee"].get("Type") == "CanonicalUser" for g in grants), grants  # no AllUsers/AuthenticatedUsers
    # The system evidence written when the case opened is held in its rows: the upload is the one object.
    keys = {o["Key"] for o in client.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert keys == {key}
    system = Evidence.objects.filter(case_id=case_id, source="system")
    assert system.count() == 3 and set(system.values_list("file", flat=True)) == {""}


def test_a_system_item_downloads_from_its_row_not_the_bucket(api, buyer, case_with_upload, on_s3):
    from kameng.evidence.models import Evidence

    case_id, _item, _data = case_with_upload
    system = Evidence.objects.filter(case_id=case_id, source="system").order_by("seq").first()
    res = api.client.get(
        f"/api/v1/refunds/{case_id}/evidence/{system.pk}/file", headers={"Authorization": f"Bearer {buyer.token}"}
    )
    assert res.status_code == 200  # no presigned redirect: there is no object to sign
    assert b"".join(res.streaming_content) == system.text.encode("utf-8")
    assert res["X-Content-Type-Options"] == "nosniff" and res["Content-Disposition"].startswith("attachment")


def test_evidence_reads_back_through_the_api_with_the_same_sha256(api, buyer, case_with_upload):
    case_id, item, data = case_with_upload
    res = api.client.get(
        f"/api/v1/refunds/{case_id}/evidence/{item['id']}/file", headers={"Authorization": f"Bearer {buyer.token}"}
    )
    if res.status_code == 302:  # the endpoint redirects to a presigned URL (kameng.ops.storage.download_response)
        status, headers, body = _fetch(res["Location"])
        assert status == 200
    else:
        assert res.status_code == 200
        body = b"".join(res.streaming_content) if res.streaming else res.content
    assert hashlib.sha256(body).hexdigest() == item["sha256"]


def test_download_response_redirects_to_a_short_lived_presigned_attachment_url(case_with_upload, on_s3):
    from kameng.evidence.models import Evidence
    from kameng.ops.storage import download_response

    case_id, item, data = case_with_upload
    evidence = Evidence.objects.get(pk=item["id"])
    response = download_response(evidence.file, evidence.filename, evidence.content_type)
    assert response.status_code == 302
    assert response["Cache-Control"] == "private, no-store"
    url = response["Location"]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["60"] and "X-Amz-Signature" in query
    status, headers, body = _fetch(url)
    assert status == 200 and hashlib.sha256(body).hexdigest() == item["sha256"]
    assert headers.get("Content-Type") == "image/png"
    assert headers.get("Content-Disposition").startswith("attachment;")
    assert "filename*=utf-8''%E6%88%AA%E5%9B%BE%20error.png" in headers.get("Content-Disposition")

    # Without a signature the private object is not readable. (moto does not verify signatures,
    # so a tampered one cannot be tested here; real S3 refuses it.)
    unsigned = url.split("?", 1)[0]
    with pytest.raises(urllib.error.HTTPError) as refused:
        _fetch(unsigned)
    assert refused.value.code == 403


def test_download_response_streams_from_the_filesystem_when_not_on_s3(db, tmp_path, settings):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from kameng.ops.storage import download_response

    settings.MEDIA_ROOT = str(tmp_path)
    name = default_storage.save("evidence/x.txt", ContentFile(b"hello"))

    class Field:  # the two attributes of a FieldFile that download_response uses
        storage = default_storage

        def __init__(self, name):
            self.name = name

        def open(self, mode):
            return default_storage.open(self.name, mode)

    response = download_response(Field(name), "聊天记录.txt", "text/plain")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"hello"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_s3_settings_come_only_from_the_environment():
    assert s3_storage({}) is None
    config = s3_storage(
        {
            "KAMENG_S3_BUCKET": "b",
            "KAMENG_S3_ENDPOINT_URL": "https://s3.example",
            "KAMENG_S3_ACCESS_KEY": "a",
            "KAMENG_S3_SECRET_KEY": "s",
            "KAMENG_S3_REGION": "cn-north-1",
        }
    )
    assert config["BACKEND"] == "storages.backends.s3.S3Storage"
    assert config["OPTIONS"]["default_acl"] == "private" and config["OPTIONS"]["querystring_auth"] is True
    assert config["OPTIONS"]["endpoint_url"] == "https://s3.example"
    assert config["OPTIONS"]["region_name"] == "cn-north-1"


def test_healthz_reaches_the_bucket_and_fails_when_it_is_missing(client, db, on_s3, settings):
    settings.SERVE_HOST = "127.0.0.1"  # the details are shown on a loopback binding
    res = client.get("/healthz")
    assert res.status_code == 200, res.json()
    assert res.json()["checks"]["storage"]["backend"] == "s3"
    settings.STORAGES = {**settings.STORAGES, "default": s3_storage({**on_s3, "KAMENG_S3_BUCKET": "no-such-bucket"})}
    res = client.get("/healthz")
    assert res.status_code == 503
    assert res.json()["checks"]["storage"]["ok"] is False
